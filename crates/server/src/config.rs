//! The server's configuration: a JSON file in the original simulator's format, extended, with
//! embedded defaults. Unknown keys and invalid values are refused with the key's path.

use std::collections::BTreeMap;
use std::path::Path;

use engine::decimal::Increment;
use engine::{Amount, EngineConfig, FeeRate, Qty, StpMode, SymbolSpec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a configuration cannot be used. `path` names the key (`exchange.fees.maker`).
#[derive(Debug, Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
}

impl ConfigError {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The whole configuration. Every field is public and may be changed in code before
/// [`crate::ExchangeServer::new`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub exchange: ExchangeConfig,
    /// Configured accounts by name: LOGIN binds a connection to one of them.
    pub accounts: BTreeMap<String, AccountConfig>,
    /// The fault layer's configuration (`failures.enabled`, `failures.modes.*`, ...).
    pub failures: serde_json::Value,
    /// The master seed; every random stream derives from it. `None` picks one at start-up (and
    /// logs it).
    pub seed: Option<u64>,
}

/// `server.*`: where to listen and the limits on connections.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Seconds between WebSocket pings; a peer silent for two intervals is disconnected.
    pub heartbeat_interval: f64,
    pub limits: LimitsConfig,
    /// Required on the admin API when the server listens beyond loopback.
    pub admin_token: Option<String>,
    /// Serves a bare WebSocket echo at `/echo` on the same stack (for conformance suites such as
    /// Autobahn, which expect an echo peer). Off by default.
    pub echo_endpoint: bool,
    /// Threads of the `exchange-sim` binary's async runtime (connections, REST, timers). `None`:
    /// one per core less the one the engine thread keeps busy, at least one. A program that
    /// embeds [`crate::ExchangeServer`] runs it on its own runtime instead.
    pub worker_threads: Option<usize>,
    /// The Binance Spot dialect's listener.
    pub binance: BinanceConfig,
}

/// `server.binance.*`: the second listener, speaking Binance Spot's REST, market streams and
/// WebSocket API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BinanceConfig {
    pub enabled: bool,
    /// `None`: 8766, or any free port when `server.port` is 0 (a test's server takes free ports
    /// for both listeners unless told otherwise).
    pub port: Option<u16>,
    /// An API key the server has not seen opens an account with the default balances, named
    /// after the key, whose secret is the key itself.
    pub open_accounts: bool,
    /// Request weight per minute per client address (Binance's `REQUEST_WEIGHT`).
    pub request_weight_per_minute: u32,
    /// New orders per 10 seconds per account.
    pub orders_per_10s: u32,
    /// New orders per day per account.
    pub orders_per_day: u32,
    /// Seconds a client that goes on after a 429 is banned for (418); doubles on each repeat, as
    /// Binance's bans scale, up to three days.
    pub ban_seconds: u64,
}

impl Default for BinanceConfig {
    fn default() -> Self {
        BinanceConfig {
            enabled: true,
            port: None,
            open_accounts: true,
            request_weight_per_minute: 6_000,
            orders_per_10s: 100,
            orders_per_day: 200_000,
            ban_seconds: 120,
        }
    }
}

impl BinanceConfig {
    /// The port to listen on, given the native listener's.
    pub fn port_for(&self, native_port: u16) -> u16 {
        match (self.port, native_port) {
            (Some(port), _) => port,
            (None, 0) => 0,
            (None, _) => 8766,
        }
    }
}

/// `server.limits.*`: every bound is a number with a default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// The largest frame accepted; bigger ones close the connection with 1009.
    pub max_frame_bytes: usize,
    /// Requests per second per connection before RATE_LIMITED.
    pub max_messages_per_second: u32,
    /// Connections beyond this are refused (HTTP 503) before the upgrade.
    pub max_connections: usize,
    /// Frames queued for one connection before it counts as a slow consumer.
    pub outbound_queue_frames: usize,
    /// What to do with a slow consumer: `disconnect` (close 1008) or `drop_market_data`.
    pub slow_consumer: SlowConsumerAction,
    /// Closes connections older than this many seconds (fractions allowed), if set: a
    /// SERVER_NOTICE comes at 90% of the age or 10 s before the end, whichever is later, then
    /// the close (code 4000, reason "connection age").
    pub max_connection_age_s: Option<f64>,
}

