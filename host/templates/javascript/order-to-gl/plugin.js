// {{name}}: an `order-to-gl` mapping plugin (ml-connector:mapping@{{contract}}).
//
// Orders: each line's revenue to `account.sales`, discounts to `account.discounts`,
// shipping, handling and wrapping to `account.shipping`, each tax to `account.tax`, each
// succeeded purchase or capture to `account.bank`, each gift certificate, store credit or
// offline payment to `account.tenders`, and what is left unpaid to `account.receivable`.
// Each amount is rounded to the currency's minor unit (half away from zero) and what the
// rounding leaves goes to `account.rounding`. Refunds: the same accounts the other way
// round. First-time shoppers: a ledger customer
// named by company, else by person, else by email.
//
// Amounts are BigInt ten-thousandths of the currency (12.50 is 125000n): never Numbers,
// which lose cents past 2^53. Records are objects with camelCase fields, enums are their
// kebab-case names ("capture"), an `option` is the value or `undefined`, and an exported
// `result` is returned when ok and thrown when not.

// The settings this plugin reads, all required: [name, description].
const SETTINGS = [
  ["account.sales", "Revenue from order lines"],
  ["account.discounts", "Discounts given"],
  ["account.shipping", "Shipping, handling and gift wrapping charged"],
  ["account.tax", "Sales tax collected"],
  ["account.bank", "Card and wallet payments received"],
  ["account.tenders", "Gift certificates, store credit and offline payments"],
  ["account.receivable", "What shoppers still owe, or are owed"],
  ["account.rounding", "What rounding to the currency's minor unit leaves"],
];

const TENDERS = {
  "gift-certificate": "gift certificate",
  "store-credit": "store credit",
  offline: "offline",
};

const REFUNDED = {
  order: ["account.sales", "order refunded"],
  fee: ["account.sales", "fee refunded"],
  shipping: ["account.shipping", "shipping refunded"],
  handling: ["account.shipping", "handling refunded"],
  "gift-wrapping": ["account.shipping", "gift wrapping refunded"],
};

/** The setting `name`, or throws the error that it is not set. */
function setting(cfg, name) {
  for (const [key, value] of cfg) {
    if (key === name && value.trim() !== "") {
      return value.trim();
    }
  }
  throw { kind: "config", code: "missing-setting", message: `setting \`${name}\` is not set`, path: name };
}

function invalid(code, message, path) {
  return { kind: "invalid-input", code, message, path };
}

const sum = (amounts) => amounts.reduce((total, amount) => total + amount, 0n);

/** A journal being built: lines of nonzero amounts, each on its side, rounded to the
 * currency's minor unit. */
class Journal {
  constructor(decimals) {
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 4) {
      throw invalid("unsupported-decimals", `currencies with ${decimals} decimals are not supported`);
    }
    this.unit = 10n ** BigInt(4 - decimals); // ten-thousandths in one minor unit
    this.lines = [];
    this.exact = 0n; // debits less credits before rounding
  }

  debit(account, amount, memo) {
    this.add(account, amount, memo, "");
  }

  credit(account, amount, memo, taxCode = "") {
    this.add(account, -amount, memo, taxCode);
  }

  add(account, net, memo, taxCode) {
    this.exact += net;
    // Half away from zero.
    const abs = net < 0n ? -net : net;
    const rounded = ((abs + this.unit / 2n) / this.unit) * this.unit * (net < 0n ? -1n : 1n);
    if (rounded !== 0n) {
      this.lines.push({
        account,
        subAccount: "",
        costCentre: "",
        debit: rounded > 0n ? rounded : 0n,
        credit: rounded < 0n ? -rounded : 0n,
        memo,
        taxCode,
      });
    }
  }

  /** The entry, with what rounding left on `rounding`. */
  entry(rounding, createdAt, description) {
    this.add(rounding, -sum(this.lines.map((line) => line.debit - line.credit)), "rounding", "");
    // The currency, exchange rate and ledger customer are the record's: left empty, the
    // host fills them in.
    return {
      daybook: "SO",
      effectiveDate: createdAt.slice(0, 10),
      currency: "",
      exchangeRate: { digits: 0n, scale: 0 },
      erpCustomer: "",
      description,
      lines: this.lines,
    };
  }
}

