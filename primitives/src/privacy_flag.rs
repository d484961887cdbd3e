//! GoQuorum's privacy flag (`privacyFlag`): how a private transaction, and the contract it
//! creates, is protected. Flags other than standard private need privacy enhancements on the
//! chain and the TM.

use std::fmt;

/// A private transaction's protection, as GoQuorum numbers it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrivacyFlag {
    /// 0: standard private; no checks beyond who holds the payload.
    #[default]
    StandardPrivate,
    /// 1: party protection; only parties of the contracts it affects may send it.
    PartyProtection,
    /// 2: party protection whose contracts name recipients every later transaction must
    /// include (`mandatoryFor`).
    MandatoryRecipients,
    /// 3: private state validation; party protection, every transaction goes to all of the
    /// contract's parties, and each checks the sender's execution hash.
    StateValidation,
}

/// A number that is not a privacy flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("privacyFlag {0}: expected 0 (standard private), 1 (party protection), 2 (mandatory recipients) or 3 (private state validation)")]
pub struct UnknownPrivacyFlag(pub u64);

impl PrivacyFlag {
    /// The flag of a number.
    pub fn from_number(number: u64) -> Result<Self, UnknownPrivacyFlag> {
        match number {
            0 => Ok(Self::StandardPrivate),
            1 => Ok(Self::PartyProtection),
            2 => Ok(Self::MandatoryRecipients),
            3 => Ok(Self::StateValidation),
            other => Err(UnknownPrivacyFlag(other)),
        }
    }

    /// Its number.
    pub fn number(self) -> u8 {
        match self {
            Self::StandardPrivate => 0,
            Self::PartyProtection => 1,
            Self::MandatoryRecipients => 2,
            Self::StateValidation => 3,
        }
    }

    /// Whether it is an enhanced flag (anything but standard private).
    pub fn is_enhanced(self) -> bool {
        self != Self::StandardPrivate
    }
}

impl fmt::Display for PrivacyFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::StandardPrivate => "standard private",
            Self::PartyProtection => "party protection",
            Self::MandatoryRecipients => "mandatory recipients",
            Self::StateValidation => "private state validation",
        };
        write!(f, "{} ({name})", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_goquorums_and_others_are_refused() {
        for n in 0..4u64 {
            assert_eq!(u64::from(PrivacyFlag::from_number(n).unwrap().number()), n);
        }
        assert_eq!(PrivacyFlag::from_number(4), Err(UnknownPrivacyFlag(4)));
        assert!(!PrivacyFlag::StandardPrivate.is_enhanced());
        assert!(PrivacyFlag::StateValidation.is_enhanced());
    }
}
