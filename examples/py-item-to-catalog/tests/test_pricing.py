"""Unit tests of the Python catalog plugin's price rule, run by Python directly
(`python3 -m unittest discover -s tests`); the built component is tested through the host
with the shared fixtures."""

import json
import pathlib
import sys
import unittest
from types import SimpleNamespace

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import pricing  # noqa: E402

SETTINGS = [("price-list", "WEB"), ("currency", "USD")]


def record(value):
    if isinstance(value, dict):
        return SimpleNamespace(**{k: record(v) for k, v in value.items()})
    if isinstance(value, list):
        return [record(v) for v in value]
    return value


def case(name):
    path = HERE.parent.parent / "fixtures" / "shared" / f"{name}.json"
    return record(json.loads(path.read_text())["input"])


def update(sku, name, price, cost, visible):
    return {"sku": sku, "name": name, "price": price, "cost": cost, "visible": visible}


class PricingTest(unittest.TestCase):
    def test_prices_end_in_99_by_rounding_up(self):
        self.assertEqual(pricing.charm(123_000, 9_900), 129_900)
        self.assertEqual(pricing.charm(130_000, 9_900), 139_900)
        self.assertEqual(pricing.charm(129_900, 9_900), 129_900)
        self.assertEqual(pricing.charm(129_901, 9_900), 139_900)
        self.assertEqual(pricing.charm(123_456, 0), 123_456)

    def test_amounts_and_percentages_are_read_exactly(self):
        self.assertEqual(pricing.parse_amount("0.99", "k"), 9_900)
        self.assertEqual(pricing.parse_percent("12.5", "k"), 1_250)
        for bad in ["0.999999", "-1", "1e3", "x"]:
            with self.assertRaises(pricing.Refusal):
                pricing.parse_amount(bad, "k")

    def test_the_latest_price_is_charmed_and_named_from_two_fields(self):
        got = pricing.map_item(pricing.Policy(SETTINGS), case("item-price-change"), update)
        self.assertEqual(got["name"], "Mug Stoneware, 350 ml")
        self.assertEqual(got["price"], 139_900)
        self.assertTrue(got["visible"])

    def test_a_thin_margin_hides_the_item(self):
        policy = pricing.Policy(SETTINGS + [("cost-price-list", "COST"), ("min-margin-percent", "20")])
        got = pricing.map_item(policy, case("item-thin-margin"), update)
        self.assertEqual((got["price"], got["cost"], got["visible"]), (109_900, 90_000, False))
        got = pricing.map_item(policy, case("item-price-change"), update)
        self.assertTrue(got["visible"])

    def test_inactive_items_are_hidden(self):
        got = pricing.map_item(pricing.Policy(SETTINGS), case("item-inactive"), update)
        self.assertFalse(got["visible"])

    def test_settings_are_checked(self):
        self.assertEqual(pricing.validate_config(SETTINGS), [])
        codes = [e.code for e in pricing.validate_config([("price-list", "WEB")])]
        self.assertEqual(codes, ["missing-setting"])
        codes = [e.path for e in pricing.validate_config(SETTINGS + [("min-margin-percent", "20")])]
        self.assertEqual(codes, ["cost-price-list"])


if __name__ == "__main__":
    unittest.main()
