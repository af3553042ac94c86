// The mapping itself, as plain functions of (settings, record) with no host imports, so
// Node can test it directly; `plugin.js` exports it as the `order-to-gl` world.
//
// Account policy ("one clearing account per gateway, discounts netted"), which differs
// from the default Rust plugin on purpose:
//
// - Order: revenue is credited net of discounts: each revenue account (per tax class
//   when `account.revenue.<class>` is set) gets its lines' totals less the discounts
//   allocated to those lines; the part of the order's discounts not allocated to any line
//   is netted against the first revenue account. There is no discount line. Shipping,
//   handling and gift wrapping are credited to `account.shipping`; each tax to
//   `account.tax` with its tax code. Money captured by a gateway is debited to that
//   gateway's own clearing account, `account.clearing.<gateway>`, which must be set: a
//   gateway without one is a configuration error, never a silent fallback. Each tender
//   (gift certificate, store credit, offline payment) is debited to its kind's account,
//   `account.tender.<kind>`, likewise required once used. What is not yet paid is debited
//   to `account.receivable` only when the order's payment status says the money is not in
//   yet (or it awaits payment); a captured order short of its total is refused
//   (`unexplained-balance`).
// - Refund: products and order-level amounts debited to `account.returns` (default the
//   revenue account), shipping, handling and wrapping to `account.shipping`, tax to
//   `account.tax`; the money paid out credited to the provider's clearing account
//   (`account.clearing.offline` for offline refunds) or, when it went back as store credit
//   or a gift certificate, to `account.tender.<kind>`; the rest to receivables.
// - Every line is rounded to the currency's minor unit, and the difference is booked to
//   `account.rounding`.
//
// Amounts are BigInt ten-thousandths throughout; see `money.js`.

import * as money from "./money.js";

export const NAME = "js-order-to-gl";
export const VERSION = "0.2.0";

/** `[name, required, description]` of every setting this plugin reads. */
export const CONFIG_KEYS = [
  ["daybook", false, "GL daybook for order and refund entries; default SO"],
  ["account.revenue", true, "Sales revenue, net of discounts; `account.revenue.<tax class>` overrides per class"],
  ["account.returns", false, "Returned goods and order-level refunds; default the revenue account"],
  ["account.shipping", true, "Shipping, handling and gift-wrapping income"],
  ["account.tax", true, "Tax payable (each line carries its tax code)"],
  ["account.receivable", true, "Trade receivables, for any part not yet paid"],
  ["account.rounding", true, "Rounding differences to the currency's minor unit"],
];

/**
 * Settings that take a suffix: `account.clearing.<gateway>` is required per gateway used,
 * `account.tender.<kind>` per kind of tender used.
 */
const PREFIXES = ["account.revenue.", "account.clearing.", "account.tender."];

/** A mapping error as the contract's `mapping-error` record. */
export class MappingFailure extends Error {
  constructor(kind, code, message, path) {
    super(message);
    this.kind = kind;
    this.code = code;
    this.path = path;
  }

  /** The contract's record. */
  toRecord() {
    return { kind: this.kind, code: this.code, message: this.message, path: this.path };
  }
}

const invalidInput = (code, message, path) => new MappingFailure("invalid-input", code, message, path);
const configError = (code, message, key) => new MappingFailure("config", code, message, key);

/** The settings (`list<tuple<string, string>>`) as a lookup; blank values count as unset. */
export class Settings {
  constructor(pairs) {
    this.values = new Map();
    for (const [key, value] of pairs) {
      this.values.set(key, value.trim());
    }
  }

  get(key) {
    const value = this.values.get(key);
    return value ? value : undefined;
  }

  require(key) {
    const value = this.get(key);
    if (value === undefined) {
      throw configError("missing-setting", `setting \`${key}\` is required`, key);
    }
    return value;
  }
}

export function describe() {
  return {
    name: NAME,
    version: VERSION,
    description: "Orders and refunds to GL journals: one clearing account per gateway, discounts netted against revenue",
    configKeys: CONFIG_KEYS.map(([name, required, description]) => ({ name, required, description })),
  };
}

/** Every problem with the settings, as a list (empty when they are fine). */
export function validateConfig(pairs) {
  const settings = new Settings(pairs);
  const errors = [];
  for (const [key, required] of CONFIG_KEYS) {
    if (required && settings.get(key) === undefined) {
      errors.push(configError("missing-setting", `setting \`${key}\` is required`, key));
    }
  }
  for (const [key, value] of pairs) {
    const known = CONFIG_KEYS.some(([name]) => name === key) || PREFIXES.some((p) => key.startsWith(p));
    if (!known) {
      errors.push(configError("unknown-setting", `unknown setting \`${key}\``, key));
    } else if (key.startsWith("account.") && value.trim() === "" && !CONFIG_KEYS.some(([n, r]) => n === key && r)) {
      errors.push(configError("missing-setting", `setting \`${key}\` is empty`, key));
    }
  }
  return errors;
}

