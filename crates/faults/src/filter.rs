//! Aiming a mode: which direction, message types, channels and accounts it touches, and when.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The direction of a frame on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client to the server.
    Inbound,
    /// From the server to the client.
    Outbound,
}

impl Direction {
    /// The lower-case name used in config, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The directions a mode applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectionFilter {
    /// Client to server only.
    Inbound,
    /// Server to client only.
    Outbound,
    /// Both directions.
    Both,
}

impl DirectionFilter {
    fn name(self) -> &'static str {
        match self {
            DirectionFilter::Inbound => "inbound",
            DirectionFilter::Outbound => "outbound",
            DirectionFilter::Both => "both",
        }
    }

    /// Whether frames going `direction` are covered.
    pub fn covers(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (DirectionFilter::Both, _)
                | (DirectionFilter::Inbound, Direction::Inbound)
                | (DirectionFilter::Outbound, Direction::Outbound)
        )
    }
}

/// What a decision is about: the facts a filter compares against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// The frame's direction; `None` for connection-level events.
    pub direction: Option<Direction>,
    /// The frame's `type`, when known.
    pub message_type: Option<&'a str>,
    /// The frame's `channel`, when it has one.
    pub channel: Option<&'a str>,
    /// The connection's account name, when logged in or named.
    pub account: Option<&'a str>,
    /// Milliseconds since server start.
    pub now_ms: u64,
}

/// The optional filters every mode takes. An absent filter matches everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// `direction`: inbound, outbound or both (default both, or the mode's natural direction).
    pub direction: DirectionFilter,
    /// `message_types`: only frames whose `type` is listed.
    pub message_types: Option<Vec<String>>,
    /// `channels`: only frames whose `channel` is listed.
    pub channels: Option<Vec<String>>,
    /// `accounts`: only connections bound to a listed account (or connection key).
    pub accounts: Option<Vec<String>>,
    /// `start_s`: active from this many seconds after server start.
    pub start_s: Option<f64>,
    /// `end_s`: inactive from this many seconds after server start.
    pub end_s: Option<f64>,
    /// What `message_types` stands for: each listed name resolved to the types it matches
    /// (Binance names to their native types), so frames are compared without lookups.
    pub(crate) types: Option<Vec<&'static str>>,
}

impl Filter {
    /// Reads the filter keys of a mode object; `default_direction` applies when `direction` is absent.
    pub(crate) fn read(
        reader: &mut ObjectReader<'_>,
        default_direction: DirectionFilter,
    ) -> Result<Self, FaultConfigError> {
        let direction = match reader.choice_or(
            "direction",
            &["inbound", "outbound", "both"],
            default_direction.name(),
        )? {
            "inbound" => DirectionFilter::Inbound,
            "outbound" => DirectionFilter::Outbound,
            _ => DirectionFilter::Both,
        };
        let message_types = reader.string_list("message_types")?;
        let types = match &message_types {
            None => None,
            Some(names) => Some(resolve_types(reader, names)?),
        };
        let channels = reader.string_list("channels")?;
        let accounts = reader.string_list("accounts")?;
        let start_s = reader.number_in("start_s", 0.0, f64::MAX)?;
        let end_s = reader.number_in("end_s", 0.0, f64::MAX)?;
        if let (Some(start), Some(end)) = (start_s, end_s) {
            if end <= start {
                return Err(reader.error("end_s", "must be greater than start_s"));
            }
        }
        Ok(Self {
            direction,
            message_types,
            channels,
            accounts,
            start_s,
            end_s,
            types,
        })
    }

    /// Writes the filter keys into a mode object (absent filters are left out).
    pub(crate) fn write(&self, map: &mut Map<String, Value>) {
        map.insert("direction".into(), Value::from(self.direction.name()));
        let lists = [
            ("message_types", &self.message_types),
            ("channels", &self.channels),
            ("accounts", &self.accounts),
        ];
        for (key, list) in lists {
            if let Some(items) = list {
                map.insert(key.into(), Value::from(items.clone()));
            }
        }
        if let Some(start) = self.start_s {
            map.insert("start_s".into(), Value::from(start));
        }
        if let Some(end) = self.end_s {
            map.insert("end_s".into(), Value::from(end));
        }
    }

