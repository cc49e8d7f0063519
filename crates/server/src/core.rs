//! The engine thread: owns the engine, the accounts and the subscriptions; runs every request in
//! arrival order and routes the resulting events.
//!
//! Nothing here blocks on a connection: frames are handed to each connection's bounded queue with
//! `try_send`, and a connection whose queue is full is a slow consumer (disconnected, or its
//! market data dropped and its streams reset, as configured). Private events are never dropped:
//! a connection that cannot take them is disconnected, and its client resumes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engine::{
    AccountId, Amount, AssetId, CloseReason, Command, Depth, Engine, Event, Level, OrderRef,
    OrderStatus, Qty, Reject, Side, SymbolId,
};
use protocol::messages as msg;
use protocol::request::StatusFilter;
use protocol::{Catalog, Channel, ErrorCode, Request, RequestId, RequestKind};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, oneshot};

use crate::config::{Config, SlowConsumerAction};
use crate::outbound::{CloseNow, Frame, FrameBody, Outbound};
use crate::rest::rest_error;
use crate::sessions::{ResumeBuffer, ResumeError, Sessions};
use crate::ticker::RollingStats;

/// A connection's id: a counter from 1.
pub type ConnId = u64;

/// Fabricated (phantom) fills take ids from here up: real fill ids count from 1 and never get
/// this far.
pub const PHANTOM_FILL_ID_BASE: u64 = 1 << 48;

/// Depth of the ORDERBOOK channel's picture.
pub const ORDERBOOK_PICTURE_LEVELS: usize = 10;

/// What the engine thread is asked to do.
pub enum Input {
    /// A WebSocket connection opened.
    Open {
        conn: ConnId,
        tx: crate::outbound::OutboundSender,
        addr: SocketAddr,
        /// Closes the connection at once (slow consumer), bypassing its full queue.
        kill: oneshot::Sender<CloseNow>,
    },
    /// A connection closed (cleanly or not).
    Close { conn: ConnId },
    /// A parsed request from a connection.
    Request { conn: ConnId, request: Request },
    /// A REST query.
    Rest {
        call: RestCall,
        reply: oneshot::Sender<RestReply>,
    },
    /// Time for one market step (and, every few steps, a TICKER).
    Step,
    /// Advance the market by this many ticker intervals, then answer (manual clock).
    AdvanceMarket {
        ticks: u64,
        done: oneshot::Sender<()>,
    },
    /// The fault layer skipped updates of a stream on purpose and announces it (`sequence_gap`
    /// with `announce`): STREAM_RESET and a fresh snapshot for the stream of the frame `body`.
    StreamReset {
        conn: ConnId,
        channel: Channel,
        body: Arc<str>,
    },
    /// An account's dead man's switch may be due.
    DeadMansSwitch { account: AccountId, generation: u64 },
    /// The fault layer's `phantom_fills`: send this connection a fabricated ORDER_FILL for one
    /// of its account's open orders. The engine's state is not touched.
    PhantomFill { conn: ConnId },
    /// A connection reached the notice time (`close: false`) or the end (`close: true`) of its
    /// maximum age.
    ConnectionAge { conn: ConnId, close: bool },
    /// Periodic chores: stream resets that waited for room, expired resume tokens.
    Housekeeping,
    /// Stop the thread.
    Shutdown,
}

/// How a RESUME proves the account.
enum Credentials {
    Token(String),
    ApiKey { account: String, api_key: String },
}

/// Who a REST request is for.
#[derive(Clone, Debug, Default)]
pub struct RestAuth {
    pub api_key: Option<String>,
    pub account: Option<String>,
}

/// A REST query, answered on the engine thread so that it sees exactly the engine's state.
#[derive(Clone, Debug)]
pub enum RestCall {
    Health,
    Symbols,
    Orderbook {
        symbol: String,
        depth: usize,
    },
    Trades {
        symbol: String,
        limit: usize,
    },
    Ticker {
        symbol: Option<String>,
    },
    Accounts,
    Balances(RestAuth),
    Orders(RestAuth),
    Order(RestAuth, String),
    Fills(RestAuth),
    Candles {
        symbol: String,
        interval: String,
        limit: usize,
    },
}

/// A REST answer: HTTP status and JSON body.
pub type RestReply = (u16, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AccountKind {
    Configured,
    Anonymous,
    System,
}

impl AccountKind {
    fn as_str(self) -> &'static str {
        match self {
            AccountKind::Configured => "configured",
            AccountKind::Anonymous => "anonymous",
            AccountKind::System => "system",
        }
    }
}

struct AccountInfo {
    name: String,
    kind: AccountKind,
    api_key: Option<String>,
    /// The latest account_seq, shared with the account's connections for HEARTBEAT.
    seq: Arc<AtomicU64>,
    conns: Vec<ConnId>,
    dead_mans_switch_generation: u64,
    /// The armed dead man's switch's timer, aborted when re-armed or disarmed.
    dead_mans_switch_timer: Option<tokio::task::AbortHandle>,
    /// Recent private events for RESUME (accounts that can log in only).
    resume: Option<ResumeBuffer>,
}

struct Conn {
    tx: crate::outbound::OutboundSender,
    /// The peer, for the admin API's connection list.
    #[allow(dead_code)]
    addr: SocketAddr,
    account: Option<AccountId>,
    cancel_on_disconnect: bool,
    subs: Vec<(Channel, Option<SymbolId>)>,
    /// Market-data streams whose frames were dropped (slow consumer): reset before the next one.
    reset_pending: Vec<(Channel, SymbolId)>,
    /// Set when the connection is being closed by the server: send nothing more.
    closing: bool,
    /// Closes the connection at once; taken when used.
    kill: Option<oneshot::Sender<CloseNow>>,
    /// The maximum-age timer, aborted when the connection closes first.
    age_timer: Option<tokio::task::AbortHandle>,
}

#[derive(Default)]
struct SymbolMarketData {
    stats: RollingStats,
    ticker_seq: u64,
    /// Book level changes of the current command, for the L2 delta.
    pending_levels: Vec<engine::BookLevelChanged>,
}

/// The engine thread's state.
pub struct Core {
    engine: Engine,
    catalog: Arc<Catalog>,
    config: Arc<Config>,
    accounts: Vec<AccountInfo>,
    by_name: HashMap<String, AccountId>,
    by_api_key: HashMap<String, AccountId>,
    sessions: Sessions,
    /// By connection id (FxHash: the ids are the server's own counter, and every frame sent
    /// looks its connection up here).
    conns: FxHashMap<ConnId, Conn>,
    /// Connections the server closed during the current input: forgotten once it is handled.
    reap: Vec<ConnId>,
    /// Connections with market-data streams waiting for a STREAM_RESET.
    starved: Vec<ConnId>,
    last_token_sweep_ns: u64,
    subs: FxHashMap<(Channel, Option<SymbolId>), Vec<ConnId>>,
    market_data: Vec<SymbolMarketData>,
    default_balances: Vec<(AssetId, Amount)>,
    anonymous_count: u64,
    events: Vec<Event>,
    rng: ChaCha8Rng,
    runtime: tokio::runtime::Handle,
    inputs: mpsc::Sender<Input>,
    started_ns: u64,
    seqs: Arc<crate::connection::SharedSeqs>,
    /// The synthetic market, if any part of it is enabled.
    market: Option<market::Market>,
    /// The market's own clock: advanced by exactly one step per step, so that the same seed
    /// gives the same market whatever the scheduling jitter.
    market_clock_ns: u64,
    /// One market step.
    step_ns: u64,
    /// Market steps per ticker interval; the ticker publishes when `steps` reaches a multiple.
    steps_per_tick: u64,
    steps: u64,
    market_commands: Vec<Command>,
    candles: market::Candles,
    candle_subs: HashMap<(SymbolId, market::Interval), Vec<ConnId>>,
    /// A reused buffer for rendering messages.
    scratch: String,
    /// The capacity [`Core::render_owned`] gives a message: grows to the largest seen, not
    /// counting the request id a client chose (a long one must not inflate every later frame).
    owned_capacity: usize,
    /// Which symbols' books the current command changed (reused).
    touched_symbols: Vec<bool>,
    /// Phantom fills fabricated so far (for their ids).
    phantom_fills: u64,
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Why the core could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("engine: {0}")]
    Engine(#[from] engine::engine::ConfigError),
}

impl Core {
    /// Builds the engine and the configured accounts, funded.
    pub fn new(
        config: Arc<Config>,
        custom_models: HashMap<String, Box<dyn market::PriceModel>>,
        market_seed: u64,
        rng: ChaCha8Rng,
        runtime: tokio::runtime::Handle,
        inputs: mpsc::Sender<Input>,
    ) -> Result<Core, CoreError> {
        let engine = Engine::new(config.engine_config()?)?;
        let catalog = Arc::new(Catalog::from_engine(&engine));
        let mut default_balances = Vec::new();
        for (asset, text) in config.default_balances() {
            let Some(id) = engine.asset_id(&asset) else {
                continue;
            };
            let amount =
                engine
                    .parse_amount(id, &text)
                    .map_err(|e| crate::config::ConfigError {
                        path: format!("exchange.default_balance.{asset}"),
                        reason: e.to_string(),
                    })?;
            default_balances.push((id, amount));
        }
        let market_data = (0..catalog.symbols().len())
            .map(|_| SymbolMarketData::default())
            .collect();
        let mut core = Core {
            engine,
            catalog,
            config: config.clone(),
            accounts: Vec::new(),
            by_name: HashMap::new(),
            by_api_key: HashMap::new(),
            sessions: Sessions::new(
                config
                    .exchange
                    .history
                    .resume_max_age_s
                    .saturating_mul(1_000_000_000),
            ),
            conns: FxHashMap::default(),
            reap: Vec::new(),
            starved: Vec::new(),
            last_token_sweep_ns: 0,
            subs: FxHashMap::default(),
            market_data,
            default_balances,
            anonymous_count: 0,
            events: Vec::with_capacity(64),
            rng,
            runtime,
            inputs,
            started_ns: now_ns(),
            seqs: Arc::new(crate::connection::SharedSeqs::new(0)),
            market: None,
            market_clock_ns: now_ns(),
            step_ns: config.market_step_ns(),
            steps_per_tick: config.market_steps_per_tick(),
            steps: 0,
            market_commands: Vec::new(),
            candles: market::Candles::new(config.exchange.candles.history_limit),
            candle_subs: HashMap::new(),
            scratch: String::with_capacity(1024),
            owned_capacity: 256,
            touched_symbols: Vec::new(),
            phantom_fills: 0,
        };
        for (name, account) in &config.accounts {
            let mut funds = Vec::new();
            for (asset, value) in &account.balances {
                let path = format!("accounts.{name}.balances.{asset}");
                let id = core
                    .engine
                    .asset_id(asset)
                    .ok_or_else(|| crate::config::ConfigError {
                        path: path.clone(),
                        reason: "no symbol trades this asset".into(),
                    })?;
                let amount = core.engine.parse_amount(id, &value.text()).map_err(|e| {
                    crate::config::ConfigError {
                        path,
                        reason: e.to_string(),
                    }
                })?;
                funds.push((id, amount));
            }
            core.open_account(
                name.clone(),
                AccountKind::Configured,
                Some(account.api_key.clone()),
                &funds,
            );
        }
        core.start_market(market_seed, custom_models)?;
        Ok(core)
    }

