//! What the server tells the dialect about the moment of a request.

use engine::ClientOrderId;

use crate::keys::Keys;
use crate::venue::Venue;

/// The exchange, its keys, its clock, and an id for an order placed without one.
pub struct Context<'a> {
    pub venue: &'a Venue,
    pub keys: &'a dyn Keys,
    /// The server's clock as signed requests are checked against (with any skew).
    pub now_ms: u64,
    /// A fresh client order id for an order placed without one.
    pub generated_id: Option<ClientOrderId>,
}
