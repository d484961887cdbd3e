'use strict';

// Keeps blocks coming while Caliper runs: one zero-value transfer a second, signed by a fresh
// key, over HTTP to URL (argv[2]). web3 1.x over WebSocket looks for a transaction's receipt
// once after sending it and then only when a new block arrives; on a chain that mints only
// while transactions are pending (Raft, as GoQuorum's), a worker whose last transaction was
// mined between that look and its newHeads subscription would otherwise wait for ever.
const Web3 = require('web3');

const web3 = new Web3(process.argv[2]);
const account = web3.eth.accounts.create();

async function tick(nonce, chainId) {
    const signed = await account.signTransaction({
        to: account.address, value: 0, gas: 21000, gasPrice: 0, nonce, chainId,
    });
    // Sent and forgotten: only the block it causes matters.
    web3.currentProvider.send(
        { jsonrpc: '2.0', id: nonce, method: 'eth_sendRawTransaction', params: [signed.rawTransaction] },
        () => {},
    );
}

(async () => {
    const chainId = await web3.eth.getChainId();
    for (let nonce = 0; ; nonce += 1) {
        await tick(nonce, chainId);
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
})().catch((e) => { console.error(`ticker: ${e.message}`); process.exit(1); });