    /// Creates the system accounts, builds the market and funds it.
    fn start_market(
        &mut self,
        seed: u64,
        custom_models: HashMap<String, Box<dyn market::PriceModel>>,
    ) -> Result<(), CoreError> {
        let market_config = self.config.market_config();
        let names = market_config.system_account_names();
        if names.is_empty() {
            return Ok(());
        }
        let accounts: Vec<AccountId> = names
            .into_iter()
            .map(|name| self.open_system_account(name, &[]))
            .collect();
        let catalog = self.catalog.clone();
        let mut symbols = Vec::new();
        for (i, symbol) in catalog.symbols().iter().enumerate() {
            let name = &symbol.spec.name;
            let path = format!("exchange.initial_prices.{name}");
            let text =
                self.config
                    .initial_price(name)
                    .ok_or_else(|| crate::config::ConfigError {
                        path: path.clone(),
                        reason: "the market needs an initial price".into(),
                    })?;
            let initial_price =
                symbol
                    .parse_price(&text)
                    .map_err(|e| crate::config::ConfigError {
                        path,
                        reason: format!("{text:?}: {e}"),
                    })?;
            symbols.push(market::MarketSymbol {
                id: SymbolId(i as u32),
                symbol,
                initial_price,
            });
        }
        let custom = std::cell::RefCell::new(custom_models);
        let market = market_config
            .build_with_models("exchange", &symbols, &accounts, seed, &|name: &str| {
                custom.borrow_mut().remove(name)
            })
            .map_err(|e| crate::config::ConfigError {
                path: e.path,
                reason: e.reason,
            })?;
        let mut sink = Vec::new();
        for cmd in market.funding_commands() {
            // Funding is not news to anyone: its events are not sent.
            let _ = self.engine.execute(&cmd, now_ns(), &mut sink);
        }
        self.market = Some(market);
        Ok(())
    }

    /// The symbols and assets, for the connections' request parsing.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    /// Publishes the symbols' latest sequences into `seqs` (read by HEARTBEAT frames).
    pub fn with_shared_seqs(mut self, seqs: Arc<crate::connection::SharedSeqs>) -> Core {
        self.seqs = seqs;
        self
    }

