//! Why the pool refuses a transaction, in geth's words.

use alloy_primitives::{Address, B256, U256};
use veil_storage::StorageError;

/// Why a transaction was refused; the text starts with geth's reason.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The same transaction is already pooled.
    #[error("already known")]
    AlreadyKnown,
    /// The nonce was used already.
    #[error("nonce too low: address {sender}, tx: {nonce} state: {next}")]
    NonceTooLow {
        /// Sender.
        sender: Address,
        /// Transaction nonce.
        nonce: u64,
        /// Next usable nonce.
        next: u64,
    },
    /// The sender cannot pay.
    #[error(
        "insufficient funds for gas * price + value: address {sender} have {balance} want {cost}"
    )]
    InsufficientFunds {
        /// Sender.
        sender: Address,
        /// Balance.
        balance: U256,
        /// Gas limit × price + value.
        cost: U256,
    },
    /// The gas limit does not cover intrinsic gas.
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGas {
        /// Gas limit.
        have: u64,
        /// Intrinsic gas.
        want: u64,
    },
    /// The gas limit is above the block's.
    #[error("exceeds block gas limit: tx gas {gas}, block gas limit {limit}")]
    ExceedsBlockGasLimit {
        /// Transaction gas limit.
        gas: u64,
        /// Block gas limit.
        limit: u64,
    },
    /// The transaction is too large (`txnSizeLimit`).
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized {
        /// Size in bytes.
        size: usize,
        /// Limit in bytes.
        limit: usize,
    },
    /// Signed for another chain.
    #[error("invalid chain id for signer: have {have} want {want}")]
    InvalidChainId {
        /// The transaction's chain id.
        have: u64,
        /// Ours.
        want: u64,
    },
    /// A type we do not execute.
    #[error("transaction type not supported: type {0}")]
    TxTypeNotSupported(u8),
    /// A type of a fork this chain has not reached.
    #[error("transaction type not supported: type {tx_type} needs {fork}, which this chain has not activated")]
    TxTypeNotActive {
        /// The type.
        tx_type: u8,
        /// The fork that brings it.
        fork: &'static str,
    },
    /// Above the per-transaction gas cap of EIP-7825 (Osaka on).
    #[error("transaction gas limit too high (cap: {cap}, tx: {gas})")]
    GasLimitAboveCap {
        /// The transaction's gas limit.
        gas: u64,
        /// The cap.
        cap: u64,
    },
    /// EIP-4844 blob transactions have nowhere to go on a Veil chain.
    #[error("transaction type not supported: blob transactions (type 3) carry data for a beacon chain's data availability layer, which a Veil chain does not have; put the data in calldata")]
    BlobsNotSupported,
    /// An EIP-7702 transaction without authorizations (geth: "EIP-7702 transaction with empty auth list").
    #[error("EIP-7702 transaction with empty auth list")]
    EmptyAuthorizations,
    /// A delegated account, or one being delegated, may have one transaction in the pool.
    #[error("in-flight transaction limit reached for delegated accounts: {0} has a transaction pooled already")]
    DelegatedInflightLimit(Address),
    /// A set-code transaction would delegate an account that has transactions pooled.
    #[error("authority already reserved: {0} has transactions pooled")]
    AuthorityReserved(Address),
    /// A gas-free network takes only gas price 0.
    #[error("gas price not 0: this is a gas-free (isQuorum) network, send gasPrice 0")]
    GasPriceNotZero,
    /// A replacement must pay more.
    #[error("replacement transaction underpriced: bump the fee by at least {0}%")]
    ReplacementUnderpriced(u128),
    /// On a gas-free network a pooled transaction's nonce cannot be taken over: there is no fee
    /// to bump (geth, and so GoQuorum, refuses a replacement that does not pay more).
    #[error("replacement transaction underpriced: nonce {nonce} of {sender} is taken by pooled transaction {pooled}, and a gas-free network has no fee to bump")]
    NonceTaken {
        /// Sender.
        sender: Address,
        /// The nonce.
        nonce: u64,
        /// The pooled transaction holding it.
        pooled: B256,
    },
    /// No room.
    #[error("txpool is full")]
    Full,
    /// Private transactions need the transaction manager link.
    #[error("private transactions (V = 37/38) need a transaction manager, which this node does not have")]
    PrivateUnsupported,
    /// Storage failed while checking the sender's account.
    #[error("reading state: {0}")]
    Storage(#[from] StorageError),
}
