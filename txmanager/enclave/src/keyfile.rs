//! Key files. A public key file is the key's base64 on one line. A private key file is JSON:
//!
//! - Tessera's unlocked form, read and written as it is:
//!   `{"type":"unlocked","data":{"bytes":"<base64 of 32 bytes>"}}`
//! - Veil's password-locked form: the key sealed with XChaCha20-Poly1305 under a key derived
//!   from the password with argon2id:
//!   `{"type":"argon2id-xchacha20poly1305","data":{"aopts":{"variant":"id","memory":65536,
//!   "iterations":3,"parallelism":1},"asalt":"<b64 16>","snonce":"<b64 24>","sbox":"<b64 48>"}}`
//!   (`memory` in KiB; `sbox` is the 32-byte key plus the 16-byte tag).
//!
//! Tessera's own locked form (`argon2sbox`, NaCl secretbox) is refused with a message saying how
//! to convert it. Every error names the file; no error shows key bytes.

use crate::{crypto::random, KeyPair, PrivateKey};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{aead::Aead, KeyInit, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use veil_primitives::TmPublicKey;
use zeroize::Zeroizing;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The password does not open the key.
    #[error("key file {path}: wrong password")]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },
    /// The file is locked and no password was given.
    #[error("key file {path}: the key is password-locked; give its password (passwordFile)")]
    PasswordNeeded {
        /// The file.
        path: PathBuf,
    },
    /// Unreadable, unwritable or malformed.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> KeyFileError {
    KeyFileError::Invalid { path: path.to_path_buf(), reason: reason.to_string() }
}

/// argon2 options as Tessera names them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArgonOptions {
    /// Always "id".
    pub variant: String,
    /// Memory in KiB.
    pub memory: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for ArgonOptions {
    fn default() -> Self {
        Self { variant: "id".into(), memory: 65_536, iterations: 3, parallelism: 1 }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", content = "data", deny_unknown_fields)]
enum PrivateKeyFile {
    #[serde(rename = "unlocked")]
    Unlocked { bytes: String },
    #[serde(rename = "argon2id-xchacha20poly1305")]
    Locked { aopts: ArgonOptions, asalt: String, snonce: String, sbox: String },
    #[serde(rename = "argon2sbox")]
    TesseraLocked(serde_json::Value),
}

fn decode_b64(path: &Path, what: &str, text: &str) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|e| invalid(path, format!("{what} is not base64: {e}")))
}

fn fixed<const N: usize>(path: &Path, what: &str, bytes: &[u8]) -> Result<[u8; N], KeyFileError> {
    bytes
        .try_into()
        .map_err(|_| invalid(path, format!("{what} has {} bytes, want {N}", bytes.len())))
}