/// What happens to a connection whose outbound queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlowConsumerAction {
    Disconnect,
    DropMarketData,
}

/// `exchange.*`: symbols, prices, balances, fees, and the living market.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeConfig {
    pub symbols: Vec<String>,
    /// Opening price per symbol (a number or a decimal string). BTC/USD and ETH/USD default to
    /// 50000 and 3000; other symbols need one when the market is on.
    pub initial_prices: BTreeMap<String, DecimalValue>,
    /// Seconds between TICKER messages (millisecond precision).
    pub tick_interval: f64,
    /// Seconds between steps of the synthetic market (price model, makers, takers); a whole
    /// number of steps fits in `tick_interval` (see [`Config::market_steps_per_tick`]).
    pub market_step_interval: f64,
    /// The balance of every new anonymous account: asset -> amount, or a single number for the
    /// USD balance (other assets then keep their defaults).
    pub default_balance: DefaultBalance,
    /// Per-symbol rules; symbols not listed get tick 0.01 and lot 0.00001.
    pub symbol_specs: BTreeMap<String, SymbolSpecConfig>,
    pub fees: FeesConfig,
    /// Self-trade prevention for orders that name none.
    pub self_trade_prevention: String,
    /// Price models (`model_type`, `drift`, `volatility`, ...), once for all or per symbol.
    pub pricing_model: market::PricingModels,
    /// Synthetic market makers quoting a ladder around the model price.
    pub market_makers: market::MarketMakerConfig,
    /// Synthetic taker orders trading against the book.
    pub taker_flow: market::TakerFlowConfig,
    /// OHLCV candle history.
    pub candles: market::CandleConfig,
    /// What paces the market: `wall` (every `tick_interval` of real time) or `manual` (only
    /// [`crate::ExchangeServer::advance_market`], for tests that step the market by hand).
    pub clock: ClockMode,
    /// History kept for queries and resume.
    pub history: HistoryConfig,
}

/// What paces the market and the ticker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    /// A tick every `tick_interval` seconds of real time.
    #[default]
    Wall,
    /// Ticks only when the embedding program asks for them.
    Manual,
}

/// A decimal given as a JSON number or a string (strings are exact; prefer them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DecimalValue {
    Text(String),
    Number(serde_json::Number),
}

impl DecimalValue {
    /// The decimal's text.
    pub fn text(&self) -> String {
        match self {
            DecimalValue::Text(s) => s.clone(),
            DecimalValue::Number(n) => n.to_string(),
        }
    }
}

/// `exchange.default_balance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DefaultBalance {
    PerAsset(BTreeMap<String, DecimalValue>),
    Usd(serde_json::Number),
}

/// `exchange.symbol_specs.<symbol>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SymbolSpecConfig {
    pub tick_size: String,
    pub lot_size: String,
    pub min_quantity: Option<String>,
    pub max_quantity: Option<String>,
    pub min_notional: Option<String>,
}

impl Default for SymbolSpecConfig {
    fn default() -> Self {
        SymbolSpecConfig {
            tick_size: "0.01".into(),
            lot_size: "0.00001".into(),
            min_quantity: None,
            max_quantity: None,
            min_notional: None,
        }
    }
}

/// `exchange.fees`: rates as decimal strings (`"0.001"` = 0.1%).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeesConfig {
    pub maker: String,
    pub taker: String,
}

impl Default for FeesConfig {
    fn default() -> Self {
        FeesConfig {
            maker: "0.0002".into(),
            taker: "0.0005".into(),
        }
    }
}

/// `exchange.history`: how much the server remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    pub closed_orders_per_account: usize,
    pub fills_per_account: usize,
    pub trades_per_symbol: usize,
    /// Private events kept per account for RESUME.
    pub resume_events_per_account: usize,
    /// How long private events are kept for RESUME, in seconds.
    pub resume_max_age_s: u64,
    /// How long an anonymous account whose connection closed is kept, in seconds, before it is
    /// retired (when it holds no open order): churning clients do not grow the exchange.
    pub anonymous_grace_s: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            closed_orders_per_account: 1_000,
            fills_per_account: 10_000,
            trades_per_symbol: 1_000,
            resume_events_per_account: 10_000,
            resume_max_age_s: 300,
            anonymous_grace_s: 60,
        }
    }
}