    /// The engine, read-only (for tests and start-up logging).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs until [`Input::Shutdown`] or until every sender is gone.
    ///
    /// When the queue runs dry the thread polls it a little longer before it sleeps: under load
    /// the next request is usually microseconds away, and a futex sleep and wake-up would cost
    /// more than the wait.
    pub fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        self.spawn_housekeeping();
        loop {
            let input = match self.poll_briefly(&mut inputs) {
                Some(input) => input,
                None => match inputs.blocking_recv() {
                    Some(input) => input,
                    None => break,
                },
            };
            if !self.handle(input) {
                break;
            }
        }
    }

    /// The next input if one arrives within a short spin.
    fn poll_briefly(&self, inputs: &mut mpsc::Receiver<Input>) -> Option<Input> {
        const SPINS: u32 = 2_000;
        for _ in 0..SPINS {
            match inputs.try_recv() {
                Ok(input) => return Some(input),
                Err(mpsc::error::TryRecvError::Empty) => std::hint::spin_loop(),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
            }
        }
        None
    }

    /// Handles one input; `false` means stop.
    pub fn handle(&mut self, input: Input) -> bool {
        match input {
            Input::Open {
                conn,
                tx,
                addr,
                kill,
            } => {
                self.conns.insert(
                    conn,
                    Conn {
                        tx,
                        addr,
                        account: None,
                        cancel_on_disconnect: false,
                        subs: Vec::new(),
                        reset_pending: Vec::new(),
                        closing: false,
                        kill: Some(kill),
                        age_timer: None,
                    },
                );
                self.start_age_timer(conn);
            }
            Input::Close { conn } => self.close_conn(conn),
            Input::Request { conn, request } => {
                if !self.starved.is_empty() {
                    self.resend_stream_resets(conn);
                }
                self.request(conn, request);
            }
            Input::Rest { call, reply } => {
                let _ = reply.send(self.rest(call));
            }
            Input::Step => self.step(),
            Input::AdvanceMarket { ticks, done } => {
                for _ in 0..ticks.saturating_mul(self.steps_per_tick) {
                    self.step();
                }
                let _ = done.send(());
            }
            Input::DeadMansSwitch {
                account,
                generation,
            } => self.dead_mans_switch(account, generation),
            Input::PhantomFill { conn } => self.phantom_fill(conn),
            Input::StreamReset {
                conn,
                channel,
                body,
            } => self.announce_stream_reset(conn, channel, &body),
            Input::ConnectionAge { conn, close } => self.connection_age(conn, close),
            Input::Housekeeping => self.housekeeping(),
            Input::Shutdown => return false,
        }
        self.reap_closed();
        true
    }

    fn open_account(
        &mut self,
        name: String,
        kind: AccountKind,
        api_key: Option<String>,
        funds: &[(AssetId, Amount)],
    ) -> AccountId {
        let id = self.engine.create_account();
        for &(asset, amount) in funds {
            let mut sink = Vec::new();
            // Funding is not news to anyone: its events are not sent.
            let _ = self.engine.execute(
                &Command::Deposit {
                    account: id,
                    asset,
                    amount,
                },
                now_ns(),
                &mut sink,
            );
        }
        if let Some(key) = &api_key {
            self.by_api_key.insert(key.clone(), id);
        }
        self.by_name.insert(name.clone(), id);
        let opening_seq = self.engine.account_seq(id);
        // Only accounts a client can log in to again can resume: the others are not buffered.
        let history = &self.config.exchange.history;
        let resume = (kind == AccountKind::Configured).then(|| {
            ResumeBuffer::new(
                opening_seq,
                history.resume_events_per_account,
                history.resume_max_age_s.saturating_mul(1_000_000_000),
            )
        });
        self.accounts.push(AccountInfo {
            name,
            kind,
            api_key,
            seq: Arc::new(AtomicU64::new(opening_seq)),
            conns: Vec::new(),
            dead_mans_switch_generation: 0,
            dead_mans_switch_timer: None,
            resume,
        });
        id
    }

    /// Opens a system account (market maker, taker flow) with the given funds.
    pub fn open_system_account(&mut self, name: String, funds: &[(AssetId, Amount)]) -> AccountId {
        self.open_account(name, AccountKind::System, None, funds)
    }

    fn account_info(&self, id: AccountId) -> Option<&AccountInfo> {
        self.accounts.get(id.0 as usize)
    }

    /// The connection's account, opening a fresh anonymous one with the default balance when it
    /// has none yet (the original simulator's behaviour).
    fn account_of(&mut self, conn: ConnId) -> Option<AccountId> {
        let existing = self.conns.get(&conn)?.account;
        if let Some(a) = existing {
            return Some(a);
        }
        self.anonymous_count += 1;
        let name = format!("anon-{}", self.anonymous_count);
        let funds = self.default_balances.clone();
        let id = self.open_account(name, AccountKind::Anonymous, None, &funds);
        self.bind(conn, id);
        Some(id)
    }

    fn bind(&mut self, conn: ConnId, account: AccountId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.account = Some(account);
        if let Some(info) = self.accounts.get_mut(account.0 as usize) {
            info.conns.push(conn);
            let _ = c.tx.try_send(Outbound::Bound(info.seq.clone()));
            let _ = c.tx.try_send(Outbound::Account {
                name: info.name.as_str().into(),
                configured: info.kind == AccountKind::Configured,
            });
        }
    }

    fn unbind(&mut self, conn: ConnId) -> Option<AccountId> {
        let c = self.conns.get_mut(&conn)?;
        let account = c.account.take()?;
        if let Some(info) = self.accounts.get_mut(account.0 as usize) {
            info.conns.retain(|&x| x != conn);
        }
        Some(account)
    }

    fn close_conn(&mut self, conn: ConnId) {
        let cancel = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.cancel_on_disconnect);
        let account = self.unbind(conn);
        self.sessions.release(conn, now_ns());
        for list in self.candle_subs.values_mut() {
            list.retain(|&x| x != conn);
        }
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(timer) = &c.age_timer {
                timer.abort();
            }
            for key in c.subs {
                if let Some(list) = self.subs.get_mut(&key) {
                    list.retain(|&x| x != conn);
                }
            }
        }
        if let (true, Some(account)) = (cancel, account) {
            let others_protect = self.account_info(account).is_some_and(|info| {
                info.conns.iter().any(|other| {
                    self.conns
                        .get(other)
                        .is_some_and(|c| c.cancel_on_disconnect)
                })
            });
            if !others_protect {
                // CancelAll cannot be refused for an existing account.
                let _ = self.run_command(
                    None,
                    None,
                    Command::CancelAll {
                        account,
                        symbol: None,
                        reason: CloseReason::CancelOnDisconnect,
                    },
                );
            }
        }
    }

    // ----- sending -----------------------------------------------------------------------

    /// Hands a frame to a connection. A full queue makes it a slow consumer: disconnected, or,
    /// with `slow_consumer: drop_market_data`, its market data is dropped (and its streams reset
    /// later) while answers and private events keep the last quarter of the queue.
    fn send(&mut self, conn: ConnId, frame: Frame) {
        let action = self.config.server.limits.slow_consumer;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        let drops_market = action == SlowConsumerAction::DropMarketData;
        let market = frame.meta.channel.is_some();
        if drops_market && market && c.tx.capacity() <= private_reserve(c.tx.max_capacity()) {
            self.drop_market_frame(conn, &frame);
            return;
        }
        match c.tx.try_send(Outbound::Frame(frame)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => c.closing = true,
            Err(mpsc::error::TrySendError::Full(Outbound::Frame(frame)))
                if drops_market && market =>
            {
                self.drop_market_frame(conn, &frame);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(conn, "slow consumer disconnected");
                self.disconnect(conn, 1008, "slow consumer");
            }
        }
    }

    /// Sends a RESUME replay as one queue item (it may hold more events than the queue has
    /// slots).
    fn send_replay(&mut self, conn: ConnId, frames: Vec<Frame>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        match c.tx.try_send(Outbound::Replay(frames)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => c.closing = true,
            Err(mpsc::error::TrySendError::Full(_)) => self.disconnect(conn, 1008, "slow consumer"),
        }
    }

    /// Drops a market-data frame for a slow consumer and remembers that its stream needs a
    /// STREAM_RESET and a fresh start when there is room again.
    fn drop_market_frame(&mut self, conn: ConnId, frame: &Frame) {
        let (Some(channel), Some(symbol)) = (
            frame.meta.channel,
            symbol_of_body(&self.catalog, &frame.body),
        ) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.reset_pending.is_empty() {
            self.starved.push(conn);
        }
        if !c.reset_pending.contains(&(channel, symbol)) {
            c.reset_pending.push((channel, symbol));
        }
    }

    /// Closes a connection from the server side with `code` and `reason`. The close frame goes
    /// after the frames already queued; a slow consumer (1008), or a connection whose queue is
    /// full, is closed at once instead, dropping what is queued; so is one whose queued close
    /// is not written within [`crate::connection::CLOSE_FLUSH_TIMEOUT`]. The engine forgets the
    /// connection when the current input is done (cancel-on-disconnect applies then).
    fn disconnect(&mut self, conn: ConnId, code: u16, reason: &'static str) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closing {
            return;
        }
        c.closing = true;
        let queued = code != 1008 && c.tx.try_send(Outbound::Close { code, reason }).is_ok();
        if let Some(kill) = c.kill.take() {
            let close = CloseNow { code, reason };
            if queued {
                // A peer that stopped reading would keep the queued close waiting forever.
                self.runtime.spawn(async move {
                    tokio::time::sleep(crate::connection::CLOSE_FLUSH_TIMEOUT).await;
                    let _ = kill.send(close);
                });
            } else {
                let _ = kill.send(close);
            }
        }
        self.reap.push(conn);
    }

    /// Forgets the connections the server closed while handling the last input.
    fn reap_closed(&mut self) {
        while let Some(conn) = self.reap.pop() {
            self.close_conn(conn);
        }
    }

    fn send_body(&mut self, conn: ConnId, msg_type: &'static str, body: String) {
        self.send(conn, Frame::private(msg_type, body));
    }

    fn error(&mut self, conn: ConnId, rid: Option<&RequestId>, code: ErrorCode, message: &str) {
        let mut s = String::new();
        msg::error(&mut s, rid, code, message, "{}");
        self.send_body(conn, "ERROR", s);
    }

    /// Sends a private event (the account's `account_seq`-th) to every connection of the
    /// account, and keeps it for RESUME. The connection that asked (`direct`) gets the request's
    /// id in its copy; the kept copy has none.
    fn send_private(
        &mut self,
        account: AccountId,
        account_seq: u64,
        msg_type: &'static str,
        direct: Option<(ConnId, Option<&RequestId>)>,
        write: impl Fn(&mut String, Option<&RequestId>),
    ) {
        let latest = self.events_last_seq(account);
        let Some(info) = self.accounts.get(account.0 as usize) else {
            return;
        };
        if let Some(seq) = latest {
            info.seq.store(seq, Ordering::Relaxed);
        }
        let mut plain: Option<Arc<str>> = None;
        if info.resume.is_some() {
            let body = self.render_shared(|s| write(s, None));
            if let Some(buffer) = self
                .accounts
                .get_mut(account.0 as usize)
                .and_then(|i| i.resume.as_mut())
            {
                buffer.push(
                    account_seq,
                    now_ns(),
                    Frame::private(msg_type, body.clone()),
                );
            }
            plain = Some(body);
        }
        let Some(info) = self.accounts.get(account.0 as usize) else {
            return;
        };
        let with_rid = |conn: ConnId| matches!(direct, Some((d, Some(_))) if d == conn);
        // How many connections get the copy without a request id: one alone gets its own
        // allocation (stamped in place by its writer); several share one.
        let plain_readers = info.conns.iter().filter(|&&c| !with_rid(c)).count();
        // By index: the list cannot change while events are routed, and a copy of it per event
        // would cost an allocation on the engine thread's hottest path.
        for k in 0..info.conns.len() {
            let Some(conn) = self
                .accounts
                .get(account.0 as usize)
                .and_then(|i| i.conns.get(k))
                .copied()
            else {
                break;
            };
            let body = match direct {
                Some((d, Some(rid))) if d == conn => FrameBody::Owned(
                    self.render_owned(rid.as_json().len(), |s| write(s, Some(rid))),
                ),
                _ => match &plain {
                    Some(body) => FrameBody::Shared(body.clone()),
                    None if plain_readers == 1 => {
                        FrameBody::Owned(self.render_owned(0, |s| write(s, None)))
                    }
                    None => {
                        let body = self.render_shared(|s| write(s, None));
                        plain = Some(body.clone());
                        FrameBody::Shared(body)
                    }
                },
            };
            self.send(conn, Frame::private(msg_type, body));
        }
    }

    /// Renders a message in the reused scratch buffer and shares it.
    fn render_shared(&mut self, write: impl FnOnce(&mut String)) -> Arc<str> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        write(&mut scratch);
        let body: Arc<str> = Arc::from(scratch.as_str());
        self.scratch = scratch;
        body
    }

    /// Renders a message for one connection into its own buffer, with room for its `seq`: sized
    /// from the largest such message so far, so it is written once and never copied. `rid_len`
    /// is the length of the request id in it, which does not count towards later sizes.
    fn render_owned(&mut self, rid_len: usize, write: impl FnOnce(&mut String)) -> String {
        let mut body = String::with_capacity(self.owned_capacity);
        write(&mut body);
        let own_len = body.len().saturating_sub(rid_len);
        let wanted = (own_len + protocol::SEQ_ROOM).min(OWNED_CAPACITY_MAX);
        self.owned_capacity = self.owned_capacity.max(wanted);
        body
    }

    fn events_last_seq(&self, account: AccountId) -> Option<u64> {
        Some(self.engine.account_seq(account))
    }

    fn publish(
        &mut self,
        channel: Channel,
        symbol: SymbolId,
        msg_type: &'static str,
        body: String,
    ) {
        let Some(list) = self.subs.get(&(channel, Some(symbol))) else {
            return;
        };
        if list.is_empty() {
            return;
        }
        if let [conn] = list[..] {
            // One subscriber: the body is its own, stamped in place by its writer.
            if !self.take_reset(conn, channel, symbol) {
                self.send(conn, Frame::market(msg_type, channel, body));
            }
            return;
        }
        let list = list.clone();
        let body: Arc<str> = body.into();
        for conn in list {
            if self.take_reset(conn, channel, symbol) {
                continue;
            }
            self.send(conn, Frame::market(msg_type, channel, body.clone()));
        }
    }

    fn has_subscribers(&self, channel: Channel, symbol: SymbolId) -> bool {
        self.subs
            .get(&(channel, Some(symbol)))
            .is_some_and(|l| !l.is_empty())
    }

    /// When the connection's stream was dropped and its queue has room again: sends
    /// STREAM_RESET and a fresh snapshot, and says the pending frame is covered by it.
    fn take_reset(&mut self, conn: ConnId, channel: Channel, symbol: SymbolId) -> bool {
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        let Some(pos) = c.reset_pending.iter().position(|&k| k == (channel, symbol)) else {
            return false;
        };
        if !has_room(&c.tx) {
            return true;
        }
        c.reset_pending.swap_remove(pos);
        self.restart_stream(
            conn,
            channel,
            symbol,
            "slow consumer: messages of this stream were dropped",
        );
        true
    }

    /// STREAM_RESET with `reason`, then what a new subscriber of the stream gets first.
    fn restart_stream(&mut self, conn: ConnId, channel: Channel, symbol: SymbolId, reason: &str) {
        let mut s = String::new();
        msg::stream_reset(
            &mut s,
            channel,
            Some(self.catalog.symbol_name(symbol)),
            reason,
        );
        self.send(conn, Frame::market("STREAM_RESET", channel, s));
        self.send_stream_start(conn, channel, symbol, None);
    }

    /// Restarts a stream the fault layer cut on purpose: STREAM_RESET, then the stream's
    /// snapshot, if the connection is still subscribed to it.
    fn announce_stream_reset(&mut self, conn: ConnId, channel: Channel, body: &str) {
        let Some(symbol) = symbol_of_body(&self.catalog, body) else {
            return;
        };
        let subscribed = self
            .subs
            .get(&(channel, Some(symbol)))
            .is_some_and(|list| list.contains(&conn));
        if subscribed {
            self.restart_stream(
                conn,
                channel,
                symbol,
                "sequence_gap fault: updates of this stream were skipped",
            );
        }
    }

    /// Resets every stream of the connection that is waiting for one, if its queue has room.
    fn resend_stream_resets(&mut self, conn: ConnId) {
        let pending = match self.conns.get(&conn) {
            Some(c) if !c.closing && !c.reset_pending.is_empty() && has_room(&c.tx) => {
                c.reset_pending.clone()
            }
            _ => return,
        };
        for (channel, symbol) in pending {
            self.take_reset(conn, channel, symbol);
        }
    }

    /// Starts the task that sends [`Input::Housekeeping`] every [`HOUSEKEEPING_INTERVAL`]; it
    /// ends with the engine thread.
    fn spawn_housekeeping(&self) {
        let inputs = self.inputs.clone();
        self.runtime.spawn(async move {
            let mut every = tokio::time::interval(HOUSEKEEPING_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // A busy engine thread skips a round rather than queueing chores.
                if let Err(mpsc::error::TrySendError::Closed(_)) =
                    inputs.try_send(Input::Housekeeping)
                {
                    break;
                }
            }
        });
    }

    /// Resets the streams that waited for room, and forgets expired resume tokens (once a
    /// second).
    fn housekeeping(&mut self) {
        let mut starved = std::mem::take(&mut self.starved);
        starved.sort_unstable();
        starved.dedup();
        for conn in starved {
            self.resend_stream_resets(conn);
            if self
                .conns
                .get(&conn)
                .is_some_and(|c| !c.closing && !c.reset_pending.is_empty())
            {
                self.starved.push(conn);
            }
        }
        let now = now_ns();
        if now.saturating_sub(self.last_token_sweep_ns) >= 1_000_000_000 {
            self.sessions.sweep(now);
            self.last_token_sweep_ns = now;
        }
    }

    // ----- requests ----------------------------------------------------------------------

    fn request(&mut self, conn: ConnId, request: Request) {
        let rid = request.request_id.as_ref();
        let ts = now_ns();
        match request.kind {
            RequestKind::Ping => {
                let mut s = String::new();
                msg::pong(&mut s, rid, ts);
                self.send_body(conn, "PONG", s);
            }
            RequestKind::Login {
                account,
                api_key,
                cancel_on_disconnect,
            } => self.login(conn, rid, &account, &api_key, cancel_on_disconnect),
            RequestKind::Logout => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.cancel_on_disconnect = false;
                }
                self.unbind(conn);
                self.sessions.revoke(conn);
                let mut s = String::new();
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("type", "LOGGED_OUT");
                if let Some(r) = rid {
                    w.raw("request_id", r.as_json());
                }
                w.end();
                self.send_body(conn, "LOGGED_OUT", s);
            }
            RequestKind::Resume {
                resume_token,
                account,
                api_key,
                last_account_seq,
                cancel_on_disconnect,
            } => {
                let credentials = match (resume_token, account, api_key) {
                    (Some(token), _, _) => Credentials::Token(token),
                    (None, Some(account), Some(api_key)) => {
                        Credentials::ApiKey { account, api_key }
                    }
                    (None, _, _) => {
                        let mut s = String::new();
                        msg::error(
                            &mut s,
                            rid,
                            ErrorCode::MissingField,
                            "RESUME needs resume_token, or account and api_key",
                            &msg::error_details(Some("resume_token"), Some("RESUME")),
                        );
                        self.send_body(conn, "ERROR", s);
                        return;
                    }
                };
                self.resume(
                    conn,
                    rid,
                    credentials,
                    last_account_seq,
                    cancel_on_disconnect,
                );
            }
            RequestKind::PlaceOrder(mut order) => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                order.account = account;
                let cmd = Command::Place(order);
                if let Err(reject) = self.run_command(Some(conn), rid, cmd) {
                    let mut s = String::new();
                    let details = match reject {
                        Reject::DuplicateClientOrderId(id) => {
                            format!("{{\"existing_order_id\":\"{}\"}}", id.0)
                        }
                        Reject::OrderClosed(st) => {
                            format!("{{\"status\":\"{}\"}}", msg::status_str(st))
                        }
                        _ => "{}".to_string(),
                    };
                    msg::order_reject(
                        &mut s,
                        rid,
                        ErrorCode::from_reject(&reject),
                        &reject.to_string(),
                        Some(self.catalog.symbol_name(order.symbol)),
                        order.client_order_id.as_ref().map(|c| c.as_str()),
                        &details,
                        ts,
                    );
                    self.send_body(conn, "ORDER_REJECT", s);
                }
            }
            RequestKind::CancelOrder(target) => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                if let Err(reject) =
                    self.run_command(Some(conn), rid, Command::Cancel { account, target })
                {
                    self.reject_error(conn, rid, &reject);
                }
            }
            RequestKind::CancelAll { symbol } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let before = self.engine.open_orders(account, symbol).len();
                let result = self.run_command(
                    Some(conn),
                    rid,
                    Command::CancelAll {
                        account,
                        symbol,
                        reason: CloseReason::CancelAll,
                    },
                );
                match result {
                    Ok(()) => {
                        let mut s = String::new();
                        let mut w = protocol::json::ObjectWriter::new(&mut s);
                        w.str("type", "CANCEL_ALL_ACK");
                        if let Some(r) = rid {
                            w.raw("request_id", r.as_json());
                        }
                        w.opt_str("symbol", symbol.map(|s| self.catalog.symbol_name(s)))
                            .u64("cancelled", before as u64)
                            .u64("account_seq", self.engine.account_seq(account));
                        w.end();
                        self.send_body(conn, "CANCEL_ALL_ACK", s);
                    }
                    Err(reject) => self.reject_error(conn, rid, &reject),
                }
            }
            RequestKind::AmendOrder { target, quantity } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let Some(order) = self.engine.order(account, target).copied() else {
                    self.reject_error(conn, rid, &Reject::OrderNotFound);
                    return;
                };
                let Some(symbol) = self.catalog.symbol(order.symbol) else {
                    return;
                };
                let new_qty = match symbol.parse_qty(&quantity) {
                    Ok(q) => q,
                    Err(e) => {
                        let mut s = String::new();
                        msg::error(
                            &mut s,
                            rid,
                            ErrorCode::from_parse(e, false),
                            &format!("quantity {quantity:?}: {e}"),
                            "{\"field\":\"quantity\"}",
                        );
                        self.send_body(conn, "ERROR", s);
                        return;
                    }
                };
                let cmd = Command::Amend {
                    account,
                    target,
                    new_qty,
                };
                if let Err(reject) = self.run_command(Some(conn), rid, cmd) {
                    self.reject_error(conn, rid, &reject);
                }
            }
            RequestKind::CancelAllAfter { timeout_ms } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                self.arm_dead_mans_switch(conn, rid, account, timeout_ms);
            }
            RequestKind::SetCancelOnDisconnect(on) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.cancel_on_disconnect = on;
                }
                let mut s = String::new();
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("type", "CANCEL_ON_DISCONNECT_SET");
                if let Some(r) = rid {
                    w.raw("request_id", r.as_json());
                }
                w.bool("cancel_on_disconnect", on);
                w.end();
                self.send_body(conn, "CANCEL_ON_DISCONNECT_SET", s);
            }
            RequestKind::GetOrder(target) => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                match self.engine.order(account, target).copied() {
                    Some(order) => {
                        let mut s = String::new();
                        let mut w = protocol::json::ObjectWriter::new(&mut s);
                        w.str("type", "ORDER_STATUS");
                        if let Some(r) = rid {
                            w.raw("request_id", r.as_json());
                        }
                        msg::order_fields(&mut w, &self.catalog, &order);
                        w.u64("account_seq", self.engine.account_seq(account));
                        w.end();
                        self.send_body(conn, "ORDER_STATUS", s);
                    }
                    None => self.reject_error(conn, rid, &Reject::OrderNotFound),
                }
            }
            RequestKind::GetOrders { symbol, status } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let orders = self.orders_of(account, symbol, status);
                let mut s = String::new();
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("type", "ORDERS");
                if let Some(r) = rid {
                    w.raw("request_id", r.as_json());
                }
                let catalog = self.catalog.clone();
                w.with("orders", |o| msg::orders_array(o, &catalog, &orders));
                w.u64("account_seq", self.engine.account_seq(account));
                w.end();
                self.send_body(conn, "ORDERS", s);
            }
            RequestKind::GetBalance => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let mut s = String::new();
                msg::balances(
                    &mut s,
                    rid,
                    &self.catalog,
                    self.engine.balances(account),
                    self.engine.account_seq(account),
                    ts,
                );
                self.send_body(conn, "BALANCE_UPDATE", s);
            }
            RequestKind::GetPosition { symbol } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let position = self.engine.position(account, symbol);
                let unrealized = self.engine.unrealized_pnl(account, symbol).map(|a| a.0);
                let mut s = String::new();
                msg::position(
                    &mut s,
                    rid,
                    &self.catalog,
                    symbol,
                    &position,
                    unrealized,
                    self.engine.account_seq(account),
                    ts,
                );
                self.send_body(conn, "POSITION_UPDATE", s);
            }
            RequestKind::GetOrderbook { symbol, depth } => {
                let book = self
                    .engine
                    .depth(symbol, depth.max(protocol::checksum::CHECKSUM_LEVELS));
                let checksum = self.checksum(symbol, &book);
                let book = truncate_depth(book, depth);
                let mut s = String::new();
                msg::orderbook_snapshot(
                    &mut s,
                    rid,
                    &self.catalog,
                    symbol,
                    None,
                    &book,
                    checksum,
                    ts,
                );
                self.send_body(conn, "ORDERBOOK_SNAPSHOT", s);
            }
            RequestKind::GetFills {
                symbol,
                since_fill_id,
            } => {
                let Some(account) = self.account_of(conn) else {
                    return;
                };
                let fills: Vec<_> = self
                    .engine
                    .fills(account)
                    .into_iter()
                    .filter(|f| symbol.is_none_or(|s| f.symbol == s))
                    .filter(|f| since_fill_id.is_none_or(|since| f.fill_id.0 > since))
                    .collect();
                let mut s = String::new();
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("type", "FILLS");
                if let Some(r) = rid {
                    w.raw("request_id", r.as_json());
                }
                let catalog = self.catalog.clone();
                w.with("fills", |o| msg::fills_array(o, &catalog, &fills));
                w.u64("account_seq", self.engine.account_seq(account));
                w.end();
                self.send_body(conn, "FILLS", s);
            }
            RequestKind::Subscribe {
                channel,
                symbol,
                interval,
            } => self.subscribe(conn, rid, channel, symbol, interval),
            RequestKind::Unsubscribe { channel, symbol } => {
                let key = (channel, symbol);
                let was = self
                    .conns
                    .get_mut(&conn)
                    .map(|c| {
                        let before = c.subs.len();
                        c.subs.retain(|&k| k != key);
                        before != c.subs.len()
                    })
                    .unwrap_or(false);
                if !was {
                    self.error(
                        conn,
                        rid,
                        ErrorCode::NotSubscribed,
                        &format!("not subscribed to {}", channel.as_str()),
                    );
                    return;
                }
                if let Some(list) = self.subs.get_mut(&key) {
                    list.retain(|&x| x != conn);
                }
                if let (Channel::Candles, Some(symbol)) = key {
                    for ((sym, _), list) in self.candle_subs.iter_mut() {
                        if *sym == symbol {
                            list.retain(|&x| x != conn);
                        }
                    }
                }
                let mut s = String::new();
                msg::subscription(
                    &mut s,
                    rid,
                    false,
                    channel,
                    symbol.map(|s| self.catalog.symbol_name(s)),
                    None,
                );
                self.send_body(conn, "UNSUBSCRIBED", s);
            }
        }
    }

    fn reject_error(&mut self, conn: ConnId, rid: Option<&RequestId>, reject: &Reject) {
        let mut s = String::new();
        let details = match reject {
            Reject::OrderClosed(st) => format!("{{\"status\":\"{}\"}}", msg::status_str(*st)),
            _ => "{}".to_string(),
        };
        msg::error(
            &mut s,
            rid,
            ErrorCode::from_reject(reject),
            &reject.to_string(),
            &details,
        );
        self.send_body(conn, "ERROR", s);
    }

    fn orders_of(
        &self,
        account: AccountId,
        symbol: Option<SymbolId>,
        status: Option<StatusFilter>,
    ) -> Vec<engine::Order> {
        let mut orders = self.engine.open_orders(account, symbol);
        let wants_closed = !matches!(status, Some(StatusFilter::Open));
        if wants_closed {
            orders.extend(
                self.engine
                    .closed_orders(account)
                    .into_iter()
                    .filter(|o| symbol.is_none_or(|s| o.symbol == s)),
            );
        }
        orders.retain(|o| match status {
            None => true,
            Some(StatusFilter::Open) => {
                matches!(o.status, OrderStatus::Open | OrderStatus::PartiallyFilled)
            }
            Some(StatusFilter::Exactly(s)) => o.status == s,
        });
        orders.sort_by_key(|o| o.id);
        orders
    }

    /// The configured account `name` if `api_key` is its key.
    fn configured_account(&self, name: &str, api_key: &str) -> Option<AccountId> {
        self.by_name.get(name).copied().filter(|id| {
            self.account_info(*id).is_some_and(|info| {
                info.kind == AccountKind::Configured && info.api_key.as_deref() == Some(api_key)
            })
        })
    }

    /// Binds the connection to a configured account, as LOGIN and RESUME do: a connection on an
    /// anonymous account moves over; one logged in to another configured account is refused
    /// (ALREADY_LOGGED_IN, answered here) and `false` returned.
    fn bind_configured(
        &mut self,
        conn: ConnId,
        rid: Option<&RequestId>,
        account: AccountId,
        cancel_on_disconnect: bool,
    ) -> bool {
        let current = self.conns.get(&conn).and_then(|c| c.account);
        match current {
            Some(a) if a == account => {}
            Some(a)
                if self
                    .account_info(a)
                    .is_some_and(|i| i.kind == AccountKind::Configured) =>
            {
                self.error(
                    conn,
                    rid,
                    ErrorCode::AlreadyLoggedIn,
                    "this connection is logged in to another account",
                );
                return false;
            }
            Some(_) => {
                self.unbind(conn);
                self.bind(conn, account);
            }
            None => self.bind(conn, account),
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.cancel_on_disconnect = cancel_on_disconnect;
        }
        true
    }

    /// A fresh resume token from the seeded generator.
    fn new_resume_token(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }

    fn login(
        &mut self,
        conn: ConnId,
        rid: Option<&RequestId>,
        name: &str,
        api_key: &str,
        cancel_on_disconnect: bool,
    ) {
        let Some(account) = self.configured_account(name, api_key) else {
            self.error(
                conn,
                rid,
                ErrorCode::AuthFailed,
                "unknown account or wrong api_key",
            );
            return;
        };
        if !self.bind_configured(conn, rid, account, cancel_on_disconnect) {
            return;
        }
        let session_id = format!("s-{conn}");
        let token = self.new_resume_token();
        self.sessions
            .issue(conn, account, token.clone(), session_id.clone(), now_ns());
        let mut s = String::new();
        let mut w = protocol::json::ObjectWriter::new(&mut s);
        w.str("type", "LOGGED_IN");
        if let Some(r) = rid {
            w.raw("request_id", r.as_json());
        }
        w.str("account", name)
            .str("session_id", &session_id)
            .str("resume_token", &token)
            .bool("cancel_on_disconnect", cancel_on_disconnect)
            .u64("account_seq", self.engine.account_seq(account));
        w.end();
        self.send_body(conn, "LOGGED_IN", s);
    }

    /// RESUME: binds the connection like LOGIN, replays the private events after
    /// `last_seen`, then answers RESUMED; or answers RESUME_GAP (still bound) when the buffer
    /// no longer reaches back that far. All on this thread, so live events follow in order.
    fn resume(
        &mut self,
        conn: ConnId,
        rid: Option<&RequestId>,
        credentials: Credentials,
        last_seen: u64,
        cancel_on_disconnect: bool,
    ) {
        let now = now_ns();
        let (account, session_id) = match &credentials {
            Credentials::Token(token) => match self.sessions.lookup(token, now) {
                Some(info) => (info.account, info.session_id),
                None => {
                    self.error(
                        conn,
                        rid,
                        ErrorCode::InvalidResumeToken,
                        "unknown or expired resume_token: LOGIN again",
                    );
                    return;
                }
            },
            Credentials::ApiKey { account, api_key } => {
                match self.configured_account(account, api_key) {
                    Some(id) => (id, format!("s-{conn}")),
                    None => {
                        self.error(
                            conn,
                            rid,
                            ErrorCode::AuthFailed,
                            "unknown account or wrong api_key",
                        );
                        return;
                    }
                }
            }
        };
        let current = self.engine.account_seq(account);
        if last_seen > current {
            let mut s = String::new();
            msg::error(
                &mut s,
                rid,
                ErrorCode::InvalidField,
                &format!("last_account_seq {last_seen} is ahead of the account's {current}"),
                &format!("{{\"field\":\"last_account_seq\",\"current\":{current}}}"),
            );
            self.send_body(conn, "ERROR", s);
            return;
        }
        if !self.bind_configured(conn, rid, account, cancel_on_disconnect) {
            return;
        }
        let token = match credentials {
            Credentials::Token(token) => {
                self.sessions.adopt(&token, conn, now);
                token
            }
            Credentials::ApiKey { .. } => {
                let token = self.new_resume_token();
                self.sessions
                    .issue(conn, account, token.clone(), session_id.clone(), now);
                token
            }
        };
        let replay = match self
            .accounts
            .get_mut(account.0 as usize)
            .and_then(|info| info.resume.as_mut())
        {
            Some(buffer) => buffer.replay(last_seen, now),
            None => Err(ResumeError::Gap {
                oldest_available: current + 1,
                current,
            }),
        };
        let name = self
            .account_info(account)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let mut s = String::new();
        match replay {
            Ok(replay) => {
                if !replay.frames.is_empty() {
                    self.send_replay(conn, replay.frames);
                }
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("type", "RESUMED");
                if let Some(r) = rid {
                    w.raw("request_id", r.as_json());
                }
                w.str("account", &name)
                    .str("session_id", &session_id)
                    .str("resume_token", &token)
                    .bool("cancel_on_disconnect", cancel_on_disconnect)
                    .u64("from", replay.from)
                    .u64("to", replay.to)
                    .u64("account_seq", replay.to);
                w.end();
                self.send_body(conn, "RESUMED", s);
            }
            Err(ResumeError::Gap {
                oldest_available,
                current,
            }) => {
                let mut details = String::new();
                let mut d = protocol::json::ObjectWriter::new(&mut details);
                d.u64("oldest_available", oldest_available)
                    .u64("current", current)
                    .str("account", &name)
                    .str("session_id", &session_id)
                    .str("resume_token", &token);
                d.end();
                msg::error(
                    &mut s,
                    rid,
                    ErrorCode::ResumeGap,
                    &format!(
                        "events after account_seq {last_seen} are no longer held: rebuild from \
                         GET_ORDERS, GET_BALANCE and GET_FILLS (the connection is logged in)"
                    ),
                    &details,
                );
                self.send_body(conn, "ERROR", s);
            }
            Err(ResumeError::Ahead { current }) => {
                // Checked above against the engine; the buffer agrees with it.
                debug_assert!(false, "resume buffer ahead of the engine at {current}");
                self.error(
                    conn,
                    rid,
                    ErrorCode::InternalError,
                    "resume buffer out of step",
                );
            }
        }
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        rid: Option<&RequestId>,
        channel: Channel,
        symbol: Option<SymbolId>,
        interval: Option<String>,
    ) {
        let key = (channel, symbol);
        if let (Channel::Candles, Some(symbol)) = (channel, symbol) {
            let name = interval.as_deref().unwrap_or("1m");
            let Some(iv) = market::Interval::parse(name) else {
                let mut s = String::new();
                msg::error(
                    &mut s,
                    rid,
                    ErrorCode::InvalidField,
                    &format!("interval {name:?}: intervals are 1m, 5m, 15m, 1h, 1d"),
                    "{\"field\":\"interval\"}",
                );
                self.send_body(conn, "ERROR", s);
                return;
            };
            let list = self.candle_subs.entry((symbol, iv)).or_default();
            if !list.contains(&conn) {
                list.push(conn);
            }
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let fresh = !c.subs.contains(&key);
        if fresh {
            c.subs.push(key);
            self.subs.entry(key).or_default().push(conn);
        }
        let mut s = String::new();
        msg::subscription(
            &mut s,
            rid,
            true,
            channel,
            symbol.map(|s| self.catalog.symbol_name(s)),
            interval.as_deref(),
        );
        self.send_body(conn, "SUBSCRIBED", s);
        if let Some(symbol) = symbol {
            // Every SUBSCRIBE to a book channel gives a fresh snapshot, so it is also the way to
            // resynchronise.
            self.send_stream_start(conn, channel, symbol, None);
        }
    }

    /// The first frame of a stream: the L2 snapshot, the ORDERBOOK picture, the current ticker.
    fn send_stream_start(
        &mut self,
        conn: ConnId,
        channel: Channel,
        symbol: SymbolId,
        rid: Option<&RequestId>,
    ) {
        let ts = now_ns();
        let mut s = String::new();
        match channel {
            Channel::OrderbookL2 => {
                let book = self.engine.depth(symbol, usize::MAX);
                let checksum = self.checksum(symbol, &book);
                msg::orderbook_snapshot(
                    &mut s,
                    rid,
                    &self.catalog,
                    symbol,
                    Some(channel),
                    &book,
                    checksum,
                    ts,
                );
                self.send(conn, Frame::market("ORDERBOOK_SNAPSHOT", channel, s));
            }
            Channel::Orderbook => {
                let book = self.engine.depth(symbol, ORDERBOOK_PICTURE_LEVELS);
                let checksum = self.checksum(symbol, &book);
                msg::orderbook_picture(&mut s, &self.catalog, symbol, &book, checksum, ts);
                self.send(conn, Frame::market("ORDERBOOK_UPDATE", channel, s));
            }
            Channel::Ticker => {
                let body = self.ticker_body(symbol, ts, false);
                self.send(conn, Frame::market("MARKET_DATA", channel, body));
            }
            Channel::Trades | Channel::Candles | Channel::Heartbeat => {}
        }
    }

    fn checksum(&self, symbol: SymbolId, depth: &Depth) -> u32 {
        self.catalog
            .symbol(symbol)
            .map_or(0, |s| msg::depth_checksum(s, depth))
    }

    fn arm_dead_mans_switch(
        &mut self,
        conn: ConnId,
        rid: Option<&RequestId>,
        account: AccountId,
        timeout_ms: u64,
    ) {
        let Some(info) = self.accounts.get_mut(account.0 as usize) else {
            return;
        };
        info.dead_mans_switch_generation += 1;
        let generation = info.dead_mans_switch_generation;
        // One timer per account: re-arming or disarming ends the previous one.
        if let Some(timer) = info.dead_mans_switch_timer.take() {
            timer.abort();
        }
        if timeout_ms > 0 {
            let inputs = self.inputs.clone();
            let timer = self.runtime.spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(timeout_ms)).await;
                let _ = inputs
                    .send(Input::DeadMansSwitch {
                        account,
                        generation,
                    })
                    .await;
            });
            info.dead_mans_switch_timer = Some(timer.abort_handle());
        }
        let mut s = String::new();
        let mut w = protocol::json::ObjectWriter::new(&mut s);
        w.str("type", "CANCEL_ALL_AFTER_ACK");
        if let Some(r) = rid {
            w.raw("request_id", r.as_json());
        }
        w.u64("timeout_ms", timeout_ms)
            .bool("armed", timeout_ms > 0);
        if timeout_ms > 0 {
            w.str_with("trigger_time", |o| {
                protocol::time::write_iso8601(
                    now_ns().saturating_add(timeout_ms.saturating_mul(1_000_000)),
                    o,
                )
            });
        }
        w.end();
        self.send_body(conn, "CANCEL_ALL_AFTER_ACK", s);
    }

    fn dead_mans_switch(&mut self, account: AccountId, generation: u64) {
        let due = self
            .account_info(account)
            .is_some_and(|i| i.dead_mans_switch_generation == generation);
        if due {
            if let Some(info) = self.accounts.get_mut(account.0 as usize) {
                info.dead_mans_switch_generation += 1;
                info.dead_mans_switch_timer = None;
            }
            let _ = self.run_command(
                None,
                None,
                Command::CancelAll {
                    account,
                    symbol: None,
                    reason: CloseReason::DeadMansSwitch,
                },
            );
        }
    }

    /// With `server.limits.max_connection_age_s`: schedules the connection's SERVER_NOTICE and
    /// its close (see [`age_notice_delay`]).
    fn start_age_timer(&mut self, conn: ConnId) {
        let Some(age) = self
            .config
            .server
            .limits
            .max_connection_age_s
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        else {
            return;
        };
        let notice = age_notice_delay(age);
        let inputs = self.inputs.clone();
        let timer = self.runtime.spawn(async move {
            tokio::time::sleep(notice).await;
            let close = false;
            if inputs
                .send(Input::ConnectionAge { conn, close })
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(age.saturating_sub(notice)).await;
            let close = true;
            let _ = inputs.send(Input::ConnectionAge { conn, close }).await;
        });
        if let Some(c) = self.conns.get_mut(&conn) {
            c.age_timer = Some(timer.abort_handle());
        }
    }

    /// The connection's age notice (`close: false`) or its end: close code 4000, reason
    /// "connection age".
    fn connection_age(&mut self, conn: ConnId, close: bool) {
        if close {
            self.disconnect(conn, CONNECTION_AGE_CLOSE_CODE, "connection age");
            return;
        }
        let Some(age) = self
            .config
            .server
            .limits
            .max_connection_age_s
            .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        else {
            return;
        };
        let left = age.saturating_sub(age_notice_delay(age));
        let seconds_left = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let mut s = String::new();
        let mut w = protocol::json::ObjectWriter::new(&mut s);
        w.str("type", "SERVER_NOTICE")
            .str("notice", "RECONNECT")
            .str(
                "message",
                "this connection reaches its maximum age soon: open a new one and RESUME",
            )
            .u64("seconds_left", seconds_left)
            .u64("close_code", u64::from(CONNECTION_AGE_CLOSE_CODE));
        w.str_with("timestamp", |o| protocol::time::write_iso8601(now_ns(), o));
        w.end();
        self.send_body(conn, "SERVER_NOTICE", s);
    }

    // ----- running commands and routing events --------------------------------------------

    /// Runs one engine command and routes its events. `direct` is the connection whose request
    /// it is, whose copy of the answer carries the request id.
    /// Sends `conn` an ORDER_FILL that looks real but never happened: for the account's oldest
    /// open order, half its open quantity (at least one lot) at its price, as a maker without
    /// fee. Its `fill_id` comes from a range real fills never reach, its `trade_id` is the
    /// symbol's latest and its `account_seq` repeats the latest, so a bot can tell it from the
    /// truth (REST fills). Nothing is sent when the connection has no open order.
    fn phantom_fill(&mut self, conn: ConnId) {
        let Some(account) = self.conns.get(&conn).and_then(|c| c.account) else {
            return;
        };
        let orders = self.engine.open_orders(account, None);
        let Some(order) = orders
            .iter()
            .filter(|o| o.price.is_some() && o.remaining_qty().0 > 0)
            .min_by_key(|o| o.id)
        else {
            return;
        };
        let Some(price) = order.price else {
            return;
        };
        let remaining = order.remaining_qty().0;
        let qty = (remaining / 2).max(1);
        let Some(symbol) = self.catalog.symbol(order.symbol) else {
            return;
        };
        let fee_asset = match order.side {
            Side::Buy => symbol.base,
            Side::Sell => symbol.quote,
        };
        self.phantom_fills += 1;
        let fill = engine::Fill {
            account,
            order_id: order.id,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            fill_id: engine::FillId(PHANTOM_FILL_ID_BASE + self.phantom_fills),
            trade_id: self.engine.last_trade_id(order.symbol),
            price,
            qty: Qty(qty),
            filled_qty: Qty(order.filled_qty.0 + qty),
            remaining_qty: Qty(remaining - qty),
            status: if qty == remaining {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            },
            is_maker: true,
            fee: Amount(0),
            fee_asset,
            ts_ns: now_ns(),
            account_seq: self.engine.account_seq(account),
        };
        let mut s = String::new();
        msg::order_fill(&mut s, &self.catalog, &fill);
        self.send_body(conn, "ORDER_FILL", s);
    }

    pub fn run_command(
        &mut self,
        conn: Option<ConnId>,
        rid: Option<&RequestId>,
        cmd: Command,
    ) -> Result<(), Reject> {
        let ts = now_ns();
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let result = self.engine.execute(&cmd, ts, &mut events);
        if result.is_ok() {
            self.route(conn, rid, &cmd, &events, ts);
            if let Some(market) = &mut self.market {
                for event in &events {
                    market.on_event(event);
                }
            }
        }
        self.events = events;
        result
    }

    fn route(
        &mut self,
        conn: Option<ConnId>,
        rid: Option<&RequestId>,
        cmd: &Command,
        events: &[Event],
        ts: u64,
    ) {
        let catalog = self.catalog.clone();
        let direct = conn.map(|c| (c, rid));
        let is_cancel = matches!(cmd, Command::Cancel { .. });
        let is_amend = matches!(cmd, Command::Amend { .. });
        let mut touched = std::mem::take(&mut self.touched_symbols);
        touched.clear();
        touched.resize(self.catalog.symbols().len(), false);
        for event in events {
            match event {
                Event::Accepted(e) => {
                    let order = e.order;
                    let seq = e.account_seq;
                    self.send_private(order.account, seq, "ORDER_ACK", direct, |s, r| {
                        msg::order_ack(s, r, &catalog, &order, seq)
                    });
                }
                Event::Fill(f) => {
                    let f = *f;
                    self.send_private(f.account, f.account_seq, "ORDER_FILL", None, |s, _| {
                        msg::order_fill(s, &catalog, &f)
                    });
                }
                Event::Closed(c) => {
                    let c = *c;
                    let d = if is_cancel { direct } else { None };
                    self.send_private(c.account, c.account_seq, "ORDER_CANCEL", d, |s, r| {
                        msg::order_cancel(s, r, &catalog, &c, ts)
                    });
                }
                Event::Amended(a) => {
                    let a = *a;
                    let d = if is_amend { direct } else { None };
                    self.send_private(a.account, a.account_seq, "ORDER_AMENDED", d, |s, r| {
                        msg::order_amended(s, r, &catalog, &a, ts)
                    });
                }
                Event::Balance(b) => {
                    let b = *b;
                    self.send_private(b.account, b.account_seq, "BALANCE_UPDATE", None, |s, _| {
                        msg::balance_changed(s, &catalog, &b, ts)
                    });
                }
                Event::Position(p) => {
                    let p = *p;
                    let unrealized = self.engine.unrealized_pnl(p.account, p.symbol).map(|a| a.0);
                    self.send_private(p.account, p.account_seq, "POSITION_UPDATE", None, |s, _| {
                        msg::position(
                            s,
                            None,
                            &catalog,
                            p.symbol,
                            &p.position,
                            unrealized,
                            p.account_seq,
                            ts,
                        )
                    });
                }
                Event::Trade(t) => {
                    if let Some(a) = self.seqs.trade.get(t.symbol.0 as usize) {
                        a.store(t.trade_id.0, Ordering::Relaxed);
                    }
                    if let Some(md) = self.market_data.get_mut(t.symbol.0 as usize) {
                        md.stats.on_trade(t.ts_ns, t.price, t.qty.0);
                    }
                    if self.has_subscribers(Channel::Trades, t.symbol) {
                        let mut s = String::new();
                        msg::trade(&mut s, &catalog, t);
                        self.publish(Channel::Trades, t.symbol, "TRADE", s);
                    }
                    let updates = self.candles.on_trade(t);
                    self.publish_candles(&updates);
                }
                Event::BookLevel(l) => {
                    if let Some(a) = self.seqs.book.get(l.symbol.0 as usize) {
                        a.store(l.book_seq, Ordering::Relaxed);
                    }
                    if let Some(md) = self.market_data.get_mut(l.symbol.0 as usize) {
                        md.pending_levels.push(*l);
                    }
                    if let Some(t) = touched.get_mut(l.symbol.0 as usize) {
                        *t = true;
                    }
                }
            }
        }
        for (i, &was) in touched.iter().enumerate() {
            if was {
                self.publish_book(SymbolId(i as u32), ts);
            }
        }
        self.touched_symbols = touched;
    }

    /// After a command changed a book: the L2 delta and the ORDERBOOK picture.
    fn publish_book(&mut self, symbol: SymbolId, ts: u64) {
        let l2 = self.has_subscribers(Channel::OrderbookL2, symbol);
        let picture = self.has_subscribers(Channel::Orderbook, symbol);
        let Some(md) = self.market_data.get_mut(symbol.0 as usize) else {
            return;
        };
        if !l2 && !picture {
            // Nobody to tell: the buffer is kept for the next command.
            md.pending_levels.clear();
            return;
        }
        let levels = std::mem::take(&mut md.pending_levels);
        let (Some(first), Some(last)) = (levels.first(), levels.last()) else {
            return;
        };
        let (first_seq, last_seq) = (first.book_seq, last.book_seq);
        let top = self.engine.depth(
            symbol,
            ORDERBOOK_PICTURE_LEVELS.max(protocol::checksum::CHECKSUM_LEVELS),
        );
        let checksum = self.checksum(symbol, &top);
        if l2 {
            // The latest quantity of each changed level, bids highest first, asks lowest first.
            let mut bids: BTreeMap<engine::Price, Qty> = BTreeMap::new();
            let mut asks: BTreeMap<engine::Price, Qty> = BTreeMap::new();
            for l in &levels {
                match l.side {
                    Side::Buy => bids.insert(l.price, l.qty),
                    Side::Sell => asks.insert(l.price, l.qty),
                };
            }
            let to_levels = |m: BTreeMap<engine::Price, Qty>| -> Vec<Level> {
                m.into_iter()
                    .map(|(price, qty)| Level {
                        price,
                        qty,
                        order_count: 0,
                    })
                    .collect()
            };
            let mut bids = to_levels(bids);
            bids.reverse();
            let asks = to_levels(asks);
            let mut s = String::new();
            msg::orderbook_delta(
                &mut s,
                &self.catalog,
                symbol,
                &bids,
                &asks,
                first_seq,
                last_seq,
                checksum,
                ts,
            );
            self.publish(Channel::OrderbookL2, symbol, "ORDERBOOK_UPDATE", s);
        }
        if picture {
            let mut s = String::new();
            msg::orderbook_picture(&mut s, &self.catalog, symbol, &top, checksum, ts);
            self.publish(Channel::Orderbook, symbol, "ORDERBOOK_UPDATE", s);
        }
        if let Some(md) = self.market_data.get_mut(symbol.0 as usize) {
            let mut levels = levels;
            levels.clear();
            md.pending_levels = levels;
        }
    }

    fn ticker_body(&mut self, symbol: SymbolId, ts: u64, advance: bool) -> String {
        let (bid, ask) = self.engine.best_bid_ask(symbol);
        let last = self.engine.last_price(symbol);
        let Some(md) = self.market_data.get_mut(symbol.0 as usize) else {
            return String::new();
        };
        if advance {
            md.ticker_seq += 1;
        }
        let window = md.stats.summary(ts);
        let seq = md.ticker_seq;
        let Some(sym) = self.catalog.symbol(symbol) else {
            return String::new();
        };
        let mut s = String::new();
        let mut w = protocol::json::ObjectWriter::new(&mut s);
        let price =
            |w: &mut protocol::json::ObjectWriter<'_>, key: &str, p: Option<engine::Price>| {
                match p {
                    Some(p) => w.str_with(key, |o| sym.write_price(p, o)),
                    None => w.raw(key, "null"),
                };
            };
        w.str("type", "MARKET_DATA")
            .str("channel", Channel::Ticker.as_str())
            .str("symbol", &sym.spec.name);
        price(&mut w, "last", last);
        price(&mut w, "price", last);
        price(&mut w, "bid", bid.map(|l| l.price));
        price(&mut w, "ask", ask.map(|l| l.price));
        w.str_with("bid_size", |o| {
            sym.write_qty(bid.map_or(Qty(0), |l| l.qty), o)
        })
        .str_with("ask_size", |o| {
            sym.write_qty(ask.map_or(Qty(0), |l| l.qty), o)
        })
        .str_with("volume_24h", |o| {
            sym.write_qty(
                Qty(i64::try_from(window.volume_lots).unwrap_or(i64::MAX)),
                o,
            )
        });
        price(&mut w, "high_24h", window.high);
        price(&mut w, "low_24h", window.low);
        w.u64("sequence_id", seq);
        w.str_with("timestamp", |o| protocol::time::write_iso8601(ts, o));
        w.end();
        s
    }

    /// One market step; every `steps_per_tick`-th also publishes the ticker.
    fn step(&mut self) {
        self.market_clock_ns += self.step_ns;
        self.steps += 1;
        if let Some(market) = &mut self.market {
            let mut commands = std::mem::take(&mut self.market_commands);
            commands.clear();
            market.step_into(self.market_clock_ns, &mut commands);
            for cmd in &commands {
                // The market's orders obey the same rules as anyone's; a refusal needs no answer.
                let _ = self.run_command(None, None, *cmd);
            }
            self.market_commands = commands;
        }
        let updates = self.candles.on_time(now_ns());
        self.publish_candles(&updates);
        if self.steps % self.steps_per_tick != 0 {
            return;
        }
        let ts = now_ns();
        for i in 0..self.catalog.symbols().len() {
            let symbol = SymbolId(i as u32);
            if self.has_subscribers(Channel::Ticker, symbol) {
                let body = self.ticker_body(symbol, ts, true);
                self.publish(Channel::Ticker, symbol, "MARKET_DATA", body);
            }
        }
    }

    fn publish_candles(&mut self, updates: &[market::CandleUpdate]) {
        for update in updates {
            let key = (update.candle.symbol, update.candle.interval);
            let Some(list) = self.candle_subs.get(&key) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let list = list.clone();
            let body: Arc<str> = candle_body(&self.catalog, &update.candle, update.closed).into();
            for conn in list {
                // As on every channel: a stream that lost frames restarts with its reset first.
                if self.take_reset(conn, Channel::Candles, update.candle.symbol) {
                    continue;
                }
                self.send(
                    conn,
                    Frame::market("CANDLE", Channel::Candles, body.clone()),
                );
            }
        }
    }

    /// The synthetic market's current model price of a symbol.
    pub fn model_price(&self, symbol: SymbolId) -> Option<engine::Price> {
        self.market.as_ref()?.model_price(symbol)
    }

    // ----- REST --------------------------------------------------------------------------

    fn rest_account(&self, auth: &RestAuth) -> Result<AccountId, RestReply> {
        if let Some(key) = &auth.api_key {
            return self
                .by_api_key
                .get(key)
                .copied()
                .ok_or_else(|| rest_error(401, ErrorCode::AuthFailed, "unknown api key"));
        }
        if let Some(name) = &auth.account {
            return self
                .by_name
                .get(name)
                .copied()
                .filter(|id| {
                    self.account_info(*id)
                        .is_some_and(|i| i.kind == AccountKind::Anonymous)
                })
                .ok_or_else(|| {
                    rest_error(
                        401,
                        ErrorCode::AuthFailed,
                        "unknown account (configured accounts need the X-API-KEY header)",
                    )
                });
        }
        Err(rest_error(
            401,
            ErrorCode::NotLoggedIn,
            "send the X-API-KEY header, or ?account= for an anonymous account",
        ))
    }

    fn rest_symbol(&self, name: &str) -> Result<SymbolId, RestReply> {
        self.catalog.symbol_id(name).ok_or_else(|| {
            rest_error(
                404,
                ErrorCode::UnknownSymbol,
                &format!("unknown symbol {name:?}"),
            )
        })
    }

    /// Answers a REST query.
    pub fn rest(&mut self, call: RestCall) -> RestReply {
        match self.rest_inner(call) {
            Ok(body) => (200, body),
            Err(reply) => reply,
        }
    }

    fn rest_inner(&mut self, call: RestCall) -> Result<String, RestReply> {
        let ts = now_ns();
        let catalog = self.catalog.clone();
        let mut s = String::new();
        match call {
            RestCall::Health => {
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.str("status", "ok")
                    .u64(
                        "uptime_s",
                        (ts.saturating_sub(self.started_ns)) / 1_000_000_000,
                    )
                    .u64("connections", self.conns.len() as u64)
                    .u64("accounts", self.accounts.len() as u64);
                w.str_with("timestamp", |o| protocol::time::write_iso8601(ts, o));
                w.end();
            }
            RestCall::Symbols => {
                s.push('[');
                for (i, sym) in catalog.symbols().iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let mut w = protocol::json::ObjectWriter::new(&mut s);
                    w.str("symbol", &sym.spec.name)
                        .str("base", &sym.spec.base)
                        .str("quote", &sym.spec.quote)
                        .str("tick_size", &sym.spec.tick.format(1))
                        .str("lot_size", &sym.spec.lot.format(1))
                        .str("min_quantity", &sym.format_qty(sym.spec.min_qty))
                        .str("max_quantity", &sym.format_qty(sym.spec.max_qty))
                        .str_with("min_notional", |o| {
                            msg::write_amount(
                                catalog.asset_decimals(sym.quote),
                                sym.spec.min_notional.0,
                                o,
                            )
                        });
                    w.end();
                }
                s.push(']');
            }
            RestCall::Orderbook { symbol, depth } => {
                let id = self.rest_symbol(&symbol)?;
                let book = self
                    .engine
                    .depth(id, depth.max(protocol::checksum::CHECKSUM_LEVELS));
                let checksum = self.checksum(id, &book);
                let book = truncate_depth(book, depth);
                msg::orderbook_snapshot(&mut s, None, &catalog, id, None, &book, checksum, ts);
            }
            RestCall::Trades { symbol, limit } => {
                let id = self.rest_symbol(&symbol)?;
                s.push('[');
                for (i, t) in self.engine.recent_trades(id, limit).iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    msg::trade(&mut s, &catalog, t);
                }
                s.push(']');
            }
            RestCall::Ticker { symbol } => {
                let symbol_given = symbol.clone();
                let ids: Vec<SymbolId> = match symbol {
                    Some(name) => vec![self.rest_symbol(&name)?],
                    None => (0..catalog.symbols().len())
                        .map(|i| SymbolId(i as u32))
                        .collect(),
                };
                let many = symbol_given.is_none();
                if many {
                    s.push('[');
                }
                for (i, id) in ids.into_iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(&self.ticker_body(id, ts, false));
                }
                if many {
                    s.push(']');
                }
            }
            RestCall::Accounts => {
                s.push('[');
                let mut first = true;
                for (i, info) in self.accounts.iter().enumerate() {
                    if info.kind == AccountKind::Anonymous {
                        continue;
                    }
                    if !first {
                        s.push(',');
                    }
                    first = false;
                    let mut w = protocol::json::ObjectWriter::new(&mut s);
                    w.str("account", &info.name)
                        .str("kind", info.kind.as_str())
                        .u64(
                            "open_orders",
                            self.engine.open_orders(AccountId(i as u32), None).len() as u64,
                        );
                    w.end();
                }
                s.push(']');
            }
            RestCall::Balances(auth) => {
                let account = self.rest_account(&auth)?;
                msg::balances(
                    &mut s,
                    None,
                    &catalog,
                    self.engine.balances(account),
                    self.engine.account_seq(account),
                    ts,
                );
            }
            RestCall::Orders(auth) => {
                let account = self.rest_account(&auth)?;
                let orders = self.orders_of(account, None, None);
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.with("orders", |o| msg::orders_array(o, &catalog, &orders));
                w.u64("account_seq", self.engine.account_seq(account));
                w.end();
            }
            RestCall::Order(auth, id) => {
                let account = self.rest_account(&auth)?;
                let target = match id.parse::<u64>() {
                    Ok(n) => OrderRef::Id(engine::OrderId(n)),
                    Err(_) => match engine::ClientOrderId::new(&id) {
                        Some(c) => OrderRef::Client(c),
                        None => OrderRef::Id(engine::OrderId(0)),
                    },
                };
                let order =
                    self.engine.order(account, target).copied().ok_or_else(|| {
                        rest_error(404, ErrorCode::OrderNotFound, "order not found")
                    })?;
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                msg::order_fields(&mut w, &catalog, &order);
                w.end();
            }
            RestCall::Candles {
                symbol,
                interval,
                limit,
            } => {
                let id = self.rest_symbol(&symbol)?;
                let iv = market::Interval::parse(&interval).ok_or_else(|| {
                    rest_error(
                        400,
                        ErrorCode::InvalidField,
                        "interval must be one of 1m, 5m, 15m, 1h, 1d",
                    )
                })?;
                s.push('[');
                let open = self.candles.candles(id, iv, limit);
                let last = open.len().saturating_sub(1);
                for (i, candle) in open.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let closed = i < last || candle.close_ns() <= ts;
                    s.push_str(&candle_body(&catalog, candle, closed));
                }
                s.push(']');
            }
            RestCall::Fills(auth) => {
                let account = self.rest_account(&auth)?;
                let fills = self.engine.fills(account);
                let mut w = protocol::json::ObjectWriter::new(&mut s);
                w.with("fills", |o| msg::fills_array(o, &catalog, &fills));
                w.u64("account_seq", self.engine.account_seq(account));
                w.end();
            }
        }
        Ok(s)
    }
}

