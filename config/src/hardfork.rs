//! Ethereum hard forks in activation order.

/// An Ethereum hard fork. Later forks compare greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hardfork {
    /// Frontier.
    Frontier,
    /// Homestead (EIP-2, EIP-7).
    Homestead,
    /// Tangerine Whistle (EIP-150).
    Tangerine,
    /// Spurious Dragon (EIP-155, EIP-158/161, EIP-170).
    SpuriousDragon,
    /// Byzantium.
    Byzantium,
    /// Constantinople (never activated alone on mainnet; same rules as Petersburg minus EIP-1283
    /// removal).
    Constantinople,
    /// Petersburg.
    Petersburg,
    /// Istanbul.
    Istanbul,
    /// Muir Glacier (difficulty bomb only).
    MuirGlacier,
    /// Berlin (EIP-2929, EIP-2930).
    Berlin,
    /// London (EIP-1559, EIP-3529).
    London,
    /// Arrow Glacier (difficulty bomb only).
    ArrowGlacier,
    /// Gray Glacier (difficulty bomb only).
    GrayGlacier,
    /// Paris, the merge (PREVRANDAO).
    Paris,
    /// Shanghai (PUSH0, warm coinbase, initcode limit, withdrawals).
    Shanghai,
    /// Cancun (transient storage, MCOPY, blobs, beacon root).
    Cancun,
    /// Prague.
    Prague,
    /// Osaka.
    Osaka,
}
