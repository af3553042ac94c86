"""The mapping itself, as plain functions of (settings, record) with no host imports, so
Python can test it directly; `plugin.py` exports it as the `order-to-gl` world.

Account policy ("revenue by channel, one bank account, cost of goods"), which differs from
the Rust and JavaScript plugins on purpose:

- Order: each line's total is credited to the sales account of the order's storefront
  channel (`account.sales.channel-<id>`, else `account.sales`); discounts are debited to
  `account.discounts`; shipping, handling and gift wrapping credited to `account.freight`;
  each tax to `account.tax` with its code. Everything a gateway took is debited to one
  bank account (`account.bank`, undeposited funds), one line per gateway; offline
  payments too. Gift certificates and store credit redeemed are debited to
  `account.customer-liabilities`. What is left is debited to `account.receivable` only
  when the order says its money is not in yet (payment status empty, pending, authorized,
  capture pending or held for review, or status 7, awaiting payment); otherwise the order
  is refused (`unexplained-balance`). With `account.cogs` and `account.inventory` set,
  each line's cost (quantity x cost price) moves from inventory to cost of goods sold.
- Refund: products and order-level amounts debited to `account.returns` (default the
  sales account), freight items to `account.freight`, tax to `account.tax`; money paid out
  credited to the bank, store credit or gift certificates issued to
  `account.customer-liabilities`, the rest to receivables.
- Every line is rounded half away from zero to the currency's minor unit, and the
  difference is booked to `account.rounding`.

Money is integers throughout: every amount is a count of ten-thousandths of the
currency's major unit (12.50 is 125000), as the contract has it. Never a float.
"""

CONFIG_KEYS = [
    ("daybook", False, "GL daybook for order and refund entries; default SO"),
    ("account.sales", True, "Sales; `account.sales.channel-<id>` overrides per storefront channel"),
    ("account.returns", False, "Returned goods and order-level refunds; default the sales account"),
    ("account.discounts", True, "Discounts and coupons given"),
    ("account.freight", True, "Shipping, handling and gift-wrapping income"),
    ("account.tax", True, "Tax payable (each line carries its tax code)"),
    ("account.bank", True, "Undeposited funds: what gateways took and offline payments"),
    ("account.customer-liabilities", True, "Gift certificates and store credit owed to shoppers"),
    ("account.receivable", True, "Trade receivables, for any part not yet paid"),
    ("account.rounding", True, "Rounding differences to the currency's minor unit"),
    ("account.cogs", False, "Cost of goods sold; with account.inventory, books each line's cost"),
    ("account.inventory", False, "Inventory relieved by each line's cost"),
]

AWAITING_PAYMENT = 7
NOT_IN_YET = {"", "pending", "authorized", "capture pending", "held for review"}


class Refusal(Exception):
    """A mapping error: `kind` is invalid-input, config, unsupported or internal."""

    def __init__(self, kind, code, message, path=None):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.path = path


def fmt(amount):
    """Ten-thousandths as text: 125000 is `12.5000`."""
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10_000)
    return f"{sign}{whole}.{fraction:04d}"


def round_to(amount, decimals):
    """`amount` rounded half away from zero to `decimals` (0 to 4) places."""
    if not 0 <= decimals <= 4:
        raise Refusal("invalid-input", "bad-decimals", f"a currency with {decimals} decimals", "currency")
    step = 10 ** (4 - decimals)
    quotient, rest = divmod(abs(amount), step)
    if rest * 2 >= step:
        quotient += 1
    return (quotient * step) if amount >= 0 else -(quotient * step)


class Policy:
    """The settings of one call, read once."""

    def __init__(self, pairs):
        self.settings = dict(pairs)
        known = {key for key, _, _ in CONFIG_KEYS}
        for key in self.settings:
            if key not in known and not key.startswith("account.sales.channel-"):
                raise Refusal("config", "unknown-setting", f"setting `{key}` is not one this plugin reads", key)
        for key, required, _ in CONFIG_KEYS:
            if required and not self.settings.get(key, "").strip():
                raise Refusal("config", "missing-setting", f"setting `{key}` is required", key)
        get = self.settings.get
        self.daybook = get("daybook", "SO")
        self.sales = get("account.sales")
        self.returns = get("account.returns", self.sales)
        self.discounts = get("account.discounts")
        self.freight = get("account.freight")
        self.tax = get("account.tax")
        self.bank = get("account.bank")
        self.liabilities = get("account.customer-liabilities")
        self.receivable = get("account.receivable")
        self.rounding = get("account.rounding")
        self.cogs = get("account.cogs")
        self.inventory = get("account.inventory")
        if bool(self.cogs) != bool(self.inventory):
            missing = "account.inventory" if self.cogs else "account.cogs"
            raise Refusal("config", "missing-setting", "cost of goods needs both account.cogs and account.inventory", missing)

    def sales_account(self, channel):
        return self.settings.get(f"account.sales.channel-{channel}", self.sales)


def validate_config(pairs):
    """Every problem with the settings, as refusals (empty when they are usable)."""
    try:
        Policy(pairs)
    except Refusal as refusal:
        return [refusal]
    return []


