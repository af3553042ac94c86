// Unit tests of the JavaScript plugin's money and mapping code, run by Node directly
// (`npm test`); the built component is tested through the host with the shared fixtures.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import * as money from "../src/money.js";
import * as mapping from "../src/mapping.js";

const SETTINGS = [
  ["account.revenue", "4000"],
  ["account.shipping", "4100"],
  ["account.tax", "2200"],
  ["account.clearing.stripe", "1151"],
  ["account.receivable", "1200"],
  ["account.rounding", "7990"],
];

/** The shared basic order, converted the way the bindings hand it over (camelCase, BigInt). */
function basicOrder() {
  const file = new URL("../../fixtures/shared/order-basic.json", import.meta.url);
  return toBindings(JSON.parse(readFileSync(file, "utf8")).input);
}

const AMOUNT_FIELDS = new Set([
  "unit_price", "total_ex_tax", "total_tax", "discount", "subtotal_ex_tax", "shipping_ex_tax",
  "shipping_tax", "handling_ex_tax", "handling_tax", "wrapping_ex_tax", "wrapping_tax",
  "total_inc_tax", "amount", "digits",
]);

function toBindings(value, key) {
  if (Array.isArray(value)) {
    return value.map((v) => toBindings(v));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k.replace(/_(.)/g, (_, c) => c.toUpperCase()), toBindings(v, k)]),
    );
  }
  if (AMOUNT_FIELDS.has(key)) {
    return BigInt(value);
  }
  if (typeof value === "string" && /^[A-Z][a-z]+$/.test(value) && ["event", "kind"].includes(key)) {
    return value.toLowerCase();
  }
  return value;
}

test("rounding is half away from zero, in integers", () => {
  assert.equal(money.round(12_350n, 2), 12_400n);
  assert.equal(money.round(12_349n, 2), 12_300n);
  assert.equal(money.round(-12_350n, 2), -12_400n);
  assert.equal(money.round(5_000n, 0), 10_000n);
  assert.equal(money.round(4_999n, 0), 0n);
  assert.throws(() => money.round(1n, 5), /5 decimals/);
});

test("amounts past s64 are refused, not wrapped", () => {
  assert.throws(() => money.sum([2n ** 63n - 1n, 1n]), (e) => e.code === "amount-overflow");
  assert.equal(money.format(-123_400n), "-12.3400");
  assert.equal(money.format(5n), "0.0005");
});

test("discounts are netted against revenue: no discount line", () => {
  const entry = mapping.mapOrder(new mapping.Policy(SETTINGS), basicOrder());
  const revenue = entry.lines.filter((l) => l.account === "4000");
  assert.equal(revenue.length, 1);
  assert.equal(revenue[0].credit, 625_000n - 50_000n);
  assert.equal(entry.lines.some((l) => /discount/.test(l.memo) && l.debit > 0n), false);
  for (const line of entry.lines) {
    assert.equal(typeof line.debit, "bigint");
    assert.equal(typeof line.credit, "bigint");
  }
  const debits = money.sum(entry.lines.map((l) => l.debit));
  const credits = money.sum(entry.lines.map((l) => l.credit));
  assert.equal(debits, credits);
});

test("a gateway without its own clearing account is a configuration error", () => {
  const order = basicOrder();
  order.payments[1].gateway = "adyen";
  assert.throws(
    () => mapping.mapOrder(new mapping.Policy(SETTINGS), order),
    (e) => e.kind === "config" && e.code === "missing-clearing-account" && e.path === "account.clearing.adyen",
  );
});

test("discounts larger than the revenue they net against are refused", () => {
  const order = basicOrder();
  order.discounts[0].amount = 2_000_000n;
  assert.throws(
    () => mapping.mapOrder(new mapping.Policy(SETTINGS), order),
    (e) => e.code === "discount-exceeds-revenue",
  );
});

test("settings: missing, unknown and per-gateway keys", () => {
  const errors = mapping.validateConfig([["account.revenue", "4000"], ["acount.tax", "2200"], ["account.clearing.paypal", "1152"]]);
  const codes = errors.map((e) => `${e.code}:${e.path}`);
  assert.ok(codes.includes("missing-setting:account.shipping"));
  assert.ok(codes.includes("unknown-setting:acount.tax"));
  assert.ok(!codes.some((c) => c.endsWith("account.clearing.paypal")));
  assert.deepEqual(mapping.validateConfig(SETTINGS), []);
});

test("each tender is debited to its kind's own account", () => {
  const settings = [...SETTINGS, ["account.tender.gift-certificate", "2310"], ["account.tender.store-credit", "2320"]];
  const order = basicOrder();
  order.payments[1].amount = 433_000n;
  order.tenders = [
    { kind: "gift-certificate", name: "gift certificate", amount: 200_000n, transactionId: "t9" },
    { kind: "store-credit", name: "store credit", amount: 100_000n, transactionId: "" },
  ];
  const entry = mapping.mapOrder(new mapping.Policy(settings), order);
  const line = (account) => entry.lines.find((l) => l.account === account);
  assert.equal(line("2310").debit, 200_000n);
  assert.equal(line("2320").debit, 100_000n);
  assert.equal(line("1200"), undefined, "nothing is left owed");

  assert.throws(
    () => mapping.mapOrder(new mapping.Policy(SETTINGS), order),
    (e) => e.code === "missing-tender-account" && e.path === "account.tender.gift-certificate",
  );
});
