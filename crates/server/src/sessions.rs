//! Session resume: what the engine thread remembers so that a client can reconnect and continue
//! where it stopped.
//!
//! - [`ResumeBuffer`]: per account, the latest private events (rendered once, without
//!   `request_id`) with their gap-free `account_seq`, bounded by count and by age. RESUME replays
//!   from it.
//! - [`Sessions`]: the resume tokens handed out by LOGIN and RESUME. A token stays valid while a
//!   connection holds it and for the buffer's age after that connection closed, because a token
//!   is no use once the events it would resume are gone.
//!
//! Both live on the engine thread, so a replay and the live events after it are in one order.

use std::collections::{HashMap, VecDeque};

use engine::AccountId;

use crate::core::ConnId;
use crate::outbound::Frame;

/// One private event as it was sent, without `request_id`.
#[derive(Clone, Debug)]
struct Buffered {
    account_seq: u64,
    at_ns: u64,
    frame: Frame,
}

/// An account's recent private events, oldest first, with gap-free `account_seq`.
///
/// The buffer covers `(floor_seq, newest_seq]` completely. `floor_seq` starts at the account's
/// `account_seq` when the buffer was made (opening deposits are not news and are never sent, so
/// nothing before it can be missed) and moves up as old events are evicted.
#[derive(Debug)]
pub struct ResumeBuffer {
    events: VecDeque<Buffered>,
    /// The account_seq when buffering began: events up to it were never sent to anyone.
    opening_seq: u64,
    /// The newest account_seq no longer (or never) held.
    floor_seq: u64,
    /// The newest account_seq held (or `floor_seq` when empty).
    newest_seq: u64,
    max_events: usize,
    max_age_ns: u64,
}

/// What a RESUME gets: the frames to send, and the range they cover.
#[derive(Debug)]
pub struct Replay {
    /// The first account_seq replayed; `to + 1` when nothing was missed.
    pub from: u64,
    /// The account's latest account_seq.
    pub to: u64,
    /// The missed events in order, each as it was first sent (without `request_id`).
    pub frames: Vec<Frame>,
}

/// Why a RESUME cannot replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// `last_account_seq` is ahead of the account's latest account_seq.
    Ahead { current: u64 },
    /// Events after `last_account_seq` were evicted: the oldest still held is
    /// `oldest_available` (`current + 1` when none is held).
    Gap { oldest_available: u64, current: u64 },
}

impl ResumeBuffer {
    /// An empty buffer for an account whose latest account_seq is `opening_seq`.
    pub fn new(opening_seq: u64, max_events: usize, max_age_ns: u64) -> ResumeBuffer {
        ResumeBuffer {
            events: VecDeque::new(),
            opening_seq,
            floor_seq: opening_seq,
            newest_seq: opening_seq,
            max_events,
            max_age_ns,
        }
    }

    /// The newest account_seq seen.
    pub fn newest_seq(&self) -> u64 {
        self.newest_seq
    }

    /// How many events are held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Records the event with `account_seq` (the next one after the newest), then evicts what
    /// is over the count or older than the age.
    pub fn push(&mut self, account_seq: u64, now_ns: u64, frame: Frame) {
        debug_assert_eq!(account_seq, self.newest_seq + 1, "account_seq gap");
        if account_seq != self.newest_seq + 1 {
            // An event went unrecorded: what is held no longer reaches this one without a hole.
            self.events.clear();
            self.floor_seq = account_seq.saturating_sub(1);
        }
        self.newest_seq = account_seq;
        self.events.push_back(Buffered {
            account_seq,
            at_ns: now_ns,
            frame,
        });
        while self.events.len() > self.max_events {
            self.evict_oldest();
        }
        self.expire(now_ns);
    }

    /// Evicts the events older than the age.
    pub fn expire(&mut self, now_ns: u64) {
        while self
            .events
            .front()
            .is_some_and(|e| now_ns.saturating_sub(e.at_ns) > self.max_age_ns)
        {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        if let Some(e) = self.events.pop_front() {
            self.floor_seq = e.account_seq;
        }
    }

    /// The events after `last_seen`, if the buffer still reaches back to `last_seen + 1`.
    /// A client that saw nothing yet (`last_seen` before the opening seq) misses nothing before
    /// the opening seq: those events were never sent.
    pub fn replay(&mut self, last_seen: u64, now_ns: u64) -> Result<Replay, ResumeError> {
        self.expire(now_ns);
        let current = self.newest_seq;
        if last_seen > current {
            return Err(ResumeError::Ahead { current });
        }
        let last_seen = last_seen.max(self.opening_seq);
        if last_seen < self.floor_seq {
            return Err(ResumeError::Gap {
                oldest_available: self.floor_seq + 1,
                current,
            });
        }
        // Held events are contiguous from floor_seq + 1, so the first missed one is at a known
        // offset.
        let skip = usize::try_from(last_seen - self.floor_seq).unwrap_or(usize::MAX);
        let frames = self
            .events
            .iter()
            .skip(skip)
            .map(|e| e.frame.clone())
            .collect();
        Ok(Replay {
            from: last_seen + 1,
            to: current,
            frames,
        })
    }
}

/// A logical session: what a resume token stands for.
#[derive(Clone, Debug)]
struct Session {
    account: AccountId,
    session_id: String,
    /// The connection using the token now, if any.
    holder: Option<ConnId>,
    /// When the token stops working if no connection holds it.
    expires_at_ns: u64,
}

/// A session a token resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub account: AccountId,
    pub session_id: String,
}

