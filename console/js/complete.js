// Completions of the identifier path at the end of `line` (geth's completer): global names,
// or the fields of the object the path names, functions with "(" appended; a lone exact
// match gets "(" or "." so the next Tab goes on.
function complete(line) {
  var m = /[A-Za-z0-9_$.]*$/.exec(line);
  var word = m[0];
  var head = line.slice(0, line.length - word.length);
  var dot = word.lastIndexOf(".");
  var object = global;
  var path = dot < 0 ? [] : word.slice(0, dot).split(".");
  for (var i = 0; i < path.length; i++) {
    var next = object !== null && object !== undefined ? field(object, path[i]) : undefined;
    if (next === null || (typeof next !== "object" && typeof next !== "function")) return [];
    object = next;
  }
  function field(o, k) { try { return o[k]; } catch (e) { return undefined; } }
  function isFunction(o, k) {
    var d;
    for (var p = o; p && !d; p = Object.getPrototypeOf(p)) d = Object.getOwnPropertyDescriptor(p, k);
    return !!d && "value" in d && typeof d.value === "function";
  }
  var prefix = word.slice(dot + 1);
  var stem = head + word.slice(0, dot + 1);
  var names = dot < 0 ? Object.getOwnPropertyNames(global) : fields(object);
  var out = names
    .filter(function (k) { return k.indexOf(prefix) === 0 && k.indexOf("__") !== 0; })
    .map(function (k) { return stem + k + (isFunction(object, k) ? "(" : ""); })
    .sort();
  if (out.length === 1 && out[0] === line) {
    var value = field(object, prefix);
    if (value !== null && typeof value === "object") out[0] += ".";
  }
  return out;
}
