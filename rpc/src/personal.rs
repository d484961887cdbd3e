//! `personal_*`: the keystore over RPC. Unlocking is refused while HTTP is served unless the
//! node runs with `--allow-insecure-unlock`, as in geth.

use super::{
    async_method, blocking,
    error::{invalid_params, server_error},
    method,
    sign::{account_error, Authority},
    MethodResult, Module, RpcContext,
};
use alloy_primitives::{eip191_hash_message, Address, Bytes, B256};
use jsonrpsee::core::RegisterMethodError;
use std::{sync::Arc, time::Duration};
use veil_primitives::recover_signer;
use zeroize::Zeroizing;

/// geth's default unlock duration.
const DEFAULT_UNLOCK: Duration = Duration::from_secs(300);

fn ec_recover(data: &Bytes, signature: &Bytes) -> MethodResult<Address> {
    if signature.len() != 65 {
        return Err(invalid_params("signature must be 65 bytes long"));
    }
    if signature[64] != 27 && signature[64] != 28 {
        return Err(invalid_params("invalid Ethereum signature (V is not 27 or 28)"));
    }
    let signature = alloy_primitives::Signature::from_raw(signature)
        .map_err(|e| invalid_params(format!("invalid signature: {e}")))?;
    recover_signer(&signature, eip191_hash_message(data)).map_err(server_error)
}

fn unlock(
    c: &RpcContext,
    address: Address,
    password: &str,
    seconds: Option<u64>,
) -> MethodResult<bool> {
    if !c.unlock_allowed {
        return Err(server_error("account unlock with HTTP access is forbidden"));
    }
    let duration = match seconds {
        None => Some(DEFAULT_UNLOCK),
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s)),
    };
    c.accounts.unlock(address, password, duration).map_err(account_error)?;
    Ok(true)
}

fn password(a: &super::Args, index: usize) -> MethodResult<Zeroizing<String>> {
    a.required::<String>(index).map(Zeroizing::new)
}

/// The `personal_*` methods.
pub(super) fn module(context: Arc<RpcContext>) -> Result<Module, RegisterMethodError> {
    let mut m = Module::from_arc(context);
    method(&mut m, "personal_listAccounts", |c, _| Ok(c.accounts.addresses()))?;
    blocking(&mut m, "personal_newAccount", |c, a| {
        c.accounts.create(&password(a.at_most(1)?, 0)?).map_err(account_error)
    })?;
    blocking(&mut m, "personal_importRawKey", |c, a| {
        let key: Zeroizing<String> = password(a.at_most(2)?, 0)?;
        let key: B256 = key
            .trim_start_matches("0x")
            .parse()
            .map_err(|_| invalid_params("invalid argument 0: want a 32-byte hex private key"))?;
        c.accounts.import(&key, &password(a, 1)?).map_err(account_error)
    })?;
    blocking(&mut m, "personal_unlockAccount", |c, a| {
        unlock(c, a.at_most(3)?.required(0)?, &password(a, 1)?, a.optional(2)?)
    })?;
    method(&mut m, "personal_lockAccount", |c, a| Ok(c.accounts.lock(a.at_most(1)?.required(0)?)))?;
    async_method(&mut m, "personal_sendTransaction", |c, a| async move {
        let password = password(a.at_most(2)?, 1)?;
        RpcContext::send_request(c, a.required(0)?, Some(password)).await
    })?;
    blocking(&mut m, "personal_signTransaction", |c, a| {
        let password = password(a.at_most(2)?, 1)?;
        let tx = c.sign_request(a.required(0)?, Authority::Password(&password))?;
        Ok(super::sign::signed_transaction_json(&tx))
    })?;
    blocking(&mut m, "personal_sign", |c, a| {
        let password = password(a.at_most(3)?, 2)?;
        c.sign_message(a.required(1)?, &a.required(0)?, Authority::Password(&password))
    })?;
    method(&mut m, "personal_ecRecover", |_, a| {
        ec_recover(&a.at_most(2)?.required(0)?, &a.required(1)?)
    })?;
    Ok(m)
}
