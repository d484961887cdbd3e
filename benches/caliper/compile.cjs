// Compiles contracts/simple.sol with solc-js (node/tests/js's) into contracts/simple.json, the
// shape Caliper's Ethereum connector deploys: name, abi, bytecode, gas.
//   node benches/caliper/compile.cjs
const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '../../node/tests/js/node_modules/solc'));
const source = fs.readFileSync(path.join(__dirname, 'contracts/simple.sol'), 'utf8');
const input = {
  language: 'Solidity',
  sources: { 'simple.sol': { content: source } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of output.errors || []) {
  if (e.severity === 'error') { console.error(e.formattedMessage); process.exit(1); }
}
const c = output.contracts['simple.sol'].simple;
const out = { name: 'simple', abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, gas: 1000000, solc: solc.version() };
fs.writeFileSync(path.join(__dirname, 'contracts/simple.json'), JSON.stringify(out, null, 2) + '\n');
console.log('contracts/simple.json: solc', solc.version());
