//! The book checksum: CRC-32 (IEEE) of the top 10 levels as sent on the wire.
//!
//! The text is `price:quantity` for the best 10 asks (lowest first) followed by the best 10 bids
//! (highest first), joined with `|`, using exactly the decimal strings of the wire.

/// How many levels of each side the checksum covers.
pub const CHECKSUM_LEVELS: usize = 10;

/// The checksum of a book given its wire strings, asks lowest first and bids highest first.
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
}