/** The accounts of one call, resolved once (a batch shares them). */
export class Policy {
  constructor(pairs) {
    const s = new Settings(pairs);
    this.settings = s;
    this.daybook = s.get("daybook") ?? "SO";
    this.revenue = s.require("account.revenue");
    this.returns = s.get("account.returns") ?? this.revenue;
    this.shipping = s.require("account.shipping");
    this.tax = s.require("account.tax");
    this.receivable = s.require("account.receivable");
    this.rounding = s.require("account.rounding");
  }

  revenueAccount(taxClass) {
    return (taxClass && this.settings.get(`account.revenue.${taxClass}`)) ?? this.revenue;
  }

  /** The gateway's own clearing account; there is no shared fallback. */
  clearingAccount(gateway, path) {
    const key = `account.clearing.${gateway}`;
    const account = gateway ? this.settings.get(key) : undefined;
    if (account === undefined) {
      throw new MappingFailure(
        "config",
        "missing-clearing-account",
        `money moved through gateway \`${gateway}\` (${path}) but setting \`${key}\` is not set: every gateway needs its own clearing account`,
        key,
      );
    }
    return account;
  }

  /** The tender kind's own account (`gift-certificate`, `store-credit`, `offline`). */
  tenderAccount(kind, path) {
    const key = `account.tender.${kind}`;
    const account = this.settings.get(key);
    if (account === undefined) {
      throw new MappingFailure(
        "config",
        "missing-tender-account",
        `${path} is a ${kind} tender but setting \`${key}\` is not set`,
        key,
      );
    }
    return account;
  }
}

/** Collects signed postings (debit positive, credit negative) and builds a balanced entry. */
class Journal {
  constructor(daybook, timestamp, currency, exchangeRate, erpCustomer, description) {
    this.entry = {
      daybook,
      effectiveDate: timestamp.slice(0, 10),
      currency: currency.code,
      exchangeRate,
      erpCustomer,
      description,
      lines: [],
    };
    this.decimals = currency.decimals;
    this.unrounded = 0n;
  }

  post(account, amount, memo, extra = {}) {
    if (money.checked(amount) === 0n) {
      return;
    }
    this.unrounded += amount;
    this.entry.lines.push({
      account,
      subAccount: "",
      costCentre: "",
      debit: amount > 0n ? amount : 0n,
      credit: amount < 0n ? -amount : 0n,
      memo,
      taxCode: extra.taxCode ?? "",
    });
  }

  debit(account, amount, memo, extra) {
    this.post(account, amount, memo, extra);
  }

  credit(account, amount, memo, extra) {
    this.post(account, -amount, memo, extra);
  }

  /** Rounds each line to the minor unit and books the difference to `roundingAccount`. */
  finish(roundingAccount) {
    if (this.unrounded !== 0n) {
      throw invalidInput(
        "does-not-balance",
        `${this.entry.description}: debits and credits differ by ${money.format(this.unrounded)} before rounding`,
      );
    }
    let balance = 0n;
    for (const line of this.entry.lines) {
      line.debit = money.round(line.debit, this.decimals);
      line.credit = money.round(line.credit, this.decimals);
      balance += line.debit - line.credit;
    }
    this.entry.lines = this.entry.lines.filter((line) => line.debit !== 0n || line.credit !== 0n);
    if (balance !== 0n) {
      this.post(roundingAccount, -balance, "rounding");
      this.unrounded = 0n;
    }
    return this.entry;
  }
}

