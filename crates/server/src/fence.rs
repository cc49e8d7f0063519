//! Answers a connection's link makes itself (RATE_LIMITED, INVALID_JSON, EXCHANGE_BUSY, ...) leave
//! in request order. The answers to earlier requests come back from the engine thread; an answer
//! written at once would overtake them. So while requests of the connection are on their way
//! through the core, the link holds its own answer and hands the core a fence
//! ([`exchange::Input::Fence`]); the core echoes it behind everything the earlier requests caused,
//! and when it comes back (`Outbound::Fence`) the held answers leave. Answers made while a fence
//! is out and no request followed it wait behind the same fence: one trip through the core per
//! burst of refusals, none at all for a connection with nothing in flight.

use std::collections::VecDeque;

/// The most answers held behind fences at once; beyond it an answer leaves at once (out of order
/// for a client flooding faster than the core can echo, but never unbounded memory).
pub const HELD_ANSWERS_MAX: usize = 4096;

/// What to do with an answer the link made itself.
#[derive(Debug, PartialEq, Eq)]
pub enum Hold {
    /// Nothing is in flight: send it now.
    SendNow(String),
    /// It waits behind a fence already on its way.
    Held,
    /// It waits behind a new fence: hand the core `Input::Fence` with this token.
    Fence(u64),
}

/// A connection's fences and the answers held behind them.
#[derive(Debug, Default)]
pub struct Fences {
    /// Fences on their way through the core, oldest first, each with its held answers.
    out: VecDeque<(u64, Vec<String>)>,
    /// The last token handed out.
    last_token: u64,
    /// A request went to the core after the last fence did (or, with none out, since the last
    /// one came back): its answers may still be on their way.
    in_flight: bool,
    /// Answers held, over every fence.
    held: usize,
}

impl Fences {
    /// A request was handed to the core.
    pub fn request_sent(&mut self) {
        self.in_flight = true;
    }

    /// An answer the link made itself: send it now, or hold it behind a fence.
    pub fn hold(&mut self, answer: String) -> Hold {
        if self.held >= HELD_ANSWERS_MAX {
            return Hold::SendNow(answer);
        }
        if self.in_flight {
            self.last_token += 1;
            self.in_flight = false;
            self.out.push_back((self.last_token, vec![answer]));
            self.held += 1;
            return Hold::Fence(self.last_token);
        }
        match self.out.back_mut() {
            Some((_, held)) => {
                held.push(answer);
                self.held += 1;
                Hold::Held
            }
            None => Hold::SendNow(answer),
        }
    }

    /// A fence came back: the answers it held, in order (none for a token not out).
    pub fn released(&mut self, token: u64) -> Vec<String> {
        match self.out.front() {
            Some((first, _)) if *first == token => {}
            _ => return Vec::new(),
        }
        let Some((_, answers)) = self.out.pop_front() else {
            return Vec::new();
        };
        self.held = self.held.saturating_sub(answers.len());
        answers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_in_flight_means_no_trip_through_the_core() {
        let mut fences = Fences::default();
        assert_eq!(fences.hold("a".into()), Hold::SendNow("a".into()));
    }

    #[test]
    fn answers_wait_behind_the_fence_of_the_requests_before_them() {
        let mut fences = Fences::default();
        fences.request_sent();
        assert_eq!(fences.hold("x1".into()), Hold::Fence(1));
        // No request since: the same fence covers it.
        assert_eq!(fences.hold("x2".into()), Hold::Held);
        fences.request_sent();
        assert_eq!(fences.hold("x3".into()), Hold::Fence(2));
        assert_eq!(
            fences.released(2),
            Vec::<String>::new(),
            "out of order: ignored"
        );
        assert_eq!(fences.released(1), vec!["x1".to_string(), "x2".to_string()]);
        assert_eq!(fences.released(2), vec!["x3".to_string()]);
        assert_eq!(fences.hold("x4".into()), Hold::SendNow("x4".into()));
    }

    #[test]
    fn held_answers_are_bounded() {
        let mut fences = Fences::default();
        fences.request_sent();
        assert_eq!(fences.hold("first".into()), Hold::Fence(1));
        for _ in 1..HELD_ANSWERS_MAX {
            assert_eq!(fences.hold("held".into()), Hold::Held);
        }
        assert_eq!(fences.hold("over".into()), Hold::SendNow("over".into()));
        assert_eq!(fences.released(1).len(), HELD_ANSWERS_MAX);
    }
}