/// The resume tokens in force.
#[derive(Debug, Default)]
pub struct Sessions {
    tokens: HashMap<String, Session>,
    by_conn: HashMap<ConnId, String>,
    max_age_ns: u64,
}

impl Sessions {
    /// No tokens; a released token lives `max_age_ns`.
    pub fn new(max_age_ns: u64) -> Sessions {
        Sessions {
            tokens: HashMap::new(),
            by_conn: HashMap::new(),
            max_age_ns,
        }
    }

    /// Gives `conn` a new session with `token`. The connection's previous token (if any) is
    /// released.
    pub fn issue(
        &mut self,
        conn: ConnId,
        account: AccountId,
        token: String,
        session_id: String,
        now_ns: u64,
    ) {
        self.release(conn, now_ns);
        self.by_conn.insert(conn, token.clone());
        self.tokens.insert(
            token,
            Session {
                account,
                session_id,
                holder: Some(conn),
                expires_at_ns: u64::MAX,
            },
        );
    }

    /// The session of a token, if it is still valid.
    pub fn lookup(&self, token: &str, now_ns: u64) -> Option<SessionInfo> {
        let s = self.tokens.get(token)?;
        (s.holder.is_some() || now_ns < s.expires_at_ns).then(|| SessionInfo {
            account: s.account,
            session_id: s.session_id.clone(),
        })
    }

    /// Moves a valid token to `conn` (a reconnect), taking it from any connection that still
    /// held it (a half-open link the server has not noticed yet). Returns the session.
    pub fn adopt(&mut self, token: &str, conn: ConnId, now_ns: u64) -> Option<SessionInfo> {
        let info = self.lookup(token, now_ns)?;
        self.release(conn, now_ns);
        let session = self.tokens.get_mut(token)?;
        if let Some(old) = session.holder.replace(conn) {
            self.by_conn.remove(&old);
        }
        session.expires_at_ns = u64::MAX;
        self.by_conn.insert(conn, token.to_string());
        Some(info)
    }

    /// The connection closed: its token stays valid for the age from now.
    pub fn release(&mut self, conn: ConnId, now_ns: u64) {
        let Some(token) = self.by_conn.remove(&conn) else {
            return;
        };
        if let Some(s) = self.tokens.get_mut(&token) {
            s.holder = None;
            s.expires_at_ns = now_ns.saturating_add(self.max_age_ns);
        }
    }

    /// The client ended its session (LOGOUT): its token stops working now.
    pub fn revoke(&mut self, conn: ConnId) {
        if let Some(token) = self.by_conn.remove(&conn) {
            self.tokens.remove(&token);
        }
    }

