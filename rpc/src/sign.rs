//! Signing with the node's accounts: `eth_sendTransaction`, `eth_signTransaction`, `eth_sign`
//! and `eth_signTypedData_v4`. Requests are completed with geth's defaults (pending nonce,
//! estimated gas, suggested fees) and signed with an unlocked key.

use super::{
    async_method, blocking,
    call::{has_dynamic_fee, request_input},
    convert,
    error::{invalid_params, server_error},
    method, MethodResult, Module, RpcContext,
};
use crate::accounts::AccountError;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxLegacy, TypedTransaction};
use alloy_dyn_abi::TypedData;
use alloy_eips::BlockId;
use alloy_primitives::{eip191_hash_message, Address, Bytes, Signature, TxKind, B256};
use alloy_rpc_types_eth::TransactionRequest;
use jsonrpsee::{core::RegisterMethodError, types::ErrorObjectOwned};
use serde_json::{json, Value};
use std::sync::Arc;
use veil_primitives::{RecoveredTx, Transaction};

pub(crate) fn account_error(error: AccountError) -> ErrorObjectOwned {
    match error {
        AccountError::Io { .. } => super::error::internal_error(error),
        other => server_error(other),
    }
}

/// How a key is reached: unlocked already, or decrypted for this one request.
#[derive(Clone, Copy)]
pub(crate) enum Authority<'a> {
    Unlocked,
    Password(&'a str),
}

impl<'a> Authority<'a> {
    /// With `password`, decrypted for this request; without, unlocked already.
    pub(crate) fn of(password: &'a Option<zeroize::Zeroizing<String>>) -> Self {
        password.as_deref().map_or(Authority::Unlocked, |p| Authority::Password(p))
    }
}

impl RpcContext {
    pub(crate) fn sign_with(
        &self,
        from: Address,
        authority: Authority<'_>,
        hash: B256,
    ) -> MethodResult<Signature> {
        match authority {
            Authority::Unlocked => self.accounts.sign_hash(from, hash),
            Authority::Password(password) => {
                self.accounts.sign_hash_with_password(from, password, hash)
            }
        }
        .map_err(account_error)
    }