class Journal:
    """Signed postings (debit positive), rounded and balanced by `finish`."""

    def __init__(self, daybook, date, currency, description):
        self.daybook = daybook
        self.date = date[:10]
        self.currency = currency
        self.description = description
        self.lines = []

    def post(self, account, amount, memo, tax_code=""):
        if amount:
            self.lines.append((account, amount, memo, tax_code))

    def debit(self, account, amount, memo, tax_code=""):
        self.post(account, amount, memo, tax_code)

    def credit(self, account, amount, memo, tax_code=""):
        self.post(account, -amount, memo, tax_code)

    def finish(self, rounding):
        """`(account, debit, credit, memo, tax_code)` lines, each whole in the minor unit,
        the rounding difference on `rounding`."""
        decimals = self.currency.decimals
        rounded = [(a, round_to(amount, decimals), m, t) for a, amount, m, t in self.lines]
        rounded = [line for line in rounded if line[1]]
        difference = -sum(line[1] for line in rounded)
        if difference:
            rounded.append((rounding, difference, "rounding", ""))
        if sum(line[1] for line in rounded) != 0:
            raise Refusal("internal", "unbalanced", "the journal does not balance", None)
        return [(a, max(x, 0), max(-x, 0), m, t) for a, x, m, t in rounded]


def map_order(p, order):
    """The journal the order should have, as `Journal` lines."""
    j = Journal(p.daybook, order.created_at, order.currency, f"Order {order.id}")
    sales = p.sales_account(order.channel_id)
    cost = 0
    for i, line in enumerate(order.lines):
        if line.total_ex_tax < 0 or line.cost_price < 0:
            raise Refusal("invalid-input", "negative-line", "a line amount is negative", f"lines[{i}]")
        j.credit(sales, line.total_ex_tax, f"{line.sku} x{line.quantity}")
        cost += line.quantity * line.cost_price
    j.debit(p.discounts, sum(d.amount for d in order.discounts), "discounts")
    freight = order.shipping_ex_tax + order.handling_ex_tax + order.wrapping_ex_tax
    j.credit(p.freight, freight, "shipping and handling")
    if order.taxes:
        if sum(t.amount for t in order.taxes) != order.total_tax:
            raise Refusal("invalid-input", "tax-lines-do-not-add-up", "the tax lines do not add up to the total tax", "taxes")
        for tax in order.taxes:
            j.credit(p.tax, tax.amount, f"tax {tax.name}", tax.code)
    else:
        j.credit(p.tax, order.total_tax, "tax")
    if p.cogs and cost:
        j.debit(p.cogs, cost, "cost of goods sold")
        j.credit(p.inventory, cost, "inventory relieved")

    paid = 0
    by_gateway = {}
    for payment in order.payments:
        if payment.succeeded and payment.event.name in ("PURCHASE", "CAPTURE"):
            by_gateway[payment.gateway] = by_gateway.get(payment.gateway, 0) + payment.amount
    for gateway, amount in by_gateway.items():
        paid += amount
        j.debit(p.bank, amount, f"paid via {gateway}")
    for tender in order.tenders:
        paid += tender.amount
        account = p.bank if tender.kind.name == "OFFLINE" else p.liabilities
        j.debit(account, tender.amount, f"paid by {tender.name}")
    unpaid = order.total_inc_tax - paid
    if unpaid > 0 and not (order.status_id == AWAITING_PAYMENT or order.payment_status in NOT_IN_YET):
        raise Refusal(
            "invalid-input",
            "unexplained-balance",
            f"the order's payment status is `{order.payment_status}`, yet {fmt(unpaid)} of its "
            f"{fmt(order.total_inc_tax)} total is in neither its payments nor its tenders",
            "payments",
        )
    j.debit(p.receivable, unpaid, "unpaid" if unpaid > 0 else "overpaid")
    return j


FREIGHT = {"SHIPPING", "HANDLING", "GIFT_WRAPPING"}


def map_refund(p, refund):
    """The journal for one refund, as `Journal` lines."""
    j = Journal(p.daybook, refund.created_at, refund.currency, f"Refund {refund.id} of order {refund.order_id}")
    for i, item in enumerate(refund.items):
        if item.amount < 0 or item.tax < 0:
            raise Refusal("invalid-input", "negative-refund-item", "a refund item is negative", f"items[{i}]")
        if item.kind.name in FREIGHT:
            j.debit(p.freight, item.amount, f"{item.kind.name.lower().replace('_', ' ')} refunded")
        elif item.kind.name == "PRODUCT":
            j.debit(p.returns, item.amount, f"return {item.sku} x{item.quantity}")
        else:
            j.debit(p.returns, item.amount, "order refund")
    if sum(item.tax for item in refund.items) != refund.total_tax:
        raise Refusal("invalid-input", "tax-lines-do-not-add-up", "the items' tax does not add up to the refund's", "total-tax")
    j.debit(p.tax, refund.total_tax, "tax refunded")
    paid_out = 0
    for payment in refund.payments:
        if payment.declined:
            continue
        paid_out += payment.amount
        account = p.liabilities if payment.tender is not None else p.bank
        j.credit(account, payment.amount, f"refunded via {payment.provider}")
    j.credit(p.receivable, refund.total - paid_out, "refund owed")
    return j


def customer_fields(customer):
    """`(name, email, phone)` of the ledger customer for a first-time shopper."""
    email = customer.email.strip().lower()
    if "@" not in email:
        raise Refusal("invalid-input", "bad-email", f"`{customer.email}` is not an email address", "email")
    person = f"{customer.first_name.strip()} {customer.last_name.strip()}".strip()
    return customer.company.strip() or person or email, email, customer.phone.strip()
