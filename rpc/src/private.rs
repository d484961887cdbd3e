//! GoQuorum's private transactions over JSON-RPC: `privateFor` / `privateFrom` / `privacyFlag`
//! / `mandatoryFor` on `eth_sendTransaction` and `personal_sendTransaction`, and
//! `eth_getQuorumPayload`.
//!
//! Once privacy enhancements apply, the sender's node first runs every private transaction on
//! its own private state: with flag 1–3, a call to a contract it is not a party of fails here
//! ("contract not found. cannot transact"); with any flag, one whose affected contracts carry
//! another flag fails ("sent privacy flag doesn't match all affected contract flags"); the
//! affected contracts' creation payloads (and, for private state validation, the execution
//! hash) go to the TM with the payload.
//!
//! Sending: the payload (the request's data) goes to the transaction manager's `/send`, the
//! transaction's data becomes the returned 64-byte hash, and the transaction is signed without
//! chain id and marked private (V = 37/38) before it is submitted like any other. The methods
//! await the TM; none holds a thread while it answers.

use super::{
    call::request_input,
    error::{invalid_params, server_error},
    nonce_lock::NonceGuard,
    off_thread,
    sign::{raw_and_tx, Authority},
    MethodResult, RpcContext,
};
use alloy_consensus::TxLegacy;
use alloy_primitives::{Address, Bytes, TxKind, B256};
use alloy_rpc_types_eth::TransactionRequest;
use serde::Deserialize;
use std::sync::Arc;
use veil_chain::ptm::SendPrivacy;
use veil_primitives::{private_transaction, PayloadHash, PrivacyFlag, RecoveredTx, TmPublicKey};
use zeroize::Zeroizing;

/// Gas of a private transaction that names none (the private payload cannot be estimated on
/// public state); the usual figure of GoQuorum's examples.
const DEFAULT_PRIVATE_GAS: u64 = 4_700_000;

/// `eth_sendTransaction`'s argument: geth's request plus GoQuorum's private fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendTxArgs {
    #[serde(flatten)]
    pub request: TransactionRequest,
    /// Recipients' TM keys; a non-null array (even empty) makes the transaction private.
    pub private_for: Option<Vec<TmPublicKey>>,
    /// The sender's TM key (default: the TM's first key).
    pub private_from: Option<TmPublicKey>,
    /// 0 standard private (default), 1 party protection, 2 mandatory recipients, 3 private
    /// state validation; 1–3 need privacy enhancements on the chain.
    pub privacy_flag: Option<u64>,
    /// Keys every later transaction on the contract must include (flag 2).
    #[serde(default)]
    pub mandatory_for: Vec<TmPublicKey>,
}

/// `eth_sendRawPrivateTransaction`'s second argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PrivateArgs {
    /// Recipients' TM keys.
    #[serde(default)]
    pub private_for: Vec<TmPublicKey>,
    /// As [`SendTxArgs::privacy_flag`].
    pub privacy_flag: Option<u64>,
    /// As [`SendTxArgs::mandatory_for`].
    #[serde(default)]
    pub mandatory_for: Vec<TmPublicKey>,
}

/// The empty signature of a transaction not signed yet (`eth_fillTransaction`, a simulation).
fn unsigned_signature() -> alloy_primitives::Signature {
    alloy_primitives::Signature::new(Default::default(), Default::default(), false)
}

impl RpcContext {
    pub(crate) fn ptm(&self) -> MethodResult<&veil_chain::ptm::Ptm> {
        self.ptm.as_deref().ok_or_else(|| {
            server_error("private transactions need a transaction manager: start the node with --ptm.socket, --ptm.url or PRIVATE_CONFIG")
        })
    }

    /// `eth_sendRawPrivateTransaction`: a private transaction signed elsewhere, whose data is
    /// the hash `storeraw` gave; the TM distributes the payload to `privateFor`, then the
    /// transaction is submitted.
    pub(crate) async fn send_raw_private(
        self: Arc<Self>,
        raw: &Bytes,
        args: PrivateArgs,
    ) -> MethodResult<B256> {
        let flag = self.privacy_flag(args.privacy_flag)?;
        let tx = veil_primitives::Transaction::decode_2718_exact(raw)
            .map_err(|e| invalid_params(format!("invalid raw transaction: {e}")))?;
        if !tx.is_private() {
            return Err(invalid_params("transaction is not private"));
        }
        let key = <[u8; 64]>::try_from(tx.input().as_ref()).map_err(|_| {
            invalid_params(
                "the data of a private transaction is the 64-byte hash storeraw returned",
            )
        })?;
        let tx = RecoveredTx::try_new(tx)
            .map_err(|e| invalid_params(format!("invalid transaction signature: {e}")))?;
        let mut privacy = SendPrivacy { flag, mandatory: args.mandatory_for, ..Default::default() };
        if self.enhancements_active() {
            let payload = self.ptm()?.payload(&PayloadHash(key)).await.map_err(server_error)?;
            let payload = payload.ok_or_else(|| {
                invalid_params("the transaction manager holds no payload for this transaction's hash (call storeraw first)")
            })?;
            let simulated = tx.clone();
            privacy = off_thread(&self, move |c| c.simulated_privacy(&simulated, payload, privacy))
                .await?;
        }
        self.ptm()?
            .send_signed(PayloadHash(key), args.private_for, privacy)
            .await
            .map_err(server_error)?;
        self.submit(tx)
    }

