"""{{name}}: an `order-to-gl` mapping plugin (ml-connector:mapping@{{contract}}).

Orders: each line's revenue to `account.sales`, discounts to `account.discounts`,
shipping, handling and wrapping to `account.shipping`, each tax to `account.tax`, each
succeeded purchase or capture to `account.bank`, each gift certificate, store credit or
offline payment to `account.tenders`, and what is left unpaid to `account.receivable`.
Each amount is rounded to the currency's minor unit (half away from zero) and what the
rounding leaves goes to `account.rounding`. Refunds: the same accounts the other way
round. First-time shoppers: a ledger customer
named by company, else by person, else by email.

Amounts are `int` ten-thousandths of the currency (12.50 is 125000): never floats. Records
are dataclasses with snake_case fields, enums are `Enum` members, an `option` is the value
or `None`, and a `result` error is raised as `Err(value)`.
"""

from componentize_py_types import Err, Ok

from wit_world import exports
from wit_world.imports import types
from wit_world.imports.types import RefundItemKind, TenderKind, TransactionEvent

NAME = "{{name}}"
VERSION = "0.1.0"

# The settings this plugin reads, all required: (name, description).
SETTINGS = [
    ("account.sales", "Revenue from order lines"),
    ("account.discounts", "Discounts given"),
    ("account.shipping", "Shipping, handling and gift wrapping charged"),
    ("account.tax", "Sales tax collected"),
    ("account.bank", "Card and wallet payments received"),
    ("account.tenders", "Gift certificates, store credit and offline payments"),
    ("account.receivable", "What shoppers still owe, or are owed"),
    ("account.rounding", "What rounding to the currency's minor unit leaves"),
]

TENDERS = {
    TenderKind.GIFT_CERTIFICATE: "gift certificate",
    TenderKind.STORE_CREDIT: "store credit",
    TenderKind.OFFLINE: "offline",
}

REFUNDED = {
    RefundItemKind.ORDER: ("account.sales", "order refunded"),
    RefundItemKind.FEE: ("account.sales", "fee refunded"),
    RefundItemKind.SHIPPING: ("account.shipping", "shipping refunded"),
    RefundItemKind.HANDLING: ("account.shipping", "handling refunded"),
    RefundItemKind.GIFT_WRAPPING: ("account.shipping", "gift wrapping refunded"),
}


def setting(cfg, name):
    """The setting `name`, or the error that it is not set."""
    for key, value in cfg:
        if key == name and value.strip():
            return value.strip()
    raise Err(types.MappingError(types.ErrorKind.CONFIG, "missing-setting", f"setting `{name}` is not set", name))


def invalid(code, message, path=None):
    return Err(types.MappingError(types.ErrorKind.INVALID_INPUT, code, message, path))


