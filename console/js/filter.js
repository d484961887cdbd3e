// eth.filter as web3 0.20 has it: "latest" (new blocks), "pending" (new transactions) or log
// options; watch(cb) polls eth_getFilterChanges every 500 ms (after handing over the logs
// already there when the options name a fromBlock), get(cb) answers what is there now,
// stopWatching() uninstalls. Contract events are log filters with a decoder (contract.js).
var POLL_MS = 500;

function logOptions(options) {
  options = options || {};
  var out = {};
  if (options.fromBlock !== undefined) out.fromBlock = block(options.fromBlock);
  if (options.toBlock !== undefined) out.toBlock = block(options.toBlock);
  if (options.address !== undefined) out.address = options.address;
  if (options.topics !== undefined) out.topics = options.topics;
  return out;
}

function Filter(options, format, callback) {
  var kind = typeof options === "string" ? options : "logs";
  this.options = options;
  this.format = kind === "logs" ? format : function (hash) { return hash; };
  this.callbacks = [];
  this.timer = null;
  if (kind === "latest") this.filterId = rpc("eth_newBlockFilter", []);
  else if (kind === "pending") this.filterId = rpc("eth_newPendingTransactionFilter", []);
  else if (kind === "logs") this.filterId = rpc("eth_newFilter", [logOptions(options)]);
  else throw new Error("unknown filter " + JSON.stringify(options) + "; use \"latest\", \"pending\" or log options");
  this.logs = kind === "logs";
  if (callback) this.watch(callback);
}

Filter.prototype.deliver = function (items) {
  var self = this;
  items.forEach(function (item) {
    var value = self.format(item);
    self.callbacks.forEach(function (callback) { callback(null, value); });
  });
};

Filter.prototype.watch = function (callback) {
  var self = this;
  self.callbacks.push(callback);
  if (self.timer !== null) return self;
  if (self.logs && self.options.fromBlock !== undefined) {
    try { self.deliver(rpc("eth_getFilterLogs", [self.filterId])); } catch (error) { callback(error); }
  }
  var poll = function () {
    try {
      self.deliver(rpc("eth_getFilterChanges", [self.filterId]));
    } catch (error) {
      self.callbacks.forEach(function (cb) { cb(error); });
    }
    if (self.timer !== null) self.timer = setTimeout(poll, POLL_MS);
  };
  self.timer = setTimeout(poll, POLL_MS);
  return self;
};

Filter.prototype.stopWatching = function (callback) {
  if (this.timer !== null) clearTimeout(this.timer);
  this.timer = null;
  this.callbacks = [];
  var filterId = this.filterId;
  return settled(callback, function () { return rpc("eth_uninstallFilter", [filterId]); });
};

Filter.prototype.get = function (callback) {
  var self = this;
  return settled(callback, function () {
    var items = rpc(self.logs ? "eth_getFilterLogs" : "eth_getFilterChanges", [self.filterId]);
    return items.map(self.format);
  });
};
