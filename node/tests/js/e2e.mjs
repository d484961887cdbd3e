// End-to-end: ethers v6 and a solc-js-compiled contract against a real `veil --dev` node.
// Usage: node e2e.mjs <http-url> <ws-url> <ipc-path>
// Prints "ok <step>" per step; any failed check throws and exits non-zero.
import { ethers } from "ethers";
import solc from "solc";
import assert from "node:assert/strict";

const [httpUrl, wsUrl, ipcPath] = process.argv.slice(2);
const DEADLINE_MS = 30_000;

const SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Counter {
    uint256 public count;
    mapping(address => uint256) public credited;
    event Incremented(address indexed by, uint256 newCount);
    function increment(uint256 by) external {
        require(by > 0, "by must be positive");
        count += by;
        credited[msg.sender] += by;
        emit Incremented(msg.sender, count);
    }
    function fail(string calldata reason) external pure { revert(reason); }
    function poke(Counter other) external { other.increment(1); }
}`;

function compile() {
  const input = {
    language: "Solidity",
    sources: { "Counter.sol": { content: SOURCE } },
    settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "metadata"] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  assert.equal(errors.length, 0, JSON.stringify(errors));
  const c = out.contracts["Counter.sol"].Counter;
  // solc's default target, the newest EVM it knows.
  assert.equal(JSON.parse(c.metadata).settings.evmVersion, "osaka");
  return { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
}

function ok(step) {
  console.log(`ok ${step}`);
}

async function until(what, check) {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function expectRevert(promise, reason) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.code, "CALL_EXCEPTION", `${e.code}: ${e.message}`);
    assert.equal(e.reason, reason, e.message);
    return;
  }
  throw new Error(`expected a revert with "${reason}"`);
}

const { abi, bytecode } = compile();
ok("compiled Counter with solc " + solc.version());

const http = new ethers.JsonRpcProvider(httpUrl, undefined, { staticNetwork: true, pollingInterval: 50 });
const network = await http.getNetwork();
assert.equal(network.chainId, 1337n);

// A wallet holding dev key 1 signs locally (eth_sendRawTransaction); the node's unlocked dev
// account 0 signs through eth_sendTransaction. Blocks come every few milliseconds, faster than
// ethers' 250 ms request cache, so local signers count their own nonces (NonceManager), as
// they must against any instant-sealing node.
const wallet = new ethers.NonceManager(new ethers.Wallet(ethers.id("veil dev account 1"), http));
wallet.address = await wallet.getAddress();
const nodeSigner = await http.getSigner(0);
const accounts = await http.listAccounts();
assert.equal(accounts[0].address, ethers.computeAddress(ethers.id("veil dev account 0")));
ok("eth_accounts lists the unlocked dev account");

const nonceBefore = await http.getTransactionCount(wallet.address);
const factory = new ethers.ContractFactory(abi, bytecode, wallet);
const counter = await factory.deploy();
const deployReceipt = await counter.deploymentTransaction().wait(1, DEADLINE_MS);
assert.equal(deployReceipt.status, 1);
const address = await counter.getAddress();
assert.equal(deployReceipt.contractAddress, address);
assert.equal(address, ethers.getCreateAddress({ from: wallet.address, nonce: nonceBefore }));
assert.notEqual(await http.getCode(address), "0x");
assert.equal(await http.getTransactionCount(wallet.address), nonceBefore + 1);
ok("deployed with a raw transaction; receipt, code and nonce agree");

assert.equal(await counter.count(), 0n);
const asNode = counter.connect(nodeSigner);
const incReceipt = await (await asNode.increment(5)).wait(1, DEADLINE_MS);
assert.equal(incReceipt.status, 1);
assert.equal(await counter.count(), 5n);
assert.equal(await counter.credited(accounts[0].address), 5n);
ok("eth_sendTransaction from the unlocked account; eth_call sees the new state");

const logs = await counter.queryFilter(counter.filters.Incremented(), 0, "latest");
assert.equal(logs.length, 1);
assert.equal(logs[0].args.by, accounts[0].address);
assert.equal(logs[0].args.newCount, 5n);
assert.equal(logs[0].transactionHash, incReceipt.hash);
ok("eth_getLogs returns the decoded event");

const filterId = await http.send("eth_newFilter", [{ address, topics: [counter.interface.getEvent("Incremented").topicHash] }]);
await (await counter.increment(2)).wait(1, DEADLINE_MS);
const changes = await until("filter changes", async () => {
  const c = await http.send("eth_getFilterChanges", [filterId]);
  return c.length > 0 ? c : null;
});
assert.equal(BigInt(changes[0].data), 7n);
assert.equal(await http.send("eth_uninstallFilter", [filterId]), true);
ok("eth_newFilter + eth_getFilterChanges deliver the next event");

const ws = new ethers.WebSocketProvider(wsUrl);
// Subscribe with the raw method so the transaction below is sent only after the node has
// answered eth_subscribe (ethers' contract.on does not wait for that answer).
const subscription = await ws.send("eth_subscribe", ["logs", { address }]);
const seen = new Promise((resolve) => {
  ws.websocket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "eth_subscription" && message.params.subscription === subscription) {
      resolve(counter.interface.parseLog(message.params.result).args.newCount);
    }
  });
});
await (await counter.increment(3)).wait(1, DEADLINE_MS);
const pushed = await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error("no WS event")), DEADLINE_MS))]);
assert.equal(pushed, 10n);
ok("WebSocket logs subscription pushes the event");

await expectRevert(counter.fail.staticCall("boom"), "boom");
ok("eth_call revert reason");
await expectRevert(counter.increment.estimateGas(0), "by must be positive");
ok("eth_estimateGas revert reason");
const estimate = await counter.increment.estimateGas(1);
assert.ok(estimate > 21000n && estimate < 200000n, `estimate ${estimate}`);
ok(`eth_estimateGas = ${estimate}`);

const other = await (await factory.deploy()).waitForDeployment();
const otherAddress = await other.getAddress();
const pokeReceipt = await (await counter.poke(otherAddress)).wait(1, DEADLINE_MS);
const trace = await http.send("debug_traceTransaction", [pokeReceipt.hash, { tracer: "callTracer" }]).catch((e) => {
  // debug is not served over HTTP by default: the IPC check below covers it.
  return { skippedOverHttp: e.error?.code ?? e.code };
});
assert.equal(trace.skippedOverHttp, -32601, "debug must not be on HTTP unless --http.api says so");
ok("debug_* is not served over HTTP by default (-32601)");

const ipc = new ethers.IpcSocketProvider(ipcPath);
assert.equal(await ipc.getBlockNumber() >= pokeReceipt.blockNumber, true);
const ipcCounter = new ethers.Contract(address, abi, ipc);
assert.equal(await ipcCounter.count(), 10n);
assert.equal(await new ethers.Contract(otherAddress, abi, ipc).count(), 1n);
const callTrace = await ipc.send("debug_traceTransaction", [pokeReceipt.hash, { tracer: "callTracer" }]);
assert.equal(callTrace.type, "CALL");
assert.equal(callTrace.to.toLowerCase(), address.toLowerCase());
assert.equal(callTrace.calls.length, 1);
assert.equal(callTrace.calls[0].type, "CALL");
assert.equal(callTrace.calls[0].to.toLowerCase(), otherAddress.toLowerCase());
ok("IPC: blocks, eth_call and a debug_traceTransaction call tree");

const structTrace = await ipc.send("debug_traceCall", [{ to: address, data: counter.interface.encodeFunctionData("count") }, "latest", {}]);
assert.equal(structTrace.failed, false);
assert.ok(structTrace.structLogs.some((l) => l.op === "SLOAD"), "struct logs include the SLOAD");
assert.equal(BigInt("0x" + structTrace.returnValue.replace(/^0x/, "")), 10n);
const rawTx = await ipc.send("debug_getRawTransaction", [pokeReceipt.hash]);
assert.equal(ethers.keccak256(rawTx), pokeReceipt.hash);
assert.equal(ethers.Transaction.from(rawTx).to.toLowerCase(), address.toLowerCase());
const rawBlock = await ipc.send("debug_getRawBlock", [ethers.toQuantity(pokeReceipt.blockNumber)]);
const decodedBlock = ethers.decodeRlp(rawBlock);
assert.equal(ethers.keccak256(ethers.encodeRlp(decodedBlock[0])), pokeReceipt.blockHash);
ok("IPC: debug_traceCall struct logs, raw transaction and raw block (hashes recomputed by ethers)");

const accessList = await http.send("eth_createAccessList", [{ from: wallet.address, to: address, data: counter.interface.encodeFunctionData("poke", [otherAddress]) }, "latest"]);
const touched = accessList.accessList.find((e) => e.address.toLowerCase() === otherAddress.toLowerCase());
assert.ok(touched && touched.storageKeys.length >= 2, JSON.stringify(accessList));
ok("eth_createAccessList names the called contract's slots");

const domain = { name: "Veil", version: "1", chainId: 1337, verifyingContract: address };
const types = { Mail: [{ name: "to", type: "address" }, { name: "contents", type: "string" }] };
const mail = { to: wallet.address, contents: "hello" };
const typedSig = await nodeSigner.signTypedData(domain, types, mail);
assert.equal(ethers.verifyTypedData(domain, types, mail, typedSig), accounts[0].address);
ok("eth_signTypedData_v4 verifies with ethers");

// A contract compiled for solc's default target using transient storage and MCOPY.
const modernSource = (await import("node:fs")).readFileSync(new URL("../fixtures/Modern.sol", import.meta.url), "utf8");
const modernOut = JSON.parse(solc.compile(JSON.stringify({
  language: "Solidity",
  sources: { "Modern.sol": { content: modernSource } },
  settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
})));
const modernC = modernOut.contracts["Modern.sol"].Modern;
const modern = await (await new ethers.ContractFactory(modernC.abi, "0x" + modernC.evm.bytecode.object, wallet).deploy(7)).waitForDeployment();
assert.equal(await modern.stored(), 7n);
const kept = await (await modern.keep("0xabcdef")).wait(1, DEADLINE_MS);
assert.equal(kept.status, 1);
assert.equal(await modern.last(), "0xabcdefabcdef");
assert.equal(await modern.stored(), 6n);
assert.equal(await modern.locked(), 0n);
ok("a contract with transient storage and MCOPY deploys and runs");


const ipcWallet = new ethers.Wallet(ethers.id("veil dev account 2"), ipc);
const sent = await ipcWallet.sendTransaction({ to: wallet.address, value: 1n });
// Poll rather than tx.wait(): over a socket ethers waits for the next newHeads, and a block
// minted between its receipt check and its eth_subscribe would be the last one.
const sentReceipt = await until("IPC receipt", () => ipc.getTransactionReceipt(sent.hash));
assert.equal(sentReceipt.status, 1);
assert.equal(await ipc.getTransactionCount(ipcWallet.address), 1);
ok("IPC: a signed transfer lands");

ws.destroy();
ipc.destroy();
http.destroy();
console.log("all ok");
process.exit(0); // the WS deadline timer would keep the process alive
