//! The scripted clients: what a careful bot does, written against the native protocol's frames
//! (JSON text through the real parser, link and fault layer), with the recovery the protocol
//! documents. Each keeps a view of its account or book from what it is sent, and the world
//! compares that view with the exchange's truth once the faults stop.
//!
//! - [`Trader`]: logs in, places, amends and cancels; applies private events strictly in
//!   `account_seq` order exactly once; resumes after a disconnect or a gap that does not fill; on
//!   RESUME_GAP (or a lost session) rebuilds from GET_ORDERS, GET_BALANCE and GET_FILLS. A switch
//!   user arms CANCEL_ALL_AFTER and goes quiet, so that the switch fires.
//! - [`Watcher`]: keeps the BTC/USD book from the ORDERBOOK_L2 snapshot and deltas, checking
//!   `prev_sequence` and the checksum, and subscribes again to resynchronise. A slow one stops
//!   reading now and then.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use engine::{AccountId, Price, SymbolId};
use exchange::checksum::book_checksum;
use exchange::{Catalog, ConnId, Core};
use seed::SplitMix64;
use serde_json::{json, Value};

/// What a client asks the world to do.
#[derive(Debug)]
pub enum Act {
    /// Open a new connection (the client has none).
    Connect,
    /// Send a text frame on the connection.
    Send(String),
    /// Close this connection from the client's side.
    Disconnect(ConnId),
}

/// What the client reads from its connection.
#[derive(Debug)]
pub enum Incoming {
    Text(String),
    /// The connection ended.
    Closed,
}

/// How long a gap in `account_seq` may stay open before the client resumes.
const GAP_PATIENCE_MS: u64 = 500;
/// How long an answer the client needs may take before it tries again.
const ANSWER_TIMEOUT_MS: u64 = 1_500;
/// The first and the longest wait before reconnecting.
const BACKOFF_MS: (u64, u64) = (100, 2_000);

/// A client of the world.
pub enum Client {
    Trader(Box<Trader>),
    Watcher(Box<Watcher>),
}

impl Client {
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Client::Trader(t) => t.conn,
            Client::Watcher(w) => w.conn,
        }
    }

    /// The world opened the connection the client asked for.
    pub fn connected(&mut self, conn: ConnId) {
        match self {
            Client::Trader(t) => t.connected(conn),
            Client::Watcher(w) => w.connected(conn),
        }
    }

    /// Whether the client reads its connection at `now_ms`.
    pub fn reading(&self, now_ms: u64) -> bool {
        match self {
            Client::Trader(_) => true,
            Client::Watcher(w) => now_ms >= w.paused_until_ms,
        }
    }

    /// One turn: what it read since the last, and what it does now.
    pub fn tick(&mut self, now_ms: u64, incoming: Vec<Incoming>, acts: &mut Vec<Act>) {
        match self {
            Client::Trader(t) => t.tick(now_ms, incoming, acts),
            Client::Watcher(w) => w.tick(now_ms, incoming, acts),
        }
    }

    /// The faults stopped: finish what is open and stop starting anything new.
    pub fn wind_down(&mut self) {
        if let Client::Trader(t) = self {
            t.trading = false;
        }
        if let Client::Watcher(w) = self {
            w.pauses = false;
            w.paused_until_ms = 0;
        }
    }

    /// Whether the client's view is complete and current (nothing in flight, nothing missing).
    pub fn settled(&self, core: &Core) -> bool {
        match self {
            Client::Trader(t) => t.settled(core),
            Client::Watcher(w) => w.settled(core),
        }
    }

    /// The client's view against the exchange's truth.
    pub fn check(&self, core: &Core) -> Result<(), String> {
        match self {
            Client::Trader(t) => t.check(core),
            Client::Watcher(w) => w.check(core),
        }
    }

    /// Where the client stands, for a report.
    pub fn status(&self, core: &Core) -> String {
        match self {
            Client::Trader(t) => format!(
                "{}: {:?}, applied {:?} of {:?}, {} ahead, rebuilding {}, conn {:?}",
                t.account,
                t.phase,
                t.applied,
                t.account_id(core).map(|a| core.engine().account_seq(a)),
                t.ahead.len(),
                t.rebuild.is_some(),
                t.conn
            ),
            Client::Watcher(w) => format!(
                "{}: at {:?} of {}, conn {:?}",
                w.name,
                w.seq,
                core.engine().book_seq(SymbolId(0)),
                w.conn
            ),
        }
    }

    /// How often the client had to recover: resumes, rebuilds, book resynchronisations.
    pub fn recoveries(&self) -> u64 {
        match self {
            Client::Trader(t) => t.recoveries,
            Client::Watcher(w) => w.resyncs,
        }
    }
}

