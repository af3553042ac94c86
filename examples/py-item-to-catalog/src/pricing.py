"""A merchandiser's price rule, as plain functions of (settings, item) with no host imports,
so Python can test it directly; `plugin.py` exports it as the `item-to-catalog` world.

- Name: the item's two description fields, joined (`Mug` + `Stoneware, 350 ml`).
- Price: the latest effective price of the configured price list and currency, rounded up
  to the next price ending in `price-ending` (default .99): 12.30 becomes 12.99, 13.00
  becomes 13.99, 12.99 stays.
- Cost: the latest price of `cost-price-list` (when set) becomes the store's cost price,
  and an item whose margin over it is below `min-margin-percent` is hidden.
- Inactive items (statuses in `inactive-statuses`) are hidden.

Money is integers throughout: every amount is a count of ten-thousandths of the
currency's major unit (12.99 is 129900), as the contract has it. Never a float.
"""

UNIT = 10_000

CONFIG_KEYS = [
    ("price-list", True, "QAD price list whose prices become store prices"),
    ("currency", True, "Currency of the store's default prices"),
    ("price-ending", False, "The cents every price ends in, e.g. 0.99 (default); 0.00 for none"),
    ("cost-price-list", False, "QAD price list holding each item's cost; none by default"),
    ("min-margin-percent", False, "Hide items whose margin over cost is below this, e.g. 20"),
    ("inactive-statuses", False, "Comma-separated statuses hidden in the store; default INACTIVE,OBSOLETE"),
]


class Refusal(Exception):
    """A mapping error: `kind` is invalid-input, config, unsupported or internal."""

    def __init__(self, kind, code, message, path=None):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message
        self.path = path


def parse_amount(text, key):
    """`"0.99"` as ten-thousandths (9900), exactly: digits only, at most four decimals."""
    whole, _, fraction = text.strip().partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 4:
        raise Refusal("config", "bad-amount", f"setting `{key}` is `{text}`, not an amount like 0.99", key)
    return int(whole) * UNIT + int(fraction.ljust(4, "0") or "0")


def parse_percent(text, key):
    """`"20"` or `"12.5"` as hundredths of a percent (2000, 1250), exactly."""
    whole, _, fraction = text.strip().partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 2:
        raise Refusal("config", "bad-percent", f"setting `{key}` is `{text}`, not a percentage like 20", key)
    return int(whole) * 100 + int(fraction.ljust(2, "0") or "0")


class Policy:
    """The settings of one call, read once."""

    def __init__(self, pairs):
        settings = dict(pairs)
        known = {key for key, _, _ in CONFIG_KEYS}
        for key in settings:
            if key not in known:
                raise Refusal("config", "unknown-setting", f"setting `{key}` is not one this plugin reads", key)
        for key, required, _ in CONFIG_KEYS:
            if required and not settings.get(key, "").strip():
                raise Refusal("config", "missing-setting", f"setting `{key}` is required", key)
        self.price_list = settings["price-list"].strip()
        self.currency = settings["currency"].strip()
        self.ending = parse_amount(settings.get("price-ending", "0.99"), "price-ending")
        if self.ending >= UNIT:
            raise Refusal("config", "bad-amount", "setting `price-ending` must be below 1.00", "price-ending")
        self.cost_list = settings.get("cost-price-list", "").strip()
        margin = settings.get("min-margin-percent", "").strip()
        self.min_margin = parse_percent(margin, "min-margin-percent") if margin else None
        if self.min_margin is not None and not self.cost_list:
            raise Refusal(
                "config",
                "missing-setting",
                "setting `min-margin-percent` needs `cost-price-list`",
                "cost-price-list",
            )
        statuses = settings.get("inactive-statuses", "INACTIVE,OBSOLETE")
        self.inactive = {s.strip().upper() for s in statuses.split(",") if s.strip()}


def validate_config(pairs):
    """Every problem with the settings, as refusals (empty when they are usable)."""
    try:
        Policy(pairs)
    except Refusal as refusal:
        return [refusal]
    return []


def latest(item, price_list, currency):
    """The amount of the latest effective price of `price_list` in `currency`, or None."""
    prices = [p for p in item.prices if p.price_list == price_list and p.currency == currency]
    if not prices:
        return None
    return max(prices, key=lambda p: p.effective_from).amount


def charm(amount, ending):
    """The smallest amount ending in `ending` (within the unit) that is not below `amount`."""
    if ending == 0:
        return amount
    candidate = (amount // UNIT) * UNIT + ending
    return candidate if candidate >= amount else candidate + UNIT


def map_item(policy, item, update):
    """The catalog update for `item`; `update` builds the contract's record."""
    name = " ".join(part.strip() for part in (item.description, item.description2) if part.strip())
    if not name:
        raise Refusal("invalid-input", "no-name", f"item {item.sku} has no description", "description")
    price = latest(item, policy.price_list, policy.currency)
    if price is not None and price < 0:
        raise Refusal("invalid-input", "negative-price", f"item {item.sku} has a negative price", "prices")
    shown = charm(price, policy.ending) if price is not None else None
    cost = latest(item, policy.cost_list, policy.currency) if policy.cost_list else None
    visible = item.status.strip().upper() not in policy.inactive
    if visible and policy.min_margin is not None and shown and cost is not None:
        # Margin in hundredths of a percent, in integers: (price - cost) / price.
        margin = (shown - cost) * 10_000 // shown
        visible = margin >= policy.min_margin
    return update(item.sku, name, shown, cost, visible)