/// `accounts.<name>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub api_key: String,
    /// The secret a Binance client signs with (HMAC-SHA256); without one, the API key itself.
    #[serde(default)]
    pub api_secret: Option<String>,
    /// Opening balances; assets not listed start at zero.
    #[serde(default)]
    pub balances: BTreeMap<String, DecimalValue>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".into(),
            port: 8765,
            heartbeat_interval: 30.0,
            limits: LimitsConfig::default(),
            admin_token: None,
            echo_endpoint: false,
            worker_threads: None,
            binance: BinanceConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_frame_bytes: 64 * 1024,
            max_messages_per_second: 10_000,
            max_connections: 20_000,
            outbound_queue_frames: 8_192,
            slow_consumer: SlowConsumerAction::Disconnect,
            max_connection_age_s: None,
        }
    }
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            symbols: vec!["BTC/USD".into(), "ETH/USD".into()],
            initial_prices: BTreeMap::new(),
            tick_interval: 1.0,
            market_step_interval: 0.1,
            default_balance: DefaultBalance::PerAsset(default_balances()),
            symbol_specs: BTreeMap::new(),
            fees: FeesConfig::default(),
            self_trade_prevention: "EXPIRE_TAKER".into(),
            pricing_model: market::PricingModels::default(),
            market_makers: market::MarketMakerConfig::default(),
            taker_flow: market::TakerFlowConfig::default(),
            candles: market::CandleConfig::default(),
            clock: ClockMode::Wall,
            history: HistoryConfig::default(),
        }
    }
}

fn default_balances() -> BTreeMap<String, DecimalValue> {
    [("USD", "100000"), ("BTC", "10"), ("ETH", "100")]
        .into_iter()
        .map(|(a, v)| (a.to_string(), DecimalValue::Text(v.to_string())))
        .collect()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            exchange: ExchangeConfig::default(),
            accounts: BTreeMap::new(),
            failures: serde_json::Value::Null,
            seed: None,
        }
    }
}