    /// Completes a request with geth's defaults; returns the sender and the unsigned
    /// transaction.
    pub(crate) fn fill_transaction(
        &self,
        request: TransactionRequest,
    ) -> MethodResult<(Address, TypedTransaction)> {
        let from =
            request.from.ok_or_else(|| invalid_params("missing value for field \"from\""))?;
        let chain_id = self.chain.spec().chain_id();
        if request.chain_id.is_some_and(|id| id != chain_id) {
            return Err(invalid_params(format!(
                "chainId does not match node's (have={}, want={chain_id})",
                request.chain_id.unwrap_or_default()
            )));
        }
        let nonce = match request.nonce {
            Some(nonce) => nonce,
            None => self.pending_nonce(from)?,
        };
        let gas_limit = match request.gas {
            Some(gas) => gas,
            None => self.estimate_gas_for(&request)?,
        };
        let to = request.to.unwrap_or(TxKind::Create);
        let value = request.value.unwrap_or_default();
        let input = request_input(&request)?;
        let dynamic = has_dynamic_fee(&request);
        let base_fee = self.next_base_fee();
        let tx: TypedTransaction = if self.chain.spec().is_gas_free()
            || request.gas_price.is_some()
            || (base_fee.is_none() && !dynamic)
        {
            let gas_price = if self.chain.spec().is_gas_free() {
                0
            } else {
                request.gas_price.unwrap_or_else(|| {
                    u128::from(base_fee.unwrap_or_default()) + self.suggested_tip()
                })
            };
            match request.access_list {
                Some(access_list) => TxEip2930 {
                    chain_id,
                    nonce,
                    gas_price,
                    gas_limit,
                    to,
                    value,
                    access_list,
                    input,
                }
                .into(),
                None => TxLegacy {
                    chain_id: Some(chain_id),
                    nonce,
                    gas_price,
                    gas_limit,
                    to,
                    value,
                    input,
                }
                .into(),
            }
        } else {
            let tip = request.max_priority_fee_per_gas.unwrap_or_else(|| self.suggested_tip());
            let max_fee = request
                .max_fee_per_gas
                .unwrap_or_else(|| 2 * u128::from(base_fee.unwrap_or_default()) + tip);
            if max_fee < tip {
                return Err(invalid_params(format!(
                    "maxFeePerGas ({max_fee}) < maxPriorityFeePerGas ({tip})"
                )));
            }
            TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to,
                value,
                access_list: request.access_list.unwrap_or_default(),
                input,
            }
            .into()
        };
        Ok((from, tx))
    }

    fn estimate_gas_for(&self, request: &TransactionRequest) -> MethodResult<u64> {
        let estimate = self.estimate_gas(request.clone(), Some(BlockId::pending()), None)?;
        Ok(estimate.saturating_to())
    }

    /// Completes and signs a request.
    pub(crate) fn sign_request(
        &self,
        request: TransactionRequest,
        authority: Authority<'_>,
    ) -> MethodResult<RecoveredTx> {
        let (from, tx) = self.fill_transaction(request)?;
        let signature = self.sign_with(from, authority, tx.signature_hash())?;
        let signed = Transaction::Public(tx.into_envelope(signature));
        Ok(RecoveredTx::new_unchecked(signed, from))
    }

    /// EIP-191 personal-message signature (`eth_sign`, `personal_sign`), V = 27/28.
    pub(crate) fn sign_message(
        &self,
        from: Address,
        data: &Bytes,
        authority: Authority<'_>,
    ) -> MethodResult<Bytes> {
        let signature = self.sign_with(from, authority, eip191_hash_message(data))?;
        Ok(Bytes::copy_from_slice(&signature.as_bytes()))
    }

    fn sign_typed_data(&self, from: Address, typed: Value) -> MethodResult<Bytes> {
        let typed: TypedData = match typed {
            Value::String(text) => serde_json::from_str(&text),
            other => serde_json::from_value(other),
        }
        .map_err(|e| invalid_params(format!("invalid argument 1: {e}")))?;
        let hash = typed
            .eip712_signing_hash()
            .map_err(|e| invalid_params(format!("invalid typed data: {e}")))?;
        let signature = self.sign_with(from, Authority::Unlocked, hash)?;
        Ok(Bytes::copy_from_slice(&signature.as_bytes()))
    }
}

/// `{raw, tx}`, as `eth_signTransaction` and `eth_fillTransaction` answer.
pub(crate) fn raw_and_tx(tx: &Transaction, from: Address) -> Value {
    json!({
        "raw": Bytes::from(tx.encoded_2718()),
        "tx": convert::transaction(tx, from, None),
    })
}

/// `{raw, tx}` of `eth_signTransaction`.
pub(crate) fn signed_transaction_json(tx: &RecoveredTx) -> Value {
    raw_and_tx(tx.tx(), tx.sender())
}

/// The signing family of `eth_*`.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    async_method(&mut m, "eth_sendTransaction", |c, a| async move {
        RpcContext::send_request(c, a.at_most(1)?.required(0)?, None).await
    })?;
    async_method(&mut m, "eth_sendTransactionAsync", |c, a| async move {
        RpcContext::send_async(c, a.at_most(1)?.required(0)?).await
    })?;
    blocking(&mut m, "eth_signTransaction", |c, a| {
        let tx = c.sign_request(a.at_most(1)?.required(0)?, Authority::Unlocked)?;
        Ok(signed_transaction_json(&tx))
    })?;
    method(&mut m, "eth_sign", |c, a| {
        c.sign_message(a.at_most(2)?.required(0)?, &a.required(1)?, Authority::Unlocked)
    })?;
    method(&mut m, "eth_signTypedData_v4", |c, a| {
        c.sign_typed_data(a.at_most(2)?.required(0)?, a.required(1)?)
    })?;
    Ok(m)
}