fn password_key(
    path: &Path,
    password: &str,
    salt: &[u8],
    options: &ArgonOptions,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    if options.variant != "id" {
        return Err(invalid(
            path,
            format!("argon2 variant {:?}; only \"id\" is read", options.variant),
        ));
    }
    let params = Params::new(options.memory, options.iterations, options.parallelism, Some(32))
        .map_err(|e| invalid(path, format!("argon2 options: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut key[..])
        .map_err(|e| invalid(path, format!("argon2: {e}")))?;
    Ok(key)
}

/// Reads a public key file.
pub fn read_public_key(path: &Path) -> Result<TmPublicKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| invalid(path, e))?;
    text.trim().parse().map_err(|e| invalid(path, format!("not a public key: {e}")))
}

/// Writes a public key file.
pub fn write_public_key(path: &Path, key: &TmPublicKey) -> Result<(), KeyFileError> {
    std::fs::write(path, key.to_string()).map_err(|e| invalid(path, e))
}

/// Reads a private key file, unlocking it with `password` when it is locked.
pub fn read_private_key(path: &Path, password: Option<&str>) -> Result<PrivateKey, KeyFileError> {
    Ok(PrivateKey::from_bytes(*read_secret(path, password)?))
}

/// Reads the 32 secret bytes of any key file in these formats (an X25519 key, or a TM's
/// ed25519 identity seed), unlocking them with `password` when locked.
pub fn read_secret(
    path: &Path,
    password: Option<&str>,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| invalid(path, e))?);
    let file: PrivateKeyFile = serde_json::from_str(&text)
        .map_err(|e| invalid(path, format!("not a private key file: {e}")))?;
    let bytes: [u8; 32] = match file {
        PrivateKeyFile::Unlocked { bytes } => {
            fixed(path, "the key", &decode_b64(path, "the key", &bytes)?)?
        }
        PrivateKeyFile::Locked { aopts, asalt, snonce, sbox } => {
            let password = password.ok_or(KeyFileError::PasswordNeeded { path: path.into() })?;
            let salt = decode_b64(path, "asalt", &asalt)?;
            let nonce: [u8; 24] = fixed(path, "snonce", &decode_b64(path, "snonce", &snonce)?)?;
            let sealed = decode_b64(path, "sbox", &sbox)?;
            let key = password_key(path, password, &salt, &aopts)?;
            let opened = Zeroizing::new(
                XChaCha20Poly1305::new((&*key).into())
                    .decrypt(&XNonce::from(nonce), sealed.as_slice())
                    .map_err(|_| KeyFileError::WrongPassword { path: path.into() })?,
            );
            fixed(path, "the key", &opened)?
        }
        PrivateKeyFile::TesseraLocked(_) => {
            return Err(invalid(
                path,
                "Tessera's password-locked format (argon2sbox) is not read; unlock it with \
                 Tessera's `-updatepassword` (empty password) and lock it again with \
                 `veil-tm update-password`",
            ))
        }
    };
    Ok(Zeroizing::new(bytes))
}

/// Writes a private key file (owner-only), locked with `password` when one is given.
pub fn write_private_key(
    path: &Path,
    key: &PrivateKey,
    password: Option<&str>,
) -> Result<(), KeyFileError> {
    write_secret(path, &key.to_bytes(), password)
}

/// Writes 32 secret bytes (owner-only) in the private key file format, locked with `password`
/// when one is given.
pub fn write_secret(
    path: &Path,
    bytes: &[u8; 32],
    password: Option<&str>,
) -> Result<(), KeyFileError> {
    let file = match password {
        None => PrivateKeyFile::Unlocked { bytes: STANDARD.encode(bytes) },
        Some(password) => {
            let aopts = ArgonOptions::default();
            let salt = random::<16>();
            let nonce = random::<24>();
            let wrap = password_key(path, password, &salt, &aopts)?;
            let sealed = XChaCha20Poly1305::new((&*wrap).into())
                .encrypt(&XNonce::from(nonce), &bytes[..])
                .map_err(|_| invalid(path, "sealing the key failed"))?;
            PrivateKeyFile::Locked {
                aopts,
                asalt: STANDARD.encode(salt),
                snonce: STANDARD.encode(nonce),
                sbox: STANDARD.encode(sealed),
            }
        }
    };
    let json = Zeroizing::new(serde_json::to_string(&file).map_err(|e| invalid(path, e))?);
    write_owner_only(path, json.as_bytes())
}

fn write_owner_only(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| invalid(path, e))?;
    file.write_all(contents).map_err(|e| invalid(path, e))
}

/// Loads a key pair and checks that the public file matches the private key.
pub fn load_key_pair(
    public_path: &Path,
    private_path: &Path,
    password: Option<&str>,
) -> Result<KeyPair, KeyFileError> {
    let public = read_public_key(public_path)?;
    let pair = KeyPair::from_private(read_private_key(private_path, password)?);
    if pair.public() != public {
        return Err(invalid(
            public_path,
            format!("does not match the private key in {}", private_path.display()),
        ));
    }
    Ok(pair)
}
