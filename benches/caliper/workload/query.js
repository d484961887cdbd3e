'use strict';

// Caliper's `simple` query: reads the accounts the open round made (`accounts` per worker),
// round-robin, with eth_call.
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

class Query extends WorkloadModuleBase {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.queried = 0;
    }

    async submitTransaction() {
        this.queried = (this.queried % this.roundArguments.accounts) + 1;
        return this.sutAdapter.sendRequests({
            contract: 'simple',
            verb: 'query',
            args: [`w${this.workerIndex}_${this.queried}`],
            readOnly: true,
        });
    }
}

module.exports.createWorkloadModule = () => new Query();
