// geth's console objects (web3 0.20 style, synchronous, an optional trailing callback) over
// JSON-RPC through the native __rpc(method, paramsJson) -> answerJson.
(function (global) {
  "use strict";
  function rpc(method, params) {
    var answer = JSON.parse(__rpc(method, JSON.stringify(params || [])));
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer.result;
  }
  function toHex(value) {
    if (typeof value === "number" || typeof value === "bigint") return "0x" + value.toString(16);
    if (typeof value === "string" && /^[0-9]+$/.test(value)) return "0x" + BigInt(value).toString(16);
    return value;
  }
  function number(hex) {
    if (hex === null || hex === undefined) return hex;
    var n = BigInt(hex);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  }
  function block(value) {
    return value === undefined ? "latest" : toHex(value);
  }
  var QUANTITIES = ["gas", "gasPrice", "value", "nonce", "maxFeePerGas", "maxPriorityFeePerGas"];
  function tx(object) {
    var out = {};
    for (var key in object) out[key] = QUANTITIES.indexOf(key) >= 0 ? toHex(object[key]) : object[key];
    return out;
  }
  // A method: `shape` maps the caller's arguments to the RPC params; a function as the last
  // argument gets (error, result) instead of a return or a throw.
  function method(name, shape, format) {
    return function () {
      var args = Array.prototype.slice.call(arguments);
      var callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
      try {
        var result = rpc(name, shape ? shape.apply(null, args) : args);
        if (format) result = format(result);
        if (callback) { callback(null, result); return undefined; }
        return result;
      } catch (error) {
        if (callback) { callback(error); return undefined; }
        throw error;
      }
    };
  }
  function property(object, name, rpcName, format) {
    Object.defineProperty(object, name, {
      enumerable: true,
      get: function () { var r = rpc(rpcName, []); return format ? format(r) : r; },
    });
  }

  var eth = {};
  property(eth, "accounts", "eth_accounts");
  property(eth, "blockNumber", "eth_blockNumber", number);
  property(eth, "coinbase", "eth_coinbase");
  property(eth, "syncing", "eth_syncing");
  property(eth, "gasPrice", "eth_gasPrice", number);
  property(eth, "chainId", "eth_chainId", number);
  eth.getBalance = method("eth_getBalance", function (a, b) { return [a, block(b)]; }, number);
  eth.getBlock = method("eth_getBlockByNumber", function (b, full) {
    return [block(b), !!full];
  });
  eth.getTransaction = method("eth_getTransactionByHash");
  eth.getTransactionReceipt = method("eth_getTransactionReceipt");
  eth.getTransactionCount = method("eth_getTransactionCount", function (a, b) { return [a, block(b)]; }, number);
  eth.getCode = method("eth_getCode", function (a, b) { return [a, block(b)]; });
  eth.getStorageAt = method("eth_getStorageAt", function (a, p, b) { return [a, toHex(p), block(b)]; });
  eth.call = method("eth_call", function (t, b) { return [tx(t), block(b)]; });
  eth.estimateGas = method("eth_estimateGas", function (t) { return [tx(t)]; }, number);
  eth.sendTransaction = method("eth_sendTransaction", function (t) { return [tx(t)]; });
  eth.sendRawTransaction = method("eth_sendRawTransaction");
  eth.sign = method("eth_sign");
  eth.getQuorumPayload = method("eth_getQuorumPayload");
  eth.sendRawPrivateTransaction = method("eth_sendRawPrivateTransaction");
  eth.fillTransaction = method("eth_fillTransaction", function (t) { return [tx(t)]; });
  eth.storageRoot = method("eth_storageRoot", function (a, b) { return b === undefined ? [a] : [a, block(b)]; });

  // eth.contract(abi): web3 0.20's contract objects, ABI coding in Rust (__abi*).
  function instance(abi, address) {
    var json = JSON.stringify(abi);
    var contract = { abi: abi, address: address };
    abi.filter(function (item) { return item.type === "function"; }).forEach(function (fn) {
      var constant = fn.constant || fn.stateMutability === "view" || fn.stateMutability === "pure";
      function split(args) {
        args = Array.prototype.slice.call(args);
        var callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
        var options = args.length > fn.inputs.length ? args.pop() : {};
        return { args: args, options: options, callback: callback };
      }
      function data(args) { return __abiCall(json, fn.name, JSON.stringify(args)); }
      function request(parts) {
        var t = {};
        for (var k in parts.options) t[k] = parts.options[k];
        t.to = contract.address;
        t.data = data(parts.args);
        return t;
      }
      function done(parts, work) {
        try {
          var result = work();
          if (parts.callback) { parts.callback(null, result); return undefined; }
          return result;
        } catch (error) {
          if (parts.callback) { parts.callback(error); return undefined; }
          throw error;
        }
      }
      var call = function () {
        var parts = split(arguments);
        return done(parts, function () {
          return JSON.parse(__abiDecode(json, fn.name, eth.call(request(parts))));
        });
      };
      var send = function () {
        var parts = split(arguments);
        return done(parts, function () { return eth.sendTransaction(request(parts)); });
      };
      var method = constant ? call : send;
      method.call = call;
      method.sendTransaction = send;
      method.getData = function () { return data(Array.prototype.slice.call(arguments)); };
      contract[fn.name] = method;
    });
    return contract;
  }
  eth.contract = function (abi) {
    return {
      abi: abi,
      at: function (address) { return instance(abi, address); },
      getData: function () {
        var args = Array.prototype.slice.call(arguments);
        var options = args.pop() || {};
        return options.data + __abiConstructor(JSON.stringify(abi), JSON.stringify(args));
      },
      // new(args…, {from, data, gas, privateFor, …}, callback): the callback gets the contract
      // with its transactionHash, then again with its address once mined.
      new: function () {
        var args = Array.prototype.slice.call(arguments);
        var callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
        var options = args.pop() || {};
        var t = {};
        for (var k in options) t[k] = options[k];
        t.data = options.data + __abiConstructor(JSON.stringify(abi), JSON.stringify(args));
        var contract = instance(abi, undefined);
        try {
          contract.transactionHash = eth.sendTransaction(t);
        } catch (error) {
          if (callback) { callback(error); return undefined; }
          throw error;
        }
        if (callback) {
          callback(null, contract);
          var poll = function () {
            var receipt = eth.getTransactionReceipt(contract.transactionHash);
            if (receipt === null) { setTimeout(poll, 100); return; }
            if (!receipt.contractAddress) {
              callback(new Error("The contract code couldn't be stored, please check your gas amount."));
              return;
            }
            contract.address = receipt.contractAddress;
            var mined = instance(abi, receipt.contractAddress);
            mined.transactionHash = contract.transactionHash;
            callback(null, mined);
          };
          setTimeout(poll, 100);
        }
        return contract;
      },
    };
  };

  var net = {};
  property(net, "version", "net_version");
  property(net, "peerCount", "net_peerCount", number);
  property(net, "listening", "net_listening");

  var admin = {};
  property(admin, "nodeInfo", "admin_nodeInfo");
  property(admin, "peers", "admin_peers");
  admin.addPeer = method("admin_addPeer");
  admin.removePeer = method("admin_removePeer");
  admin.sleep = function (seconds) { __sleep(seconds * 1000); return true; };
  admin.sleepBlocks = function (n) {
    var target = eth.blockNumber + n;
    while (eth.blockNumber < target) __sleep(50);
    return true;
  };

  var personal = {};
  property(personal, "listAccounts", "personal_listAccounts");
  personal.unlockAccount = method("personal_unlockAccount");
  personal.lockAccount = method("personal_lockAccount");
  personal.newAccount = method("personal_newAccount");
  personal.sendTransaction = method("personal_sendTransaction", function (t, p) { return [tx(t), p]; });
  personal.sign = method("personal_sign");

  var txpool = {};
  property(txpool, "status", "txpool_status", function (s) {
    return { pending: number(s.pending), queued: number(s.queued) };
  });
  property(txpool, "content", "txpool_content");

  var raft = {};
  property(raft, "role", "raft_role");
  property(raft, "leader", "raft_leader");
  property(raft, "cluster", "raft_cluster");
  raft.addPeer = method("raft_addPeer");
  raft.removePeer = method("raft_removePeer");
  raft.addLearner = method("raft_addLearner");
  raft.promoteToPeer = method("raft_promoteToPeer");

  var debug = {};
  debug.privateStateRoot = method("debug_privateStateRoot", function (b) { return [block(b)]; });
  debug.traceTransaction = method("debug_traceTransaction");

  function utf8Hex(text) {
    var out = "0x";
    var bytes = unescape(encodeURIComponent(text));
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes.charCodeAt(i).toString(16)).slice(-2);
    return out;
  }
  var UNITS = { wei: 0n, kwei: 3n, mwei: 6n, gwei: 9n, szabo: 12n, finney: 15n, ether: 18n };
  var web3 = {
    eth: eth, net: net, admin: admin, personal: personal, txpool: txpool, raft: raft, debug: debug,
    sha3: function (text, options) {
      var hex = options && options.encoding === "hex" ? text : utf8Hex(text);
      return rpc("web3_sha3", [hex]);
    },
    toHex: function (v) { return typeof v === "string" && !/^[0-9]+$/.test(v) ? utf8Hex(v) : toHex(v); },
    fromAscii: utf8Hex,
    toAscii: function (hex) {
      var out = "";
      for (var i = hex.indexOf("0x") === 0 ? 2 : 0; i < hex.length; i += 2) out += String.fromCharCode(parseInt(hex.substr(i, 2), 16));
      return out;
    },
    toDecimal: function (hex) { return number(hex); },
    fromDecimal: function (n) { return toHex(n); },
    toWei: function (amount, unit) {
      var shift = UNITS[unit || "ether"];
      var parts = String(amount).split(".");
      var fraction = (parts[1] || "").padEnd(Number(shift), "0").slice(0, Number(shift));
      return (BigInt(parts[0] || "0") * 10n ** shift + BigInt(fraction || "0")).toString();
    },
    fromWei: function (amount, unit) {
      var shift = Number(UNITS[unit || "ether"]);
      var digits = BigInt(amount).toString().padStart(shift + 1, "0");
      var whole = digits.slice(0, digits.length - shift);
      var fraction = digits.slice(digits.length - shift).replace(/0+$/, "");
      return fraction ? whole + "." + fraction : whole;
    },
    isAddress: function (a) { return /^(0x)?[0-9a-fA-F]{40}$/.test(a); },
  };
  Object.defineProperty(web3, "version", { value: { api: "0.20.1" } });

  // Timers, driven by the host after every evaluation until none is left.
  var timers = [];
  var nextId = 1;
  global.setTimeout = function (fn, ms) {
    var id = nextId++;
    timers.push({ id: id, fn: fn, at: Date.now() + (ms || 0) });
    return id;
  };
  global.clearTimeout = function (id) { timers = timers.filter(function (t) { return t.id !== id; }); };
  global.__runTimers = function () {
    var now = Date.now();
    var due = timers.filter(function (t) { return t.at <= now; });
    timers = timers.filter(function (t) { return t.at > now; });
    due.forEach(function (t) { t.fn(); });
    if (timers.length === 0) return -1;
    return Math.max(0, Math.min.apply(null, timers.map(function (t) { return t.at; })) - Date.now());
  };
  function printable(value) {
    return typeof value === "string" ? value : global.__show(value);
  }
  global.console = {
    log: function () { __print(Array.prototype.map.call(arguments, printable).join(" ")); },
  };
  global.console.error = global.console.log;
  global.console.info = global.console.log;
  global.loadScript = function (file) { (0, eval)(__read(file)); return true; };
  global.__show = function (value) {
    if (value === undefined) return "undefined";
    if (typeof value === "function") return "function()";
    if (typeof value === "bigint") return value.toString();
    return JSON.stringify(value, function (k, v) { return typeof v === "bigint" ? v.toString() : v; }, 2);
  };
  global.web3 = web3;
  global.eth = eth;
  global.net = net;
  global.admin = admin;
  global.personal = personal;
  global.txpool = txpool;
  global.raft = raft;
  global.debug = debug;
})(globalThis);