    /// Forgets expired tokens.
    pub fn sweep(&mut self, now_ns: u64) {
        self.tokens
            .retain(|_, s| s.holder.is_some() || now_ns < s.expires_at_ns);
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn frame(n: u64) -> Frame {
        Frame::private(
            "ORDER_ACK",
            format!("{{\"type\":\"ORDER_ACK\",\"account_seq\":{n}}}"),
        )
    }

    fn seqs(r: &Replay) -> Vec<u64> {
        r.frames
            .iter()
            .map(|f| {
                let v: serde_json::Value = serde_json::from_str(&f.body).unwrap();
                v["account_seq"].as_u64().unwrap()
            })
            .collect()
    }

    fn filled(opening: u64, last: u64, max_events: usize) -> ResumeBuffer {
        let mut b = ResumeBuffer::new(opening, max_events, 300 * SEC);
        for n in opening + 1..=last {
            b.push(n, n * SEC, frame(n));
        }
        b
    }

    #[test]
    fn replays_everything_after_last_seen_in_order() {
        let mut b = filled(0, 5, 100);
        let r = b.replay(2, 6 * SEC).unwrap();
        assert_eq!((r.from, r.to), (3, 5));
        assert_eq!(seqs(&r), vec![3, 4, 5]);
    }

    #[test]
    fn nothing_missed_gives_an_empty_range() {
        let mut b = filled(0, 5, 100);
        let r = b.replay(5, 6 * SEC).unwrap();
        assert_eq!((r.from, r.to), (6, 5));
        assert!(r.frames.is_empty());
        let mut empty = ResumeBuffer::new(0, 100, SEC);
        let r = empty.replay(0, 0).unwrap();
        assert_eq!((r.from, r.to), (1, 0));
    }

    #[test]
    fn opening_deposits_are_not_missed() {
        // Three hidden funding events (1..=3), then two sent ones.
        let mut b = filled(3, 5, 100);
        let r = b.replay(0, 6 * SEC).unwrap();
        assert_eq!((r.from, r.to), (4, 5));
        assert_eq!(seqs(&r), vec![4, 5]);
        let r = b.replay(3, 6 * SEC).unwrap();
        assert_eq!(seqs(&r), vec![4, 5]);
    }

    #[test]
    fn count_eviction_makes_a_gap() {
        let mut b = filled(3, 10, 4);
        assert_eq!(b.len(), 4);
        assert_eq!(
            b.replay(5, 11 * SEC).unwrap_err(),
            ResumeError::Gap {
                oldest_available: 7,
                current: 10
            }
        );
        // Opening seq no longer covers anything once events were evicted.
        assert!(matches!(
            b.replay(0, 11 * SEC),
            Err(ResumeError::Gap { .. })
        ));
        assert_eq!(seqs(&b.replay(6, 11 * SEC).unwrap()), vec![7, 8, 9, 10]);
    }

    #[test]
    fn age_eviction_makes_a_gap_and_an_empty_buffer_still_knows_current() {
        let mut b = filled(0, 3, 100);
        // At 400 s every event (pushed at 1..3 s) is older than 300 s.
        assert_eq!(
            b.replay(1, 400 * SEC).unwrap_err(),
            ResumeError::Gap {
                oldest_available: 4,
                current: 3
            }
        );
        assert!(b.is_empty());
        let r = b.replay(3, 400 * SEC).unwrap();
        assert_eq!((r.from, r.to), (4, 3));
    }

    #[test]
    fn ahead_of_current_is_refused() {
        let mut b = filled(0, 3, 100);
        assert_eq!(
            b.replay(4, 4 * SEC).unwrap_err(),
            ResumeError::Ahead { current: 3 }
        );
    }

    #[test]
    fn zero_capacity_holds_nothing() {
        let mut b = filled(0, 3, 0);
        assert!(b.is_empty());
        assert!(b.replay(3, 4 * SEC).unwrap().frames.is_empty());
        assert!(matches!(b.replay(2, 4 * SEC), Err(ResumeError::Gap { .. })));
    }

    #[test]
    fn tokens_live_while_held_and_for_the_age_after() {
        let mut s = Sessions::new(10 * SEC);
        let alice = AccountId(1);
        s.issue(7, alice, "t1".into(), "s-7".into(), 0);
        assert_eq!(s.lookup("t1", 1_000 * SEC).unwrap().account, alice);
        s.release(7, 1_000 * SEC);
        assert!(s.lookup("t1", 1_009 * SEC).is_some());
        assert!(s.lookup("t1", 1_010 * SEC).is_none());
        assert!(s.lookup("nope", 0).is_none());
        s.sweep(1_010 * SEC);
        assert!(s.is_empty());
    }

    #[test]
    fn adopting_moves_the_token_and_keeps_the_session() {
        let mut s = Sessions::new(10 * SEC);
        s.issue(7, AccountId(1), "t1".into(), "s-7".into(), 0);
        s.release(7, 0);
        let info = s.adopt("t1", 8, 5 * SEC).unwrap();
        assert_eq!(info.session_id, "s-7");
        // Held by connection 8 now: no expiry.
        assert!(s.lookup("t1", 100 * SEC).is_some());
        // Adopted again while 8 still holds it (half-open link): 8 no longer holds it.
        s.adopt("t1", 9, 100 * SEC).unwrap();
        s.release(8, 100 * SEC);
        assert!(s.lookup("t1", 1_000 * SEC).is_some());
        // Expired tokens cannot be adopted.
        s.release(9, 1_000 * SEC);
        assert!(s.adopt("t1", 10, 1_011 * SEC).is_none());
    }

    #[test]
    fn revoke_and_reissue_end_the_old_token() {
        let mut s = Sessions::new(10 * SEC);
        s.issue(7, AccountId(1), "t1".into(), "s-7".into(), 0);
        s.issue(7, AccountId(1), "t2".into(), "s-7".into(), 0);
        assert!(s.lookup("t1", 5 * SEC).is_some(), "released, not revoked");
        assert!(s.lookup("t1", 11 * SEC).is_none());
        s.revoke(7);
        assert!(s.lookup("t2", 0).is_none());
        assert_eq!(s.len(), 1);
    }
}
