// Exact money for the JavaScript plugin. An amount is a BigInt count of ten-thousandths
// of the currency's major unit (12.50 = 125000n), as the contract's `s64` arrives in
// JavaScript. Only BigInt arithmetic touches amounts: a Number would lose cents past
// 2^53 and a float would lose them anywhere.

/** Ten-thousandths per major unit. */
export const SCALE = 10000n;

/** Decimals an amount carries. */
export const SCALE_DECIMALS = 4;

/** Ten-thousandths in one minor unit of a currency with `decimals` decimals (100n for 2). */
export function minorUnit(decimals) {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > SCALE_DECIMALS) {
    throw new MoneyError(
      "unsupported-decimals",
      `currencies with ${decimals} decimals are not supported`,
    );
  }
  return 10n ** BigInt(SCALE_DECIMALS - decimals);
}

/** Rounds to the currency's minor unit, half away from zero (commercial rounding). */
export function round(amount, decimals) {
  const unit = minorUnit(decimals);
  const sign = amount < 0n ? -1n : 1n;
  const abs = amount * sign;
  const rest = abs % unit;
  const down = abs - rest;
  const rounded = rest * 2n >= unit ? down + unit : down;
  return checked(rounded * sign);
}

/** Sums amounts. */
export function sum(amounts) {
  let total = 0n;
  for (const amount of amounts) {
    total = checked(total + amount);
  }
  return total;
}

/** Formats with four decimals, e.g. `-12.3400`. */
export function format(amount) {
  const sign = amount < 0n ? "-" : "";
  const abs = amount < 0n ? -amount : amount;
  const frac = (abs % SCALE).toString().padStart(SCALE_DECIMALS, "0");
  return `${sign}${abs / SCALE}.${frac}`;
}

/** A BigInt amount must stay within `s64`, which is what the host accepts back. */
const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

/** `amount`, or an `amount-overflow` error when it does not fit in `s64`. */
export function checked(amount) {
  if (amount > MAX || amount < MIN) {
    throw new MoneyError("amount-overflow", "an amount is too large to represent exactly");
  }
  return amount;
}

/** A money problem, turned into an `invalid-input` mapping error by the caller. */
export class MoneyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
