//! How the core handles each input, one duty per module: every function here is a method of
//! [`crate::Core`] that changes the duties' state (the leaf modules of the crate) and appends
//! effects. Kept apart from those state types so that nothing imports in a circle: the handlers
//! depend on the core and the states, the core and the states on no handler.

mod accounts;
mod auth;
mod calls;
mod connections;
mod market;
mod market_data;
mod orders;
mod queries;
mod timers;

pub use orders::PHANTOM_FILL_ID_BASE;