    /// A request's privacy flag, refused unless privacy enhancements apply to the next block
    /// (GoQuorum's message).
    fn privacy_flag(&self, flag: Option<u64>) -> MethodResult<PrivacyFlag> {
        let flag = PrivacyFlag::from_number(flag.unwrap_or(0))
            .map_err(|e| invalid_params(e.to_string()))?;
        if flag.is_enhanced() && !self.enhancements_active() {
            return Err(invalid_params(
                "PrivacyEnhancements are disabled. Can only accept transactions with PrivacyFlag=0",
            ));
        }
        Ok(flag)
    }

    /// Whether privacy enhancements apply to the next block: then every private send is run
    /// on this node's private state first.
    fn enhancements_active(&self) -> bool {
        let next = self.chain.head().1.number + 1;
        self.chain.spec().quorum().privacy_enhancements_at(next)
    }

    /// `privacy` completed by running `tx` with `payload` on this node's private state
    /// (GoQuorum's `simulateExecutionForPE`): the creation payloads of the contracts it
    /// affects, which must all carry its flag, and its execution hash.
    fn simulated_privacy(
        &self,
        tx: &RecoveredTx,
        payload: Bytes,
        mut privacy: SendPrivacy,
    ) -> MethodResult<SendPrivacy> {
        let simulation = self.chain.simulate_private(tx, payload).map_err(server_error)?;
        if let (TxKind::Call(to), true) = (tx.tx().fields().kind(), privacy.flag.is_enhanced()) {
            if !simulation.affected.iter().any(|(address, _)| *address == to) {
                return Err(server_error("contract not found. cannot transact"));
            }
        }
        for (address, protection) in &simulation.affected {
            let contract_flag = protection.map_or(PrivacyFlag::StandardPrivate, |p| p.flag);
            if contract_flag != privacy.flag {
                return Err(server_error(format!(
                    "sent privacy flag doesn't match all affected contract flags: {address} has {contract_flag}, the transaction {}",
                    privacy.flag
                )));
            }
        }
        privacy.affected =
            simulation.affected.iter().filter_map(|(_, p)| p.map(|p| p.creation)).collect();
        if privacy.flag == PrivacyFlag::StateValidation {
            privacy.exec_hash = simulation.exec_hash.to_string();
        }
        Ok(privacy)
    }

    /// `eth_fillTransaction`: geth's defaults filled in, unsigned; for a private request the
    /// payload is stored with the TM (`storeraw`) and the data is its hash, marked private
    /// (V = 0x25), ready to sign and send with `eth_sendRawPrivateTransaction`.
    pub(crate) async fn fill(
        context: Arc<RpcContext>,
        args: SendTxArgs,
    ) -> MethodResult<serde_json::Value> {
        let unsigned = unsigned_signature();
        let Some(_) = args.private_for else {
            let request = args.request;
            let (from, tx) = off_thread(&context, move |c| c.fill_transaction(request)).await?;
            let tx = veil_primitives::Transaction::Public(tx.into_envelope(unsigned));
            return Ok(raw_and_tx(&tx, from));
        };
        context.privacy_flag(args.privacy_flag)?;
        let ptm = context.ptm()?;
        let nonce = args.request.nonce;
        let (from, mut tx) = context.private_fields(args.request)?;
        if nonce.is_none() {
            tx.nonce = context.pending_nonce(from)?;
        }
        let hash =
            ptm.store_raw(tx.input.to_vec(), args.private_from).await.map_err(server_error)?;
        let tx = private_transaction(
            TxLegacy { input: Bytes::copy_from_slice(hash.as_bytes()), ..tx },
            unsigned,
        );
        Ok(raw_and_tx(&tx, from))
    }

    /// A private request's fields with defaults; the data is still the payload. The nonce is
    /// the request's, or 0 when it names none: the caller chooses it (a send under the
    /// sender's nonce lock, after the TM has the payload).
    fn private_fields(&self, mut request: TransactionRequest) -> MethodResult<(Address, TxLegacy)> {
        let from =
            request.from.ok_or_else(|| invalid_params("missing value for field \"from\""))?;
        let input = request_input(&request)?;
        let nonce = request.nonce.unwrap_or_default();
        let gas_limit =
            request.gas.unwrap_or(DEFAULT_PRIVATE_GAS.min(self.chain.head().1.gas_limit));
        let gas_price =
            if self.chain.spec().is_gas_free() { 0 } else { request.gas_price.unwrap_or_default() };
        let tx = TxLegacy {
            chain_id: None,
            nonce,
            gas_price,
            gas_limit,
            to: request.to.take().unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            input,
        };
        Ok((from, tx))
    }

