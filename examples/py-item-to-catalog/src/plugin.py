"""The `item-to-catalog` world of `ml-connector:mapping@0.2.0`, exported from Python over the
functions in `pricing.py`.

How the contract looks from Python (componentize-py bindings): records are dataclasses
with snake_case fields, enums are `Enum` members (`types.ErrorKind.CONFIG`), amounts are
`int`, an `option` is the value or `None`, and a `result` error is raised as
`componentize_py_types.Err(value)`. The host gives nothing but its bounded `log`: the
component is built with `--stub-wasi`, so files, sockets, clocks and randomness trap.
"""

from componentize_py_types import Err, Ok

import pricing
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.host import LogLevel, log

NAME = "py-item-to-catalog"
VERSION = "0.1.0"

KINDS = {
    "invalid-input": types.ErrorKind.INVALID_INPUT,
    "config": types.ErrorKind.CONFIG,
    "unsupported": types.ErrorKind.UNSUPPORTED,
    "internal": types.ErrorKind.INTERNAL,
}


def mapping_error(refusal):
    return types.MappingError(KINDS[refusal.kind], refusal.code, refusal.message, refusal.path)


def internal(error):
    """A bug in the mapping: an `internal` error with its message, also logged."""
    log(LogLevel.ERROR, f"{type(error).__name__}: {error}")
    return types.MappingError(types.ErrorKind.INTERNAL, "plugin-bug", f"{type(error).__name__}: {error}", None)


def update(sku, name, price, cost, visible):
    return types.CatalogUpdate(sku, name, price, None, cost, visible)


def one(cfg, item):
    try:
        return pricing.map_item(pricing.Policy(cfg), item, update)
    except pricing.Refusal as refusal:
        raise Err(mapping_error(refusal))
    except Err:
        raise
    except Exception as error:  # noqa: BLE001 - any bug becomes the record's error
        raise Err(internal(error))


class Plugin(exports.Plugin):
    def describe(self):
        keys = [types.ConfigKey(name, required, text) for name, required, text in pricing.CONFIG_KEYS]
        return types.PluginInfo(
            NAME, VERSION, "A merchandiser's price rule: .99 endings, margins, two-field names", keys
        )

    def validate_config(self, cfg):
        errors = pricing.validate_config(cfg)
        if errors:
            raise Err([mapping_error(e) for e in errors])


class Catalog(exports.Catalog):
    def map_item(self, cfg, item):
        return one(cfg, item)

    def map_items(self, cfg, items):
        results = []
        for item in items:
            try:
                results.append(Ok(one(cfg, item)))
            except Err as error:
                results.append(error)
        return results
