// geth's console objects in web3 0.20's shape: synchronous, with an optional trailing callback.
var eth = {};
property(eth, "accounts", "eth_accounts");
property(eth, "blockNumber", "eth_blockNumber", number);
property(eth, "coinbase", "eth_coinbase");
property(eth, "syncing", "eth_syncing");
property(eth, "gasPrice", "eth_gasPrice", bigNumber);
property(eth, "chainId", "eth_chainId", number);
function isBlockHash(value) { return typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value); }
eth.getBalance = method("eth_getBalance", function (a, b) { return [a, block(b)]; }, bigNumber);
eth.getBlock = function () {
  var parts = withCallback(arguments);
  return settled(parts.callback, function () {
    var b = parts.args[0], full = !!parts.args[1];
    var result = isBlockHash(b) ? rpc("eth_getBlockByHash", [b, full]) : rpc("eth_getBlockByNumber", [block(b), full]);
    return formatBlock(result);
  });
};
eth.getBlockTransactionCount = method("eth_getBlockTransactionCountByNumber", function (b) { return [block(b)]; }, number);
eth.getTransaction = method("eth_getTransactionByHash", null, formatTransaction);
eth.getTransactionReceipt = method("eth_getTransactionReceipt", null, formatReceipt);
eth.getTransactionCount = method("eth_getTransactionCount", function (a, b) { return [a, block(b)]; }, number);
eth.getCode = method("eth_getCode", function (a, b) { return [a, block(b)]; });
eth.getStorageAt = method("eth_getStorageAt", function (a, p, b) { return [a, toHex(p), block(b)]; });
eth.call = method("eth_call", function (t, b) { return [tx(t), block(b)]; });
eth.estimateGas = method("eth_estimateGas", function (t) { return [tx(t)]; }, number);
eth.sendTransaction = method("eth_sendTransaction", function (t) { return [tx(t)]; });
eth.sendTransactionAsync = method("eth_sendTransactionAsync", function (t) { return [tx(t)]; });
eth.sendRawTransaction = method("eth_sendRawTransaction");
eth.sign = method("eth_sign");
eth.getQuorumPayload = method("eth_getQuorumPayload");
eth.getContractPrivacyMetadata = method("eth_getContractPrivacyMetadata");
eth.sendRawPrivateTransaction = method("eth_sendRawPrivateTransaction");
eth.fillTransaction = method("eth_fillTransaction", function (t) { return [tx(t)]; });
eth.storageRoot = method("eth_storageRoot", function (a, b) { return b === undefined ? [a] : [a, block(b)]; });
eth.getLogs = method("eth_getLogs", function (o) { return [logOptions(o)]; }, function (logs) { return logs.map(formatLog); });
eth.filter = function (options, callback) { return new Filter(options, formatLog, callback); };
eth.contract = contract;

var net = {};
property(net, "version", "net_version");
property(net, "peerCount", "net_peerCount", number);
property(net, "listening", "net_listening");

var admin = {};
property(admin, "nodeInfo", "admin_nodeInfo");
property(admin, "peers", "admin_peers");
property(admin, "datadir", "admin_datadir");
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
// Without a passphrase, geth's console asks for one (a line of standard input when it is not
// a terminal).
personal.unlockAccount = function (address, passphrase, duration) {
  if (passphrase === undefined || passphrase === null) {
    passphrase = __readPassword("Unlock account " + address + "\nPassphrase: ");
  }
  var params = [address, passphrase];
  if (duration !== undefined && duration !== null) params.push(duration);
  return rpc("personal_unlockAccount", params);
};
personal.lockAccount = method("personal_lockAccount");
personal.newAccount = method("personal_newAccount");
personal.sendTransaction = method("personal_sendTransaction", function (t, p) { return [tx(t), p]; });
personal.sign = method("personal_sign");

var txpool = {};
property(txpool, "status", "txpool_status", function (s) {
  return { pending: number(s.pending), queued: number(s.queued) };
});
property(txpool, "content", "txpool_content");
property(txpool, "inspect", "txpool_inspect");

