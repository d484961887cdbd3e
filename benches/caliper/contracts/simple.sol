// SPDX-License-Identifier: Apache-2.0
// The contract of Caliper's `simple` benchmark (caliper-benchmarks' src/ethereum/simple),
// for a current solc: accounts by name, opened with an amount, queried, and transferred between.
pragma solidity ^0.8.0;

contract simple {
    mapping(string => int256) private accounts;

    function open(string memory acc_id, int256 amount) public {
        accounts[acc_id] = amount;
    }

    function query(string memory acc_id) public view returns (int256 amount) {
        amount = accounts[acc_id];
    }

    function transfer(string memory acc_from, string memory acc_to, int256 amount) public {
        accounts[acc_from] -= amount;
        accounts[acc_to] += amount;
    }
}