/** The journal an order should have in its current state. */
export function mapOrder(policy, order) {
  const j = new Journal(
    policy.daybook,
    order.createdAt,
    order.currency,
    order.exchangeRate,
    order.erpCustomer,
    `Order ${order.id}`,
  );

  // Revenue per account, net of the discounts allocated to its lines.
  const revenue = new Map();
  order.lines.forEach((line, i) => {
    if (line.totalExTax < 0n || line.discount < 0n) {
      throw invalidInput("negative-line", "a line total or discount is negative", `lines[${i}]`);
    }
    const account = policy.revenueAccount(line.taxClass);
    revenue.set(account, (revenue.get(account) ?? 0n) + line.totalExTax - line.discount);
  });
  const discounts = money.sum(order.discounts.map((d) => d.amount));
  const allocated = money.sum(order.lines.map((l) => l.discount));
  if (allocated > discounts) {
    throw invalidInput(
      "discounts-do-not-add-up",
      `the lines carry ${money.format(allocated)} of discounts but the order's discounts sum to ${money.format(discounts)}`,
      "lines",
    );
  }
  const unallocated = discounts - allocated;
  const accounts = [...revenue.keys()];
  if (accounts.length === 0 && unallocated !== 0n) {
    throw invalidInput("discount-without-revenue", "the order has discounts but no lines", "discounts");
  }
  if (accounts.length > 0) {
    revenue.set(accounts[0], revenue.get(accounts[0]) - unallocated);
  }
  for (const [account, net] of revenue) {
    if (net < 0n) {
      throw invalidInput(
        "discount-exceeds-revenue",
        `discounts exceed the revenue of account ${account} by ${money.format(-net)}`,
        "discounts",
      );
    }
    j.credit(account, net, "sales net of discounts");
  }

  j.credit(policy.shipping, order.shippingExTax, "shipping");
  j.credit(policy.shipping, order.handlingExTax, "handling");
  j.credit(policy.shipping, order.wrappingExTax, "gift wrapping");

  // Tax: one line per tax code when the order lists them, else its total.
  if (order.taxes.length === 0) {
    j.credit(policy.tax, order.totalTax, "tax");
  } else {
    const listed = money.sum(order.taxes.map((t) => t.amount));
    if (listed !== order.totalTax) {
      throw invalidInput(
        "tax-lines-do-not-add-up",
        `tax lines sum to ${money.format(listed)} but the order's total tax is ${money.format(order.totalTax)}`,
        "taxes",
      );
    }
    for (const tax of order.taxes) {
      j.credit(policy.tax, tax.amount, `tax ${tax.name}`, { taxCode: tax.code });
    }
  }

  // Money in: each gateway to its own clearing account, the rest receivable.
  const byGateway = new Map();
  order.payments.forEach((payment, i) => {
    const movesMoney = payment.event === "purchase" || payment.event === "capture";
    if (!payment.succeeded || !movesMoney) {
      return;
    }
    const account = policy.clearingAccount(payment.gateway, `payments[${i}]`);
    const key = `${account}\u0000${payment.gateway}`;
    const seen = byGateway.get(key) ?? { account, gateway: payment.gateway, amount: 0n };
    seen.amount += payment.amount;
    byGateway.set(key, seen);
  });
  let paid = 0n;
  for (const { account, gateway, amount } of byGateway.values()) {
    paid += amount;
    j.debit(account, amount, `paid via ${gateway}`);
  }
  // Tenders: redeemed, not owed (the host lists each once).
  order.tenders.forEach((tender, i) => {
    paid += tender.amount;
    j.debit(policy.tenderAccount(tender.kind, `tenders[${i}]`), tender.amount, `paid by ${tender.name}`);
  });
  const unpaid = order.totalIncTax - paid;
  if (unpaid > 0n && !awaitsPayment(order)) {
    throw invalidInput(
      "unexplained-balance",
      `the order's payment status is \`${order.paymentStatus}\`, yet ${money.format(unpaid)} of its ${money.format(order.totalIncTax)} total is in neither its payments nor its tenders`,
      "payments",
    );
  }
  j.debit(policy.receivable, unpaid, unpaid > 0n ? "unpaid" : "overpaid");

  return j.finish(policy.rounding);
}

/** Whether the order says its money is not in yet, so what is left of its total is owed. */
function awaitsPayment(order) {
  const AWAITING_PAYMENT = 7;
  return (
    order.statusId === AWAITING_PAYMENT ||
    ["", "pending", "authorized", "capture pending", "held for review"].includes(order.paymentStatus)
  );
}

/** The journal for one refund. */
export function mapRefund(policy, refund) {
  const j = new Journal(
    policy.daybook,
    refund.createdAt,
    refund.currency,
    refund.exchangeRate,
    refund.erpCustomer,
    `Refund ${refund.id} of order ${refund.orderId}`,
  );
  let itemsTax = 0n;
  refund.items.forEach((item, i) => {
    if (item.amount < 0n || item.tax < 0n) {
      throw invalidInput("negative-refund-item", "a refund item is negative", `items[${i}]`);
    }
    itemsTax += item.tax;
    switch (item.kind) {
      case "product":
        j.debit(policy.returns, item.amount, `return ${item.sku} x${item.quantity}`);
        break;
      case "shipping":
      case "handling":
      case "gift-wrapping":
        j.debit(policy.shipping, item.amount, `${item.kind} refunded`);
        break;
      default:
        j.debit(policy.returns, item.amount, "order refund");
    }
  });
  if (itemsTax !== refund.totalTax) {
    throw invalidInput(
      "tax-lines-do-not-add-up",
      `refund items carry ${money.format(itemsTax)} tax but the refund's total tax is ${money.format(refund.totalTax)}`,
      "total-tax",
    );
  }
  j.debit(policy.tax, refund.totalTax, "tax refunded");

  let paidOut = 0n;
  refund.payments.forEach((payment, i) => {
    if (payment.declined) {
      return;
    }
    paidOut += payment.amount;
    const gateway = payment.offline ? "offline" : payment.provider;
    const account = payment.tender
      ? policy.tenderAccount(payment.tender, `payments[${i}]`)
      : policy.clearingAccount(gateway, `payments[${i}]`);
    j.credit(account, payment.amount, `refunded via ${payment.provider}`);
  });
  j.credit(policy.receivable, refund.total - paidOut, "refund owed");

  return j.finish(policy.rounding);
}

/** The ledger customer for a first-time shopper: the company, else the person, by email. */
export function mapCustomer(customer) {
  const email = customer.email.trim().toLowerCase();
  if (!email.includes("@")) {
    throw invalidInput("bad-email", `\`${customer.email}\` is not an email address`, "email");
  }
  const person = `${customer.firstName.trim()} ${customer.lastName.trim()}`.trim();
  const name = customer.company.trim() || person || email;
  return {
    code: "",
    name,
    email,
    phone: customer.phone.trim(),
    currency: "",
    address: customer.billingAddress ?? undefined,
    attributes: [],
  };
}
