//! Request parameters as Binance reads them: from the query string and the form body alike, for
//! every method (python-binance sends a DELETE's parameters in the body); a parameter in both
//! takes the query string's value, as on Binance.

use std::borrow::Cow;

use engine::{ClientOrderId, Decimal, SymbolId};

use crate::error::ApiError;
use crate::symbols::Symbols;

/// The parameters of one request.
#[derive(Debug, Default)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// The parameters of a query string and a form body (either may be empty). A name given twice
    /// in the same part is refused (`-1101`).
    pub fn parse(query: &'a str, body: &'a str) -> Result<Params<'a>, ApiError> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        for part in [query, body] {
            let before = pairs.len();
            for (name, value) in form_urlencoded::parse(part.as_bytes()) {
                if name.is_empty() {
                    continue;
                }
                if let Some(i) = pairs.iter().position(|(n, _)| *n == name) {
                    if i >= before {
                        return Err(ApiError::duplicate_param());
                    }
                    continue;
                }
                pairs.push((name, value));
            }
        }
        Ok(Params { pairs })
    }

    /// Parameters from `(name, value)` pairs (the WebSocket API's `params` object).
    pub fn from_pairs(pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Params<'a> {
        Params { pairs }
    }

    /// A parameter's value, if sent and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }

    /// A mandatory parameter (`-1102` when missing).
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// An optional unsigned integer (`-1100` when it is not one).
    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| v.parse::<u64>().map_err(|_| ApiError::illegal_chars(name)))
            .transpose()
    }

    /// An optional decimal (`-1100` when it is not one).
    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        self.get(name)
            .map(|v| Decimal::parse(v).map_err(|_| ApiError::illegal_chars(name)))
            .transpose()
    }

    /// A result count: `default` when absent, at most `max`; a count of 0 or one over the bound
    /// is refused as Binance does.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.u64("limit")? {
            None => Ok(default),
            Some(n) if n == 0 || n as usize > max => Err(ApiError::illegal_chars("limit")),
            Some(n) => Ok(n as usize),
        }
    }

    /// The mandatory `symbol` (`-1121` when no symbol has that name).
    pub fn symbol(&self, symbols: &Symbols) -> Result<SymbolId, ApiError> {
        symbols
            .id(self.required("symbol")?)
            .ok_or_else(ApiError::bad_symbol)
    }

    /// An optional `symbol`.
    pub fn opt_symbol(&self, symbols: &Symbols) -> Result<Option<SymbolId>, ApiError> {
        self.get("symbol")
            .map(|s| symbols.id(s).ok_or_else(ApiError::bad_symbol))
            .transpose()
    }

    /// An optional client order id (`-1100` when it has characters outside Binance's range).
    pub fn client_order_id(&self, name: &str) -> Result<Option<ClientOrderId>, ApiError> {
        self.get(name)
            .map(|v| ClientOrderId::new(v).ok_or_else(|| ApiError::illegal_chars(name)))
            .transpose()
    }

    /// Every name sent (for the WebSocket API's signature, which covers them all).
    pub fn pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_wins_over_the_body() {
        let p = Params::parse("symbol=BTCUSD&limit=5", "limit=7&side=BUY").expect("parses");
        assert_eq!(p.get("limit"), Some("5"));
        assert_eq!(p.get("side"), Some("BUY"));
        assert_eq!(p.limit(100, 1000), Ok(5));
    }

    #[test]
    fn a_name_twice_in_one_part_is_refused() {
        let e = Params::parse("a=1&a=2", "").expect_err("duplicate");
        assert_eq!(e.code, -1101);
    }

    #[test]
    fn empty_values_count_as_missing() {
        let p = Params::parse("symbol=&limit=0", "").expect("parses");
        assert_eq!(p.required("symbol").map_err(|e| e.code), Err(-1102));
        assert_eq!(p.limit(100, 1000).map_err(|e| e.code), Err(-1100));
    }
}