    /// `from`'s nonce lock when this node chooses the nonce (the request names none): held
    /// from reading the pending nonce until the pool has the transaction (geth's nonce lock),
    /// so concurrent sends never share one.
    fn nonce_guard(&self, from: Address, nonce_chosen_here: bool) -> Option<NonceGuard> {
        nonce_chosen_here.then(|| self.nonce_locks.lock(from))
    }

    /// Sends a request, privately when it names `privateFor`, signed with the unlocked key or
    /// with the one `password` decrypts. Execution (gas estimation) and key derivation run on
    /// the blocking pool; the TM is awaited.
    pub(crate) async fn send_request(
        context: Arc<RpcContext>,
        args: SendTxArgs,
        password: Option<Zeroizing<String>>,
    ) -> MethodResult<B256> {
        let nonce_chosen_here = args.request.nonce.is_none();
        let Some(private_for) = args.private_for else {
            let request = args.request;
            return off_thread(&context, move |c| {
                let _guard = request.from.and_then(|from| c.nonce_guard(from, nonce_chosen_here));
                c.submit(c.sign_request(request, Authority::of(&password))?)
            })
            .await;
        };
        let flag = context.privacy_flag(args.privacy_flag)?;
        let (from, tx) = context.private_fields(args.request)?;
        let mut privacy = SendPrivacy { flag, mandatory: args.mandatory_for, ..Default::default() };
        if context.enhancements_active() {
            let unsigned = tx.clone();
            privacy = off_thread(&context, move |c| {
                let nonce = if nonce_chosen_here { c.pending_nonce(from)? } else { unsigned.nonce };
                let payload = unsigned.input.clone();
                let tx = private_transaction(TxLegacy { nonce, ..unsigned }, unsigned_signature());
                c.simulated_privacy(&RecoveredTx::new_unchecked(tx, from), payload, privacy)
            })
            .await?;
        }
        // The payload goes to the TM first, outside the lock: its hash does not depend on
        // the nonce, and the TM's round trip must not hold up the account's other sends.
        let hash: PayloadHash = context
            .ptm()?
            .send(tx.input.to_vec(), args.private_from, private_for, privacy)
            .await
            .map_err(server_error)?;
        off_thread(&context, move |c| {
            let _guard = c.nonce_guard(from, nonce_chosen_here);
            let nonce = if nonce_chosen_here { c.pending_nonce(from)? } else { tx.nonce };
            let tx = TxLegacy { input: Bytes::copy_from_slice(hash.as_bytes()), nonce, ..tx };
            let (to, nonce) = (tx.to, tx.nonce);
            let signature = c.sign_with(
                from,
                Authority::of(&password),
                alloy_consensus::SignableTransaction::signature_hash(&tx),
            )?;
            if let TxKind::Create = to {
                tracing::info!(target: "rpc", %from, nonce, contract = %from.create(nonce), "Submitted private contract creation");
            }
            c.submit(RecoveredTx::new_unchecked(private_transaction(tx, signature), from))
        })
        .await
    }

    /// `eth_getContractPrivacyMetadata`: a private contract's protection — its creation
    /// payload hash, flag and (flag 2) mandatory recipients, from its TM; `null` for a
    /// contract created standard private, or one this node is not a party of.
    pub(crate) async fn contract_privacy_metadata(
        &self,
        address: Address,
    ) -> MethodResult<Option<serde_json::Value>> {
        use veil_evm::ContractPrivacyReader;
        let reader = veil_chain::contract_privacy::StoredContractPrivacy(self.chain.kv().clone());
        let Some(protection) = reader.contract_privacy(&address).map_err(server_error)? else {
            return Ok(None);
        };
        let mandatory = match protection.flag {
            PrivacyFlag::MandatoryRecipients => {
                self.ptm()?.mandatory(&protection.creation).await.map_err(server_error)?
            }
            _ => Vec::new(),
        };
        Ok(Some(serde_json::json!({
            "creationTxHash": protection.creation,
            "privacyFlag": protection.flag.number(),
            "mandatoryFor": mandatory,
        })))
    }

    /// `eth_getQuorumPayload`: the payload behind a 64-byte hash, `0x` when this node's TM is
    /// not a party.
    pub(crate) async fn quorum_payload(&self, hash: &str) -> MethodResult<Bytes> {
        let bytes = alloy_primitives::hex::decode(hash)
            .map_err(|e| invalid_params(format!("invalid argument 0: {e}")))?;
        let key = <[u8; 64]>::try_from(bytes.as_slice())
            .map_err(|_| invalid_params("invalid argument 0: a payload hash is 64 bytes"))?;
        let found = self.ptm()?.payload(&PayloadHash(key)).await.map_err(server_error)?;
        Ok(found.unwrap_or_default())
    }
}