/// A CANDLE message (a channel frame, or an element of the REST list).
fn candle_body(catalog: &Catalog, candle: &market::Candle, closed: bool) -> String {
    let mut s = String::new();
    let Some(sym) = catalog.symbol(candle.symbol) else {
        return s;
    };
    let mut w = protocol::json::ObjectWriter::new(&mut s);
    w.str("type", "CANDLE")
        .str("channel", Channel::Candles.as_str())
        .str("symbol", &sym.spec.name)
        .str("interval", candle.interval.as_str())
        .str_with("open_time", |o| {
            protocol::time::write_iso8601(candle.open_ns, o)
        })
        .str_with("close_time", |o| {
            protocol::time::write_iso8601(candle.close_ns(), o)
        })
        .str_with("open", |o| sym.write_price(candle.open, o))
        .str_with("high", |o| sym.write_price(candle.high, o))
        .str_with("low", |o| sym.write_price(candle.low, o))
        .str_with("close", |o| sym.write_price(candle.close, o))
        .str_with("volume", |o| sym.write_qty(candle.volume, o))
        .u64("trades", candle.trades)
        .bool("closed", closed);
    w.end();
    s
}

fn truncate_depth(mut depth: Depth, levels: usize) -> Depth {
    depth.bids.truncate(levels);
    depth.asks.truncate(levels);
    depth
}

