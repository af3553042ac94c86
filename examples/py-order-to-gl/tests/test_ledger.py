"""Unit tests of the Python order plugin's mapping, run by Python directly
(`python3 -m unittest discover -s tests`); the built component is tested through the host
with the shared fixtures."""

import json
import pathlib
import sys
import unittest
from types import SimpleNamespace

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import ledger  # noqa: E402

SETTINGS = [
    ("account.sales", "4000"),
    ("account.discounts", "4900"),
    ("account.freight", "4100"),
    ("account.tax", "2200"),
    ("account.bank", "1150"),
    ("account.customer-liabilities", "2310"),
    ("account.receivable", "1200"),
    ("account.rounding", "7990"),
]

ENUMS = {"event", "kind", "tender"}


def snake_upper(name):
    """`GiftCertificate` as the bindings' enum member name, `GIFT_CERTIFICATE`."""
    return "".join(("_" + c if c.isupper() and i else c) for i, c in enumerate(name)).upper()


def record(value, key=None):
    """A shared case's JSON as the bindings hand it over: objects with attributes."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: record(v, k) for k, v in value.items()})
    if isinstance(value, list):
        return [record(v) for v in value]
    if key in ENUMS and isinstance(value, str):
        return SimpleNamespace(name=snake_upper(value))
    return value


def case(name):
    path = HERE.parent.parent / "fixtures" / "shared" / f"{name}.json"
    return record(json.loads(path.read_text())["input"])


def net(journal, rounding="7990"):
    totals = {}
    for account, debit, credit, _, _ in journal.finish(rounding):
        totals[account] = totals.get(account, 0) + debit - credit
    return totals


class LedgerTest(unittest.TestCase):
    def test_rounding_is_half_away_from_zero_in_integers(self):
        self.assertEqual(ledger.round_to(12_350, 2), 12_400)
        self.assertEqual(ledger.round_to(12_349, 2), 12_300)
        self.assertEqual(ledger.round_to(-12_350, 2), -12_400)
        self.assertEqual(ledger.round_to(5_000, 0), 10_000)
        self.assertEqual(ledger.fmt(-123_400), "-12.3400")

    def test_a_split_tender_order_balances_and_owes_nothing(self):
        journal = ledger.map_order(ledger.Policy(SETTINGS), case("order-split-tenders"))
        totals = net(journal)
        self.assertEqual(sum(totals.values()), 0)
        self.assertEqual(totals["2310"], 300_000)
        self.assertNotIn("1200", totals)
        for _, debit, credit, _, _ in journal.finish("7990"):
            self.assertIsInstance(debit, int)
            self.assertIsInstance(credit, int)

    def test_revenue_goes_to_the_channels_account(self):
        order = case("order-basic")
        order.channel_id = 2
        policy = ledger.Policy(SETTINGS + [("account.sales.channel-2", "4002")])
        totals = net(ledger.map_order(policy, order))
        self.assertEqual(totals["4002"], -625_000)
        self.assertNotIn("4000", totals)

    def test_cost_of_goods_moves_from_inventory(self):
        order = case("order-basic")
        order.lines[0].cost_price = 40_000
        policy = ledger.Policy(SETTINGS + [("account.cogs", "5000"), ("account.inventory", "1300")])
        totals = net(ledger.map_order(policy, order))
        self.assertEqual(totals["5000"], 2 * 40_000)
        self.assertEqual(totals["1300"], -2 * 40_000)

    def test_a_captured_order_short_of_its_total_is_refused(self):
        with self.assertRaises(ledger.Refusal) as refused:
            ledger.map_order(ledger.Policy(SETTINGS), case("order-captured-short"))
        self.assertEqual(refused.exception.code, "unexplained-balance")

    def test_a_refund_to_store_credit_is_owed_to_the_shopper(self):
        totals = net(ledger.map_refund(ledger.Policy(SETTINGS), case("refund-store-credit")))
        self.assertEqual(totals["2310"], -356_400)
        self.assertNotIn("1150", totals)

    def test_settings_missing_unknown_and_half_of_a_pair(self):
        codes = [e.code + ":" + e.path for e in ledger.validate_config([("account.sales", "4000")])]
        self.assertEqual(codes, ["missing-setting:account.discounts"])
        codes = [e.code for e in ledger.validate_config(SETTINGS + [("acount.tax", "1")])]
        self.assertEqual(codes, ["unknown-setting"])
        errors = ledger.validate_config(SETTINGS + [("account.cogs", "5000")])
        self.assertEqual(errors[0].path, "account.inventory")
        self.assertEqual(ledger.validate_config(SETTINGS), [])


if __name__ == "__main__":
    unittest.main()
