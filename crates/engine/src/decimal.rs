//! Decimal strings to scaled integers and back, exactly, without floating point.
//!
//! Accepted input is `digits[.digits]`: at least one digit before the point, and at least one after
//! it when there is a point (`"5."` and `".5"` are refused as NOT_A_NUMBER, like `"+5"`, `"1e3"`,
//! whitespace and the empty string). A leading `-` before an otherwise valid number gives
//! NOT_POSITIVE. Trailing zeros beyond the increment's scale are accepted (`"50000.010"` at tick
//! `0.01`).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A step size such as a tick (`0.01`) or a lot (`0.00001`): `units * 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Increment {
    /// The step in units of `10^-scale`: tick `0.05` is `units: 5, scale: 2`. Always positive.
    pub units: i64,
    /// Digits after the decimal point of the canonical format (tick `0.01` gives `"50000.00"`).
    pub scale: u32,
}

/// Why a decimal string is not a valid multiple of an increment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ParseError {
    /// Empty, or not of the form `[-]digits[.digits]`.
    #[error("not a decimal number")]
    NotANumber,
    /// Negative, or zero where zero is not allowed.
    #[error("must be positive")]
    NotPositive,
    /// More decimal places than the increment has, or not a whole multiple of it.
    #[error("not a multiple of the increment")]
    NotAMultiple,
    /// Too large for the integer type.
    #[error("too large")]
    Overflow,
}

/// The largest scale an increment or an asset may have (`10^18` still fits an `i64`).
pub(crate) const MAX_SCALE: u32 = 18;

/// `10^exp` as an `i128`, `None` when it does not fit.
pub(crate) fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// Splits `s` into its integer and fraction digits, checking the syntax only.
fn split_digits(s: &str) -> Result<(&[u8], &[u8]), ParseError> {
    let b = s.as_bytes();
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b[b.len()..]),
    };
    let has_point = int.len() != b.len();
    if int.is_empty() || (has_point && frac.is_empty()) {
        return Err(ParseError::NotANumber);
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(ParseError::NotANumber);
    }
    Ok((int, frac))
}

/// Parses a non-negative decimal into units of `10^-scale`. Fraction digits beyond `scale` must be
/// zeros. A leading `-` on a well-formed number gives `NotPositive`.
pub(crate) fn parse_scaled(s: &str, scale: u32) -> Result<i128, ParseError> {
    if let Some(rest) = s.strip_prefix('-') {
        split_digits(rest)?;
        return Err(ParseError::NotPositive);
    }
    let (int, frac) = split_digits(s)?;
    let mut value: i128 = 0;
    for &d in int {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d - b'0')))
            .ok_or(ParseError::Overflow)?;
    }
    let scale_len = scale as usize;
    for i in 0..scale_len {
        let d = frac.get(i).map_or(0, |&d| d - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(d)))
            .ok_or(ParseError::Overflow)?;
    }
    if frac.iter().skip(scale_len).any(|&d| d != b'0') {
        return Err(ParseError::NotAMultiple);
    }
    Ok(value)
}

/// Appends `magnitude * 10^-scale` (with `-` when `negative` and non-zero), exactly `scale`
/// decimals, without going through `fmt`.
pub fn write_scaled(negative: bool, magnitude: u128, scale: u32, out: &mut String) {
    if negative && magnitude != 0 {
        out.push('-');
    }
    // Prices, quantities and most amounts fit 64 bits at a scale of at most 18: 64-bit division
    // by a tabled power of ten, and the fraction written with its padding in one go.
    if let (Ok(small), Some(&unit)) = (u64::try_from(magnitude), POW10_U64.get(scale as usize)) {
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(small / unit));
        if scale > 0 {
            out.push('.');
            // `unit + fraction` has `scale + 1` digits: a 1, then the fraction zero-padded.
            // It fits: unit <= 10^18 and fraction < unit.
            out.push_str(
                digits
                    .format(unit + small % unit)
                    .get(1..)
                    .unwrap_or_default(),
            );
        }
        return;
    }
    let (int, frac) = split_scaled(magnitude, scale);
    let mut buffer = itoa::Buffer::new();
    out.push_str(digits(&mut buffer, int));
    if scale > 0 {
        out.push('.');
        let frac = digits(&mut buffer, frac);
        for _ in frac.len()..scale as usize {
            out.push('0');
        }
        out.push_str(frac);
    }
}