class Journal:
    """A journal being built: lines of nonzero amounts, each on its side, rounded to the
    currency's minor unit."""

    def __init__(self, decimals):
        if not 0 <= decimals <= 4:
            raise invalid("unsupported-decimals", f"currencies with {decimals} decimals are not supported")
        self.unit = 10 ** (4 - decimals)  # ten-thousandths in one minor unit
        self.lines = []
        self.exact = 0  # debits less credits before rounding

    def debit(self, account, amount, memo):
        self.add(account, amount, memo, "")

    def credit(self, account, amount, memo, tax_code=""):
        self.add(account, -amount, memo, tax_code)

    def add(self, account, net, memo, tax_code):
        self.exact += net
        # Half away from zero, in integers.
        rounded = (abs(net) + self.unit // 2) // self.unit * self.unit * (1 if net > 0 else -1)
        if rounded != 0:
            self.lines.append(types.JournalLine(account, "", "", max(rounded, 0), max(-rounded, 0), memo, tax_code))

    def entry(self, rounding, created_at, description):
        """The entry, with what rounding left on `rounding`."""
        self.add(rounding, -sum(line.debit - line.credit for line in self.lines), "rounding", "")
        # The currency, exchange rate and ledger customer are the record's: left empty,
        # the host fills them in.
        return types.JournalEntry("SO", created_at[:10], "", types.Decimal(0, 0), "", description, self.lines)


def map_order(cfg, order):
    journal = Journal(order.currency.decimals)
    for line in order.lines:
        journal.credit(setting(cfg, "account.sales"), line.total_ex_tax, f"{line.sku} x{line.quantity}")
    journal.debit(setting(cfg, "account.discounts"), sum(d.amount for d in order.discounts), "discounts")
    shipping = order.shipping_ex_tax + order.handling_ex_tax + order.wrapping_ex_tax
    journal.credit(setting(cfg, "account.shipping"), shipping, "shipping, handling and wrapping")
    for tax in order.taxes:
        journal.credit(setting(cfg, "account.tax"), tax.amount, tax.name, tax.code)
    for payment in order.payments:
        if payment.succeeded and payment.event in (TransactionEvent.PURCHASE, TransactionEvent.CAPTURE):
            journal.debit(setting(cfg, "account.bank"), payment.amount, f"paid via {payment.gateway}")
    for tender in order.tenders:
        journal.debit(setting(cfg, "account.tenders"), tender.amount, tender.name or TENDERS[tender.kind])
    balance = journal.exact
    if balance > 0:
        raise invalid("overpaid", f"order {order.id} was paid more than its total")
    journal.debit(setting(cfg, "account.receivable"), -balance, "due from the shopper")
    return journal.entry(setting(cfg, "account.rounding"), order.created_at, f"Order {order.id}")


def map_refund(cfg, refund):
    journal = Journal(refund.currency.decimals)
    for item in refund.items:
        if item.kind == RefundItemKind.PRODUCT:
            account, memo = "account.sales", f"{item.sku} x{item.quantity} returned"
        else:
            account, memo = REFUNDED[item.kind]
        journal.debit(setting(cfg, account), item.amount, memo)
    journal.debit(setting(cfg, "account.tax"), sum(item.tax for item in refund.items), "tax refunded")
    for payment in refund.payments:
        if payment.declined:
            continue
        if payment.tender is not None:
            journal.credit(setting(cfg, "account.tenders"), payment.amount, f"refunded as {TENDERS[payment.tender]}")
        else:
            journal.credit(setting(cfg, "account.bank"), payment.amount, f"refunded via {payment.provider}")
    balance = journal.exact
    if balance < 0:
        raise invalid("over-refunded", f"refund {refund.id} paid back more than it returns")
    journal.credit(setting(cfg, "account.receivable"), balance, "owed to the shopper")
    description = f"Refund {refund.id} of order {refund.order_id}"
    return journal.entry(setting(cfg, "account.rounding"), refund.created_at, description)


def map_customer(customer):
    email = customer.email.strip().lower()
    if "@" not in email:
        raise invalid("bad-email", f"`{customer.email}` is not an email address", "email")
    person = f"{customer.first_name.strip()} {customer.last_name.strip()}".strip()
    name = customer.company.strip() or person or email
    # The code and currency are left to the host: it numbers new customers and knows the
    # store's currency.
    return types.ErpCustomer("", name, email, customer.phone.strip(), "", customer.billing_address, [])


def each(call, records):
    """One `Ok` or `Err` per record, in order."""
    results = []
    for record in records:
        try:
            results.append(Ok(call(record)))
        except Err as error:
            results.append(error)
    return results


class Plugin(exports.Plugin):
    def describe(self):
        keys = [types.ConfigKey(name, True, text) for name, text in SETTINGS]
        return types.PluginInfo(NAME, VERSION, "Orders and refunds to GL journals", keys)

    def validate_config(self, cfg):
        missing = []
        for name, _ in SETTINGS:
            try:
                setting(cfg, name)
            except Err as error:
                missing.append(error.value)
        if missing:
            raise Err(missing)


class Orders(exports.Orders):
    def map_order(self, cfg, order):
        return map_order(cfg, order)

    def map_refund(self, cfg, refund):
        return map_refund(cfg, refund)

    def map_customer(self, cfg, customer):
        return map_customer(customer)

    def map_orders(self, cfg, orders):
        return each(lambda order: map_order(cfg, order), orders)

    def map_refunds(self, cfg, refunds):
        return each(lambda refund: map_refund(cfg, refund), refunds)

    def map_customers(self, cfg, customers):
        return each(map_customer, customers)
