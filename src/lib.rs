//! exchange-simulator: a crypto exchange simulator for testing trading bots against an unreliable
//! exchange. This facade re-exports what an embedding program needs.

#![forbid(unsafe_code)]

pub use engine;
pub use faults;
pub use market::{self, PriceModel};
pub use protocol;
pub use server::config::{ClockMode, Config, ConfigError};
pub use server::{ExchangeServer, FaultInjector, ServerError};
