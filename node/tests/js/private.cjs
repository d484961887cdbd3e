// Sends a private transaction to a veil node the way GoQuorum users do with web3js-quorum:
// the payload is stored with the sender's TM (ThirdParty /storeraw), the transaction carrying
// its hash is signed locally and marked private (V = 37/38), and eth_sendRawPrivateTransaction
// distributes it for privateFor. Prints the receipt as JSON.
//
//   node private.cjs NODE_URL TM_THIRD_PARTY_URL PRIVATE_FROM PRIVATE_FOR PRIVATE_KEY NONCE TO DATA
const Web3 = require("web3");
const Web3Quorum = require("web3js-quorum");

async function main() {
  const [nodeUrl, tmUrl, privateFrom, privateFor, privateKey, nonce, to, data] = process.argv.slice(2);
  const web3 = new Web3Quorum(new Web3(nodeUrl), { privateUrl: tmUrl }, true);
  const account = web3.eth.accounts.privateKeyToAccount(privateKey);
  const receipt = await web3.priv.generateAndSendRawTransaction({
    to,
    data,
    privateFrom,
    privateFor: [privateFor],
    from: account,
    nonce: Number(nonce),
    gasLimit: 1000000,
    gasPrice: 0,
    value: 0,
    isPrivate: true,
  });
  process.stdout.write(`\n${JSON.stringify(receipt)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
