//! Decimal strings to scaled integers and back, exactly, without floating point.

use thiserror::Error;

/// A step size such as a tick (`0.01`) or a lot (`0.00001`): `units * 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Increment {
    /// The step in units of `10^-scale`: tick `0.05` is `units: 5, scale: 2`. Always positive.
    pub units: i64,
    /// Digits after the decimal point of the canonical format (tick `0.01` gives `"50000.00"`).
    pub scale: u32,
}

/// Why a decimal string is not a valid multiple of an increment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
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

impl Increment {
    /// Parses an increment such as `"0.01"`, `"0.05"`, `"1"` or `"10"`; it must be positive.
    pub fn from_str_positive(s: &str) -> Result<Increment, ParseError> {
        todo!("{s}")
    }

    /// Parses `s` into a count of increments. `allow_zero` admits `"0"`; negatives never parse.
    pub fn parse(&self, s: &str, allow_zero: bool) -> Result<i64, ParseError> {
        todo!("{s}{allow_zero}")
    }

    /// Appends the canonical text of `count` increments, with exactly `scale` decimals.
    pub fn write(&self, count: i64, out: &mut String) {
        todo!("{count}{out}")
    }

    /// The canonical text of `count` increments.
    pub fn format(&self, count: i64) -> String {
        let mut out = String::new();
        self.write(count, &mut out);
        out
    }
}