/// Where a trader's session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No connection; connect again at this time.
    Away { retry_at_ms: u64 },
    /// Connecting.
    Connecting,
    /// LOGIN or RESUME sent at this time, its answer awaited.
    Binding { rid: u64, sent_ms: u64 },
    /// Bound: trading and applying events.
    Ready,
}

/// An asset's balance as the trader knows it, with the `account_seq` it reflects.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holding {
    seq: u64,
    total: String,
    available: String,
    locked: String,
}

/// A rebuild from queries under way: the request ids and the answers so far.
#[derive(Debug, Default)]
struct Rebuild {
    sent_ms: u64,
    orders_rid: u64,
    balance_rid: u64,
    fills_rid: u64,
    orders: Option<(u64, BTreeMap<String, String>)>,
    balances: Option<(u64, BTreeMap<String, Holding>)>,
    fills: Option<(u64, BTreeSet<String>)>,
}

/// A trader on a configured account.
pub struct Trader {
    pub account: String,
    api_key: String,
    cancel_on_disconnect: bool,
    /// Arms the dead man's switch and goes quiet, now and then.
    switch_user: bool,
    rng: SplitMix64,
    conn: Option<ConnId>,
    phase: Phase,
    backoff_ms: u64,
    token: Option<String>,
    /// The last `account_seq` applied; `None` before the first LOGIN.
    applied: Option<u64>,
    /// Events ahead of `applied`, waiting for the ones before them.
    ahead: BTreeMap<u64, Value>,
    /// The latest `account_seq` a HEARTBEAT reported: the tail of the stream, so that events
    /// lost at its end show too.
    heard_seq: u64,
    /// The HEARTBEAT subscription of this connection: its request and when it was sent, until
    /// SUBSCRIBED confirms it (a request can be lost too).
    heartbeat_pending: Option<(u64, u64)>,
    /// When the connection last brought anything: with heartbeats on, silence means a dead link.
    last_heard_ms: u64,
    gap_since_ms: Option<u64>,
    rebuild: Option<Rebuild>,
    /// Open orders: id to remaining quantity.
    open: BTreeMap<String, String>,
    balances: BTreeMap<String, Holding>,
    fills: BTreeSet<String>,
    last_rid: u64,
    /// Still placing orders (false once the world winds down).
    trading: bool,
    /// Quiet until then (a switch user after arming).
    quiet_until_ms: u64,
    /// What went wrong that recovery cannot explain.
    broken: Option<String>,
    /// Resumes and rebuilds.
    recoveries: u64,
}

impl Trader {
    pub fn new(account: &str, cancel_on_disconnect: bool, switch_user: bool, seed: u64) -> Trader {
        Trader {
            account: account.to_string(),
            api_key: format!("{account}-key"),
            cancel_on_disconnect,
            switch_user,
            rng: SplitMix64::new(seed::derive_seed(seed, &format!("simulation/{account}"))),
            conn: None,
            phase: Phase::Away { retry_at_ms: 0 },
            backoff_ms: BACKOFF_MS.0,
            token: None,
            applied: None,
            ahead: BTreeMap::new(),
            heard_seq: 0,
            heartbeat_pending: None,
            last_heard_ms: 0,
            gap_since_ms: None,
            rebuild: None,
            open: BTreeMap::new(),
            balances: BTreeMap::new(),
            fills: BTreeSet::new(),
            last_rid: 0,
            trading: true,
            quiet_until_ms: 0,
            broken: None,
            recoveries: 0,
        }
    }

