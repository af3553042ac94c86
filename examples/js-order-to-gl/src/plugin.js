// The `order-to-gl` world of `ml-connector:mapping@0.2.0`, exported from JavaScript: the
// contract's `plugin` and `orders` interfaces over the functions in `mapping.js`.
//
// How the contract looks from JavaScript (componentize-js bindings): records are objects
// with camelCase fields, enums are their kebab-case names ("coupon", "capture"), `s64`
// amounts are BigInt, `u8`/`u32` are Numbers, `option` is the value or `undefined`, and
// an exported `result` is returned when ok and thrown when not. The batch forms return
// `{tag: "ok", val}` / `{tag: "err", val}` per record.
//
// A bug in the mapping (an unexpected exception) becomes an `internal` mapping error with
// its message, and diagnostics go through the host's bounded `log`: the component is
// built without WASI stdio, so nothing else would carry them.

import { log } from "ml-connector:mapping/host@0.2.0";
import * as mapping from "./mapping.js";

/** The contract's `mapping-error` for anything thrown while mapping one record. */
function toMappingError(error) {
  if (error instanceof mapping.MappingFailure) {
    return error.toRecord();
  }
  if (error instanceof Error && typeof error.code === "string") {
    // A money error (overflow, unsupported decimals): the record's numbers are the cause.
    return { kind: "invalid-input", code: error.code, message: error.message, path: undefined };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  log("error", `unexpected exception: ${message}`);
  return { kind: "internal", code: "unexpected-exception", message, path: undefined };
}

/** Runs `map` and returns its value, or throws the contract's error record. */
function one(map) {
  try {
    return map();
  } catch (error) {
    throw toMappingError(error);
  }
}

/** Maps every record with `map`, one `result` each; a settings error fails them all. */
function many(cfg, records, map) {
  let policy;
  try {
    policy = new mapping.Policy(cfg);
  } catch (error) {
    const err = toMappingError(error);
    return records.map(() => ({ tag: "err", val: err }));
  }
  return records.map((record) => {
    try {
      return { tag: "ok", val: map(policy, record) };
    } catch (error) {
      return { tag: "err", val: toMappingError(error) };
    }
  });
}

export const plugin = {
  describe() {
    return mapping.describe();
  },

  validateConfig(cfg) {
    const errors = mapping.validateConfig(cfg).map((e) => e.toRecord());
    if (errors.length > 0) {
      throw errors;
    }
  },
};

export const orders = {
  mapOrder(cfg, order) {
    return one(() => mapping.mapOrder(new mapping.Policy(cfg), order));
  },

  mapRefund(cfg, refund) {
    return one(() => mapping.mapRefund(new mapping.Policy(cfg), refund));
  },

  mapCustomer(_cfg, customer) {
    return one(() => mapping.mapCustomer(customer));
  },

  mapOrders(cfg, records) {
    return many(cfg, records, mapping.mapOrder);
  },

  mapRefunds(cfg, records) {
    return many(cfg, records, mapping.mapRefund);
  },

  mapCustomers(_cfg, records) {
    return records.map((customer) => {
      try {
        return { tag: "ok", val: mapping.mapCustomer(customer) };
      } catch (error) {
        return { tag: "err", val: toMappingError(error) };
      }
    });
  },
};
