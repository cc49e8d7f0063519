//! The market's configuration, as the server embeds it under `exchange`: `pricing_model`,
//! `market_makers`, `taker_flow` and `candles`. Every key has a default giving a believable live
//! market; [`MarketConfig::build`] checks everything (naming the key path) and makes a [`Market`].
//!
//! Sizes are decimal strings parsed with the symbol's own rules (`Symbol::parse_qty`); model
//! parameters are plain numbers, as they describe a random process rather than money.

use std::collections::BTreeMap;

use engine::symbol::Symbol;
use engine::{AccountId, Price, SymbolId};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{check_range, ConfigError};
use crate::maker::MakerParams;
use crate::market::{Market, SymbolSetup, SystemAccounts};
use crate::models::{
    tick_size, GbmConfig, GbmModel, JumpConfig, JumpModel, MeanRevertingConfig, MeanRevertingModel,
    PriceModel, RandomWalkConfig, RandomWalkModel, ReplayConfig, TrendConfig, TrendModel,
};
use crate::taker::{SizeDistribution, TakerParams};

/// The most levels a maker quotes per side.
pub const MAX_LEVELS: u32 = 200;
/// The most market-maker accounts.
pub const MAX_MAKER_ACCOUNTS: usize = 64;
/// The most closed candles kept per symbol and interval.
pub const MAX_CANDLE_HISTORY: usize = 100_000;

/// Everything the market needs from the config file (the keys under `exchange`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// How prices move: one model for every symbol, or a map from symbol to model.
    #[serde(default)]
    pub pricing_model: PricingModels,
    /// The synthetic liquidity quoting around the model price.
    #[serde(default)]
    pub market_makers: MarketMakerConfig,
    /// The synthetic orders that trade against the book.
    #[serde(default)]
    pub taker_flow: TakerFlowConfig,
    /// OHLCV candles built from trades.
    #[serde(default)]
    pub candles: CandleConfig,
}

/// One price model, tagged by `model_type`, with that model's own keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model_type", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Arithmetic Brownian motion ([`RandomWalkConfig`]).
    RandomWalk(RandomWalkConfig),
    /// Geometric Brownian motion ([`GbmConfig`]).
    Gbm(GbmConfig),
    /// Momentum: GBM with correlated returns ([`TrendConfig`]).
    Trend(TrendConfig),
    /// Ornstein-Uhlenbeck around a level ([`MeanRevertingConfig`]).
    MeanReverting(MeanRevertingConfig),
    /// GBM plus Poisson jumps ([`JumpConfig`]).
    Jump(JumpConfig),
    /// Recorded prices from a CSV ([`ReplayConfig`]).
    Replay(ReplayConfig),
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig::Gbm(GbmConfig::default())
    }
}

impl ModelConfig {
    /// Checks the model's values (not a replay's file), naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        match self {
            ModelConfig::RandomWalk(c) => c.validate(path),
            ModelConfig::Gbm(c) => c.validate(path),
            ModelConfig::Trend(c) => c.validate(path),
            ModelConfig::MeanReverting(c) => c.validate(path),
            ModelConfig::Jump(c) => c.validate(path),
            ModelConfig::Replay(c) => c.validate(path),
        }
    }

    /// Makes the model for a symbol starting at `initial_price` (in price units). A replay reads
    /// its file here.
    pub fn build(
        &self,
        initial_price: f64,
        path: &str,
    ) -> Result<Box<dyn PriceModel>, ConfigError> {
        self.validate(path)?;
        Ok(match self {
            ModelConfig::RandomWalk(c) => Box::new(RandomWalkModel::new(c, initial_price)),
            ModelConfig::Gbm(c) => Box::new(GbmModel::new(c)),
            ModelConfig::Trend(c) => Box::new(TrendModel::new(c)),
            ModelConfig::MeanReverting(c) => Box::new(MeanRevertingModel::new(c, initial_price)),
            ModelConfig::Jump(c) => Box::new(JumpModel::new(c)),
            ModelConfig::Replay(c) => Box::new(c.build(path)?),
        })
    }
}

/// `exchange.pricing_model`: one model object for every symbol, or an object keyed by symbol
/// (`{"BTC/USD": {...}, "ETH/USD": {...}}`) where symbols left out get the default GBM.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PricingModels {
    /// The same model (each symbol with its own state) for every symbol.
    All(ModelConfig),
    /// A model per symbol name.
    PerSymbol(BTreeMap<String, ModelConfig>),
}

