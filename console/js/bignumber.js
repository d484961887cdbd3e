// BigNumber: the number type of web3 0.20 (the part of bignumber.js's API that web3 and
// 7nodes-style scripts use), over BigInt: value = c / 10^scale, exact for + - *, division to
// 20 decimal places as bignumber.js's default. toString() switches to exponential notation
// from 1e21 and below 1e-7, as bignumber.js's default EXPONENTIAL_AT = [-7, 20] does.
var DECIMAL_PLACES = 20;

function pow10(n) { return 10n ** BigInt(n); }

function parseInBase(text, base) {
  var negative = text.charAt(0) === "-";
  var digits = (negative ? text.slice(1) : text).toLowerCase().replace(/^0x/, "");
  if (digits === "") throw new Error("not a number: " + text);
  var value = 0n;
  for (var i = 0; i < digits.length; i++) {
    var digit = parseInt(digits.charAt(i), base);
    if (isNaN(digit)) throw new Error("not a base " + base + " number: " + text);
    value = value * BigInt(base) + BigInt(digit);
  }
  return negative ? -value : value;
}

function parseBig(value, base) {
  if (value instanceof BigNumber) return { c: value.c, scale: value.scale };
  if (typeof value === "bigint") return { c: value, scale: 0 };
  if (typeof value === "number") {
    if (!isFinite(value)) throw new Error("not a finite number: " + value);
    value = String(value);
  }
  if (typeof value !== "string") throw new Error("not a number: " + value);
  var text = value.trim();
  if (base === 16 || /^-?0x/i.test(text)) return { c: parseInBase(text, 16), scale: 0 };
  if (base !== undefined && base !== 10) return { c: parseInBase(text, base), scale: 0 };
  var m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!m || (m[2] + (m[3] || "")) === "") throw new Error("not a number: " + value);
  var fraction = m[3] || "";
  var c = BigInt(m[2] + fraction || "0") * (m[1] === "-" ? -1n : 1n);
  var scale = fraction.length - Number(m[4] || 0);
  if (scale < 0) { c *= pow10(-scale); scale = 0; }
  return { c: c, scale: scale };
}

// Sets the value c / 10^scale on `n`, without trailing zeros after the point.
function setValue(n, c, scale) {
  while (scale > 0 && c % 10n === 0n) { c /= 10n; scale--; }
  Object.defineProperty(n, "c", { value: c });
  Object.defineProperty(n, "scale", { value: scale });
  return n;
}

function BigNumber(value, base) {
  if (!(this instanceof BigNumber)) return new BigNumber(value, base);
  var parsed = parseBig(value, base);
  setValue(this, parsed.c, parsed.scale);
}

// A result of arithmetic: c / 10^scale.
function big(c, scale) { return setValue(Object.create(BigNumber.prototype), c, scale); }

// Both coefficients at the larger scale.
function aligned(a, b) {
  b = new BigNumber(b);
  var scale = Math.max(a.scale, b.scale);
  return { a: a.c * pow10(scale - a.scale), b: b.c * pow10(scale - b.scale), scale: scale };
}

// c / d rounded half away from zero (bignumber.js's default ROUND_HALF_UP).
function roundedDivision(c, d) {
  var q = c / d, r = c % d;
  if (r < 0n) r = -r;
  if (2n * r >= (d < 0n ? -d : d)) q += (c < 0n) !== (d < 0n) ? -1n : 1n;
  return q;
}

