//! Transaction-manager identifiers shared by the node and the TM: a participant's public key
//! and the hash under which a private payload is stored. Both travel as standard base64, as in
//! Tessera's APIs and GoQuorum's `privateFor`.

use base64::{engine::general_purpose::STANDARD, Engine};
use std::{fmt, str::FromStr};

/// Why a base64 identifier did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Not base64.
    #[error("invalid base64: {0}")]
    Base64(String),
    /// Decoded to the wrong number of bytes.
    #[error("wrong length: {got} bytes, want {want}")]
    Length {
        /// Bytes decoded.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
}

fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], IdentifierError> {
    let bytes = STANDARD.decode(text.trim()).map_err(|e| IdentifierError::Base64(e.to_string()))?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| IdentifierError::Length { got: bytes.len(), want: N })
}

macro_rules! base64_id {
    ($name:ident, $len:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&STANDARD.encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdentifierError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                decode_fixed::<$len>(s).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

base64_id!(TmPublicKey, 32, "A participant's X25519 public key (32 bytes; base64 in every API).");
base64_id!(
    PayloadHash,
    64,
    "The key of a stored private payload: SHA3-512 of its ciphertext (64 bytes; base64 in the \
     APIs, the raw bytes as a private transaction's data)."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_names_the_problem() {
        // A Tessera sample public key (tessera's 7nodes tm1.pub).
        let text = "BULeR8JyUWhiuuCMU/HLA0Q5pzkYT+cHII3ZKBey3Bo=";
        let key: TmPublicKey = text.parse().unwrap();
        assert_eq!(key.to_string(), text);
        assert_eq!(serde_json::to_string(&key).unwrap(), format!("\"{text}\""));
        assert!(matches!(
            "AAAA".parse::<TmPublicKey>(),
            Err(IdentifierError::Length { got: 3, want: 32 })
        ));
        assert!(matches!("not base64!".parse::<TmPublicKey>(), Err(IdentifierError::Base64(_))));
        let hash = PayloadHash([7; 64]);
        assert_eq!(hash.to_string().parse::<PayloadHash>().unwrap(), hash);
    }
}
