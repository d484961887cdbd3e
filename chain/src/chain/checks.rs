//! The checks of block import that compare a header with what its parent, its fork and its
//! transactions say it must hold.

use super::{Chain, ImportError};
use alloy_consensus::Header;
use alloy_eips::{eip4895::Withdrawal, eip7685::EMPTY_REQUESTS_HASH};
use veil_config::Hardfork;
use veil_primitives::RecoveredTx;

impl Chain {
    /// The header fields later forks add: present from their fork on, absent before, and
    /// with the values this block's transactions and parent give. The parent beacon root is
    /// taken as it is (a consensus layer's value; zero on Veil chains).
    pub(super) fn check_fork_fields(
        &self,
        header: &Header,
        parent: &Header,
        transactions: &[RecoveredTx],
    ) -> Result<(), ImportError> {
        let number = header.number;
        let fork = self.spec.hardfork_at(number, header.timestamp);
        let presence = |field: &str, present: bool, from: Hardfork| {
            if present == (fork >= from) {
                Ok(())
            } else {
                Err(ImportError::InvalidHeader {
                    number,
                    reason: format!(
                        "{field} is {} under {fork:?} (it is present from {from:?} on)",
                        if present { "present" } else { "missing" }
                    ),
                })
            }
        };
        presence("withdrawalsRoot", header.withdrawals_root.is_some(), Hardfork::Shanghai)?;
        presence("blobGasUsed", header.blob_gas_used.is_some(), Hardfork::Cancun)?;
        presence("excessBlobGas", header.excess_blob_gas.is_some(), Hardfork::Cancun)?;
        presence(
            "parentBeaconBlockRoot",
            header.parent_beacon_block_root.is_some(),
            Hardfork::Cancun,
        )?;
        presence("requestsHash", header.requests_hash.is_some(), Hardfork::Prague)?;
        if let Some(params) = self.spec.blob_params(number, header.timestamp) {
            let used = blob_gas_used(transactions);
            check(number, "blob gas used", header.blob_gas_used, Some(used))?;
            if used > params.max_blob_gas_per_block() {
                return Err(ImportError::InvalidHeader {
                    number,
                    reason: format!(
                        "blob gas used {used} is above the block's {}",
                        params.max_blob_gas_per_block()
                    ),
                });
            }
            let expected = self.spec.next_excess_blob_gas(parent, number, header.timestamp);
            check(number, "excess blob gas", header.excess_blob_gas, expected)?;
        }
        if fork >= Hardfork::Prague {
            check(number, "requests hash", header.requests_hash, Some(EMPTY_REQUESTS_HASH))?;
        }
        Ok(())
    }
}

pub(super) fn check<T: PartialEq + std::fmt::Debug>(
    number: u64,
    field: &'static str,
    header: T,
    computed: T,
) -> Result<(), ImportError> {
    if header == computed {
        Ok(())
    } else {
        Err(ImportError::Mismatch {
            number,
            field,
            header: format!("{header:?}"),
            computed: format!("{computed:?}"),
        })
    }
}

/// The length of a block's RLP (header, transactions, no uncles, withdrawals when given).
pub(super) fn block_rlp_length(
    header: &Header,
    transactions: &[RecoveredTx],
    withdrawals: &[Withdrawal],
) -> usize {
    use alloy_rlp::Encodable;
    let list = |payload_length: usize| {
        alloy_rlp::Header { list: true, payload_length }.length() + payload_length
    };
    let txs = list(transactions.iter().map(|tx| tx.tx().length()).sum());
    let withdrawals = header
        .withdrawals_root
        .map_or(0, |_| list(withdrawals.iter().map(Encodable::length).sum()));
    list(header.length() + txs + list(0) + withdrawals)
}

/// The blob gas a block's transactions use (EIP-4844).
pub(super) fn blob_gas_used(transactions: &[RecoveredTx]) -> u64 {
    transactions.iter().filter_map(|tx| tx.tx().fields().blob_gas_used()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::TxLegacy;
    use alloy_primitives::{Address, B256};
    use alloy_primitives::{Bytes, TxKind};
    use veil_primitives::{Block, BlockBody};

    #[test]
    fn the_block_size_import_checks_is_the_length_of_the_blocks_rlp() {
        let key = secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
        let transactions: Vec<RecoveredTx> = (0..3u64)
            .map(|nonce| {
                let tx = TxLegacy {
                    chain_id: Some(10),
                    nonce,
                    gas_limit: 100_000,
                    to: TxKind::Call(Address::repeat_byte(1)),
                    input: Bytes::from(vec![0xab; 100 * nonce as usize]),
                    ..Default::default()
                };
                RecoveredTx::try_new(veil_primitives::sign_transaction(tx.into(), &key)).unwrap()
            })
            .collect();
        let withdrawals = vec![Withdrawal {
            index: 1,
            validator_index: 2,
            address: Address::repeat_byte(3),
            amount: 4,
        }];
        let header = Header {
            withdrawals_root: Some(B256::ZERO),
            extra_data: Bytes::from(vec![1; 32]),
            ..Default::default()
        };
        let block = Block {
            header: header.clone(),
            body: BlockBody {
                transactions: transactions.iter().map(|tx| tx.tx().clone()).collect(),
                ommers: vec![],
                withdrawals: Some(withdrawals.clone().into()),
            },
        };
        assert_eq!(
            block_rlp_length(&header, &transactions, &withdrawals),
            alloy_rlp::encode(&block).len()
        );
    }
}
