//! One master seed, many named streams: how every seeded random choice of the simulator gets its
//! own seed. A stream's seed is a fixed function of the master seed and the stream's name
//! ([`derive_seed`]), so adding a stream never shifts another's draws, and the same master seed
//! gives the same streams on every machine and every release that keeps these functions.
//!
//! Secrets (resume tokens, account secrets) never come from here: they come from the operating
//! system's randomness, because the master seed is printed and shared on purpose.

#![forbid(unsafe_code)]

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser over `x + GAMMA`: a bijective, well-mixing function of one word, so
/// nearby inputs (seeds 1, 2, 3) land far apart.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a fixed, documented hash of a name (std's `DefaultHasher` may change between
/// releases, which would change every stream).
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The seed of the stream called `name` under `master`: `splitmix64(master ^ fnv1a(name))`.
pub fn derive_seed(master: u64, name: &str) -> u64 {
    splitmix64(master ^ fnv1a(name))
}

/// A SplitMix64 generator: tiny and fast, for streams that need many plain 64-bit draws (the
/// benchmark's order flow, the simulator's scripted clients).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next draw.
    pub fn next_u64(&mut self) -> u64 {
        let z = splitmix64(self.state);
        self.state = self.state.wrapping_add(GAMMA);
        z
    }

    /// A number in `0..n` (`n > 0`; 0 when `n` is 0), by multiply-shift: no modulo bias worth
    /// caring about at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_never_change() {
        // Every seeded run depends on these: a change here changes every stream.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(fnv1a(""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a("a"), 0xAF63_DC4C_8601_EC8C);
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), splitmix64(0));
        assert_eq!(g.next_u64(), splitmix64(GAMMA));
    }

    #[test]
    fn names_and_seeds_give_distinct_streams() {
        let a = derive_seed(7, "market");
        assert_ne!(a, derive_seed(7, "faults"));
        assert_ne!(a, derive_seed(8, "market"));
        assert_eq!(a, derive_seed(7, "market"));
    }

    #[test]
    fn below_stays_in_range() {
        let mut g = SplitMix64::new(42);
        for n in [1, 2, 3, 10, 1_000_000] {
            for _ in 0..100 {
                assert!(g.below(n) < n);
            }
        }
        assert_eq!(g.below(0), 0);
    }
}
