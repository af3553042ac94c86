"""{{name}}: an `item-to-catalog` mapping plugin (ml-connector:mapping@{{contract}}).

Each changed ledger item becomes a catalog update: its price from the `price-list` in
`currency` (the newest price in effect on the day of the change), its cost from the
`cost-list` if one is set, its name from the item's description, and visible only while
the item is active.

Amounts are `int` ten-thousandths of the currency (12.50 is 125000): never floats. Records
are dataclasses with snake_case fields, an `option` is the value or `None`, and a
`result` error is raised as `Err(value)`.
"""

from componentize_py_types import Err, Ok

from wit_world import exports
from wit_world.imports import types

NAME = "{{name}}"
VERSION = "0.1.0"

# The settings this plugin reads: (name, required, description).
SETTINGS = [
    ("price-list", True, "The ledger price list the store sells at"),
    ("currency", True, "The currency of the store's prices"),
    ("cost-list", False, "The ledger price list holding costs (none when empty)"),
]


def setting(cfg, name):
    """The setting `name`, or the error that it is not set."""
    for key, value in cfg:
        if key == name and value.strip():
            return value.strip()
    raise Err(types.MappingError(types.ErrorKind.CONFIG, "missing-setting", f"setting `{name}` is not set", name))


def price_on(item, price_list, currency):
    """The newest price of `price_list` in `currency` in effect on the day the item changed
    (any day, when the change has no date)."""
    found = None
    for price in item.prices:
        if price.price_list != price_list or price.currency != currency:
            continue
        if item.changed_on and price.effective_from > item.changed_on:
            continue
        if found is None or price.effective_from >= found.effective_from:
            found = price
    return None if found is None else found.amount


def map_item(cfg, item):
    if not item.sku.strip():
        message = "the item has no SKU to find it in the store by"
        raise Err(types.MappingError(types.ErrorKind.INVALID_INPUT, "missing-sku", message, "sku"))
    currency = setting(cfg, "currency")
    price = price_on(item, setting(cfg, "price-list"), currency)
    try:
        cost = price_on(item, setting(cfg, "cost-list"), currency)
    except Err:
        cost = None
    name = item.description.strip()
    visible = item.status.strip().lower() == "active"
    return types.CatalogUpdate(item.sku.strip(), name or None, price, None, cost, visible)


class Plugin(exports.Plugin):
    def describe(self):
        keys = [types.ConfigKey(name, required, text) for name, required, text in SETTINGS]
        return types.PluginInfo(NAME, VERSION, "Ledger items and prices to catalog updates", keys)

    def validate_config(self, cfg):
        missing = []
        for name, required, _ in SETTINGS:
            if not required:
                continue
            try:
                setting(cfg, name)
            except Err as error:
                missing.append(error.value)
        if missing:
            raise Err(missing)


class Catalog(exports.Catalog):
    def map_item(self, cfg, item):
        return map_item(cfg, item)

    def map_items(self, cfg, items):
        results = []
        for item in items:
            try:
                results.append(Ok(map_item(cfg, item)))
            except Err as error:
                results.append(error)
        return results