impl Config {
    /// The async runtime's worker threads: `server.worker_threads`, or one per core less the one
    /// the engine thread keeps busy (at least one). On a small machine a second worker only
    /// competes with the engine thread for a core and hands tasks back and forth.
    pub fn runtime_worker_threads(&self) -> usize {
        self.server.worker_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .saturating_sub(1)
                .max(1)
        })
    }

    /// Market steps per ticker interval: `tick_interval / market_step_interval` rounded, at least
    /// one, so the market steps every `tick_interval / n` seconds and the ticker publishes on
    /// every n-th step (1.0 and 0.1: ten steps of 100 ms).
    pub fn market_steps_per_tick(&self) -> u64 {
        let ratio = self.exchange.tick_interval / self.exchange.market_step_interval;
        if ratio.is_finite() && ratio >= 1.0 {
            ratio.round().min(1_000_000.0) as u64
        } else {
            1
        }
    }

    /// One market step in nanoseconds: `tick_interval` divided into
    /// [`Config::market_steps_per_tick`] steps.
    pub fn market_step_ns(&self) -> u64 {
        (self.exchange.tick_interval * 1e9 / self.market_steps_per_tick() as f64).round() as u64
    }

    /// Reads and validates a JSON file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        Config::from_json_str(&text)
    }

    /// Parses and validates JSON text.
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        // serde would also read a struct from an array of its fields in order: refuse that.
        let body = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\u{feff}');
        if !body.starts_with('{') {
            return Err(ConfigError::new(
                "(top)",
                "the configuration must be a JSON object",
            ));
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::new(
                if path == "." { "(top)".into() } else { path },
                with_suggestion(e.into_inner().to_string()),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value that serde cannot: numbers in range, decimals that parse, symbols that
    /// exist, and the fault and market sections.
    pub fn validate(&self) -> Result<(), ConfigError> {
        seconds_in_range(
            "server.heartbeat_interval",
            self.server.heartbeat_interval,
            0.01,
            DAY_S,
        )?;
        let b = &self.server.binance;
        for (key, value) in [
            ("request_weight_per_minute", b.request_weight_per_minute),
            ("orders_per_10s", b.orders_per_10s),
            ("orders_per_day", b.orders_per_day),
        ] {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("server.binance.{key}"),
                    "must be at least 1",
                ));
            }
        }
        if !(1..=3 * 24 * 3600).contains(&b.ban_seconds) {
            return Err(ConfigError::new(
                "server.binance.ban_seconds",
                "must be between 1 and 259200 (three days)",
            ));
        }
        if self.server.binance.enabled
            && self.server.binance.port_for(self.server.port) == self.server.port
            && self.server.port != 0
        {
            return Err(ConfigError::new(
                "server.binance.port",
                "must differ from server.port (the two listeners need their own ports)",
            ));
        }
        if self.server.worker_threads == Some(0) {
            return Err(ConfigError::new(
                "server.worker_threads",
                "must be at least 1 (or null for one per core less the engine's)",
            ));
        }
        seconds_in_range(
            "exchange.market_step_interval",
            self.exchange.market_step_interval,
            0.001,
            DAY_S,
        )?;
        seconds_in_range(
            "exchange.tick_interval",
            self.exchange.tick_interval,
            0.001,
            DAY_S,
        )?;
        let history = &self.exchange.history;
        for (key, value) in [
            ("resume_max_age_s", history.resume_max_age_s),
            ("anonymous_grace_s", history.anonymous_grace_s),
        ] {
            if value > MONTH_S {
                return Err(ConfigError::new(
                    format!("exchange.history.{key}"),
                    format!("must be at most {MONTH_S} seconds (30 days)"),
                ));
            }
        }
        let limits = &self.server.limits;
        for (key, value) in [
            ("max_frame_bytes", limits.max_frame_bytes),
            (
                "max_messages_per_second",
                limits.max_messages_per_second as usize,
            ),
            ("max_connections", limits.max_connections),
            ("outbound_queue_frames", limits.outbound_queue_frames),
        ] {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("server.limits.{key}"),
                    "must be at least 1",
                ));
            }
        }
        if limits.slow_consumer == SlowConsumerAction::DropMarketData
            && limits.outbound_queue_frames < 4
        {
            return Err(ConfigError::new(
                "server.limits.outbound_queue_frames",
                "must be at least 4 with slow_consumer drop_market_data (a quarter is kept for \
                 private events, and a stream reset needs two frames)",
            ));
        }
        if let Some(age) = limits.max_connection_age_s {
            seconds_in_range(
                "server.limits.max_connection_age_s",
                age,
                0.001,
                MONTH_S as f64,
            )?;
        }
        if self.exchange.symbols.is_empty() {
            return Err(ConfigError::new(
                "exchange.symbols",
                "at least one symbol is needed",
            ));
        }
        self.engine_config()?;
        for name in self.exchange.initial_prices.keys() {
            if !self.exchange.symbols.contains(name) {
                return Err(ConfigError::new(
                    format!("exchange.initial_prices.{name}"),
                    "not one of exchange.symbols",
                ));
            }
        }
        for name in self.exchange.symbol_specs.keys() {
            if !self.exchange.symbols.contains(name) {
                return Err(ConfigError::new(
                    format!("exchange.symbol_specs.{name}"),
                    "not one of exchange.symbols",
                ));
            }
        }
        let market = self.market_config();
        market.validate("exchange").map_err(|e| ConfigError {
            path: e.path.clone(),
            reason: e.reason.clone(),
        })?;
        let system = market.system_account_names();
        let market_on = !system.is_empty();
        let names: Vec<String> = self.accounts.keys().cloned().collect();
        check_filter_accounts(&self.fault_config()?, &names)
            .map_err(|e| ConfigError::new(e.path, e.message))?;
        let mut keys = std::collections::HashSet::new();
        for (name, account) in &self.accounts {
            if account.api_key.is_empty() {
                return Err(ConfigError::new(
                    format!("accounts.{name}.api_key"),
                    "must not be empty",
                ));
            }
            if account.api_secret.as_deref() == Some("") {
                return Err(ConfigError::new(
                    format!("accounts.{name}.api_secret"),
                    "must not be empty (leave it out to sign with the API key)",
                ));
            }
            if !keys.insert(account.api_key.as_str()) {
                return Err(ConfigError::new(
                    format!("accounts.{name}.api_key"),
                    "is used by another account",
                ));
            }
            if name.starts_with("anon-") || system.contains(name) {
                return Err(ConfigError::new(
                    format!("accounts.{name}"),
                    "is reserved (anonymous accounts are anon-N; system accounts are the market's)",
                ));
            }
        }
        for symbol in &self.exchange.symbols {
            if market_on && self.initial_price(symbol).is_none() {
                return Err(ConfigError::new(
                    format!("exchange.initial_prices.{symbol}"),
                    "the market needs an initial price for every symbol",
                ));
            }
        }
        Ok(())
    }

    /// A symbol's opening price: configured, or the built-in default for BTC/USD and ETH/USD.
    pub fn initial_price(&self, symbol: &str) -> Option<String> {
        if let Some(v) = self.exchange.initial_prices.get(symbol) {
            return Some(v.text());
        }
        match symbol {
            "BTC/USD" => Some("50000".into()),
            "ETH/USD" => Some("3000".into()),
            _ => None,
        }
    }

    /// The market's part of the configuration.
    pub fn market_config(&self) -> market::MarketConfig {
        market::MarketConfig {
            pricing_model: self.exchange.pricing_model.clone(),
            market_makers: self.exchange.market_makers.clone(),
            taker_flow: self.exchange.taker_flow.clone(),
            candles: self.exchange.candles.clone(),
        }
    }

    /// The fault layer's configuration read from `failures` (faults off when absent or `null`).
    /// Errors keep the key's path (`failures.modes.drop_messages.probability`).
    pub fn fault_config(&self) -> Result<faults::FaultConfig, ConfigError> {
        if self.failures.is_null() {
            return Ok(faults::FaultConfig::default());
        }
        faults::FaultConfig::from_json(&self.failures)
            .map_err(|e| ConfigError::new(e.path, e.message))
    }

    /// The engine's set-up derived from `exchange.*`.
    pub fn engine_config(&self) -> Result<EngineConfig, ConfigError> {
        let ex = &self.exchange;
        let mut symbols = Vec::new();
        for name in &ex.symbols {
            let path = format!("exchange.symbol_specs.{name}");
            let Some((base, quote)) = name.split_once('/') else {
                return Err(ConfigError::new(
                    "exchange.symbols",
                    format!("{name:?} is not BASE/QUOTE"),
                ));
            };
            let spec = ex.symbol_specs.get(name).cloned().unwrap_or_default();
            let tick = Increment::from_str_positive(&spec.tick_size)
                .map_err(|e| ConfigError::new(format!("{path}.tick_size"), e.to_string()))?;
            let lot = Increment::from_str_positive(&spec.lot_size)
                .map_err(|e| ConfigError::new(format!("{path}.lot_size"), e.to_string()))?;
            let qty = |key: &str, v: &Option<String>, default: i64| -> Result<Qty, ConfigError> {
                match v {
                    None => Ok(Qty(default)),
                    Some(s) => lot
                        .parse(s, false)
                        .map(Qty)
                        .map_err(|e| ConfigError::new(format!("{path}.{key}"), e.to_string())),
                }
            };
            let min_qty = qty("min_quantity", &spec.min_quantity, 1)?;
            let max_qty = qty("max_quantity", &spec.max_quantity, i64::MAX / 4)?;
            if max_qty < min_qty {
                return Err(ConfigError::new(
                    format!("{path}.max_quantity"),
                    "is below min_quantity",
                ));
            }
            symbols.push(SymbolSpec {
                name: name.clone(),
                base: base.to_string(),
                quote: quote.to_string(),
                tick,
                lot,
                min_qty,
                max_qty,
                min_notional: Amount(0),
            });
        }
        // min_notional is in the quote asset's smallest unit, whose decimals depend on every
        // symbol that uses the asset: parse it once all symbols are known.
        let decimals = engine::symbol::asset_decimals(&symbols);
        for spec in &mut symbols {
            let Some(text) = ex
                .symbol_specs
                .get(&spec.name)
                .and_then(|c| c.min_notional.as_ref())
            else {
                continue;
            };
            let scale = decimals.get(&spec.quote).copied().unwrap_or(2);
            spec.min_notional = Increment { units: 1, scale }
                .parse(text, true)
                .map(|n| Amount(n as i128))
                .map_err(|e| {
                    ConfigError::new(
                        format!("exchange.symbol_specs.{}.min_notional", spec.name),
                        format!("{e} (at most {scale} decimals)"),
                    )
                })?;
        }
        let fee = |key: &str, s: &str| -> Result<FeeRate, ConfigError> {
            Increment { units: 1, scale: 8 }
                .parse(s, true)
                .map(FeeRate)
                .ok()
                .filter(|r| r.0 <= FeeRate::SCALE as i64)
                .ok_or_else(|| {
                    ConfigError::new(
                        format!("exchange.fees.{key}"),
                        "must be a decimal rate between 0 and 1 with at most 8 decimals",
                    )
                })
        };
        let default_stp = match ex.self_trade_prevention.as_str() {
            "EXPIRE_TAKER" => StpMode::ExpireTaker,
            "EXPIRE_MAKER" => StpMode::ExpireMaker,
            "EXPIRE_BOTH" => StpMode::ExpireBoth,
            "NONE" => StpMode::None,
            _ => {
                return Err(ConfigError::new(
                    "exchange.self_trade_prevention",
                    "must be EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH or NONE",
                ))
            }
        };
        Ok(EngineConfig {
            symbols,
            maker_fee: fee("maker", &ex.fees.maker)?,
            taker_fee: fee("taker", &ex.fees.taker)?,
            default_stp,
            closed_orders_per_account: ex.history.closed_orders_per_account,
            fills_per_account: ex.history.fills_per_account,
            trades_per_symbol: ex.history.trades_per_symbol,
        })
    }

    /// What the core is built from.
    pub fn core_config(&self) -> Result<exchange::CoreConfig, ConfigError> {
        let history = &self.exchange.history;
        let ns = |s: f64| (s * 1e9).round() as u64;
        Ok(exchange::CoreConfig {
            engine: self.engine_config()?,
            market: self.market_config(),
            initial_prices: self
                .exchange
                .symbols
                .iter()
                .filter_map(|s| Some((s.clone(), self.initial_price(s)?)))
                .collect(),
            accounts: self
                .accounts
                .iter()
                .map(|(name, account)| exchange::AccountSetup {
                    name: name.clone(),
                    api_key: account.api_key.clone(),
                    balances: account
                        .balances
                        .iter()
                        .map(|(asset, v)| (asset.clone(), v.text()))
                        .collect(),
                })
                .collect(),
            default_balances: self.default_balances().into_iter().collect(),
            history: exchange::HistoryLimits {
                resume_events_per_account: history.resume_events_per_account,
                resume_max_age_ns: history.resume_max_age_s.saturating_mul(1_000_000_000),
                anonymous_grace_ns: history.anonymous_grace_s.saturating_mul(1_000_000_000),
            },
            market_step_ns: self.market_step_ns(),
            steps_per_tick: self.market_steps_per_tick(),
            manual_clock: self.exchange.clock == ClockMode::Manual,
            max_connection_age_ns: self.server.limits.max_connection_age_s.map(ns),
        })
    }

    /// The opening balances of a new anonymous account, asset name -> decimal text.
    pub fn default_balances(&self) -> BTreeMap<String, String> {
        match &self.exchange.default_balance {
            DefaultBalance::PerAsset(map) => {
                map.iter().map(|(k, v)| (k.clone(), v.text())).collect()
            }
            DefaultBalance::Usd(n) => {
                let mut map: BTreeMap<String, String> = default_balances()
                    .into_iter()
                    .map(|(k, v)| (k, v.text()))
                    .collect();
                map.insert("USD".into(), n.to_string());
                map
            }
        }
    }
}