impl Default for PricingModels {
    fn default() -> Self {
        PricingModels::All(ModelConfig::default())
    }
}

impl<'de> Deserialize<'de> for PricingModels {
    /// An object with `model_type` is one model; any other object is a map by symbol. Errors name
    /// the symbol, which an untagged enum would not.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let serde_json::Value::Object(map) = value else {
            return Err(D::Error::custom(
                "expected an object: a model with model_type, or a map from symbol to model",
            ));
        };
        if map.contains_key("model_type") {
            return ModelConfig::deserialize(serde_json::Value::Object(map))
                .map(PricingModels::All)
                .map_err(D::Error::custom);
        }
        let mut models = BTreeMap::new();
        for (symbol, value) in map {
            let model = ModelConfig::deserialize(value)
                .map_err(|e| D::Error::custom(format!("{symbol}: {e}")))?;
            models.insert(symbol, model);
        }
        Ok(PricingModels::PerSymbol(models))
    }
}

impl PricingModels {
    /// The model for a symbol, and the key path it was configured at.
    pub fn for_symbol(&self, name: &str, base_path: &str) -> (ModelConfig, String) {
        let path = format!("{base_path}.pricing_model");
        match self {
            PricingModels::All(model) => (model.clone(), path),
            PricingModels::PerSymbol(map) => match map.get(name) {
                Some(model) => (model.clone(), format!("{path}.{name}")),
                None => (ModelConfig::default(), path),
            },
        }
    }
}

/// `exchange.market_makers`: accounts quoting a ladder around the model price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketMakerConfig {
    /// Quote at all (false: an empty book, except for what clients place).
    pub enabled: bool,
    /// Price levels per side, per maker.
    pub levels: u32,
    /// The distance between the best bid and the best ask, in basis points of the price (the
    /// quotes sit on a grid, so the actual spread is between this and this plus one spacing).
    pub spread_bps: f64,
    /// The distance between levels, in basis points of the price.
    pub level_spacing_bps: f64,
    /// Quantity per level per maker, a decimal string in the symbol's lots (`"0.5"`).
    pub size: String,
    /// Random variation of each level's size: 0.3 draws sizes uniformly within +-30%.
    pub size_jitter: f64,
    /// How often each maker re-quotes, in milliseconds.
    pub refresh_ms: u64,
    /// How many maker accounts, or their names (`2` or `["mm-alpha", "mm-beta"]`). Each quotes
    /// the full ladder on every symbol, on the same price grid, so their sizes add up.
    pub accounts: MakerAccounts,
}

impl Default for MarketMakerConfig {
    fn default() -> Self {
        MarketMakerConfig {
            enabled: true,
            levels: 10,
            spread_bps: 4.0,
            level_spacing_bps: 2.0,
            size: "0.5".into(),
            size_jitter: 0.3,
            refresh_ms: 500,
            accounts: MakerAccounts::Count(2),
        }
    }
}

/// The market makers' accounts: a count (named `market-maker-1`, ...) or explicit names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MakerAccounts {
    /// This many accounts, named `market-maker-1` to `market-maker-N`.
    Count(u32),
    /// Accounts with these names.
    Names(Vec<String>),
}

impl MarketMakerConfig {
    /// Checks the values, naming the key that is wrong (`base_path` is where the config sits,
    /// usually `exchange`).
    pub fn validate(&self, base_path: &str) -> Result<(), ConfigError> {
        let path = format!("{base_path}.market_makers");
        if self.levels == 0 || self.levels > MAX_LEVELS {
            return Err(ConfigError::at(
                &path,
                "levels",
                format!("must be between 1 and {MAX_LEVELS}"),
            ));
        }
        check_range(&path, "spread_bps", self.spread_bps, 0.0, 10_000.0)?;
        check_range(
            &path,
            "level_spacing_bps",
            self.level_spacing_bps,
            0.0,
            10_000.0,
        )?;
        check_range(&path, "size_jitter", self.size_jitter, 0.0, 0.99)?;
        if self.refresh_ms == 0 || self.refresh_ms > 3_600_000 {
            return Err(ConfigError::at(
                &path,
                "refresh_ms",
                "must be between 1 and 3600000",
            ));
        }
        let names = self.account_names();
        if self.enabled && (names.is_empty() || names.len() > MAX_MAKER_ACCOUNTS) {
            return Err(ConfigError::at(
                &path,
                "accounts",
                format!("must be between 1 and {MAX_MAKER_ACCOUNTS} accounts"),
            ));
        }
        if names.iter().any(|n| n.trim().is_empty()) {
            return Err(ConfigError::at(
                &path,
                "accounts",
                "names must not be empty",
            ));
        }
        Ok(())
    }

