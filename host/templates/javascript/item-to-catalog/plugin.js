// {{name}}: an `item-to-catalog` mapping plugin (ml-connector:mapping@{{contract}}).
//
// Each changed ledger item becomes a catalog update: its price from the `price-list` in
// `currency` (the newest price in effect on the day of the change), its cost from the
// `cost-list` if one is set, its name from the item's description, and visible only while
// the item is active.
//
// Amounts are BigInt ten-thousandths of the currency (12.50 is 125000n): never Numbers,
// which lose cents past 2^53. Records are objects with camelCase fields, an `option` is
// the value or `undefined`, and an exported `result` is returned when ok and thrown when
// not.

// The settings this plugin reads: [name, required, description].
const SETTINGS = [
  ["price-list", true, "The ledger price list the store sells at"],
  ["currency", true, "The currency of the store's prices"],
  ["cost-list", false, "The ledger price list holding costs (none when empty)"],
];

/** The setting `name`, or throws the error that it is not set. */
function setting(cfg, name) {
  for (const [key, value] of cfg) {
    if (key === name && value.trim() !== "") {
      return value.trim();
    }
  }
  throw { kind: "config", code: "missing-setting", message: `setting \`${name}\` is not set`, path: name };
}

/** The newest price of `list` in `currency` in effect on the day the item changed (any
 * day, when the change has no date). */
function priceOn(item, list, currency) {
  let found;
  for (const price of item.prices) {
    if (price.priceList !== list || price.currency !== currency) {
      continue;
    }
    if (item.changedOn !== "" && price.effectiveFrom > item.changedOn) {
      continue;
    }
    if (found === undefined || price.effectiveFrom >= found.effectiveFrom) {
      found = price;
    }
  }
  return found?.amount;
}

function mapItem(cfg, item) {
  if (item.sku.trim() === "") {
    throw {
      kind: "invalid-input",
      code: "missing-sku",
      message: "the item has no SKU to find it in the store by",
      path: "sku",
    };
  }
  const currency = setting(cfg, "currency");
  const price = priceOn(item, setting(cfg, "price-list"), currency);
  let cost;
  try {
    cost = priceOn(item, setting(cfg, "cost-list"), currency);
  } catch {
    cost = undefined;
  }
  const name = item.description.trim();
  return {
    sku: item.sku.trim(),
    name: name === "" ? undefined : name,
    price,
    salePrice: undefined,
    costPrice: cost,
    visible: item.status.trim().toLowerCase() === "active",
  };
}

export const plugin = {
  describe() {
    return {
      name: "{{name}}",
      version: "0.1.0",
      description: "Ledger items and prices to catalog updates",
      configKeys: SETTINGS.map(([name, required, description]) => ({ name, required, description })),
    };
  },

  validateConfig(cfg) {
    const missing = [];
    for (const [name, required] of SETTINGS) {
      try {
        if (required) {
          setting(cfg, name);
        }
      } catch (error) {
        missing.push(error);
      }
    }
    if (missing.length > 0) {
      throw missing;
    }
  },
};

export const catalog = {
  mapItem,
  mapItems: (cfg, items) =>
    items.map((item) => {
      try {
        return { tag: "ok", val: mapItem(cfg, item) };
      } catch (error) {
        return { tag: "err", val: error };
      }
    }),
};
