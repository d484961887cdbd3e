'use strict';

// Caliper's `simple` open: each transaction opens a new account, named by worker and count,
// with the round's `money`.
const { WorkloadModuleBase } = require('@hyperledger/caliper-core');

class Open extends WorkloadModuleBase {
    async initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext) {
        await super.initializeWorkloadModule(workerIndex, totalWorkers, roundIndex, roundArguments, sutAdapter, sutContext);
        this.opened = 0;
    }

    async submitTransaction() {
        this.opened += 1;
        return this.sutAdapter.sendRequests({
            contract: 'simple',
            verb: 'open',
            args: [`w${this.workerIndex}_${this.opened}`, this.roundArguments.money],
            readOnly: false,
        });
    }
}

module.exports.createWorkloadModule = () => new Open();