    /// Whether the time window covers `now_ms`.
    pub(crate) fn in_window(&self, now_ms: u64) -> bool {
        let now_s = now_ms as f64 / 1000.0;
        !matches!(self.start_s, Some(start) if now_s < start)
            && !matches!(self.end_s, Some(end) if now_s >= end)
    }

    /// Whether the filter covers `target`. `default_types` narrows a mode to its natural message
    /// types (e.g. ORDER_CANCEL for `lost_cancel_ack`) when `message_types` is absent; empty means all.
    pub(crate) fn matches(&self, target: &Target<'_>, default_types: &[&str]) -> bool {
        if let Some(direction) = target.direction {
            if !self.direction.covers(direction) {
                return false;
            }
        }
        let type_ok = match (&self.types, target.message_type) {
            (Some(types), Some(message_type)) => types.contains(&message_type),
            (Some(_), None) => false,
            (None, Some(message_type)) => {
                default_types.is_empty() || default_types.contains(&message_type)
            }
            (None, None) => default_types.is_empty(),
        };
        let channel_ok = match (&self.channels, target.channel) {
            (Some(channels), Some(channel)) => channels.iter().any(|listed| listed == channel),
            (Some(_), None) => false,
            (None, _) => true,
        };
        let account_ok = match (&self.accounts, target.account) {
            (Some(accounts), Some(account)) => accounts.iter().any(|listed| listed == account),
            (Some(_), None) => false,
            (None, _) => true,
        };
        type_ok && channel_ok && account_ok && self.in_window(target.now_ms)
    }
}