    /// The maker account names, in order (the server creates one engine account for each).
    pub fn account_names(&self) -> Vec<String> {
        match &self.accounts {
            MakerAccounts::Count(n) => (1..=*n as usize)
                .take(MAX_MAKER_ACCOUNTS + 1)
                .map(|i| format!("market-maker-{i}"))
                .collect(),
            MakerAccounts::Names(names) => names.clone(),
        }
    }

    /// The settings in the symbol's units.
    pub fn resolve(&self, symbol: &Symbol, base_path: &str) -> Result<MakerParams, ConfigError> {
        let path = format!("{base_path}.market_makers");
        let size = symbol
            .parse_qty(&self.size)
            .map_err(|e| ConfigError::at(&path, "size", format!("{e} for {}", symbol.spec.name)))?;
        if size < symbol.spec.min_qty || size > symbol.spec.max_qty {
            return Err(ConfigError::at(
                &path,
                "size",
                format!("outside the quantity limits of {}", symbol.spec.name),
            ));
        }
        Ok(MakerParams {
            levels: self.levels,
            spread_bps: self.spread_bps,
            level_spacing_bps: self.level_spacing_bps,
            size,
            size_jitter: self.size_jitter,
            refresh_ms: self.refresh_ms,
            min_qty: symbol.spec.min_qty,
            max_qty: symbol.spec.max_qty,
        })
    }
}

/// `exchange.taker_flow`: orders that arrive at random and take liquidity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TakerFlowConfig {
    /// Send taker orders at all.
    pub enabled: bool,
    /// Mean orders per second per symbol (a Poisson process).
    pub rate_per_s: f64,
    /// The smallest order quantity, a decimal string.
    pub size_min: String,
    /// The largest order quantity, a decimal string.
    pub size_max: String,
    /// How sizes are drawn between `size_min` and `size_max`: `uniform` or `log_uniform` (many
    /// small orders, a few large ones).
    pub size_distribution: SizeDistribution,
    /// The fraction of orders that are MARKET; the rest are IOC limits at a marketable price.
    pub market_fraction: f64,
    /// How far through the model price an IOC limit is priced, in basis points (it must reach
    /// past the makers' half-spread to trade).
    pub ioc_slippage_bps: f64,
    /// The most orders one step sends; a longer backlog (the server stalled) is skipped.
    pub max_orders_per_step: u32,
    /// The taker account's name.
    pub account: String,
}

impl Default for TakerFlowConfig {
    fn default() -> Self {
        TakerFlowConfig {
            enabled: true,
            rate_per_s: 5.0,
            size_min: "0.001".into(),
            size_max: "0.1".into(),
            size_distribution: SizeDistribution::LogUniform,
            market_fraction: 0.5,
            ioc_slippage_bps: 10.0,
            max_orders_per_step: 100_000,
            account: "taker-flow".into(),
        }
    }
}

impl TakerFlowConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, base_path: &str) -> Result<(), ConfigError> {
        let path = format!("{base_path}.taker_flow");
        check_range(&path, "rate_per_s", self.rate_per_s, 0.0, 1e7)?;
        check_range(&path, "market_fraction", self.market_fraction, 0.0, 1.0)?;
        check_range(
            &path,
            "ioc_slippage_bps",
            self.ioc_slippage_bps,
            0.0,
            10_000.0,
        )?;
        if self.max_orders_per_step == 0 {
            return Err(ConfigError::at(
                &path,
                "max_orders_per_step",
                "must be at least 1",
            ));
        }
        if self.account.trim().is_empty() {
            return Err(ConfigError::at(&path, "account", "must not be empty"));
        }
        Ok(())
    }

    /// The settings in the symbol's units.
    pub fn resolve(&self, symbol: &Symbol, base_path: &str) -> Result<TakerParams, ConfigError> {
        let path = format!("{base_path}.taker_flow");
        let name = &symbol.spec.name;
        let size_min = symbol
            .parse_qty(&self.size_min)
            .map_err(|e| ConfigError::at(&path, "size_min", format!("{e} for {name}")))?;
        let size_max = symbol
            .parse_qty(&self.size_max)
            .map_err(|e| ConfigError::at(&path, "size_max", format!("{e} for {name}")))?;
        if size_max < size_min {
            return Err(ConfigError::at(
                &path,
                "size_max",
                "must not be below size_min",
            ));
        }
        if size_min < symbol.spec.min_qty || size_max > symbol.spec.max_qty {
            return Err(ConfigError::at(
                &path,
                "size_min",
                format!("sizes must be within the quantity limits of {name}"),
            ));
        }
        Ok(TakerParams {
            rate_per_s: self.rate_per_s,
            size_min,
            size_max,
            size_distribution: self.size_distribution,
            market_fraction: self.market_fraction,
            ioc_slippage_bps: self.ioc_slippage_bps,
            max_orders_per_step: self.max_orders_per_step,
        })
    }
}

