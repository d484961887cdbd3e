// JSON-RPC through the native __rpc(method, paramsJson) -> answerJson, the helpers that turn
// the console's calls into RPC methods and properties, and web3 0.20's output formatters.
function rpc(method, params) {
  var answer = JSON.parse(__rpc(method, JSON.stringify(params || [])));
  if (answer.error !== undefined) throw new Error(answer.error);
  return answer.result;
}

function utf8Hex(text) {
  var out = "0x";
  var bytes = unescape(encodeURIComponent(text));
  for (var i = 0; i < bytes.length; i++) out += ("0" + bytes.charCodeAt(i).toString(16)).slice(-2);
  return out;
}

// web3 0.20's toHex: numbers, BigNumbers and decimal strings as quantities, 0x strings as they
// are, other strings as UTF-8, objects as their JSON.
function toHex(value) {
  if (value === null || value === undefined) return value;
  if (typeof value === "boolean") return value ? "0x1" : "0x0";
  if (isBigNumber(value) || typeof value === "number" || typeof value === "bigint") return fromDecimal(value);
  if (typeof value === "object") return utf8Hex(JSON.stringify(value));
  if (typeof value === "string") {
    if (value.indexOf("-0x") === 0) return fromDecimal(value);
    if (value.indexOf("0x") === 0) return value;
    if (!/^-?[0-9]+(\.[0-9]*)?$/.test(value)) return utf8Hex(value);
  }
  return fromDecimal(value);
}
function fromDecimal(value) {
  var n = new BigNumber(value);
  return n.isNegative() ? "-0x" + n.abs().toString(16) : "0x" + n.toString(16);
}
// A quantity as a JavaScript number (web3 0.20's toDecimal), or its decimal digits beyond 2^53.
function number(hex) {
  if (hex === null || hex === undefined) return hex;
  var n = BigInt(hex);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}
function bigNumber(hex) { return hex === null || hex === undefined ? hex : new BigNumber(hex); }
// A block parameter: numbers as quantities; tags, hex and anything else as given, for the node
// to accept or name what is wrong.
function block(value) {
  if (value === undefined) return "latest";
  if (typeof value === "string" && !/^[0-9]+$/.test(value)) return value;
  return toHex(value);
}
var QUANTITIES = ["gas", "gasPrice", "value", "nonce", "maxFeePerGas", "maxPriorityFeePerGas"];
function tx(object) {
  var out = {};
  for (var key in object) out[key] = QUANTITIES.indexOf(key) >= 0 ? toHex(object[key]) : object[key];
  return out;
}

// Fields converted as web3 0.20's output formatters do: counters to numbers, amounts to BigNumbers.
function formatted(numbers, bigs) {
  return function (object) {
    if (object === null || typeof object !== "object") return object;
    numbers.forEach(function (k) { if (object[k] !== undefined && object[k] !== null) object[k] = number(object[k]); });
    bigs.forEach(function (k) { if (object[k] !== undefined && object[k] !== null) object[k] = bigNumber(object[k]); });
    return object;
  };
}
var formatLog = formatted(["blockNumber", "transactionIndex", "logIndex"], []);
var formatTransaction = formatted(["blockNumber", "nonce", "gas", "transactionIndex"], ["gasPrice", "value"]);
var formatReceipt = (function (fields) {
  return function (receipt) {
    receipt = fields(receipt);
    if (receipt && Array.isArray(receipt.logs)) receipt.logs = receipt.logs.map(formatLog);
    return receipt;
  };
})(formatted(["blockNumber", "transactionIndex", "cumulativeGasUsed", "gasUsed"], []));
var formatBlock = (function (fields) {
  return function (b) {
    b = fields(b);
    if (b && Array.isArray(b.transactions)) {
      b.transactions = b.transactions.map(function (t) { return typeof t === "string" ? t : formatTransaction(t); });
    }
    return b;
  };
})(formatted(["gasLimit", "gasUsed", "size", "timestamp", "number"], ["difficulty", "totalDifficulty"]));

// Calls `work`; with a callback, hands it (error, result) instead of returning or throwing.
function settled(callback, work) {
  var result;
  try {
    result = work();
  } catch (error) {
    if (callback) { callback(error); return undefined; }
    throw error;
  }
  if (callback) { callback(null, result); return undefined; }
  return result;
}
function withCallback(args) {
  args = Array.prototype.slice.call(args);
  var callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
  return { args: args, callback: callback };
}

// A method: `shape` maps the caller's arguments to the RPC params, `format` the result; a
// function as the last argument gets (error, result).
function method(name, shape, format) {
  return function () {
    var parts = withCallback(arguments);
    return settled(parts.callback, function () {
      var result = rpc(name, shape ? shape.apply(null, parts.args) : parts.args);
      return format ? format(result) : result;
    });
  };
}
function property(object, name, rpcName, format) {
  Object.defineProperty(object, name, {
    enumerable: true,
    get: function () { var r = rpc(rpcName, []); return format ? format(r) : r; },
  });
}