/// Refuses an `accounts` filter naming an account that is not configured (`known`): only
/// connections logged in to a configured account match such a filter, so the mode would never
/// act (anonymous connections never match, and the market's accounts have no connection).
pub fn check_filter_accounts(
    faults: &faults::FaultConfig,
    known: &[String],
) -> Result<(), faults::FaultConfigError> {
    let Some((path, name)) = faults
        .filter_accounts()
        .into_iter()
        .find(|(_, name)| !known.contains(name))
    else {
        return Ok(());
    };
    let configured = if known.is_empty() {
        "none is configured (see `accounts` in docs/CONFIG.md)".to_owned()
    } else {
        format!("configured: {}", known.join(", "))
    };
    let near = faults::did_you_mean(&name, known)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default();
    Err(faults::FaultConfigError {
        path,
        message: format!(
            "no configured account {name:?}{near}: an accounts filter only matches connections \
             logged in to a configured account, anonymous ones never; {configured}"
        ),
    })
}

/// serde's "unknown field `prot`, expected one of `host`, `port`, ..." with the nearest field
/// named first: "... (did you mean `port`?)".
fn with_suggestion(message: String) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message;
    };
    let Some((word, expected)) = rest.split_once('`') else {
        return message;
    };
    let fields: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match faults::did_you_mean(word, &fields) {
        Some(near) => {
            // serde appends " at line L column C": the suggestion goes before it.
            match message.rfind(" at line ") {
                Some(at) => format!(
                    "{} (did you mean `{near}`?){}",
                    &message[..at],
                    &message[at..]
                ),
                None => format!("{message} (did you mean `{near}`?)"),
            }
        }
        None => message,
    }
}

