//! One-shot faults armed at run time ("drop the next 2 ORDER_FILL for account alice"): each acts on
//! the next `count` frames its filter covers, then disarms itself.

use serde_json::Value;

use crate::filter::{DirectionFilter, Filter, Target};
use crate::reader::ObjectReader;
use crate::FaultConfigError;

/// The most frames one one-shot fault may act on.
pub const ONE_SHOT_COUNT_MAX: u64 = 1_000_000;

/// What a one-shot fault does to each frame it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneShotAction {
    /// Lose the frame.
    Drop,
    /// Deliver the frame twice.
    Duplicate,
    /// Hold the frame back this long.
    Delay {
        /// `delay_ms`: the extra wait.
        delay_ms: u64,
    },
}

/// A one-shot fault: `{"action": "drop", "count": 2, "message_types": ["ORDER_FILL"],
/// "accounts": ["alice"]}` (plus any other filter key; `delay_ms` for `delay`).
#[derive(Debug, Clone, PartialEq)]
pub struct OneShot {
    /// `action`: drop, duplicate or delay.
    pub action: OneShotAction,
    /// `count` (default 1): how many frames it acts on.
    pub count: u64,
    /// The filter choosing the frames (direction defaults to outbound).
    pub filter: Filter,
}

impl OneShot {
    /// Reads a one-shot fault from its JSON form; errors name paths under `one_shot`.
    pub fn from_json(value: &Value) -> Result<Self, FaultConfigError> {
        let mut reader = ObjectReader::new("one_shot", value)?;
        let action = reader.choice_or("action", &["drop", "duplicate", "delay"], "drop")?;
        let delay_ms = reader.integer_in("delay_ms", 0, 3_600_000)?;
        let action = match (action, delay_ms) {
            ("delay", delay_ms) => OneShotAction::Delay {
                delay_ms: delay_ms.unwrap_or(1000),
            },
            (_, Some(_)) => return Err(reader.error("delay_ms", "only applies to action delay")),
            ("duplicate", None) => OneShotAction::Duplicate,
            _ => OneShotAction::Drop,
        };
        let count = reader
            .integer_in("count", 1, ONE_SHOT_COUNT_MAX)?
            .unwrap_or(1);
        let filter = Filter::read(&mut reader, DirectionFilter::Outbound)?;
        reader.finish()?;
        Ok(Self {
            action,
            count,
            filter,
        })
    }
}

/// An armed one-shot fault and how many frames it still takes.
#[derive(Debug, Clone)]
pub(crate) struct Armed {
    pub shot: OneShot,
    pub remaining: u64,
}

/// Takes one frame for the first armed fault covering `target`, disarming spent ones.
pub(crate) fn take(armed: &mut Vec<Armed>, target: &Target<'_>) -> Option<OneShotAction> {
    let position = armed
        .iter()
        .position(|entry| entry.remaining > 0 && entry.shot.filter.matches(target, &[]))?;
    let entry = armed.get_mut(position)?;
    entry.remaining -= 1;
    let action = entry.shot.action;
    if entry.remaining == 0 {
        armed.remove(position);
    }
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;

    #[test]
    fn parses_and_rejects_with_paths() {
        let shot = OneShot::from_json(
            &serde_json::json!({"action": "delay", "delay_ms": 300, "count": 2}),
        )
        .unwrap();
        assert_eq!(shot.action, OneShotAction::Delay { delay_ms: 300 });
        assert_eq!(shot.count, 2);
        let error =
            OneShot::from_json(&serde_json::json!({"action": "drop", "count": 0})).unwrap_err();
        assert_eq!(error.path, "one_shot.count");
        let error =
            OneShot::from_json(&serde_json::json!({"action": "drop", "delay_ms": 5})).unwrap_err();
        assert_eq!(error.path, "one_shot.delay_ms");
        let error = OneShot::from_json(&serde_json::json!({"colour": "red"})).unwrap_err();
        assert_eq!(error.path, "one_shot.colour");
    }

    #[test]
    fn takes_exactly_count_matching_frames() {
        let shot = OneShot::from_json(&serde_json::json!({"count": 2, "message_types": ["ORDER_FILL"], "accounts": ["alice"]})).unwrap();
        let mut armed = vec![Armed {
            remaining: shot.count,
            shot,
        }];
        let fill = Target {
            direction: Some(Direction::Outbound),
            message_type: Some("ORDER_FILL"),
            channel: None,
            account: Some("alice"),
            now_ms: 0,
        };
        let ack = Target {
            message_type: Some("ORDER_ACK"),
            ..fill
        };
        assert_eq!(take(&mut armed, &ack), None);
        assert_eq!(take(&mut armed, &fill), Some(OneShotAction::Drop));
        assert_eq!(take(&mut armed, &fill), Some(OneShotAction::Drop));
        assert_eq!(take(&mut armed, &fill), None);
        assert!(armed.is_empty());
    }
}
