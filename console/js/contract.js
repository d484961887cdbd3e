// eth.contract(abi): web3 0.20's contract objects. ABI coding is native (alloy's dyn-abi):
// __abiConstructor, __abiCall, __abiDecode (outputs), __abiEventTopics and __abiDecodeLog.

// A decoded ABI value as web3 0.20 gives it: integers as BigNumbers (from decimal strings).
function fromAbi(type, value) {
  var array = /^(.*)\[\d*\]$/.exec(type);
  if (array && Array.isArray(value)) return value.map(function (v) { return fromAbi(array[1], v); });
  if (/^u?int\d*$/.test(type)) return new BigNumber(value);
  return value;
}

function decodeLog(json, log) {
  log = formatLog(log);
  var decoded = JSON.parse(__abiDecodeLog(json, JSON.stringify(log)));
  if (decoded === null) return log;
  log.event = decoded.event;
  log.args = {};
  decoded.inputs.forEach(function (input) { log.args[input.name] = fromAbi(input.type, input.value); });
  return log;
}

function bindFunction(contract, json, fn) {
  var constant = fn.constant || fn.stateMutability === "view" || fn.stateMutability === "pure";
  function split(args) {
    var parts = withCallback(args);
    parts.options = parts.args.length > fn.inputs.length ? parts.args.pop() : {};
    return parts;
  }
  function data(args) { return __abiCall(json, fn.name, JSON.stringify(args)); }
  function request(parts) {
    var t = {};
    for (var k in parts.options) t[k] = parts.options[k];
    t.to = contract.address;
    t.data = data(parts.args);
    return t;
  }
  var call = function () {
    var parts = split(arguments);
    return settled(parts.callback, function () {
      var values = JSON.parse(__abiDecode(json, fn.name, eth.call(request(parts))));
      var out = values.map(function (v, i) { return fromAbi(fn.outputs[i].type, v); });
      return out.length === 1 ? out[0] : out;
    });
  };
  var send = function () {
    var parts = split(arguments);
    return settled(parts.callback, function () { return eth.sendTransaction(request(parts)); });
  };
  var bound = constant ? call : send;
  bound.call = call;
  bound.sendTransaction = send;
  bound.getData = function () { return data(Array.prototype.slice.call(arguments)); };
  bound.estimateGas = function () {
    var parts = split(arguments);
    return settled(parts.callback, function () { return eth.estimateGas(request(parts)); });
  };
  return bound;
}

// c.Event(indexedValues, options, callback) and c.allEvents(options, callback): log filters
// on the contract's address whose results carry `event` and `args`.
function bindEvent(contract, json, name) {
  return function () {
    var parts = withCallback(arguments);
    var options = (name === null ? parts.args[0] : parts.args[1]) || {};
    var indexed = name === null ? {} : parts.args[0] || {};
    var topics = name === null ? [] : JSON.parse(__abiEventTopics(json, name, JSON.stringify(indexed)));
    var filter = {};
    for (var k in options) filter[k] = options[k];
    filter.address = contract.address;
    filter.topics = topics;
    return new Filter(filter, function (log) { return decodeLog(json, log); }, parts.callback);
  };
}

function instance(abi, address) {
  var json = JSON.stringify(abi);
  var contract = { abi: abi, address: address };
  abi.forEach(function (item) {
    if (item.type === "function") contract[item.name] = bindFunction(contract, json, item);
    if (item.type === "event") contract[item.name] = bindEvent(contract, json, item.name);
  });
  contract.allEvents = bindEvent(contract, json, null);
  return contract;
}

function contract(abi) {
  var json = JSON.stringify(abi);
  function deployData(args) {
    var options = args.pop() || {};
    return { options: options, data: options.data + __abiConstructor(json, JSON.stringify(args)) };
  }
  return {
    abi: abi,
    at: function (address, callback) {
      var c = instance(abi, address);
      if (callback) callback(null, c);
      return c;
    },
    getData: function () { return deployData(Array.prototype.slice.call(arguments)).data; },
    // new(args…, {from, data, gas, privateFor, …}, callback): the callback gets the contract
    // with its transactionHash, then again with its address once mined.
    new: function () {
      var parts = withCallback(arguments);
      var deploy = deployData(parts.args);
      var t = {};
      for (var k in deploy.options) t[k] = deploy.options[k];
      t.data = deploy.data;
      var pending = instance(abi, undefined);
      try {
        pending.transactionHash = eth.sendTransaction(t);
      } catch (error) {
        if (parts.callback) { parts.callback(error); return undefined; }
        throw error;
      }
      if (parts.callback) {
        var callback = parts.callback;
        callback(null, pending);
        var poll = function () {
          var receipt = eth.getTransactionReceipt(pending.transactionHash);
          if (receipt === null) { setTimeout(poll, 100); return; }
          // As web3 0.20: the deployment worked when code is there (not just an address).
          if (!receipt.contractAddress || eth.getCode(receipt.contractAddress).length <= 3) {
            callback(new Error("The contract code couldn't be stored, please check your gas amount."));
            return;
          }
          pending.address = receipt.contractAddress;
          callback(null, pending);
        };
        setTimeout(poll, 100);
      }
      return pending;
    },
  };
}