var raft = {};
property(raft, "role", "raft_role");
property(raft, "leader", "raft_leader");
property(raft, "cluster", "raft_cluster");
raft.addPeer = method("raft_addPeer");
raft.removePeer = method("raft_removePeer");
raft.addLearner = method("raft_addLearner");
raft.promoteToPeer = method("raft_promoteToPeer");

// GoQuorum's console object for QBFT.
var istanbul = {};
istanbul.getValidators = method("istanbul_getValidators", function (b) { return b === undefined ? [] : [block(b)]; });
istanbul.getValidatorsAtHash = method("istanbul_getValidatorsAtHash");
property(istanbul, "candidates", "istanbul_candidates");
property(istanbul, "nodeAddress", "istanbul_nodeAddress");
istanbul.propose = method("istanbul_propose");
istanbul.discard = method("istanbul_discard");
istanbul.getSignersFromBlock = method("istanbul_getSignersFromBlock", function (b) { return b === undefined ? [] : [block(b)]; });
istanbul.getSignersFromBlockByHash = method("istanbul_getSignersFromBlockByHash");
istanbul.status = method("istanbul_status");
istanbul.isValidator = method("istanbul_isValidator", function (b) { return b === undefined ? [] : [block(b)]; });

var debug = {};
debug.privateStateRoot = method("debug_privateStateRoot", function (b) { return [block(b)]; });
debug.traceTransaction = method("debug_traceTransaction");

var UNITS = { wei: 0, kwei: 3, babbage: 3, mwei: 6, lovelace: 6, gwei: 9, shannon: 9, szabo: 12,
  finney: 15, ether: 18, kether: 21, grand: 21, mether: 24, gether: 27, tether: 30 };
function unit(name) {
  var shift = UNITS[(name || "ether").toLowerCase()];
  if (shift === undefined) throw new Error("unknown unit " + name + "; use one of " + Object.keys(UNITS).join(", "));
  return new BigNumber(10).pow(shift);
}
var web3 = {
  eth: eth, net: net, admin: admin, personal: personal, txpool: txpool, raft: raft,
  istanbul: istanbul, debug: debug,
  BigNumber: BigNumber,
  sha3: function (text, options) {
    return __keccak(options && options.encoding === "hex" ? text : utf8Hex(text));
  },
  toHex: toHex,
  fromAscii: utf8Hex,
  fromUtf8: utf8Hex,
  toAscii: function (hex) {
    var out = "";
    for (var i = hex.indexOf("0x") === 0 ? 2 : 0; i < hex.length; i += 2) out += String.fromCharCode(parseInt(hex.substr(i, 2), 16));
    return out;
  },
  toUtf8: function (hex) { return decodeURIComponent(escape(web3.toAscii(hex).replace(/\0+$/, ""))); },
  toDecimal: function (value) { return new BigNumber(value).toNumber(); },
  fromDecimal: fromDecimal,
  toBigNumber: function (value) { return new BigNumber(value || 0); },
  isBigNumber: isBigNumber,
  // As web3 0.20: a BigNumber in gives a BigNumber out, anything else a decimal string.
  toWei: function (amount, name) {
    var wei = new BigNumber(amount).times(unit(name));
    return isBigNumber(amount) ? wei : wei.toString(10);
  },
  fromWei: function (amount, name) {
    var value = new BigNumber(amount).div(unit(name));
    return isBigNumber(amount) ? value : value.toString(10);
  },
  isAddress: function (a) { return /^(0x)?[0-9a-fA-F]{40}$/.test(a); },
  toChecksumAddress: function (a) { return __checksum(a); },
  isChecksumAddress: function (a) { return /^0x[0-9a-fA-F]{40}$/.test(a) && __checksum(a) === a; },
};
Object.defineProperty(web3, "version", {
  enumerable: true,
  value: Object.defineProperty({ api: "0.20.1" }, "node", {
    enumerable: true, get: function () { return rpc("web3_clientVersion", []); },
  }),
});
web3.isConnected = function () { try { rpc("net_listening", []); return true; } catch (e) { return false; } };
