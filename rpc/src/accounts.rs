//! Accounts: a geth v3 keystore directory and the keys unlocked from it.
//!
//! Files are Web3 Secret Storage v3 JSON (scrypt + AES-128-CTR) with geth's `address` field and
//! geth's file names (`UTC--<time>--<address>`), written and read through
//! `alloy-signer-local`'s keystore support, so a geth keystore directory works here unchanged and
//! the other way round. Unlocked keys live in memory only, are wiped when locked, and are never
//! logged.

use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use parking_lot::Mutex;
use secp256k1::SecretKey;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use zeroize::Zeroize;

/// Why an account operation failed; the texts are geth's where geth has one.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No keystore file holds this address.
    #[error("no key for given address or file")]
    UnknownAccount,
    /// The password does not decrypt the key.
    #[error("could not decrypt key with given password")]
    WrongPassword,
    /// The account is locked.
    #[error("authentication needed: password or unlock")]
    Locked,
    /// The key is in the keystore already.
    #[error("account already exists")]
    AlreadyExists,
    /// The bytes are not a valid secp256k1 key.
    #[error("invalid private key: {0}")]
    InvalidKey(String),
    /// Reading or writing the keystore failed.
    #[error("keystore {path}: {reason}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// An unlocked key; its bytes are wiped when it is dropped.
struct UnlockedKey {
    key: SecretKey,
    until: Option<Instant>,
}

impl Drop for UnlockedKey {
    fn drop(&mut self) {
        self.key.non_secure_erase();
    }
}

/// The keystore directory and the unlocked keys.
pub struct Accounts {
    dir: PathBuf,
    unlocked: Mutex<HashMap<Address, UnlockedKey>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> AccountError {
    AccountError::Io { path: path.to_path_buf(), reason: error.to_string() }
}

/// geth's keystore file name for `address` created now.
fn key_file_name(address: Address) -> String {
    let now = chrono::Utc::now();
    format!(
        "UTC--{}--{}",
        now.format("%Y-%m-%dT%H-%M-%S%.9fZ"),
        alloy_primitives::hex::encode(address)
    )
}

/// The address a keystore file declares, if it is one.
fn declared_address(path: &Path) -> Option<Address> {
    #[derive(serde::Deserialize)]
    struct Declared {
        address: String,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let declared: Declared = serde_json::from_str(&text).ok()?;
    declared.address.trim_start_matches("0x").parse().ok()
}

impl Accounts {
    /// Opens (creating it if needed) the keystore directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, AccountError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error(&dir, e))?;
        }
        Ok(Self { dir, unlocked: Mutex::new(HashMap::new()) })
    }

    /// The keystore directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every account in the keystore with its file, in file-name order (geth's order: oldest
    /// first for geth-named files).
    pub fn list(&self) -> Result<Vec<(Address, PathBuf)>, AccountError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .filter(|path| {
                !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files.into_iter().filter_map(|path| Some((declared_address(&path)?, path))).collect())
    }

    /// The addresses of [`Accounts::list`].
    pub fn addresses(&self) -> Vec<Address> {
        self.list()
            .map(|list| list.into_iter().map(|(address, _)| address).collect())
            .unwrap_or_default()
    }

    fn file_of(&self, address: Address) -> Result<PathBuf, AccountError> {
        self.list()?
            .into_iter()
            .find(|(a, _)| *a == address)
            .map(|(_, path)| path)
            .ok_or(AccountError::UnknownAccount)
    }

    fn store(&self, secret: &[u8], password: &str) -> Result<Address, AccountError> {
        let key =
            SecretKey::from_slice(secret).map_err(|e| AccountError::InvalidKey(e.to_string()))?;
        let address = veil_primitives::address_of(&key);
        if self.file_of(address).is_ok() {
            return Err(AccountError::AlreadyExists);
        }
        let name = key_file_name(address);
        PrivateKeySigner::encrypt_keystore(
            &self.dir,
            &mut rand::thread_rng(),
            secret,
            password.as_bytes(),
            Some(&name),
        )
        .map_err(|e| io_error(&self.dir.join(&name), e))?;
        Ok(address)
    }

    /// Creates a new random key, stores it encrypted with `password`, returns its address.
    pub fn create(&self, password: &str) -> Result<Address, AccountError> {
        let key = SecretKey::new(&mut rand::thread_rng());
        let mut secret = key.secret_bytes();
        let stored = self.store(&secret, password);
        secret.zeroize();
        stored
    }

    /// Stores an existing 32-byte key encrypted with `password` (`personal_importRawKey`,
    /// `veil account import`).
    pub fn import(&self, secret: &B256, password: &str) -> Result<Address, AccountError> {
        self.store(secret.as_slice(), password)
    }

    fn decrypt(&self, address: Address, password: &str) -> Result<SecretKey, AccountError> {
        let path = self.file_of(address)?;
        let signer = PrivateKeySigner::decrypt_keystore(&path, password.as_bytes()).map_err(
            |e| match e {
                alloy_signer_local::LocalSignerError::EthKeystoreError(
                    eth_keystore::KeystoreError::MacMismatch,
                ) => AccountError::WrongPassword,
                other => io_error(&path, other),
            },
        )?;
        let mut bytes = signer.to_bytes();
        let key = SecretKey::from_slice(bytes.as_slice())
            .map_err(|e| AccountError::InvalidKey(e.to_string()));
        bytes.0.zeroize();
        key
    }

    /// Decrypts the key of `address` and keeps it for `duration` (`None`: until locked or the
    /// node stops).
    pub fn unlock(
        &self,
        address: Address,
        password: &str,
        duration: Option<Duration>,
    ) -> Result<(), AccountError> {
        let key = self.decrypt(address, password)?;
        let until = duration.map(|d| Instant::now() + d);
        self.unlocked.lock().insert(address, UnlockedKey { key, until });
        Ok(())
    }

    /// Forgets the unlocked key of `address`; whether it was unlocked.
    pub fn lock(&self, address: Address) -> bool {
        self.unlocked.lock().remove(&address).is_some()
    }

    /// Signs `hash` with the unlocked key of `address`.
    pub fn sign_hash(
        &self,
        address: Address,
        hash: B256,
    ) -> Result<alloy_primitives::Signature, AccountError> {
        let mut unlocked = self.unlocked.lock();
        let Some(entry) = unlocked.get(&address) else {
            return Err(if self.file_of(address).is_ok() {
                AccountError::Locked
            } else {
                AccountError::UnknownAccount
            });
        };
        if entry.until.is_some_and(|until| Instant::now() >= until) {
            unlocked.remove(&address);
            return Err(AccountError::Locked);
        }
        Ok(veil_primitives::sign_hash(hash, &entry.key))
    }

    /// Signs `hash` with the key of `address`, decrypted with `password` for this one use.
    pub fn sign_hash_with_password(
        &self,
        address: Address,
        password: &str,
        hash: B256,
    ) -> Result<alloy_primitives::Signature, AccountError> {
        let mut key = self.decrypt(address, password)?;
        let signature = veil_primitives::sign_hash(hash, &key);
        key.non_secure_erase();
        Ok(signature)
    }
}
