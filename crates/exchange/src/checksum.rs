//! The book checksum: CRC-32 (IEEE) of the top 10 levels as the decimal strings clients see.
//!
//! The text is `price:quantity` for the best 10 asks (lowest first) followed by the best 10 bids
//! (highest first), joined with `|`, each number in its symbol's canonical decimal form (exactly
//! the tick's and the lot's decimals). A client that keeps a book from deltas computes the same
//! number and knows its copy is right.

use engine::symbol::Symbol;
use engine::{Depth, Level};

/// How many levels of each side the checksum covers.
pub const CHECKSUM_LEVELS: usize = 10;

/// The checksum of a book given its level strings, asks lowest first and bids highest first.
pub fn book_checksum<'a>(
    asks: impl IntoIterator<Item = (&'a str, &'a str)>,
    bids: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    let mut first = true;
    let levels = asks
        .into_iter()
        .take(CHECKSUM_LEVELS)
        .chain(bids.into_iter().take(CHECKSUM_LEVELS));
    for (price, qty) in levels {
        if !first {
            hasher.update(b"|");
        }
        first = false;
        hasher.update(price.as_bytes());
        hasher.update(b":");
        hasher.update(qty.as_bytes());
    }
    hasher.finalize()
}

/// The checksum of `depth` (which must hold the top [`CHECKSUM_LEVELS`] levels where the book is
/// that deep), formatting each level once into one reused buffer.
pub fn depth_checksum(symbol: &Symbol, depth: &Depth) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    let mut text = String::with_capacity(48);
    let top = |levels: &[Level]| -> usize { levels.len().min(CHECKSUM_LEVELS) };
    let levels = depth
        .asks
        .iter()
        .take(top(&depth.asks))
        .chain(depth.bids.iter().take(top(&depth.bids)));
    for (i, level) in levels.enumerate() {
        text.clear();
        if i > 0 {
            text.push('|');
        }
        symbol.write_price(level.price, &mut text);
        text.push(':');
        symbol.write_qty(level.qty, &mut text);
        hasher.update(text.as_bytes());
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_crc32_of_the_joined_text() {
        let asks = [("50001.00", "0.50000"), ("50002.00", "1.00000")];
        let bids = [("49999.00", "2.00000")];
        let text = "50001.00:0.50000|50002.00:1.00000|49999.00:2.00000";
        assert_eq!(book_checksum(asks, bids), crc32fast::hash(text.as_bytes()));
        // The well-known CRC-32 check value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn only_ten_levels_a_side_count() {
        let many: Vec<(String, String)> = (0..15)
            .map(|i| (format!("{i}.00"), "1.00000".to_string()))
            .collect();
        let refs = || many.iter().map(|(p, q)| (p.as_str(), q.as_str()));
        assert_eq!(
            book_checksum(refs(), refs()),
            book_checksum(refs().take(10), refs().take(10))
        );
        assert_eq!(book_checksum([], []), crc32fast::hash(b""));
    }

    #[test]
    fn a_depth_checksums_as_its_strings_do() {
        let spec = engine::SymbolSpec {
            name: "BTC/USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            tick: engine::Increment::from_str_positive("0.01").unwrap(),
            lot: engine::Increment::from_str_positive("0.00001").unwrap(),
            min_qty: engine::Qty(1),
            max_qty: engine::Qty(1 << 40),
            min_notional: engine::Amount(0),
        };
        let engine = engine::Engine::new(engine::EngineConfig {
            symbols: vec![spec],
            ..Default::default()
        })
        .unwrap();
        let symbol = &engine.symbols()[0];
        let level = |price, qty| Level {
            price: engine::Price(price),
            qty: engine::Qty(qty),
            order_count: 1,
        };
        let depth = Depth {
            bids: (0..12).map(|i| level(4_999_900 - i, 100 + i)).collect(),
            asks: vec![level(5_000_100, 50_000)],
            book_seq: 9,
        };
        let strings = |levels: &[Level]| -> Vec<(String, String)> {
            levels
                .iter()
                .map(|l| (symbol.format_price(l.price), symbol.format_qty(l.qty)))
                .collect()
        };
        let (asks, bids) = (strings(&depth.asks), strings(&depth.bids));
        let expected = book_checksum(
            asks.iter().map(|(p, q)| (p.as_str(), q.as_str())),
            bids.iter().map(|(p, q)| (p.as_str(), q.as_str())),
        );
        assert_eq!(depth_checksum(symbol, &depth), expected);
    }
}
