// geth's JavaScript tracer environment (eth/tracers/js): the `log`, `db`, call frame and
// context objects a tracer's functions receive, and geth's helpers (toHex, toWord, toAddress,
// toContract, toContract2, isPrecompiled, slice, bigInt). Everything the EVM knows comes from
// the natives on `__veil`, which answer only while the hook that calls the tracer runs.
(function (global) {
  "use strict";
  var v = global.__veil;

  function hexOf(bytes) {
    if (typeof bytes === "string") return bytes.indexOf("0x") === 0 ? bytes : "0x" + bytes;
    var out = "0x";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + (bytes[i] & 255).toString(16);
    return out;
  }
  function bytesOf(hex) {
    var h = hex.indexOf("0x") === 0 ? hex.slice(2) : hex;
    if (h.length % 2) h = "0" + h;
    var out = new Uint8Array(h.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
    return out;
  }
  function padded(value, size) {
    var bytes = typeof value === "string" ? bytesOf(value) : value;
    var out = new Uint8Array(size);
    var n = Math.min(bytes.length, size);
    for (var i = 0; i < n; i++) out[size - n + i] = bytes[bytes.length - n + i];
    return out;
  }

  // big-integer.js's interface (the library geth's tracers get), over native BigInt.
  function Big(value) { this.value = value; }
  function raw(x) {
    if (x instanceof Big) return x.value;
    if (typeof x === "bigint") return x;
    if (typeof x === "number") return BigInt(Math.trunc(x));
    if (typeof x === "string") return x.indexOf("0x") === 0 || x.indexOf("-") === 0 ? BigInt(x) : BigInt(x === "" ? "0" : x);
    if (x && x.length !== undefined) return BigInt(hexOf(x) === "0x" ? "0" : hexOf(x));
    throw new TypeError("not a number: " + x);
  }
  Big.prototype.toString = function (radix) { return this.value.toString(radix || 10); };
  Big.prototype.valueOf = function () { return Number(this.value); };
  Big.prototype.toJSNumber = Big.prototype.valueOf;
  Big.prototype.toJSON = function () { return this.value.toString(10); };
  Big.prototype.add = Big.prototype.plus = function (o) { return new Big(this.value + raw(o)); };
  Big.prototype.subtract = Big.prototype.minus = function (o) { return new Big(this.value - raw(o)); };
  Big.prototype.multiply = Big.prototype.times = function (o) { return new Big(this.value * raw(o)); };
  Big.prototype.divide = Big.prototype.over = function (o) { return new Big(this.value / raw(o)); };
  Big.prototype.mod = function (o) { return new Big(this.value % raw(o)); };
  Big.prototype.compare = function (o) { var b = raw(o); return this.value < b ? -1 : this.value > b ? 1 : 0; };
  Big.prototype.equals = Big.prototype.eq = function (o) { return this.value === raw(o); };
  Big.prototype.notEquals = Big.prototype.neq = function (o) { return this.value !== raw(o); };
  Big.prototype.greater = Big.prototype.gt = function (o) { return this.value > raw(o); };
  Big.prototype.lesser = Big.prototype.lt = function (o) { return this.value < raw(o); };
  Big.prototype.greaterOrEquals = Big.prototype.geq = function (o) { return this.value >= raw(o); };
  Big.prototype.lesserOrEquals = Big.prototype.leq = function (o) { return this.value <= raw(o); };
  Big.prototype.isZero = function () { return this.value === 0n; };
  Big.prototype.isNegative = function () { return this.value < 0n; };
  Big.prototype.isPositive = function () { return this.value > 0n; };
  function bigInt(x, radix) {
    if (x === undefined) return new Big(0n);
    if (radix === 16 && typeof x === "string") return new Big(BigInt("0x" + x.replace(/^0x/, "")));
    return new Big(raw(x));
  }
  bigInt.zero = new Big(0n);
  bigInt.one = new Big(1n);
  bigInt.minusOne = new Big(-1n);
  bigInt.isInstance = function (x) { return x instanceof Big; };

  global.bigInt = bigInt;
  global.toHex = hexOf;
  global.toWord = function (x) { return padded(x, 32); };
  global.toAddress = function (x) { return padded(typeof x === "string" && x.indexOf("0x") !== 0 ? "0x" + x : x, 20); };
  global.toContract = function (from, nonce) { return bytesOf(v.createAddress(hexOf(from), Number(nonce))); };
  global.toContract2 = function (from, salt, initcode) {
    return bytesOf(v.create2Address(hexOf(from), hexOf(salt), hexOf(initcode)));
  };
  global.isPrecompiled = function (address) { return v.isPrecompiled(hexOf(address)); };
  global.slice = function (bytes, start, end) { return bytes.slice(start, end); };

  var opName = function () { return v.opName(); };
  global.__log = {
    op: {
      toNumber: function () { return v.op(); },
      toString: opName,
      isPush: function () { var n = v.op(); return n >= 0x5f && n <= 0x7f; },
    },
    stack: {
      peek: function (i) { return new Big(BigInt(v.stackPeek(i))); },
      length: function () { return v.stackLength(); },
    },
    memory: {
      slice: function (begin, end) { return bytesOf(v.memorySlice(Number(begin), Number(end))); },
      getUint: function (offset) { return new Big(BigInt(v.memoryWord(Number(offset)))); },
      length: function () { return v.memoryLength(); },
    },
    contract: {
      getCaller: function () { return bytesOf(v.caller()); },
      getAddress: function () { return bytesOf(v.address()); },
      getValue: function () { return new Big(BigInt(v.value())); },
      getInput: function () { return bytesOf(v.input()); },
    },
    getPC: function () { return v.pc(); },
    getGas: function () { return v.gas(); },
    getCost: function () { return v.cost(); },
    getDepth: function () { return v.depth(); },
    getRefund: function () { return v.refund(); },
    getError: function () { var e = v.error(); return e == null ? undefined : e; },
  };
  global.__db = {
    getBalance: function (a) { return new Big(BigInt(v.balance(hexOf(a)))); },
    getNonce: function (a) { return v.nonce(hexOf(a)); },
    getCode: function (a) { return bytesOf(v.code(hexOf(a))); },
    getState: function (a, slot) { return bytesOf(v.storage(hexOf(a), hexOf(slot))); },
    exists: function (a) { return v.exists(hexOf(a)); },
  };
  global.__frame = {
    getType: function () { return v.frameType(); },
    getFrom: function () { return bytesOf(v.frameFrom()); },
    getTo: function () { return bytesOf(v.frameTo()); },
    getInput: function () { return bytesOf(v.frameInput()); },
    getGas: function () { return v.frameGas(); },
    getValue: function () { var x = v.frameValue(); return x == null ? undefined : new Big(BigInt(x)); },
  };
  global.__frameResult = {
    getGasUsed: function () { return v.exitGasUsed(); },
    getOutput: function () { return bytesOf(v.exitOutput()); },
    getError: function () { var e = v.exitError(); return e == null ? undefined : e; },
  };
  global.__context = function (fields) {
    var ctx = {
      type: fields.type,
      from: bytesOf(fields.from),
      to: bytesOf(fields.to),
      input: bytesOf(fields.input),
      gas: fields.gas,
      gasUsed: fields.gasUsed,
      gasPrice: fields.gasPrice,
      intrinsicGas: fields.intrinsicGas,
      value: new Big(BigInt(fields.value)),
      block: fields.block,
      output: bytesOf(fields.output),
      time: fields.time,
    };
    if (fields.error != null) ctx.error = fields.error;
    return ctx;
  };
})(globalThis);
