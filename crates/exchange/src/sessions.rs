//! Session resume: what the core remembers so that a client can reconnect and continue where it
//! stopped.
//!
//! - [`ResumeBuffer`]: per configured account, the latest private events (without `request_id`)
//!   with their gap-free `account_seq`, bounded by count and by age. RESUME replays from it.
//! - [`Sessions`]: the resume tokens LOGIN and RESUME hand out. A token is
//!   `<session number>.<32 hex digits>`: the number finds the session, the digits are a 128-bit
//!   secret from the operating system's randomness (brought by the request, see
//!   [`SessionSecret`]) compared in constant time. A token is bound to its account and session,
//!   never issued twice (the numbers only grow), and stays valid while a connection holds it and
//!   for the resume buffer's age after that connection closed: a token is no use once the events
//!   it would resume are gone.
//!
//! Both live in the core, so a replay and the live events after it are in one order.

use std::collections::{HashMap, VecDeque};

use engine::AccountId;

use crate::message::Message;
use crate::request::SessionSecret;
use crate::ConnId;

/// One private event as it was sent, without `request_id`.
#[derive(Clone, Debug)]
struct Buffered {
    account_seq: u64,
    at_ns: u64,
    message: Message,
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

/// What a RESUME gets: the events to send, and the range they cover.
#[derive(Debug)]
pub struct Replay {
    /// The first account_seq replayed; `to + 1` when nothing was missed.
    pub from: u64,
    /// The account's latest account_seq.
    pub to: u64,
    /// The missed events in order, each as it was first sent (without `request_id`).
    pub messages: Vec<Message>,
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
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Records the event with `account_seq` (the next one after the newest), then evicts what
    /// is over the count or older than the age.
    pub fn push(&mut self, account_seq: u64, now_ns: u64, message: Message) {
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
            message,
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
        let messages = self
            .events
            .iter()
            .skip(skip)
            .map(|e| e.message.clone())
            .collect();
        Ok(Replay {
            from: last_seen + 1,
            to: current,
            messages,
        })
    }
}

/// A logical session: what a resume token stands for.
#[derive(Clone, Debug)]
struct Session {
    account: AccountId,
    session_id: String,
    secret: SessionSecret,
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
    by_number: HashMap<u64, Session>,
    by_conn: HashMap<ConnId, u64>,
    last_number: u64,
    max_age_ns: u64,
}

/// Compares without stopping at the first difference: a token is a secret.
fn same_secret(a: &[u8; 16], b: &[u8; 16]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits a token into its session number and secret; `None` when it is not a token's shape.
fn parse_token(token: &str) -> Option<(u64, [u8; 16])> {
    let (number, hex) = token.split_once('.')?;
    if hex.len() != 32 || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.parse().ok()?;
    let mut secret = [0u8; 16];
    for (byte, pair) in secret.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some((number, secret))
}

impl Sessions {
    /// No tokens; a released token lives `max_age_ns`.
    pub fn new(max_age_ns: u64) -> Sessions {
        Sessions {
            max_age_ns,
            ..Sessions::default()
        }
    }

    /// Gives `conn` a new session of `account` and returns its token. The connection's previous
    /// token (if any) is released.
    pub fn issue(
        &mut self,
        conn: ConnId,
        account: AccountId,
        secret: SessionSecret,
        session_id: String,
        now_ns: u64,
    ) -> String {
        debug_assert!(!secret.is_unset(), "a resume token without a secret");
        self.release(conn, now_ns);
        self.last_number += 1;
        let number = self.last_number;
        self.by_conn.insert(conn, number);
        self.by_number.insert(
            number,
            Session {
                account,
                session_id,
                secret,
                holder: Some(conn),
                expires_at_ns: u64::MAX,
            },
        );
        let mut token = format!("{number}.");
        for byte in secret.0 {
            token.push_str(&format!("{byte:02x}"));
        }
        token
    }

    /// The session of a token, if the token is valid now.
    pub fn lookup(&self, token: &str, now_ns: u64) -> Option<SessionInfo> {
        let (number, secret) = parse_token(token)?;
        let s = self.by_number.get(&number)?;
        let valid =
            same_secret(&s.secret.0, &secret) && (s.holder.is_some() || now_ns < s.expires_at_ns);
        valid.then(|| SessionInfo {
            account: s.account,
            session_id: s.session_id.clone(),
        })
    }

    /// Moves a valid token to `conn` (a reconnect), taking it from any connection that still
    /// held it (a half-open link the server has not noticed yet). Returns the session.
    pub fn adopt(&mut self, token: &str, conn: ConnId, now_ns: u64) -> Option<SessionInfo> {
        let info = self.lookup(token, now_ns)?;
        let (number, _) = parse_token(token)?;
        self.release(conn, now_ns);
        let session = self.by_number.get_mut(&number)?;
        if let Some(old) = session.holder.replace(conn) {
            self.by_conn.remove(&old);
        }
        session.expires_at_ns = u64::MAX;
        self.by_conn.insert(conn, number);
        Some(info)
    }

    /// The connection closed: its token stays valid for the age from now.
    pub fn release(&mut self, conn: ConnId, now_ns: u64) {
        let Some(number) = self.by_conn.remove(&conn) else {
            return;
        };
        if let Some(s) = self.by_number.get_mut(&number) {
            s.holder = None;
            s.expires_at_ns = now_ns.saturating_add(self.max_age_ns);
        }
    }

    /// The client ended its session (LOGOUT): its token stops working now.
    pub fn revoke(&mut self, conn: ConnId) {
        if let Some(number) = self.by_conn.remove(&conn) {
            self.by_number.remove(&number);
        }
    }

    /// Forgets expired tokens.
    pub fn sweep(&mut self, now_ns: u64) {
        self.by_number
            .retain(|_, s| s.holder.is_some() || now_ns < s.expires_at_ns);
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_number.len()
    }

    /// Whether no token is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }

    /// The connections holding a token, with their session's account (for the invariant check).
    pub fn holders(&self) -> impl Iterator<Item = (ConnId, AccountId)> + '_ {
        self.by_conn.iter().filter_map(|(&conn, number)| {
            let s = self.by_number.get(number)?;
            Some((conn, s.account))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn event(n: u64) -> Message {
        Message::ServerNotice {
            seconds_left: n,
            close_code: 0,
            at_ns: 0,
        }
    }

    fn seqs(r: &Replay) -> Vec<u64> {
        r.messages
            .iter()
            .map(|m| match m {
                Message::ServerNotice { seconds_left, .. } => *seconds_left,
                _ => 0,
            })
            .collect()
    }

    fn filled(opening: u64, last: u64, max_events: usize) -> ResumeBuffer {
        let mut b = ResumeBuffer::new(opening, max_events, 300 * SEC);
        for n in opening + 1..=last {
            b.push(n, n * SEC, event(n));
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
        assert!(r.messages.is_empty());
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
        assert!(b.replay(3, 4 * SEC).unwrap().messages.is_empty());
        assert!(matches!(b.replay(2, 4 * SEC), Err(ResumeError::Gap { .. })));
    }

    const ALICE: AccountId = AccountId(1);

    fn secret(byte: u8) -> SessionSecret {
        SessionSecret([byte; 16])
    }

    #[test]
    fn tokens_live_while_held_and_for_the_age_after() {
        let mut s = Sessions::new(10 * SEC);
        let t1 = s.issue(7, ALICE, secret(1), "s-7".into(), 0);
        assert_eq!(s.lookup(&t1, 1_000 * SEC).unwrap().account, ALICE);
        s.release(7, 1_000 * SEC);
        assert!(s.lookup(&t1, 1_009 * SEC).is_some());
        assert!(s.lookup(&t1, 1_010 * SEC).is_none());
        assert!(s.lookup("nope", 0).is_none());
        s.sweep(1_010 * SEC);
        assert!(s.is_empty());
    }

    #[test]
    fn a_token_needs_its_whole_secret() {
        let mut s = Sessions::new(10 * SEC);
        let token = s.issue(7, ALICE, secret(0xab), "s-7".into(), 0);
        assert!(s.lookup(&token, 0).is_some());
        let (number, hex) = token.split_once('.').unwrap();
        let mut wrong = hex.to_string();
        wrong.replace_range(31.., "0");
        for forged in [
            format!("{number}.{wrong}"),
            format!("{number}.{}", &hex[..31]),
            format!("{number}.{hex}0"),
            number.to_string(),
            format!("{}.{hex}", number.parse::<u64>().unwrap() + 1),
            hex.to_string(),
            String::new(),
        ] {
            assert!(s.lookup(&forged, 0).is_none(), "{forged:?}");
        }
    }

    #[test]
    fn the_same_secret_never_gives_the_same_token() {
        let mut s = Sessions::new(10 * SEC);
        let a = s.issue(7, ALICE, secret(5), "s-7".into(), 0);
        let b = s.issue(8, ALICE, secret(5), "s-8".into(), 0);
        assert_ne!(a, b);
    }

    #[test]
    fn adopting_moves_the_token_and_keeps_the_session() {
        let mut s = Sessions::new(10 * SEC);
        let t1 = s.issue(7, ALICE, secret(1), "s-7".into(), 0);
        s.release(7, 0);
        let info = s.adopt(&t1, 8, 5 * SEC).unwrap();
        assert_eq!(info.session_id, "s-7");
        // Held by connection 8 now: no expiry.
        assert!(s.lookup(&t1, 100 * SEC).is_some());
        // Adopted again while 8 still holds it (half-open link): 8 no longer holds it.
        s.adopt(&t1, 9, 100 * SEC).unwrap();
        s.release(8, 100 * SEC);
        assert!(s.lookup(&t1, 1_000 * SEC).is_some());
        // Expired tokens cannot be adopted.
        s.release(9, 1_000 * SEC);
        assert!(s.adopt(&t1, 10, 1_011 * SEC).is_none());
    }

    #[test]
    fn revoke_and_reissue_end_the_old_token() {
        let mut s = Sessions::new(10 * SEC);
        let t1 = s.issue(7, ALICE, secret(1), "s-7".into(), 0);
        let t2 = s.issue(7, ALICE, secret(2), "s-7".into(), 0);
        assert!(s.lookup(&t1, 5 * SEC).is_some(), "released, not revoked");
        assert!(s.lookup(&t1, 11 * SEC).is_none());
        s.revoke(7);
        assert!(s.lookup(&t2, 0).is_none());
        assert_eq!(s.len(), 1);
    }
}