BigNumber.prototype.plus = function (other) { var x = aligned(this, other); return big(x.a + x.b, x.scale); };
BigNumber.prototype.minus = function (other) { var x = aligned(this, other); return big(x.a - x.b, x.scale); };
BigNumber.prototype.times = function (other) {
  other = new BigNumber(other);
  return big(this.c * other.c, this.scale + other.scale);
};
BigNumber.prototype.div = function (other) {
  var x = aligned(this, other);
  if (x.b === 0n) throw new Error("division by zero");
  return big(roundedDivision(x.a * pow10(DECIMAL_PLACES), x.b), DECIMAL_PLACES);
};
BigNumber.prototype.dividedToIntegerBy = function (other) {
  var x = aligned(this, other);
  if (x.b === 0n) throw new Error("division by zero");
  return big(x.a / x.b, 0);
};
BigNumber.prototype.mod = function (other) {
  var x = aligned(this, other);
  if (x.b === 0n) throw new Error("division by zero");
  return big(x.a % x.b, x.scale);
};
BigNumber.prototype.pow = function (n) {
  if (!Number.isInteger(n) || n < 0) throw new Error("pow takes a whole exponent >= 0");
  return big(this.c ** BigInt(n), this.scale * n);
};
BigNumber.prototype.cmp = function (other) {
  var x = aligned(this, other);
  return x.a < x.b ? -1 : x.a > x.b ? 1 : 0;
};
BigNumber.prototype.round = function (dp) {
  dp = dp || 0;
  if (this.scale <= dp) return this;
  return big(roundedDivision(this.c, pow10(this.scale - dp)), dp);
};
BigNumber.prototype.floor = function () {
  if (this.scale === 0) return this;
  var d = pow10(this.scale), q = this.c / d;
  return big(this.c < 0n && this.c % d !== 0n ? q - 1n : q, 0);
};
BigNumber.prototype.ceil = function () { return this.neg().floor().neg(); };
BigNumber.prototype.neg = function () { return big(-this.c, this.scale); };
BigNumber.prototype.abs = function () { return this.c < 0n ? this.neg() : this; };
BigNumber.prototype.isZero = function () { return this.c === 0n; };
BigNumber.prototype.isNegative = function () { return this.c < 0n; };
BigNumber.prototype.isInteger = function () { return this.scale === 0; };
BigNumber.prototype.decimalPlaces = function () { return this.scale; };
BigNumber.prototype.equals = function (other) { return this.cmp(other) === 0; };
BigNumber.prototype.lessThan = function (other) { return this.cmp(other) < 0; };
BigNumber.prototype.lessThanOrEqualTo = function (other) { return this.cmp(other) <= 0; };
BigNumber.prototype.greaterThan = function (other) { return this.cmp(other) > 0; };
BigNumber.prototype.greaterThanOrEqualTo = function (other) { return this.cmp(other) >= 0; };

// The digits in plain notation, with `dp` decimal places when given.
BigNumber.prototype.toFixed = function (dp) {
  var n = dp === undefined ? this : this.round(dp);
  var digits = (n.c < 0n ? -n.c : n.c).toString();
  var sign = n.c < 0n ? "-" : "";
  var out = digits;
  if (n.scale > 0) {
    digits = digits.padStart(n.scale + 1, "0");
    out = digits.slice(0, digits.length - n.scale) + "." + digits.slice(digits.length - n.scale);
  }
  if (dp !== undefined && dp > n.scale) out += (n.scale === 0 ? "." : "") + "0".repeat(dp - n.scale);
  return sign + out;
};
BigNumber.prototype.toString = function (base) {
  if (base !== undefined && base !== 10) {
    var whole = this.c / pow10(this.scale);
    return whole < 0n ? "-" + (-whole).toString(base) : whole.toString(base);
  }
  if (this.c === 0n) return "0";
  var digits = (this.c < 0n ? -this.c : this.c).toString();
  var exponent = digits.length - 1 - this.scale;
  if (base === 10 || (exponent < 21 && exponent > -7)) return this.toFixed();
  var mantissa = digits.replace(/0+$/, "");
  return (this.c < 0n ? "-" : "") + mantissa.charAt(0) + (mantissa.length > 1 ? "." + mantissa.slice(1) : "") +
    "e" + (exponent < 0 ? "-" : "+") + Math.abs(exponent);
};
BigNumber.prototype.toNumber = function () { return Number(this.toString()); };
BigNumber.prototype.valueOf = BigNumber.prototype.toString;
BigNumber.prototype.toJSON = BigNumber.prototype.toString;
[["add", "plus"], ["sub", "minus"], ["mul", "times"], ["dividedBy", "div"], ["divToInt", "dividedToIntegerBy"],
  ["modulo", "mod"], ["toPower", "pow"], ["comparedTo", "cmp"], ["negated", "neg"], ["absoluteValue", "abs"],
  ["isNeg", "isNegative"], ["isInt", "isInteger"], ["dp", "decimalPlaces"], ["eq", "equals"],
  ["lt", "lessThan"], ["lte", "lessThanOrEqualTo"], ["gt", "greaterThan"], ["gte", "greaterThanOrEqualTo"]]
  .forEach(function (pair) { BigNumber.prototype[pair[0]] = BigNumber.prototype[pair[1]]; });

function isBigNumber(value) { return value instanceof BigNumber; }
