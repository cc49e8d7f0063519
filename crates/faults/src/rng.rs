//! Keyed, order-independent randomness.
//!
//! Every decision is a pure function of `(seed, connection stream, mode, direction, frame key,
//! salt)`: a SplitMix64 chain over those words. Nothing is drawn from a shared sequential stream, so
//! the same traffic gets the same decisions at any speed, and enabling one mode never shifts the
//! draws of another. Continuous distributions sample from a `ChaCha8Rng` seeded with such a key.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use seed::{fnv1a, splitmix64};

use crate::mode::Mode;
use crate::Direction;

/// Folds one word into a running key.
fn fold(key: u64, word: u64) -> u64 {
    splitmix64(key ^ splitmix64(word))
}

/// FNV-1a over the bytes of a string, then mixed: a stable hash of a connection key.
fn hash_str(text: &str) -> u64 {
    splitmix64(fnv1a(text))
}

/// The random stream of one connection: the seed, its connection key and the ordinal of this
/// connection among those with the same key (so a reconnect does not replay the same draws).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stream {
    key: u64,
}

impl Stream {
    /// The stream of the `key_ordinal`-th connection with connection key `connection_key`.
    pub(crate) fn new(seed: u64, connection_key: &str, key_ordinal: u64) -> Self {
        Self {
            key: fold(
                fold(splitmix64(seed), hash_str(connection_key)),
                key_ordinal,
            ),
        }
    }

    /// A 64-bit draw for one decision.
    pub(crate) fn draw(
        &self,
        mode: Mode,
        direction: Option<Direction>,
        frame_key: u64,
        salt: u64,
    ) -> u64 {
        let direction_word = match direction {
            None => 0,
            Some(Direction::Inbound) => 1,
            Some(Direction::Outbound) => 2,
        };
        let key = fold(self.key, mode.id());
        let key = fold(key, direction_word);
        let key = fold(key, frame_key);
        fold(key, salt)
    }

    /// A uniform draw in `[0, 1)` for one decision.
    pub(crate) fn uniform(
        &self,
        mode: Mode,
        direction: Option<Direction>,
        frame_key: u64,
        salt: u64,
    ) -> f64 {
        unit(self.draw(mode, direction, frame_key, salt))
    }

    /// A ChaCha8 generator private to one decision, for distributions and multi-value draws.
    pub(crate) fn rng(
        &self,
        mode: Mode,
        direction: Option<Direction>,
        frame_key: u64,
        salt: u64,
    ) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.draw(mode, direction, frame_key, salt))
    }
}

/// Maps a 64-bit draw to `[0, 1)` with 53 bits of precision.
pub(crate) fn unit(word: u64) -> f64 {
    // 2^-53: the spacing of doubles in [0.5, 1).
    (word >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// A draw uniform over `low..=high` (inclusive), from a 64-bit word.
pub(crate) fn between(word: u64, low: u64, high: u64) -> u64 {
    let span = high.saturating_sub(low).saturating_add(1);
    if span == 0 {
        // low == 0 and high == u64::MAX: every word is a valid draw.
        return word;
    }
    low.saturating_add(word % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_on_every_input() {
        let stream = Stream::new(7, "alice", 0);
        let base = stream.draw(Mode::DropMessages, Some(Direction::Outbound), 10, 0);
        assert_eq!(
            base,
            stream.draw(Mode::DropMessages, Some(Direction::Outbound), 10, 0)
        );
        assert_ne!(
            base,
            stream.draw(Mode::DelayMessages, Some(Direction::Outbound), 10, 0)
        );
        assert_ne!(
            base,
            stream.draw(Mode::DropMessages, Some(Direction::Inbound), 10, 0)
        );
        assert_ne!(
            base,
            stream.draw(Mode::DropMessages, Some(Direction::Outbound), 11, 0)
        );
        assert_ne!(
            base,
            stream.draw(Mode::DropMessages, Some(Direction::Outbound), 10, 1)
        );
        assert_ne!(
            base,
            Stream::new(8, "alice", 0).draw(Mode::DropMessages, Some(Direction::Outbound), 10, 0)
        );
        assert_ne!(
            base,
            Stream::new(7, "bob", 0).draw(Mode::DropMessages, Some(Direction::Outbound), 10, 0)
        );
        assert_ne!(
            base,
            Stream::new(7, "alice", 1).draw(Mode::DropMessages, Some(Direction::Outbound), 10, 0)
        );
    }

    #[test]
    fn uniform_is_in_range_and_centred() {
        let stream = Stream::new(1, "anon-1", 0);
        let n = 100_000;
        let mut sum = 0.0;
        for seq in 0..n {
            let u = stream.uniform(Mode::DropMessages, None, seq, 0);
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        let mean = sum / n as f64;
        // Standard error of the mean of U(0,1) is sqrt(1/12/n) ~ 0.00091.
        assert!((mean - 0.5).abs() < 0.0045, "mean {mean}");
    }

    #[test]
    fn between_is_inclusive_and_bounded() {
        for word in 0..1000 {
            let value = between(splitmix64(word), 3, 5);
            assert!((3..=5).contains(&value));
        }
        assert_eq!(between(12, 4, 4), 4);
    }
}