function mapOrder(cfg, order) {
  const journal = new Journal(order.currency.decimals);
  for (const line of order.lines) {
    journal.credit(setting(cfg, "account.sales"), line.totalExTax, `${line.sku} x${line.quantity}`);
  }
  journal.debit(setting(cfg, "account.discounts"), sum(order.discounts.map((d) => d.amount)), "discounts");
  const shipping = order.shippingExTax + order.handlingExTax + order.wrappingExTax;
  journal.credit(setting(cfg, "account.shipping"), shipping, "shipping, handling and wrapping");
  for (const tax of order.taxes) {
    journal.credit(setting(cfg, "account.tax"), tax.amount, tax.name, tax.code);
  }
  for (const payment of order.payments) {
    if (payment.succeeded && (payment.event === "purchase" || payment.event === "capture")) {
      journal.debit(setting(cfg, "account.bank"), payment.amount, `paid via ${payment.gateway}`);
    }
  }
  for (const tender of order.tenders) {
    journal.debit(setting(cfg, "account.tenders"), tender.amount, tender.name || TENDERS[tender.kind]);
  }
  const balance = journal.exact;
  if (balance > 0n) {
    throw invalid("overpaid", `order ${order.id} was paid more than its total`);
  }
  journal.debit(setting(cfg, "account.receivable"), -balance, "due from the shopper");
  return journal.entry(setting(cfg, "account.rounding"), order.createdAt, `Order ${order.id}`);
}

function mapRefund(cfg, refund) {
  const journal = new Journal(refund.currency.decimals);
  for (const item of refund.items) {
    const [account, memo] =
      item.kind === "product" ? ["account.sales", `${item.sku} x${item.quantity} returned`] : REFUNDED[item.kind];
    journal.debit(setting(cfg, account), item.amount, memo);
  }
  journal.debit(setting(cfg, "account.tax"), sum(refund.items.map((item) => item.tax)), "tax refunded");
  for (const payment of refund.payments) {
    if (payment.declined) {
      continue;
    }
    if (payment.tender !== undefined) {
      journal.credit(setting(cfg, "account.tenders"), payment.amount, `refunded as ${TENDERS[payment.tender]}`);
    } else {
      journal.credit(setting(cfg, "account.bank"), payment.amount, `refunded via ${payment.provider}`);
    }
  }
  const balance = journal.exact;
  if (balance < 0n) {
    throw invalid("over-refunded", `refund ${refund.id} paid back more than it returns`);
  }
  journal.credit(setting(cfg, "account.receivable"), balance, "owed to the shopper");
  const description = `Refund ${refund.id} of order ${refund.orderId}`;
  return journal.entry(setting(cfg, "account.rounding"), refund.createdAt, description);
}

function mapCustomer(customer) {
  const email = customer.email.trim().toLowerCase();
  if (!email.includes("@")) {
    throw invalid("bad-email", `\`${customer.email}\` is not an email address`, "email");
  }
  const person = `${customer.firstName.trim()} ${customer.lastName.trim()}`.trim();
  // The code and currency are left to the host: it numbers new customers and knows the
  // store's currency.
  return {
    code: "",
    name: customer.company.trim() || person || email,
    email,
    phone: customer.phone.trim(),
    currency: "",
    address: customer.billingAddress,
    attributes: [],
  };
}

/** One `{tag: "ok"}` or `{tag: "err"}` per record, in order. */
function each(map, records) {
  return records.map((record) => {
    try {
      return { tag: "ok", val: map(record) };
    } catch (error) {
      return { tag: "err", val: error };
    }
  });
}

export const plugin = {
  describe() {
    return {
      name: "{{name}}",
      version: "0.1.0",
      description: "Orders and refunds to GL journals",
      configKeys: SETTINGS.map(([name, description]) => ({ name, required: true, description })),
    };
  },

  validateConfig(cfg) {
    const missing = [];
    for (const [name] of SETTINGS) {
      try {
        setting(cfg, name);
      } catch (error) {
        missing.push(error);
      }
    }
    if (missing.length > 0) {
      throw missing;
    }
  },
};

export const orders = {
  mapOrder: mapOrder,
  mapRefund: mapRefund,
  mapCustomer: (_cfg, customer) => mapCustomer(customer),
  mapOrders: (cfg, records) => each((order) => mapOrder(cfg, order), records),
  mapRefunds: (cfg, records) => each((refund) => mapRefund(cfg, refund), records),
  mapCustomers: (_cfg, records) => each(mapCustomer, records),
};
