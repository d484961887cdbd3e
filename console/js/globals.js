// Timers (run by the host: __runTimers runs what is due and answers the wait until the next,
// or -1), console.log, loadScript, and the globals the console user sees.
var timers = [];
var nextTimer = 1;
function addTimer(fn, ms, args, every) {
  var id = nextTimer++;
  timers.push({ id: id, fn: fn, args: args, at: Date.now() + (ms || 0), every: every ? Math.max(ms || 0, 1) : 0 });
  return id;
}
global.setTimeout = function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), false); };
global.setInterval = function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), true); };
global.clearTimeout = function (id) { timers = timers.filter(function (t) { return t.id !== id; }); };
global.clearInterval = global.clearTimeout;
global.__runTimers = function () {
  var now = Date.now();
  var due = timers.filter(function (t) { return t.at <= now; });
  timers = timers.filter(function (t) { return t.at > now; });
  due.forEach(function (t) {
    if (t.every) { t.at = now + t.every; timers.push(t); }
    try {
      t.fn.apply(null, t.args);
    } catch (error) {
      __print(String(error));
    }
  });
  if (timers.length === 0) return -1;
  return Math.max(0, Math.min.apply(null, timers.map(function (t) { return t.at; })) - Date.now());
};

function printable(value) { return typeof value === "string" ? value : show(value, false); }
global.console = {
  log: function () { __print(Array.prototype.map.call(arguments, printable).join(" ")); },
};
global.console.error = global.console.log;
global.console.info = global.console.log;
global.console.warn = global.console.log;
global.loadScript = function (file) { (0, eval)(__read(file)); return true; };
global.__show = show;
global.__complete = complete;
global.BigNumber = BigNumber;
global.web3 = web3;
global.eth = eth;
global.net = net;
global.admin = admin;
global.personal = personal;
global.txpool = txpool;
global.raft = raft;
global.istanbul = istanbul;
global.debug = debug;

// geth's banner: what the console is attached to, then the RPC modules it serves.
global.__banner = function () {
  function line(label, work) {
    try { return label + work() + "\n"; } catch (error) { return ""; }
  }
  __print("Welcome to the Veil JavaScript console!\n\n" +
    line("instance: ", function () { return web3.version.node; }) +
    line("coinbase: ", function () { return eth.coinbase; }) +
    line("at block: ", function () {
      var b = eth.getBlock("latest");
      return b.number + " (" + new Date(b.timestamp * 1000).toUTCString() + ")";
    }) +
    line(" datadir: ", function () { return admin.datadir; }) +
    line(" modules: ", function () {
      var modules = rpc("rpc_modules", []);
      return Object.keys(modules).sort().map(function (m) { return m + ":" + modules[m]; }).join(" ");
    }));
};