/// `exchange.candles`: how much candle history is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CandleConfig {
    /// Closed candles kept per symbol and interval (oldest forgotten first).
    pub history_limit: usize,
}

impl Default for CandleConfig {
    fn default() -> Self {
        CandleConfig {
            history_limit: 1_000,
        }
    }
}

impl CandleConfig {
    /// Checks the values, naming the key that is wrong.
    pub fn validate(&self, base_path: &str) -> Result<(), ConfigError> {
        if self.history_limit == 0 || self.history_limit > MAX_CANDLE_HISTORY {
            return Err(ConfigError::at(
                &format!("{base_path}.candles"),
                "history_limit",
                format!("must be between 1 and {MAX_CANDLE_HISTORY}"),
            ));
        }
        Ok(())
    }
}

/// A symbol the market trades, as the server registered it in the engine.
#[derive(Clone, Copy, Debug)]
pub struct MarketSymbol<'a> {
    /// The engine's id for it.
    pub id: SymbolId,
    /// The engine's symbol (its rules parse the configured sizes).
    pub symbol: &'a Symbol,
    /// Where its price starts (`exchange.initial_prices`), in ticks.
    pub initial_price: Price,
}

impl MarketConfig {
    /// Checks every value, naming the key path (`base_path` is where the keys sit, usually
    /// `exchange`). Model keys are checked per symbol by [`MarketConfig::build`].
    pub fn validate(&self, base_path: &str) -> Result<(), ConfigError> {
        self.market_makers.validate(base_path)?;
        self.taker_flow.validate(base_path)?;
        self.candles.validate(base_path)?;
        let names = self.system_account_names();
        for (i, name) in names.iter().enumerate() {
            if names.iter().take(i).any(|other| other == name) {
                return Err(ConfigError::at(
                    base_path,
                    "market_makers.accounts",
                    format!("account name {name} is used twice"),
                ));
            }
        }
        let path = format!("{base_path}.pricing_model");
        match &self.pricing_model {
            PricingModels::All(model) => model.validate(&path),
            PricingModels::PerSymbol(map) => map
                .iter()
                .try_for_each(|(name, model)| model.validate(&format!("{path}.{name}"))),
        }
    }

