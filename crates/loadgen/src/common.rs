//! Flags shared by every scenario, and the order parameters derived from them.
//!
//! Each scenario flattens [`CommonArgs`] into its own arguments, so `--url`, `--duration`,
//! `--connections`, `--seed`, `--json`, `--symbol`, `--price` and `--threads` mean the same thing
//! everywhere.

use std::time::Duration;

use crate::BenchError;

/// The mid used unless `--price` says otherwise.
pub(crate) const DEFAULT_PRICE: &str = "50000.00";
/// The `--price` value that asks for the mid to be discovered from the server.
pub(crate) const PRICE_AUTO: &str = "auto";

/// Flags every scenario accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// WebSocket URL of the server under test.
    #[arg(long, default_value = "ws://127.0.0.1:8765/ws")]
    pub url: String,
    /// How long to measure, in seconds (fractions allowed).
    #[arg(long = "duration", value_name = "SECONDS", default_value_t = 10.0)]
    pub duration_s: f64,
    /// Number of connections (default per scenario: roundtrip 1, pipeline 100, connections 1000,
    /// echo 1, fanout 2 trader connections).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seed of the ChaCha8 streams that pick order price offsets (one stream per connection).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the figures as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Symbol to trade and subscribe to.
    #[arg(long, default_value = "BTC/USD")]
    pub symbol: String,
    /// Mid price that orders are placed around (decimal, tick 0.01), or `auto`: the mid of the
    /// first TICKER (MARKET_DATA) frame the server sends for the symbol.
    #[arg(long, default_value = DEFAULT_PRICE)]
    pub price: String,
    /// Order quantity (decimal string, sent as is; keep it small so accounts last).
    #[arg(long, default_value = "0.00100")]
    pub quantity: String,
    /// Orders are placed up to this many ticks through the mid (buys above, sells below), drawn
    /// from the seeded stream, so they always cross a resting opposite order at the mid.
    #[arg(long, default_value_t = 5)]
    pub jitter_ticks: u32,
    /// Time in force of roundtrip, pipeline and echo orders. One connection's GTC orders cannot
    /// trade with each other (self-trade prevention), so on a market without other liquidity
    /// its buys rest and lock funds until rejected; IOC orders never rest.
    #[arg(long = "tif", value_enum, default_value = "gtc")]
    pub time_in_force: TimeInForce,
    /// Client runtime worker threads (1 = a current-thread runtime, leaving the other core to
    /// the server).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// Time in force of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeInForce {
    /// Good till cancelled: rests until filled.
    Gtc,
    /// Immediate or cancel: fills what it can at once, the rest expires.
    Ioc,
    /// Fill or kill: fills entirely at once or not at all.
    Fok,
}

impl TimeInForce {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
        }
    }
}

impl CommonArgs {
    /// The measured duration, checked to be positive and finite.
    pub(crate) fn duration(&self) -> Result<Duration, BenchError> {
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s < 1e7) {
            return Err(BenchError::InvalidArgument(format!(
                "--duration must be a positive number of seconds, got {}",
                self.duration_s
            )));
        }
        Ok(Duration::from_secs_f64(self.duration_s))
    }

    /// `--connections` or the scenario's default, checked to be at least one.
    pub(crate) fn connections_or(&self, default: usize) -> Result<usize, BenchError> {
        let n = self.connections.unwrap_or(default);
        if n == 0 {
            return Err(BenchError::InvalidArgument(
                "--connections must be at least 1".into(),
            ));
        }
        Ok(n)
    }

    /// Whether the mid is to be discovered from the server (`--price auto`).
    pub(crate) fn discovers_price(&self) -> bool {
        self.price == PRICE_AUTO
    }

    /// The order parameters around `--price`, validated so that frames can be written without
    /// escaping.
    pub(crate) fn order_spec(&self) -> Result<OrderSpec, BenchError> {
        let mid_ticks = parse_price_ticks(&self.price).ok_or_else(|| {
            BenchError::InvalidArgument(format!(
                "--price must be `auto` or a positive decimal with at most 2 decimals, got {:?}",
                self.price
            ))
        })?;
        self.order_spec_at(mid_ticks)
    }

    /// The order parameters around a mid of `mid_ticks`.
    pub(crate) fn order_spec_at(&self, mid_ticks: i64) -> Result<OrderSpec, BenchError> {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        };
        if !plain(&self.symbol) {
            return Err(BenchError::InvalidArgument(format!(
                "--symbol must be plain ASCII without quotes, got {:?}",
                self.symbol
            )));
        }
        if !is_decimal(&self.quantity) {
            return Err(BenchError::InvalidArgument(format!(
                "--quantity must be a decimal number, got {:?}",
                self.quantity
            )));
        }
        let jitter_ticks = i64::from(self.jitter_ticks);
        if mid_ticks <= jitter_ticks {
            return Err(BenchError::InvalidArgument(
                "--price must be above --jitter-ticks ticks".into(),
            ));
        }
        Ok(OrderSpec {
            symbol: self.symbol.clone(),
            quantity: self.quantity.clone(),
            mid_ticks,
            jitter_ticks,
            seed: self.seed,
            time_in_force: self.time_in_force.as_str(),
        })
    }
}

/// What an order looks like: symbol, size, and the prices it may take.
#[derive(Debug, Clone)]
pub(crate) struct OrderSpec {
    pub(crate) symbol: String,
    pub(crate) quantity: String,
    pub(crate) mid_ticks: i64,
    pub(crate) jitter_ticks: i64,
    pub(crate) seed: u64,
    pub(crate) time_in_force: &'static str,
}

/// Parses a positive decimal price into ticks of 0.01, dropping any further decimals.
pub(crate) fn truncate_price_ticks(text: &str) -> Option<i64> {
    match text.split_once('.') {
        Some((whole, frac)) if frac.len() > 2 => {
            parse_price_ticks(&format!("{whole}.{}", frac.get(..2)?))
        }
        _ => parse_price_ticks(text),
    }
}

/// Parses a positive decimal price with at most two decimals into ticks of 0.01.
pub(crate) fn parse_price_ticks(text: &str) -> Option<i64> {
    if !is_decimal(text) {
        return None;
    }
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 2 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let mut cents: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    if frac.len() == 1 {
        cents *= 10;
    }
    let ticks = whole.checked_mul(100)?.checked_add(cents)?;
    (ticks > 0).then_some(ticks)
}

fn is_decimal(text: &str) -> bool {
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    !whole.is_empty()
        && !frac.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_to_ticks() {
        assert_eq!(parse_price_ticks("50000.00"), Some(5_000_000));
        assert_eq!(parse_price_ticks("50000.5"), Some(5_000_050));
        assert_eq!(parse_price_ticks("7"), Some(700));
        assert_eq!(parse_price_ticks("0.00"), None);
        assert_eq!(parse_price_ticks("1.001"), None);
        assert_eq!(parse_price_ticks("-1.00"), None);
        assert_eq!(parse_price_ticks("1e3"), None);
        assert_eq!(parse_price_ticks("1."), None);
        assert_eq!(truncate_price_ticks("50000.059"), Some(5_000_005));
        assert_eq!(truncate_price_ticks("50000.1"), Some(5_000_010));
        assert_eq!(truncate_price_ticks("x.123"), None);
    }
}
