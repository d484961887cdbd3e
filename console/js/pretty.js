// The console's pretty printer, after geth's: object keys sorted and unquoted (those starting
// with "_" left out), strings quoted, BigNumbers as numbers, functions as function(), three
// levels deep; coloured as geth colours them when the console is on a terminal.
var MAX_LEVEL = 3;
var COLORS = { number: "\x1b[31m", string: "\x1b[32m", special: "\x1b[1m", function: "\x1b[35m" };

function fields(object) {
  var keys = Object.getOwnPropertyNames(object);
  var proto = Object.getPrototypeOf(object);
  if (proto && proto !== Object.prototype) {
    Object.getOwnPropertyNames(proto).forEach(function (k) {
      if (k !== "constructor" && keys.indexOf(k) < 0) keys.push(k);
    });
  }
  return keys.filter(function (k) { return k.charAt(0) !== "_"; }).sort();
}

function show(value, colored) {
  function paint(kind, text) { return colored ? COLORS[kind] + text + "\x1b[0m" : text; }
  function indent(level) { return "  ".repeat(Math.max(level, 0)); }
  function field(object, key) {
    try { return object[key]; } catch (error) { return error; }
  }
  function print(v, level, inArray) {
    if (v === undefined || v === null || typeof v === "boolean") return paint("special", String(v));
    if (typeof v === "number" || typeof v === "bigint") return paint("number", String(v));
    if (typeof v === "string") return paint("string", JSON.stringify(v));
    if (typeof v === "function") return paint("function", "function()");
    if (isBigNumber(v)) return paint("number", v.toString());
    if (v instanceof Error) return String(v);
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      if (level > MAX_LEVEL) return "[...]";
      return "[" + v.map(function (e) { return print(e, level + 1, true); }).join(", ") + "]";
    }
    var keys = fields(v);
    if (keys.length === 0) return "{}";
    if (level > MAX_LEVEL) return "{...}";
    var lines = keys.map(function (k) { return indent(level + 1) + k + ": " + print(field(v, k), level + 1, false); });
    return "{\n" + lines.join(",\n") + "\n" + indent(inArray ? level - 1 : level) + "}";
  }
  return print(value, 0, false);
}
