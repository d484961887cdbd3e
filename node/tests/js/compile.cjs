// Compiles one Solidity file with solc-js and prints {"<Contract>": {abi, bytecode}} as JSON.
// Usage: node compile.cjs <file.sol>
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

const file = process.argv[2];
const input = {
  language: "Solidity",
  sources: { [path.basename(file)]: { content: fs.readFileSync(file, "utf8") } },
  // solc's default EVM target (the newest it knows), as a Hardhat or Foundry project compiles.
  settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "metadata"] } } },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length > 0) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contracts = {};
for (const [name, c] of Object.entries(out.contracts[path.basename(file)])) {
  const evmVersion = JSON.parse(c.metadata).settings.evmVersion;
  contracts[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object, evmVersion };
}
console.log(JSON.stringify(contracts));