/// 10^0 to 10^18: the powers of ten whose doubles still fit a u64.
const POW10_U64: [u64; 19] = {
    let mut table = [1u64; 19];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `magnitude` split at `scale` decimals: (integer part, fractional part).
fn split_scaled(magnitude: u128, scale: u32) -> (u128, u128) {
    match 10u128.checked_pow(scale) {
        Some(unit) => (magnitude / unit, magnitude % unit),
        // 10^scale exceeds every u128: all of it is fraction.
        None => (0, magnitude),
    }
}

/// The decimal digits of `value`, formatted in 64 bits when it fits (far cheaper than 128).
fn digits(buffer: &mut itoa::Buffer, value: u128) -> &str {
    match u64::try_from(value) {
        Ok(small) => buffer.format(small),
        Err(_) => buffer.format(value),
    }
}

/// A non-negative decimal number parsed exactly, before it is known which increment counts it
/// (an amend names an order, not a symbol: its quantity is parsed on arrival and counted in the
/// order's lots later). `units * 10^-scale`, trailing zeros dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Parses `digits[.digits]` (see the module doc); a leading `-` gives `NotPositive`.
    pub fn parse(s: &str) -> Result<Decimal, ParseError> {
        if let Some(rest) = s.strip_prefix('-') {
            split_digits(rest)?;
            return Err(ParseError::NotPositive);
        }
        let (_, frac) = split_digits(s)?;
        let significant = frac.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        let scale = u32::try_from(significant).map_err(|_| ParseError::Overflow)?;
        Ok(Decimal {
            units: parse_scaled(s, scale)?,
            scale,
        })
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.units == 0
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        write_scaled(false, self.units.unsigned_abs(), self.scale, &mut text);
        f.write_str(&text)
    }
}

impl Increment {
    /// Parses an increment such as `"0.01"`, `"0.05"`, `"1"` or `"10"`; it must be positive. The
    /// scale is the number of decimals written (`"0.10"` is 10 units of scale 2), at most 18.
    pub fn from_str_positive(s: &str) -> Result<Increment, ParseError> {
        let (_, frac) = if let Some(rest) = s.strip_prefix('-') {
            split_digits(rest)?;
            return Err(ParseError::NotPositive);
        } else {
            split_digits(s)?
        };
        let scale = u32::try_from(frac.len()).map_err(|_| ParseError::Overflow)?;
        if scale > MAX_SCALE {
            return Err(ParseError::Overflow);
        }
        let units = parse_scaled(s, scale)?;
        if units == 0 {
            return Err(ParseError::NotPositive);
        }
        let units = i64::try_from(units).map_err(|_| ParseError::Overflow)?;
        Ok(Increment { units, scale })
    }

    /// Parses `s` into a count of increments. `allow_zero` admits `"0"`; negatives never parse.
    pub fn parse(&self, s: &str, allow_zero: bool) -> Result<i64, ParseError> {
        let value = parse_scaled(s, self.scale)?;
        if value == 0 && !allow_zero {
            return Err(ParseError::NotPositive);
        }
        if self.units <= 0 {
            return Err(ParseError::NotAMultiple);
        }
        // Prices and quantities fit 64 bits, whose division is far cheaper than 128 bits'.
        if let Ok(value) = i64::try_from(value) {
            return match value % self.units {
                0 => Ok(value / self.units),
                _ => Err(ParseError::NotAMultiple),
            };
        }
        let units = i128::from(self.units);
        if value % units != 0 {
            return Err(ParseError::NotAMultiple);
        }
        i64::try_from(value / units).map_err(|_| ParseError::Overflow)
    }