    /// Every system account the server must create (and list as such), makers first, then the
    /// taker; only those of enabled parts.
    pub fn system_account_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.market_makers.enabled {
            names.extend(self.market_makers.account_names());
        }
        if self.taker_flow.enabled {
            names.push(self.taker_flow.account.clone());
        }
        names
    }

    /// Checks everything against the symbols, builds each symbol's model (reading a replay file)
    /// and makes the market. `accounts` are the engine accounts the server created for
    /// [`MarketConfig::system_account_names`], in that order.
    pub fn build(
        &self,
        base_path: &str,
        symbols: &[MarketSymbol<'_>],
        accounts: &[AccountId],
        seed: u64,
    ) -> Result<Market, ConfigError> {
        self.build_with_models(base_path, symbols, accounts, seed, &|_| None)
    }

    /// [`MarketConfig::build`], with custom models: `custom_model(symbol_name)` returning a model
    /// replaces the configured one for that symbol (this is how a program embedding the
    /// simulator plugs in its own [`PriceModel`]).
    pub fn build_with_models(
        &self,
        base_path: &str,
        symbols: &[MarketSymbol<'_>],
        accounts: &[AccountId],
        seed: u64,
        custom_model: &dyn Fn(&str) -> Option<Box<dyn PriceModel>>,
    ) -> Result<Market, ConfigError> {
        self.validate(base_path)?;
        if let PricingModels::PerSymbol(map) = &self.pricing_model {
            if let Some(unknown) = map
                .keys()
                .find(|name| !symbols.iter().any(|s| &s.symbol.spec.name == *name))
            {
                return Err(ConfigError::at(
                    &format!("{base_path}.pricing_model"),
                    unknown,
                    "not a configured symbol",
                ));
            }
        }
        let names = self.system_account_names();
        if accounts.len() != names.len() {
            return Err(ConfigError::at(
                base_path,
                "market_makers.accounts",
                format!(
                    "{} system accounts were created for {} names",
                    accounts.len(),
                    names.len()
                ),
            ));
        }
        let maker_count = if self.market_makers.enabled {
            self.market_makers.account_names().len()
        } else {
            0
        };
        let (maker_accounts, taker_accounts) = accounts.split_at(maker_count);
        let system = SystemAccounts {
            makers: maker_accounts.to_vec(),
            taker: taker_accounts.first().copied(),
        };
        let mut setups = Vec::with_capacity(symbols.len());
        for s in symbols {
            let name = &s.symbol.spec.name;
            let (model, path) = self.pricing_model.for_symbol(name, base_path);
            let initial = s.initial_price.0.max(1) as f64 * tick_size(s.symbol.spec.tick);
            setups.push(SymbolSetup {
                id: s.id,
                name: name.clone(),
                tick: s.symbol.spec.tick,
                base: s.symbol.base,
                quote: s.symbol.quote,
                initial_price: s.initial_price,
                model: match custom_model(name) {
                    Some(custom) => custom,
                    None => model.build(initial, &path)?,
                },
                maker: if self.market_makers.enabled {
                    Some(self.market_makers.resolve(s.symbol, base_path)?)
                } else {
                    None
                },
                taker: if self.taker_flow.enabled {
                    Some(self.taker_flow.resolve(s.symbol, base_path)?)
                } else {
                    None
                },
            });
        }
        Ok(Market::new(setups, system, seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<MarketConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn empty_object_gives_the_defaults() {
        let config = parse("{}").unwrap();
        assert_eq!(config, MarketConfig::default());
        config.validate("exchange").unwrap();
        assert_eq!(
            config.system_account_names(),
            ["market-maker-1", "market-maker-2", "taker-flow"]
        );
    }

    #[test]
    fn the_original_gbm_keys_parse() {
        let config =
            parse(r#"{"pricing_model": {"model_type": "gbm", "drift": 0.0, "volatility": 0.5}}"#)
                .unwrap();
        assert_eq!(
            config.pricing_model,
            PricingModels::All(ModelConfig::Gbm(GbmConfig {
                drift: 0.0,
                volatility: 0.5
            }))
        );
    }

    #[test]
    fn every_model_type_parses() {
        for json in [
            r#"{"model_type": "random_walk", "volatility": 0.3}"#,
            r#"{"model_type": "gbm"}"#,
            r#"{"model_type": "trend", "persistence": 0.7}"#,
            r#"{"model_type": "mean_reverting", "level": 100.0, "speed": 0.01}"#,
            r#"{"model_type": "jump", "jump_rate_per_s": 0.1, "jump_std": 0.05}"#,
            r#"{"model_type": "replay", "csv": "0,1\n1,2", "speed": 2.0, "timestamp_unit": "ms"}"#,
        ] {
            let model: ModelConfig = serde_json::from_str(json).unwrap();
            model.validate("m").unwrap();
            model.build(100.0, "m").unwrap();
        }
    }

    #[test]
    fn every_model_stays_on_the_tick_and_above_zero() {
        use crate::models::PriceTrack;
        use engine::Increment;
        use rand::SeedableRng;

        let wild = [
            r#"{"model_type": "random_walk", "drift": -20.0, "volatility": 20.0}"#,
            r#"{"model_type": "gbm", "drift": -20.0, "volatility": 20.0}"#,
            r#"{"model_type": "trend", "drift": -20.0, "volatility": 20.0, "persistence": 0.9}"#,
            r#"{"model_type": "mean_reverting", "level": 0.01, "speed": 0.5, "volatility": 50.0}"#,
            r#"{"model_type": "jump", "jump_rate_per_s": 1.0, "jump_mean": -0.5, "jump_std": 1.0}"#,
            r#"{"model_type": "replay", "csv": "0,0.001\n1,0.004\n2,5.5", "repeat": true}"#,
        ];
        let tick = Increment { units: 5, scale: 2 };
        for json in wild {
            let model: ModelConfig = serde_json::from_str(json).unwrap();
            let mut track = PriceTrack::new(model.build(1.0, "m").unwrap(), Price(20), tick);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
            let mut lowest = i64::MAX;
            for step in 0..20_000u64 {
                let price = track.advance(step * 60_000_000_000, &mut rng);
                lowest = lowest.min(price.0);
                // The track's value is the tick price's own value to within half a tick.
                assert!(
                    (track.value() - price.0 as f64 * 0.05).abs() <= 0.025 + 1e-9 || price.0 == 1
                );
            }
            assert!(lowest >= 1, "{json}: {lowest}");
        }
    }

    #[test]
    fn per_symbol_models_name_the_symbol_in_errors() {
        let config = parse(
            r#"{"pricing_model": {
                "BTC/USD": {"model_type": "jump"},
                "ETH/USD": {"model_type": "mean_reverting", "speed": -1}
            }}"#,
        )
        .unwrap();
        let err = config.validate("exchange").unwrap_err();
        assert_eq!(err.path, "exchange.pricing_model.ETH/USD.speed");
        let (model, path) = config.pricing_model.for_symbol("XRP/USD", "exchange");
        assert_eq!(
            (model, path.as_str()),
            (ModelConfig::default(), "exchange.pricing_model")
        );

        let err = parse(r#"{"pricing_model": {"ETH/USD": {"model_type": "gbm", "vol": 1}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ETH/USD") && err.contains("vol"), "{err}");
    }

    #[test]
    fn unknown_keys_and_model_types_are_refused() {
        for json in [
            r#"{"pricing_model": {"model_type": "gbm", "volatilty": 0.5}}"#,
            r#"{"pricing_model": {"model_type": "brownian"}}"#,
            r#"{"market_makers": {"level": 5}}"#,
            r#"{"taker_flow": {"rate": 5}}"#,
            r#"{"candles": {"limit": 5}}"#,
            r#"{"makers": {}}"#,
        ] {
            assert!(parse(json).is_err(), "{json} parsed");
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (
                r#"{"market_makers": {"levels": 0}}"#,
                "exchange.market_makers.levels",
            ),
            (
                r#"{"market_makers": {"refresh_ms": 0}}"#,
                "exchange.market_makers.refresh_ms",
            ),
            (
                r#"{"market_makers": {"size_jitter": 1.5}}"#,
                "exchange.market_makers.size_jitter",
            ),
            (
                r#"{"market_makers": {"accounts": 0}}"#,
                "exchange.market_makers.accounts",
            ),
            (
                r#"{"market_makers": {"accounts": ["a", "a"]}}"#,
                "exchange.market_makers.accounts",
            ),
            (
                r#"{"taker_flow": {"rate_per_s": -1}}"#,
                "exchange.taker_flow.rate_per_s",
            ),
            (
                r#"{"taker_flow": {"market_fraction": 2}}"#,
                "exchange.taker_flow.market_fraction",
            ),
            (
                r#"{"candles": {"history_limit": 0}}"#,
                "exchange.candles.history_limit",
            ),
            (
                r#"{"pricing_model": {"model_type": "replay", "speed": 1}}"#,
                "exchange.pricing_model.csv_path",
            ),
        ];
        for (json, path) in cases {
            let err = parse(json).unwrap().validate("exchange").unwrap_err();
            assert_eq!(err.path, path, "{json}: {err}");
        }
    }

    #[test]
    fn disabled_parts_need_no_accounts() {
        let config = parse(
            r#"{"market_makers": {"enabled": false, "accounts": 0}, "taker_flow": {"enabled": false}}"#,
        )
        .unwrap();
        config.validate("exchange").unwrap();
        assert!(config.system_account_names().is_empty());
    }

    #[test]
    fn maker_account_names_from_a_list() {
        let config = parse(r#"{"market_makers": {"accounts": ["mm-a", "mm-b", "mm-c"]}}"#).unwrap();
        assert_eq!(
            config.market_makers.account_names(),
            ["mm-a", "mm-b", "mm-c"]
        );
    }

    #[test]
    fn defaults_round_trip_through_json() {
        let json = serde_json::to_string(&MarketConfig::default()).unwrap();
        assert_eq!(parse(&json).unwrap(), MarketConfig::default());
    }
}
