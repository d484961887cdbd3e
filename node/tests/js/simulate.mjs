// viem's simulateBlocks (eth_simulateV1) and its block reads against a real `veil --dev` node.
// Usage: node simulate.mjs <http-url>
// Prints "ok <step>" per step; any failed check throws and exits non-zero.
import { createPublicClient, http, parseEther, encodeFunctionData, parseAbi } from "viem";
import assert from "node:assert/strict";

const [url] = process.argv.slice(2);
const client = createPublicClient({ transport: http(url) });

const head = await client.getBlock();
assert.equal(head.blobGasUsed, 0n);
assert.equal(head.excessBlobGas, 0n);
console.log("ok viem reads an Osaka block (blob gas " + head.blobGasUsed + ")");

const rich = "0x00000000000000000000000000000000000000aa";
const poor = "0x00000000000000000000000000000000000000bb";
const result = await client.simulateBlocks({
  blocks: [
    {
      stateOverrides: [{ address: rich, balance: parseEther("1") }],
      calls: [{ account: rich, to: poor, value: parseEther("0.5") }],
    },
    {
      calls: [{ account: poor, to: rich, value: 1n }],
    },
  ],
  traceTransfers: true,
});
assert.equal(result.length, 2);
assert.equal(result[0].number, head.number + 1n);
assert.equal(result[1].parentHash, result[0].hash);
assert.equal(result[0].calls[0].status, "success");
assert.equal(result[1].calls[0].status, "success");
const transfer = result[0].calls[0].logs[0];
assert.equal(transfer.address.toLowerCase(), "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
console.log("ok simulateBlocks: two blocks, a traced transfer, state carried over");

const reverting = await client.simulateBlocks({
  blocks: [{
    stateOverrides: [{ address: "0x00000000000000000000000000000000000000c2", code: "0x60006000fd" }],
    calls: [{ to: "0x00000000000000000000000000000000000000c2", data: encodeFunctionData({ abi: parseAbi(["function f()"]), functionName: "f" }) }],
  }],
});
assert.equal(reverting[0].calls[0].status, "failure");
console.log("ok simulateBlocks reports a failed call");
console.log("all ok");