/// The symbol a market-data message is about, read back from its body (only on slow paths).
fn symbol_of_body(catalog: &Catalog, body: &str) -> Option<SymbolId> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    catalog.symbol_id(v.get("symbol")?.as_str()?)
}

/// The most capacity [`Core::render_owned`] reserves up front; longer messages grow their buffer.
const OWNED_CAPACITY_MAX: usize = 2048;
/// How often [`Input::Housekeeping`] comes.
const HOUSEKEEPING_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Queue slots kept for answers and private events when market data is dropped for a slow
/// consumer: a quarter of the queue.
fn private_reserve(max_frames: usize) -> usize {
    max_frames / 4
}

/// Whether a starved connection's queue has room for its stream resets again: at least half of
/// it free, and at least a STREAM_RESET and its snapshot.
fn has_room(tx: &crate::outbound::OutboundSender) -> bool {
    let free = tx.capacity();
    free >= 2 && free * 2 >= tx.max_capacity()
}

/// The close code of a connection that reached `server.limits.max_connection_age_s` (an
/// application code: not a fault, not a shutdown).
pub const CONNECTION_AGE_CLOSE_CODE: u16 = 4000;

/// When the SERVER_NOTICE comes in a connection's life of `age`: at 90% of it or 10 s before its
/// end, whichever is later (a day-long connection gets 10 s, a 10 s one gets 1 s).
pub fn age_notice_delay(age: std::time::Duration) -> std::time::Duration {
    age.mul_f64(0.9)
        .max(age.saturating_sub(std::time::Duration::from_secs(10)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_age_notice_comes_at_90_percent_or_10_s_before_whichever_is_later() {
        let s = Duration::from_secs;
        assert_eq!(
            age_notice_delay(Duration::from_millis(500)),
            Duration::from_millis(450)
        );
        assert_eq!(age_notice_delay(s(60)), s(54));
        assert_eq!(age_notice_delay(s(100)), s(90));
        assert_eq!(age_notice_delay(s(86_400)), s(86_390));
    }

    #[test]
    fn a_starved_queue_needs_half_its_slots_free() {
        let (tx, _rx) = crate::outbound::channel(16);
        assert!(has_room(&tx));
        for _ in 0..8 {
            tx.try_send(Outbound::Replay(Vec::new())).unwrap();
        }
        assert!(has_room(&tx));
        tx.try_send(Outbound::Replay(Vec::new())).unwrap();
        assert!(!has_room(&tx));
        assert_eq!(private_reserve(16), 4);
    }
}
