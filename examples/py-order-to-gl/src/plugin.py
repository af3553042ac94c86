"""The `order-to-gl` world of `ml-connector:mapping@0.2.0`, exported from Python over the
functions in `ledger.py`.

How the contract looks from Python (componentize-py bindings): records are dataclasses
with snake_case fields, enums are `Enum` members (`types.TenderKind.STORE_CREDIT`),
amounts are `int`, an `option` is the value or `None`, and a `result` error is raised as
`componentize_py_types.Err(value)`. The component is built with `--stub-wasi`: it imports
nothing but the host's bounded `log`.
"""

from componentize_py_types import Err, Ok

import ledger
from wit_world import exports
from wit_world.imports import types
from wit_world.imports.host import LogLevel, log

NAME = "py-order-to-gl"
VERSION = "0.1.0"

KINDS = {
    "invalid-input": types.ErrorKind.INVALID_INPUT,
    "config": types.ErrorKind.CONFIG,
    "unsupported": types.ErrorKind.UNSUPPORTED,
    "internal": types.ErrorKind.INTERNAL,
}


def mapping_error(refusal):
    return types.MappingError(KINDS[refusal.kind], refusal.code, refusal.message, refusal.path)


def guarded(call):
    """`call()`, with a refusal or any bug raised as the record's mapping error."""
    try:
        return call()
    except ledger.Refusal as refusal:
        raise Err(mapping_error(refusal))
    except Err:
        raise
    except Exception as error:  # noqa: BLE001 - any bug becomes the record's error
        message = f"{type(error).__name__}: {error}"
        log(LogLevel.ERROR, message)
        raise Err(types.MappingError(types.ErrorKind.INTERNAL, "plugin-bug", message, None))


def entry(journal, rounding):
    lines = [
        types.JournalLine(account, "", "", debit, credit, memo, tax_code)
        for account, debit, credit, memo, tax_code in journal.finish(rounding)
    ]
    # Currency, rate and customer are the record's: the host fills them in.
    return types.JournalEntry(
        journal.daybook, journal.date, "", types.Decimal(0, 0), "", journal.description, lines
    )


def each(call, records):
    results = []
    for record in records:
        try:
            results.append(Ok(call(record)))
        except Err as error:
            results.append(error)
    return results


class Plugin(exports.Plugin):
    def describe(self):
        keys = [types.ConfigKey(name, required, text) for name, required, text in ledger.CONFIG_KEYS]
        return types.PluginInfo(
            NAME, VERSION, "Orders and refunds to GL journals: revenue by channel, one bank account", keys
        )

    def validate_config(self, cfg):
        errors = ledger.validate_config(cfg)
        if errors:
            raise Err([mapping_error(e) for e in errors])


class Orders(exports.Orders):
    def map_order(self, cfg, order):
        def call():
            policy = ledger.Policy(cfg)
            return entry(ledger.map_order(policy, order), policy.rounding)

        return guarded(call)

    def map_refund(self, cfg, refund):
        def call():
            policy = ledger.Policy(cfg)
            return entry(ledger.map_refund(policy, refund), policy.rounding)

        return guarded(call)

    def map_customer(self, cfg, customer):
        name, email, phone = guarded(lambda: ledger.customer_fields(customer))
        return types.ErpCustomer("", name, email, phone, "", customer.billing_address, [])

    def map_orders(self, cfg, orders):
        return each(lambda order: self.map_order(cfg, order), orders)

    def map_refunds(self, cfg, refunds):
        return each(lambda refund: self.map_refund(cfg, refund), refunds)

    def map_customers(self, cfg, customers):
        return each(lambda customer: self.map_customer(cfg, customer), customers)
