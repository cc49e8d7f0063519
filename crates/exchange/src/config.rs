//! What the core is built from: the engine's symbols and fees, the market, the configured
//! accounts and the bounds on what it remembers. The server derives it from its configuration
//! file; the simulator and the journal's replay build the same thing.

use engine::EngineConfig;

/// The core's set-up. Every limit is a number here, with its unit in its name.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Symbols, fees, self-trade prevention, history bounds of the engine.
    pub engine: EngineConfig,
    /// The synthetic market (price models, makers, takers, candles).
    pub market: market::MarketConfig,
    /// Opening price per symbol name (decimal text); every symbol needs one when the market runs.
    pub initial_prices: Vec<(String, String)>,
    /// Accounts a client can log in to.
    pub accounts: Vec<AccountSetup>,
    /// What every new anonymous account is funded with: asset name and decimal text.
    pub default_balances: Vec<(String, String)>,
    /// What the core remembers, and for how long.
    pub history: HistoryLimits,
    /// One market step.
    pub market_step_ns: u64,
    /// Market steps per ticker interval: the ticker publishes on every n-th step.
    pub steps_per_tick: u64,
    /// The market steps only when asked ([`crate::Input::AdvanceMarket`]), never on a timer.
    pub manual_clock: bool,
    /// Connections older than this get a notice, then are closed.
    pub max_connection_age_ns: Option<u64>,
}

/// A configured account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSetup {
    pub name: String,
    pub api_key: String,
    /// Opening balances, asset name and decimal text; assets not listed start at zero.
    pub balances: Vec<(String, String)>,
}

/// How much the core remembers beyond the engine's own histories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Private events kept per configured account for RESUME.
    pub resume_events_per_account: usize,
    /// How long private events are kept for RESUME, and how long a released resume token lives.
    pub resume_max_age_ns: u64,
    /// How long an anonymous account whose connection closed is kept before it is retired (when
    /// it holds no open order).
    pub anonymous_grace_ns: u64,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits {
            resume_events_per_account: 10_000,
            resume_max_age_ns: 300 * 1_000_000_000,
            anonymous_grace_ns: 60 * 1_000_000_000,
        }
    }
}