    /// Counts a parsed [`Decimal`] in increments, as [`Increment::parse`] counts text.
    pub fn count(&self, value: Decimal, allow_zero: bool) -> Result<i64, ParseError> {
        if value.is_zero() && !allow_zero {
            return Err(ParseError::NotPositive);
        }
        // Trailing zeros are gone: more decimals than the increment has is never a multiple.
        let Some(extra) = self.scale.checked_sub(value.scale) else {
            return Err(ParseError::NotAMultiple);
        };
        let scaled = pow10(extra)
            .and_then(|p| value.units.checked_mul(p))
            .ok_or(ParseError::Overflow)?;
        let units = i128::from(self.units);
        if units <= 0 || scaled % units != 0 {
            return Err(ParseError::NotAMultiple);
        }
        i64::try_from(scaled / units).map_err(|_| ParseError::Overflow)
    }

    /// Appends the canonical text of `count` increments, with exactly `scale` decimals.
    pub fn write(&self, count: i64, out: &mut String) {
        let magnitude = u128::from(count.unsigned_abs()) * u128::from(self.units.unsigned_abs());
        write_scaled(count < 0, magnitude, self.scale, out)
    }

    /// The canonical text of `count` increments.
    pub fn format(&self, count: i64) -> String {
        let mut out = String::new();
        self.write(count, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(s: &str) -> Increment {
        Increment::from_str_positive(s).unwrap()
    }

    #[test]
    fn a_decimal_counts_in_increments_as_its_text_parses() {
        for text in [
            "1",
            "0.5",
            "1.2300",
            "0",
            "0.000",
            "7.001",
            "12345.67",
            "-1",
            "1e3",
            "",
            ".5",
            "5.",
            "0.0000000000000000000000000000000000000001",
            "99999999999999999999999999999999999999999",
        ] {
            for increment in [inc("0.01"), inc("0.05"), inc("1"), inc("0.001"), inc("10")] {
                for allow_zero in [false, true] {
                    let direct = increment.parse(text, allow_zero);
                    let counted = Decimal::parse(text).and_then(|d| increment.count(d, allow_zero));
                    assert_eq!(counted, direct, "{text:?} in {increment:?}");
                }
            }
        }
        assert_eq!(Decimal::parse("1.2300").unwrap().to_string(), "1.23");
        assert_eq!(Decimal::parse("007").unwrap().to_string(), "7");
    }

    #[test]
    fn increments_parse_with_their_written_scale() {
        assert_eq!(inc("0.05"), Increment { units: 5, scale: 2 });
        assert_eq!(inc("0.01"), Increment { units: 1, scale: 2 });
        assert_eq!(inc("1"), Increment { units: 1, scale: 0 });
        assert_eq!(
            inc("10"),
            Increment {
                units: 10,
                scale: 0
            }
        );
        assert_eq!(inc("0.00001"), Increment { units: 1, scale: 5 });
    }

    #[test]
    fn bad_increments_are_refused() {
        assert_eq!(
            Increment::from_str_positive("0"),
            Err(ParseError::NotPositive)
        );
        assert_eq!(
            Increment::from_str_positive("0.00"),
            Err(ParseError::NotPositive)
        );
        assert_eq!(
            Increment::from_str_positive("-1"),
            Err(ParseError::NotPositive)
        );
        assert_eq!(
            Increment::from_str_positive(""),
            Err(ParseError::NotANumber)
        );
        assert_eq!(
            Increment::from_str_positive("abc"),
            Err(ParseError::NotANumber)
        );
        assert_eq!(
            Increment::from_str_positive("0.0000000000000000001"),
            Err(ParseError::Overflow)
        );
        assert_eq!(
            Increment::from_str_positive("99999999999999999999"),
            Err(ParseError::Overflow)
        );
    }

    #[test]
    fn parse_accepts_multiples_and_trailing_zeros() {
        let tick = inc("0.01");
        assert_eq!(tick.parse("50000.01", false), Ok(5_000_001));
        assert_eq!(tick.parse("50000.010", false), Ok(5_000_001));
        assert_eq!(tick.parse("50000", false), Ok(5_000_000));
        assert_eq!(tick.parse("007.5", false), Ok(750));
        let nickel = inc("0.05");
        assert_eq!(nickel.parse("1.05", false), Ok(21));
        assert_eq!(nickel.parse("1.06", false), Err(ParseError::NotAMultiple));
        let ten = inc("10");
        assert_eq!(ten.parse("120", false), Ok(12));
        assert_eq!(ten.parse("125", false), Err(ParseError::NotAMultiple));
        assert_eq!(ten.parse("120.0", false), Ok(12));
    }

    #[test]
    fn parse_refuses_what_is_not_a_plain_decimal() {
        let tick = inc("0.01");
        for s in [
            "", "+5", "1e3", " 1", "1 ", "5.", ".5", "1.2.3", "-", "--1", "0x10", "١",
        ] {
            assert_eq!(tick.parse(s, true), Err(ParseError::NotANumber), "{s:?}");
        }
    }

    #[test]
    fn parse_signs_zero_precision_and_size() {
        let tick = inc("0.01");
        assert_eq!(tick.parse("-1", false), Err(ParseError::NotPositive));
        assert_eq!(tick.parse("-1", true), Err(ParseError::NotPositive));
        assert_eq!(tick.parse("0", false), Err(ParseError::NotPositive));
        assert_eq!(tick.parse("0.00", false), Err(ParseError::NotPositive));
        assert_eq!(tick.parse("0.00", true), Ok(0));
        assert_eq!(tick.parse("1.001", false), Err(ParseError::NotAMultiple));
        assert_eq!(tick.parse("92233720368547758.07", false), Ok(i64::MAX));
        assert_eq!(
            tick.parse("92233720368547758.08", false),
            Err(ParseError::Overflow)
        );
        let huge = "9".repeat(60);
        assert_eq!(tick.parse(&huge, false), Err(ParseError::Overflow));
    }

    #[test]
    fn write_gives_exactly_scale_decimals() {
        let tick = inc("0.01");
        assert_eq!(tick.format(5_000_000), "50000.00");
        assert_eq!(tick.format(5), "0.05");
        assert_eq!(tick.format(0), "0.00");
        assert_eq!(tick.format(-150), "-1.50");
        assert_eq!(inc("0.05").format(21), "1.05");
        assert_eq!(inc("10").format(12), "120");
        assert_eq!(inc("1").format(-3), "-3");
        assert_eq!(inc("0.00001").format(150_000), "1.50000");
        assert_eq!(tick.format(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn write_scaled_matches_a_text_reference_on_every_width() {
        // The reference: all digits, zero-padded to more than `scale`, the point inserted.
        let reference = |negative: bool, magnitude: u128, scale: u32| {
            let digits = format!("{magnitude:0>width$}", width = scale as usize + 1);
            let (int, frac) = digits.split_at(digits.len() - scale as usize);
            let sign = if negative && magnitude != 0 { "-" } else { "" };
            if scale == 0 {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        };
        let magnitudes = [
            0,
            1,
            9,
            10,
            123_456_789,
            u128::from(u64::MAX) - 1,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            u128::MAX,
        ];
        for magnitude in magnitudes {
            for scale in [0, 1, 2, 8, 18, 19, 20, 38, 39, 45] {
                for negative in [false, true] {
                    let mut out = String::new();
                    write_scaled(negative, magnitude, scale, &mut out);
                    assert_eq!(
                        out,
                        reference(negative, magnitude, scale),
                        "{magnitude} {scale}"
                    );
                }
            }
        }
    }

    #[test]
    fn write_then_parse_round_trips() {
        let lot = inc("0.025");
        for count in [1, 2, 39, 40, 1_000_001, i64::MAX / 25] {
            let text = lot.format(count);
            assert_eq!(lot.parse(&text, false), Ok(count), "{text}");
        }
    }
}
