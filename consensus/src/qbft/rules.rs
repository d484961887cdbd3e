//! QBFT's arithmetic: who proposes in a round, how long a round lasts. How many make a quorum
//! and how many may be faulty is the genesis' to say (`veil_config::QbftParams`).

use alloy_primitives::Address;

/// The proposer of `round` among `validators` (byte-sorted), after a block proposed by
/// `last` (the zero address at genesis), as GoQuorum chooses it: round robin starts after
/// `last`, sticky at `last`; a `last` that left the set counts as index 0.
pub fn proposer(
    validators: &[Address],
    last: Address,
    round: u32,
    sticky: bool,
) -> Option<Address> {
    let n = validators.len();
    if n == 0 {
        return None;
    }
    let round = round as usize % n;
    let index = if last.is_zero() {
        round
    } else {
        let at = validators.iter().position(|v| *v == last).unwrap_or(0);
        at + round + usize::from(!sticky)
    };
    Some(validators[index % n])
}

/// Round `round`'s timeout in milliseconds: `base · 2^round`, doubled without overflow and
/// capped at `max_ms` when it is set (GoQuorum #1664: a float power overflowed to ≤ 0).
pub fn round_timeout_ms(base_ms: u64, max_ms: u64, round: u32) -> u64 {
    let mut timeout = base_ms.max(1);
    for _ in 0..round.min(64) {
        timeout = timeout.saturating_mul(2);
        if max_ms > 0 && timeout >= max_ms {
            return max_ms;
        }
    }
    if max_ms > 0 {
        timeout.min(max_ms)
    } else {
        timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validators() -> Vec<Address> {
        (1..=4).map(Address::with_last_byte).collect()
    }

    #[test]
    fn round_robin_starts_after_the_last_proposer_and_sticky_at_it() {
        let v = validators();
        // At genesis (last = 0x0) round r picks index r.
        assert_eq!(proposer(&v, Address::ZERO, 0, false), Some(v[0]));
        assert_eq!(proposer(&v, Address::ZERO, 5, false), Some(v[1]));
        // After v[1]: round robin v[2], v[3], v[0]…; sticky v[1], v[2]…
        assert_eq!(proposer(&v, v[1], 0, false), Some(v[2]));
        assert_eq!(proposer(&v, v[1], 2, false), Some(v[0]));
        assert_eq!(proposer(&v, v[1], 0, true), Some(v[1]));
        assert_eq!(proposer(&v, v[1], 1, true), Some(v[2]));
        // A proposer that left the set counts as index 0 (GoQuorum).
        assert_eq!(proposer(&v, Address::with_last_byte(9), 0, false), Some(v[1]));
        assert_eq!(proposer(&[], v[0], 0, false), None);
    }

    #[test]
    fn round_timeouts_double_saturate_and_stop_at_the_cap() {
        assert_eq!(round_timeout_ms(10_000, 0, 0), 10_000);
        assert_eq!(round_timeout_ms(10_000, 0, 3), 80_000);
        // GoQuorum #1681: round 15 of an uncapped 10 s timer waits 327,680 s.
        assert_eq!(round_timeout_ms(10_000, 0, 15), 327_680_000);
        assert_eq!(round_timeout_ms(10_000, 0, u32::MAX), u64::MAX);
        assert_eq!(round_timeout_ms(10_000, 60_000, 15), 60_000);
        assert_eq!(round_timeout_ms(10_000, 60_000, 2), 40_000);
        assert_eq!(round_timeout_ms(10_000, 60_000, u32::MAX), 60_000);
    }
}