/// A day, in seconds: the longest interval or heartbeat.
const DAY_S: f64 = 86_400.0;
/// Thirty days, in seconds: the longest age or grace period.
const MONTH_S: u64 = 30 * 86_400;

/// Checks a duration in seconds: a number (not NaN or infinite) within `min..=max`, so that it
/// neither rounds to zero (a timer of zero panics) nor overflows a `Duration`.
fn seconds_in_range(path: &str, value: f64, min: f64, max: f64) -> Result<(), ConfigError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::new(
            path,
            format!("must be between {min} and {max} seconds"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::default();
        assert_eq!(c.server.port, 8765);
        assert_eq!(c.exchange.symbols, vec!["BTC/USD", "ETH/USD"]);
        assert_eq!(c.default_balances()["USD"], "100000");
        assert!(c.validate().is_ok());
    }

    #[test]
    fn original_format_parses() {
        let text = r#"{
            "server": {"host": "0.0.0.0", "port": 9000, "heartbeat_interval": 15},
            "exchange": {"symbols": ["BTC/USD"], "initial_prices": {"BTC/USD": 42000.5},
                         "tick_interval": 0.5, "default_balance": {"USD": 5000, "BTC": 1}},
            "failures": {"enabled": false, "modes": {}}
        }"#;
        let c = Config::from_json_str(text).unwrap();
        assert_eq!(c.server.port, 9000);
        assert_eq!(c.exchange.initial_prices["BTC/USD"].text(), "42000.5");
        assert_eq!(c.default_balances()["USD"], "5000");
    }

    #[test]
    fn one_symbol_alone_is_a_valid_exchange() {
        let c = Config::from_json_str(r#"{"exchange": {"symbols": ["BTC/USD"]}}"#).unwrap();
        assert_eq!(c.initial_price("BTC/USD").as_deref(), Some("50000"));
        let err = Config::from_json_str(r#"{"exchange": {"symbols": ["SOL/USD"]}}"#).unwrap_err();
        assert_eq!(err.path, "exchange.initial_prices.SOL/USD");
    }

    #[test]
    fn unknown_key_names_its_path() {
        let err = Config::from_json_str(r#"{"server": {"prot": 1}}"#).unwrap_err();
        assert!(err.path.starts_with("server"), "{err}");
        assert!(err.reason.contains("prot"), "{err}");
        assert!(err.reason.contains("(did you mean `port`?)"), "{err}");
        let err = Config::from_json_str(r#"{"exchange": {"symbol": []}}"#).unwrap_err();
        assert!(err.reason.contains("(did you mean `symbols`?)"), "{err}");
    }

    #[test]
    fn the_market_steps_a_whole_number_of_times_per_ticker_interval() {
        let mut config = Config::default();
        assert_eq!(
            config.market_steps_per_tick(),
            10,
            "1 s ticker, 100 ms steps"
        );
        config.exchange.tick_interval = 0.25;
        assert_eq!(config.market_steps_per_tick(), 3, "rounded");
        config.exchange.tick_interval = 0.05;
        assert_eq!(config.market_steps_per_tick(), 1, "never fewer than one");
    }

    #[test]
    fn worker_threads_default_leaves_a_core_to_the_engine() {
        let mut config = Config::default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(config.runtime_worker_threads(), (cores - 1).max(1));
        config.server.worker_threads = Some(3);
        assert_eq!(config.runtime_worker_threads(), 3);
    }

    #[test]
    fn invalid_values_name_their_path() {
        let cases = [
            (r#"{"server": {"port": "x"}}"#, "server.port"),
            (
                r#"{"server": {"limits": {"max_frame_bytes": 0}}}"#,
                "server.limits.max_frame_bytes",
            ),
            (
                r#"{"exchange": {"fees": {"maker": "2"}}}"#,
                "exchange.fees.maker",
            ),
            (
                r#"{"exchange": {"symbol_specs": {"BTC/USD": {"tick_size": "0"}}}}"#,
                "exchange.symbol_specs.BTC/USD.tick_size",
            ),
            (
                r#"{"exchange": {"symbols": ["BTCUSD"]}}"#,
                "exchange.symbols",
            ),
            (
                r#"{"exchange": {"initial_prices": {"XRP/USD": 1}}}"#,
                "exchange.initial_prices.XRP/USD",
            ),
            (
                r#"{"exchange": {"tick_interval": 0}}"#,
                "exchange.tick_interval",
            ),
            (r#"[]"#, "(top)"),
            (r#" [{"port": 1}]"#, "(top)"),
            (
                r#"{"exchange": {"market_step_interval": 0}}"#,
                "exchange.market_step_interval",
            ),
            (
                r#"{"server": {"worker_threads": 0}}"#,
                "server.worker_threads",
            ),
            (
                r#"{"accounts": {"a": {"api_key": ""}}}"#,
                "accounts.a.api_key",
            ),
            (
                r#"{"failures": {"modes": {"drop_messages": {"probability": 2}}}}"#,
                "failures.modes.drop_messages.probability",
            ),
            (
                r#"{"accounts": {"bob": {"api_key": "k"}},
                    "failures": {"modes": {"drop_messages": {"accounts": ["bob", "alice"]}}}}"#,
                "failures.modes.drop_messages.accounts[1]",
            ),
            (
                r#"{"failures": {"scenario": [{"start_s": 1, "modes": {"disconnect": {"accounts": ["alice"]}}}]}}"#,
                "failures.scenario[0].modes.disconnect.accounts[0]",
            ),
            (
                r#"{"server": {"limits": {"max_connection_age_s": 0}}}"#,
                "server.limits.max_connection_age_s",
            ),
            (
                r#"{"server": {"heartbeat_interval": 1e300}}"#,
                "server.heartbeat_interval",
            ),
            (
                r#"{"server": {"heartbeat_interval": 1e-12}}"#,
                "server.heartbeat_interval",
            ),
            (
                r#"{"exchange": {"tick_interval": 1e300}}"#,
                "exchange.tick_interval",
            ),
            (
                r#"{"exchange": {"market_step_interval": 1e20}}"#,
                "exchange.market_step_interval",
            ),
            (
                r#"{"server": {"limits": {"max_connection_age_s": 1e300}}}"#,
                "server.limits.max_connection_age_s",
            ),
            (
                r#"{"exchange": {"history": {"resume_max_age_s": 18446744073709551615}}}"#,
                "exchange.history.resume_max_age_s",
            ),
            (
                r#"{"server": {"limits": {"slow_consumer": "drop_market_data", "outbound_queue_frames": 2}}}"#,
                "server.limits.outbound_queue_frames",
            ),
        ];
        for (text, path) in cases {
            let err = Config::from_json_str(text).expect_err(text);
            assert_eq!(err.path, path, "{text}: {err}");
        }
    }
}