    fn connected(&mut self, conn: ConnId) {
        self.conn = Some(conn);
        self.phase = Phase::Connecting;
        self.heartbeat_pending = None;
    }

    /// Asks for heartbeats on this connection (again, when the last ask went unanswered).
    fn subscribe_heartbeat(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        let rid = self.send(acts, json!({"type": "SUBSCRIBE", "channel": "HEARTBEAT"}));
        self.heartbeat_pending = Some((rid, now_ms));
        self.last_heard_ms = now_ms;
    }

    fn rid(&mut self) -> u64 {
        self.last_rid += 1;
        self.last_rid
    }

    fn send(&mut self, acts: &mut Vec<Act>, mut request: Value) -> u64 {
        let rid = self.rid();
        request["request_id"] = json!(rid);
        acts.push(Act::Send(request.to_string()));
        rid
    }

    fn tick(&mut self, now_ms: u64, incoming: Vec<Incoming>, acts: &mut Vec<Act>) {
        for frame in incoming {
            match frame {
                Incoming::Text(text) => self.on_text(now_ms, &text, acts),
                Incoming::Closed => self.lost(now_ms),
            }
        }
        match self.phase {
            Phase::Away { retry_at_ms } if now_ms >= retry_at_ms => {
                self.phase = Phase::Connecting;
                acts.push(Act::Connect);
            }
            Phase::Away { .. } => {}
            Phase::Connecting => self.bind(now_ms, acts),
            Phase::Binding { sent_ms, .. } => {
                if now_ms.saturating_sub(sent_ms) > ANSWER_TIMEOUT_MS {
                    self.reconnect(now_ms, acts);
                }
            }
            Phase::Ready => self.ready(now_ms, acts),
        }
    }

    /// LOGIN the first time or when the session is gone; RESUME otherwise.
    fn bind(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        let request = match (&self.token, self.applied) {
            (Some(token), Some(applied)) => {
                self.recoveries += 1;
                json!({
                "type": "RESUME", "resume_token": token, "last_account_seq": applied,
                "cancel_on_disconnect": self.cancel_on_disconnect,
                })
            }
            _ => json!({
                "type": "LOGIN", "account": self.account, "api_key": self.api_key,
                "cancel_on_disconnect": self.cancel_on_disconnect,
            }),
        };
        let rid = self.send(acts, request);
        self.phase = Phase::Binding {
            rid,
            sent_ms: now_ms,
        };
    }