/// The types a `message_types` list matches; an unknown name is refused with its position and
/// the nearest valid name (it would never match).
fn resolve_types(
    reader: &ObjectReader<'_>,
    names: &[String],
) -> Result<Vec<&'static str>, FaultConfigError> {
    let mut types: Vec<&'static str> = Vec::with_capacity(names.len());
    for (position, name) in names.iter().enumerate() {
        let resolved = crate::names::resolve(name).ok_or_else(|| {
            FaultConfigError::new(
                &format!("{}[{position}]", reader.key_path("message_types")),
                crate::names::unknown_name_message(name),
            )
        })?;
        for native in resolved {
            if !types.contains(native) {
                types.push(native);
            }
        }
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(json: Value) -> Filter {
        let mut reader = ObjectReader::new("m", &json).unwrap();
        let filter = Filter::read(&mut reader, DirectionFilter::Both).unwrap();
        reader.finish().unwrap();
        filter
    }

    fn target(
        direction: Direction,
        message_type: &'static str,
        channel: Option<&'static str>,
        account: Option<&'static str>,
        now_ms: u64,
    ) -> Target<'static> {
        Target {
            direction: Some(direction),
            message_type: Some(message_type),
            channel,
            account,
            now_ms,
        }
    }

    #[test]
    fn filters_touch_only_what_they_name() {
        let aimed = filter(serde_json::json!({
            "direction": "outbound", "message_types": ["ORDER_FILL"], "accounts": ["alice"],
            "start_s": 10, "end_s": 20
        }));
        assert!(aimed.matches(
            &target(
                Direction::Outbound,
                "ORDER_FILL",
                None,
                Some("alice"),
                10_000
            ),
            &[]
        ));
        assert!(aimed.matches(
            &target(
                Direction::Outbound,
                "ORDER_FILL",
                None,
                Some("alice"),
                19_999
            ),
            &[]
        ));
        assert!(!aimed.matches(
            &target(
                Direction::Outbound,
                "ORDER_FILL",
                None,
                Some("alice"),
                9_999
            ),
            &[]
        ));
        assert!(!aimed.matches(
            &target(
                Direction::Outbound,
                "ORDER_FILL",
                None,
                Some("alice"),
                20_000
            ),
            &[]
        ));
        assert!(!aimed.matches(
            &target(
                Direction::Inbound,
                "ORDER_FILL",
                None,
                Some("alice"),
                15_000
            ),
            &[]
        ));
        assert!(!aimed.matches(
            &target(
                Direction::Outbound,
                "ORDER_ACK",
                None,
                Some("alice"),
                15_000
            ),
            &[]
        ));
        assert!(!aimed.matches(
            &target(Direction::Outbound, "ORDER_FILL", None, Some("bob"), 15_000),
            &[]
        ));
        assert!(!aimed.matches(
            &target(Direction::Outbound, "ORDER_FILL", None, None, 15_000),
            &[]
        ));

        let channels = filter(serde_json::json!({"channels": ["TRADES"]}));
        assert!(channels.matches(
            &target(Direction::Outbound, "TRADE", Some("TRADES"), None, 0),
            &[]
        ));
        assert!(!channels.matches(
            &target(Direction::Outbound, "MARKET_DATA", Some("TICKER"), None, 0),
            &[]
        ));
        assert!(!channels.matches(
            &target(Direction::Outbound, "ORDER_ACK", None, None, 0),
            &[]
        ));
    }

    #[test]
    fn default_types_apply_only_without_message_types() {
        let open = filter(serde_json::json!({}));
        assert!(open.matches(
            &target(Direction::Outbound, "ORDER_CANCEL", None, None, 0),
            &["ORDER_CANCEL"]
        ));
        assert!(!open.matches(
            &target(Direction::Outbound, "ORDER_FILL", None, None, 0),
            &["ORDER_CANCEL"]
        ));
        let named = filter(serde_json::json!({"message_types": ["ORDER_FILL"]}));
        assert!(named.matches(
            &target(Direction::Outbound, "ORDER_FILL", None, None, 0),
            &["ORDER_CANCEL"]
        ));
    }

    #[test]
    fn binance_names_aim_at_the_native_types_they_are_shown_as() {
        let reports = filter(serde_json::json!({"message_types": ["executionReport"]}));
        for native in ["ORDER_ACK", "ORDER_FILL", "ORDER_CANCEL", "ORDER_AMENDED"] {
            assert!(
                reports.matches(&target(Direction::Outbound, native, None, None, 0), &[]),
                "{native}"
            );
        }
        assert!(!reports.matches(
            &target(Direction::Outbound, "BALANCE_UPDATE", None, None, 0),
            &[]
        ));
        // The Binance name itself is not a type the server reports.
        assert!(!reports.matches(
            &target(Direction::Outbound, "executionReport", None, None, 0),
            &[]
        ));
        // Native names, Binance names and REST paths mix; the listed names are kept as written.
        let mixed = filter(serde_json::json!({
            "message_types": ["depthUpdate", "TRADE", "order.place", "/api/v3/order"]
        }));
        for name in [
            "ORDERBOOK_UPDATE",
            "ORDERBOOK_SNAPSHOT",
            "TRADE",
            "PLACE_ORDER",
            "/api/v3/order",
        ] {
            assert!(
                mixed.matches(&target(Direction::Inbound, name, None, None, 0), &[]),
                "{name}"
            );
        }
        assert_eq!(
            mixed.message_types.as_deref(),
            Some(
                &[
                    "depthUpdate".to_owned(),
                    "TRADE".to_owned(),
                    "order.place".to_owned(),
                    "/api/v3/order".to_owned()
                ][..]
            )
        );
    }

    #[test]
    fn unknown_message_types_are_refused_with_the_nearest_name() {
        for (name, near) in [
            ("ORDER_FIL", "ORDER_FILL"),
            ("executionreport", "executionReport"),
            ("depthupdate", "depthUpdate"),
            ("/api/v3/ordr", "/api/v3/order"),
        ] {
            let json = serde_json::json!({"message_types": ["TRADE", name]});
            let mut reader = ObjectReader::new("m", &json).unwrap();
            let error = Filter::read(&mut reader, DirectionFilter::Both).unwrap_err();
            assert_eq!(error.path, "m.message_types[1]");
            assert!(
                error.message.contains(&format!("(did you mean `{near}`?)")),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn bad_filters_name_their_path() {
        let json = serde_json::json!({"direction": "sideways"});
        let mut reader = ObjectReader::new("m", &json).unwrap();
        let error = Filter::read(&mut reader, DirectionFilter::Both).unwrap_err();
        assert_eq!(error.path, "m.direction");
        let json = serde_json::json!({"start_s": 5, "end_s": 5});
        let mut reader = ObjectReader::new("m", &json).unwrap();
        assert_eq!(
            Filter::read(&mut reader, DirectionFilter::Both)
                .unwrap_err()
                .path,
            "m.end_s"
        );
        let json = serde_json::json!({"accounts": ["alice", 3]});
        let mut reader = ObjectReader::new("m", &json).unwrap();
        assert_eq!(
            Filter::read(&mut reader, DirectionFilter::Both)
                .unwrap_err()
                .path,
            "m.accounts[1]"
        );
    }
}