    /// The connection is gone: try again after a back-off with jitter.
    fn lost(&mut self, now_ms: u64) {
        self.conn = None;
        let jitter = self.rng.below(self.backoff_ms / 2 + 1);
        self.phase = Phase::Away {
            retry_at_ms: now_ms + self.backoff_ms / 2 + jitter,
        };
        self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MS.1);
        self.gap_since_ms = None;
    }

    /// Gives up on the connection (a gap that does not fill, an answer that never came).
    fn reconnect(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        if let Some(conn) = self.conn {
            acts.push(Act::Disconnect(conn));
        }
        self.lost(now_ms);
    }

    fn on_text(&mut self, now_ms: u64, text: &str, acts: &mut Vec<Act>) {
        self.last_heard_ms = now_ms;
        // A frame damaged on the way is lost like a dropped one: the sequences show it.
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let kind = v["type"].as_str().unwrap_or_default().to_string();
        if kind == "SUBSCRIBED"
            && self
                .heartbeat_pending
                .is_some_and(|(rid, _)| v["request_id"] == json!(rid))
        {
            self.heartbeat_pending = None;
            return;
        }
        if let Phase::Binding { rid, .. } = self.phase {
            if v["request_id"] == json!(rid) {
                return self.on_bound(now_ms, &kind, &v, acts);
            }
        }
        if self.on_rebuild_answer(&v) {
            return;
        }
        if kind == "HEARTBEAT" {
            if let Some(seq) = v["account_seq"].as_u64() {
                self.heard_seq = self.heard_seq.max(seq);
                self.apply_ready(now_ms);
            }
            return;
        }
        let is_event = match kind.as_str() {
            "ORDER_ACK" | "ORDER_FILL" | "ORDER_CANCEL" | "ORDER_AMENDED" | "POSITION_UPDATE" => {
                true
            }
            "BALANCE_UPDATE" => v.get("asset").is_some(),
            _ => false,
        };
        if !is_event {
            return;
        }
        let Some(seq) = v["account_seq"].as_u64() else {
            return;
        };
        let phantom = kind == "ORDER_FILL"
            && v["fill_id"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok())
                .is_none_or(|id| id >= exchange::PHANTOM_FILL_ID_BASE);
        if phantom {
            return;
        }
        match self.applied {
            Some(applied) if seq <= applied => {}
            _ => {
                self.ahead.insert(seq, v);
                self.apply_ready(now_ms);
            }
        }
    }

    /// The answer to LOGIN or RESUME.
    fn on_bound(&mut self, now_ms: u64, kind: &str, v: &Value, acts: &mut Vec<Act>) {
        match (kind, v["code"].as_str()) {
            ("LOGGED_IN", _) => {
                self.subscribe_heartbeat(now_ms, acts);
                self.token = v["resume_token"].as_str().map(str::to_string);
                let seq = v["account_seq"].as_u64().unwrap_or(0);
                self.phase = Phase::Ready;
                self.backoff_ms = BACKOFF_MS.0;
                match self.applied {
                    // The first session: nothing before it was ever sent.
                    None => {
                        self.applied = Some(seq);
                        self.ahead.retain(|&s, _| s > seq);
                        self.start_rebuild(now_ms, acts);
                    }
                    // A new session after losing the old one: what came between is unknown.
                    Some(applied) if applied < seq => self.start_rebuild(now_ms, acts),
                    Some(_) => {}
                }
            }
            ("RESUMED", _) => {
                self.subscribe_heartbeat(now_ms, acts);
                self.token = v["resume_token"].as_str().map(str::to_string);
                self.phase = Phase::Ready;
                self.backoff_ms = BACKOFF_MS.0;
                self.gap_since_ms = None;
                self.apply_ready(now_ms);
            }
            ("ERROR", Some("RESUME_GAP")) => {
                self.subscribe_heartbeat(now_ms, acts);
                self.token = v["details"]["resume_token"].as_str().map(str::to_string);
                self.phase = Phase::Ready;
                self.start_rebuild(now_ms, acts);
            }
            ("ERROR", Some("INVALID_RESUME_TOKEN")) => {
                self.token = None;
                self.bind(now_ms, acts);
            }
            ("ERROR", Some("EXCHANGE_UNAVAILABLE" | "EXCHANGE_BUSY" | "RATE_LIMITED")) => {
                self.reconnect(now_ms, acts);
            }
            _ => {
                self.broken = Some(format!("unexpected answer to LOGIN or RESUME: {v}"));
            }
        }
    }

    /// Asks for the account's state from scratch; events meanwhile wait.
    fn start_rebuild(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        self.recoveries += 1;
        let orders_rid = self.send(acts, json!({"type": "GET_ORDERS", "status": "OPEN"}));
        let balance_rid = self.send(acts, json!({"type": "GET_BALANCE"}));
        let fills_rid = self.send(acts, json!({"type": "GET_FILLS"}));
        self.rebuild = Some(Rebuild {
            sent_ms: now_ms,
            orders_rid,
            balance_rid,
            fills_rid,
            ..Rebuild::default()
        });
    }

    /// Takes an answer of a rebuild; true when the frame was one.
    fn on_rebuild_answer(&mut self, v: &Value) -> bool {
        let Some(rebuild) = self.rebuild.as_mut() else {
            return false;
        };
        let rid = v["request_id"].as_u64();
        let Some(seq) = v["account_seq"].as_u64() else {
            return rid.is_some_and(|r| {
                r == rebuild.orders_rid || r == rebuild.balance_rid || r == rebuild.fills_rid
            });
        };
        if rid == Some(rebuild.orders_rid) {
            let orders = v["orders"].as_array().cloned().unwrap_or_default();
            let open = orders
                .iter()
                .filter_map(|o| {
                    Some((
                        o["order_id"].as_str()?.to_string(),
                        o["remaining_quantity"].as_str()?.to_string(),
                    ))
                })
                .collect();
            rebuild.orders = Some((seq, open));
        } else if rid == Some(rebuild.balance_rid) {
            let mut balances = BTreeMap::new();
            if let Some(map) = v["balances"].as_object() {
                for (asset, b) in map {
                    balances.insert(asset.clone(), holding(seq, b));
                }
            }
            rebuild.balances = Some((seq, balances));
        } else if rid == Some(rebuild.fills_rid) {
            let fills = v["fills"]
                .as_array()
                .map(|fills| {
                    fills
                        .iter()
                        .filter_map(|f| f["fill_id"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            rebuild.fills = Some((seq, fills));
        } else {
            return false;
        }
        self.finish_rebuild();
        true
    }

    /// Adopts a rebuild whose three answers describe the same moment (else asks again later).
    fn finish_rebuild(&mut self) {
        let Some(rebuild) = self.rebuild.as_mut() else {
            return;
        };
        if rebuild.orders.is_none() || rebuild.balances.is_none() || rebuild.fills.is_none() {
            return;
        }
        let (Some(orders), Some(balances), Some(fills)) = (
            rebuild.orders.take(),
            rebuild.balances.take(),
            rebuild.fills.take(),
        ) else {
            return;
        };
        let seq = orders.0;
        if balances.0 != seq || fills.0 != seq {
            // The account moved between the answers: the next tick asks again.
            rebuild.sent_ms = 0;
            return;
        }
        self.rebuild = None;
        self.open = orders.1;
        self.balances = balances.1;
        self.fills = fills.1;
        self.applied = Some(seq);
        self.ahead.retain(|&s, _| s > seq);
        self.gap_since_ms = None;
    }

    /// Applies the waiting events that are next in line.
    fn apply_ready(&mut self, now_ms: u64) {
        if self.rebuild.is_some() {
            return;
        }
        let Some(mut applied) = self.applied else {
            return;
        };
        while let Some(v) = self.ahead.remove(&(applied + 1)) {
            applied += 1;
            self.apply(&v, applied);
        }
        self.ahead.retain(|&s, _| s > applied);
        self.applied = Some(applied);
        let behind = !self.ahead.is_empty() || self.heard_seq > applied;
        self.gap_since_ms = match (behind, self.gap_since_ms) {
            (false, _) => None,
            (true, None) => Some(now_ms),
            (true, since) => since,
        };
    }

    /// One private event, in order.
    fn apply(&mut self, v: &Value, seq: u64) {
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_string();
        let id = text("order_id");
        match v["type"].as_str().unwrap_or_default() {
            "ORDER_ACK" | "ORDER_FILL" | "ORDER_AMENDED" => {
                if v["type"] == "ORDER_FILL" {
                    self.fills.insert(text("fill_id"));
                }
                let status = v["status"].as_str();
                if matches!(status, Some("FILLED" | "CANCELLED" | "EXPIRED")) {
                    self.open.remove(&id);
                } else if !matches!(status, Some("PENDING")) {
                    self.open.insert(id, text("remaining_quantity"));
                }
            }
            "ORDER_CANCEL" => {
                self.open.remove(&id);
            }
            "BALANCE_UPDATE" => {
                if let Some(map) = v["balances"].as_object() {
                    for (asset, b) in map {
                        let newer = self.balances.get(asset).is_none_or(|h| h.seq < seq);
                        if newer {
                            self.balances.insert(asset.clone(), holding(seq, b));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn ready(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        match self.heartbeat_pending {
            Some((_, sent)) if now_ms.saturating_sub(sent) > ANSWER_TIMEOUT_MS => {
                self.subscribe_heartbeat(now_ms, acts);
            }
            // Heartbeats come after a second of silence: three without one is a dead link.
            None if now_ms.saturating_sub(self.last_heard_ms) > 3_000 => {
                return self.reconnect(now_ms, acts);
            }
            _ => {}
        }
        if let Some(since) = self.gap_since_ms {
            if now_ms.saturating_sub(since) > GAP_PATIENCE_MS {
                // An event did not come: RESUME replays it.
                return self.reconnect(now_ms, acts);
            }
        }
        if let Some(rebuild) = &self.rebuild {
            if now_ms.saturating_sub(rebuild.sent_ms) > ANSWER_TIMEOUT_MS {
                self.start_rebuild(now_ms, acts);
            }
            return;
        }
        if !self.trading || now_ms < self.quiet_until_ms {
            return;
        }
        self.trade(now_ms, acts);
    }

    /// One trading decision.
    fn trade(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        let roll = self.rng.below(100);
        if roll >= 30 {
            return;
        }
        let side = if self.rng.chance(1, 2) { "BUY" } else { "SELL" };
        let open: Vec<String> = self.open.keys().cloned().collect();
        let pick = |rng: &mut SplitMix64| open.get(rng.below(open.len() as u64) as usize).cloned();
        match roll {
            0..=13 => {
                let offset = self.rng.below(400) as i64 - 200;
                let price = format!("{}.{:02}", 50_000 + offset, self.rng.below(100));
                let qty = format!("0.{:05}", 100 + self.rng.below(2_000));
                let tif = ["GTC", "GTC", "GTC", "IOC", "FOK"][self.rng.below(5) as usize];
                let cid = format!("{}-{}", self.account, self.last_rid + 1);
                let order = json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": side,
                    "order_type": "LIMIT", "price": price, "quantity": qty, "time_in_force": tif,
                    "client_order_id": cid});
                self.send(acts, order);
            }
            14..=16 => {
                let qty = format!("0.{:05}", 50 + self.rng.below(500));
                let order = json!({"type": "PLACE_ORDER", "symbol": "BTC/USD", "side": side,
                    "order_type": "MARKET", "quantity": qty});
                self.send(acts, order);
            }
            17..=22 => {
                if let Some(id) = pick(&mut self.rng) {
                    self.send(acts, json!({"type": "CANCEL_ORDER", "order_id": id}));
                }
            }
            23..=25 => {
                if let Some(id) = pick(&mut self.rng) {
                    let qty = format!("0.{:05}", 1 + self.rng.below(50));
                    let amend = json!({"type": "AMEND_ORDER", "order_id": id, "quantity": qty});
                    self.send(acts, amend);
                }
            }
            26 => {
                self.send(acts, json!({"type": "CANCEL_ALL"}));
            }
            27 if self.switch_user => {
                let timeout_ms = 300 + self.rng.below(1_500);
                self.send(
                    acts,
                    json!({"type": "CANCEL_ALL_AFTER", "timeout_ms": timeout_ms}),
                );
                self.quiet_until_ms = now_ms + timeout_ms + 1_000;
            }
            28 if self.rng.chance(1, 20) => self.reconnect(now_ms, acts),
            _ => {
                self.send(acts, json!({"type": "PING"}));
            }
        }
    }

    fn account_id(&self, core: &Core) -> Option<AccountId> {
        core.account_id(&self.account)
    }

    fn settled(&self, core: &Core) -> bool {
        let current = self.account_id(core).map(|a| core.engine().account_seq(a));
        self.phase == Phase::Ready
            && self.rebuild.is_none()
            && self.ahead.is_empty()
            && self.applied.is_some()
            && self.applied == current
            && !self.balances.is_empty()
    }

    fn check(&self, core: &Core) -> Result<(), String> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        let account = self
            .account_id(core)
            .ok_or_else(|| format!("{}: no such account", self.account))?;
        let catalog = core.catalog();
        let engine = core.engine();
        let truth_open: BTreeMap<String, String> = engine
            .open_orders(account, None)
            .iter()
            .filter_map(|o| {
                let symbol = catalog.symbol(o.symbol)?;
                Some((o.id.0.to_string(), symbol.format_qty(o.remaining_qty())))
            })
            .collect();
        if truth_open != self.open {
            return Err(format!(
                "{}: open orders {:?}, the exchange has {truth_open:?}",
                self.account, self.open
            ));
        }
        let truth_fills: BTreeSet<String> = engine
            .fills(account)
            .iter()
            .map(|f| f.fill_id.0.to_string())
            .collect();
        if truth_fills != self.fills {
            let missing: Vec<_> = truth_fills.difference(&self.fills).collect();
            let extra: Vec<_> = self.fills.difference(&truth_fills).collect();
            return Err(format!(
                "{}: fills missing {missing:?}, extra {extra:?}",
                self.account
            ));
        }
        for (i, balance) in engine.balances(account).iter().enumerate() {
            let asset = engine::AssetId(i as u32);
            let name = catalog.asset_name(asset);
            let decimals = catalog.asset_decimals(asset);
            let text = |amount: i128| {
                let mut s = String::new();
                protocol::messages::write_amount(decimals, amount, &mut s);
                s
            };
            let truth = (
                text(balance.total().0),
                text(balance.available.0),
                text(balance.locked.0),
            );
            let view = self
                .balances
                .get(name)
                .map(|h| (h.total.clone(), h.available.clone(), h.locked.clone()));
            if view.as_ref() != Some(&truth) {
                return Err(format!(
                    "{}: balance of {name} {view:?}, the exchange has {truth:?}",
                    self.account
                ));
            }
        }
        Ok(())
    }
}

fn holding(seq: u64, b: &Value) -> Holding {
    let text = |key: &str| b[key].as_str().unwrap_or_default().to_string();
    Holding {
        seq,
        total: text("total"),
        available: text("available"),
        locked: text("locked"),
    }
}

/// A book as a watcher keeps it: by price, the level's wire strings.
type Side = BTreeMap<Price, (String, String)>;

/// A client that keeps the BTC/USD book from ORDERBOOK_L2.
pub struct Watcher {
    pub name: String,
    catalog: Arc<Catalog>,
    rng: SplitMix64,
    conn: Option<ConnId>,
    retry_at_ms: u64,
    connecting: bool,
    /// Stops reading now and then.
    pauses: bool,
    paused_until_ms: u64,
    bids: Side,
    asks: Side,
    /// The book sequence the copy reflects, once it has a snapshot.
    seq: Option<u64>,
    /// A resubscription was sent at this time and its snapshot is awaited.
    resync_ms: Option<u64>,
    last_rid: u64,
    /// Resynchronisations (gaps, bad checksums, stream resets).
    pub resyncs: u64,
}

impl Watcher {
    pub fn new(name: &str, catalog: Arc<Catalog>, pauses: bool, seed: u64) -> Watcher {
        Watcher {
            name: name.to_string(),
            catalog,
            rng: SplitMix64::new(seed::derive_seed(seed, &format!("simulation/{name}"))),
            conn: None,
            retry_at_ms: 0,
            connecting: false,
            pauses,
            paused_until_ms: 0,
            bids: Side::new(),
            asks: Side::new(),
            seq: None,
            resync_ms: None,
            last_rid: 0,
            resyncs: 0,
        }
    }

    fn connected(&mut self, conn: ConnId) {
        self.conn = Some(conn);
        self.connecting = false;
        self.seq = None;
        self.resync_ms = None;
    }

    fn subscribe(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        self.last_rid += 1;
        let request = json!({"type": "SUBSCRIBE", "channel": "ORDERBOOK_L2", "symbol": "BTC/USD",
                             "request_id": self.last_rid});
        acts.push(Act::Send(request.to_string()));
        self.seq = None;
        self.resync_ms = Some(now_ms);
    }

    fn resync(&mut self, now_ms: u64, acts: &mut Vec<Act>) {
        self.resyncs += 1;
        self.subscribe(now_ms, acts);
    }

    fn tick(&mut self, now_ms: u64, incoming: Vec<Incoming>, acts: &mut Vec<Act>) {
        for frame in incoming {
            match frame {
                Incoming::Text(text) => self.on_text(now_ms, &text, acts),
                Incoming::Closed => {
                    self.conn = None;
                    self.seq = None;
                    self.retry_at_ms = now_ms + 100 + self.rng.below(400);
                }
            }
        }
        if self.conn.is_none() {
            if !self.connecting && now_ms >= self.retry_at_ms {
                self.connecting = true;
                acts.push(Act::Connect);
            }
            return;
        }
        match self.resync_ms {
            None => self.subscribe(now_ms, acts),
            Some(sent) if self.seq.is_none() && now_ms.saturating_sub(sent) > ANSWER_TIMEOUT_MS => {
                self.resync(now_ms, acts)
            }
            _ => {}
        }
        if self.pauses && now_ms >= self.paused_until_ms && self.rng.chance(1, 200) {
            self.paused_until_ms = now_ms + 1_000 + self.rng.below(4_000);
        }
    }

    fn on_text(&mut self, now_ms: u64, text: &str, acts: &mut Vec<Act>) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if v["channel"] != "ORDERBOOK_L2" {
            return;
        }
        match v["type"].as_str() {
            Some("ORDERBOOK_SNAPSHOT") => {
                self.bids.clear();
                self.asks.clear();
                let ok = self.apply_levels(&v);
                self.seq = v["sequence"].as_u64();
                if !ok || !self.checksum_matches(&v) {
                    self.resync(now_ms, acts);
                }
            }
            Some("ORDERBOOK_UPDATE") => {
                let Some(seq) = self.seq else {
                    return;
                };
                if v["prev_sequence"].as_u64() != Some(seq) {
                    return self.resync(now_ms, acts);
                }
                let ok = self.apply_levels(&v);
                self.seq = v["sequence"].as_u64();
                if !ok || !self.checksum_matches(&v) {
                    self.resync(now_ms, acts);
                }
            }
            Some("STREAM_RESET") => self.seq = None,
            _ => {}
        }
    }

    /// Applies the levels of a snapshot or delta; false when one does not parse.
    fn apply_levels(&mut self, v: &Value) -> bool {
        let Some(symbol) = self.catalog.symbol(SymbolId(0)) else {
            return false;
        };
        for (key, book) in [("bids", &mut self.bids), ("asks", &mut self.asks)] {
            for level in v[key].as_array().into_iter().flatten() {
                let (Some(price), Some(qty)) =
                    (level["price"].as_str(), level["quantity"].as_str())
                else {
                    return false;
                };
                let Ok(ticks) = symbol.parse_price(price) else {
                    return false;
                };
                let zero = symbol.parse_qty(qty).is_err();
                if zero {
                    book.remove(&ticks);
                } else {
                    book.insert(ticks, (price.to_string(), qty.to_string()));
                }
            }
        }
        true
    }

    fn checksum_matches(&self, v: &Value) -> bool {
        let asks = self.asks.values().map(|(p, q)| (p.as_str(), q.as_str()));
        let bids = self
            .bids
            .values()
            .rev()
            .map(|(p, q)| (p.as_str(), q.as_str()));
        v["checksum"].as_u64() == Some(u64::from(book_checksum(asks, bids)))
    }

    fn settled(&self, core: &Core) -> bool {
        self.conn.is_some() && self.seq == Some(core.engine().book_seq(SymbolId(0)))
    }

    fn check(&self, core: &Core) -> Result<(), String> {
        let depth = core.engine().depth(SymbolId(0), usize::MAX);
        let symbol = self
            .catalog
            .symbol(SymbolId(0))
            .ok_or("no BTC/USD in the catalog")?;
        let side = |levels: &[engine::Level]| -> Vec<(String, String)> {
            levels
                .iter()
                .map(|l| (symbol.format_price(l.price), symbol.format_qty(l.qty)))
                .collect()
        };
        let bids: Vec<(String, String)> = self.bids.values().rev().cloned().collect();
        let asks: Vec<(String, String)> = self.asks.values().cloned().collect();
        if bids != side(&depth.bids) || asks != side(&depth.asks) {
            return Err(format!(
                "{}: its book at sequence {:?} differs from the exchange's at {}",
                self.name, self.seq, depth.book_seq
            ));
        }
        Ok(())
    }
}
