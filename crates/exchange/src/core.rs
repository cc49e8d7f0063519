//! [`Core`]: the state of the exchange and its one entry, [`Core::apply`].

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

use engine::{Engine, SymbolId};

use crate::accounts::Accounts;
use crate::catalog::Catalog;
use crate::config::CoreConfig;
use crate::connections::Connections;
use crate::effect::{Effect, ReplyId};
use crate::error::CoreError;
use crate::market_clock::MarketClock;
use crate::market_data::MarketData;
use crate::message::{Message, StreamCut};
use crate::query::Query;
use crate::request::{Channel, Command, Request};
use crate::sessions::Sessions;
use crate::timers::Timer;
use crate::ConnId;

/// One input of the core. Inputs carry no channels or callbacks: they are plain data, so that a
/// journal can hold them and a replay or a simulator can feed them again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// The exchange opens: the first input of every run. Schedules the market and the chores.
    Start,
    /// A connection opened.
    Open { conn: ConnId },
    /// A connection closed, for whatever reason (a close the core asked for included).
    Close { conn: ConnId },
    /// A parsed request from a connection.
    Request { conn: ConnId, request: Request },
    /// A question from outside the connections; answered with [`Effect::Reply`] to `reply`.
    Query { reply: ReplyId, query: Query },
    /// A command on behalf of an account from outside the connections (REST order placement);
    /// answered with [`Effect::Reply`] to `reply`.
    Call {
        reply: ReplyId,
        call: crate::call::Call,
    },
    /// A wake-up the core scheduled.
    Wake(Timer),
    /// Advance the market by this many ticker intervals, then answer `reply` (for a market on a
    /// manual clock; with the timer the steps come on top).
    AdvanceMarket { ticks: u64, reply: ReplyId },
    /// The fault layer's `phantom_fills`: tell the connection of a fill that never happened.
    PhantomFill { conn: ConnId },
    /// A marker from a connection's edge, echoed to it as [`Effect::Fence`] behind everything
    /// its earlier inputs caused: answers the edge makes itself (a RATE_LIMITED) wait for it,
    /// so that they leave after the answers to earlier requests.
    Fence { conn: ConnId, token: u64 },
    /// The edge cut a stream of the connection: restart it with STREAM_RESET and a fresh
    /// snapshot, if the connection still subscribes to it.
    RestartStream {
        conn: ConnId,
        channel: Channel,
        symbol: SymbolId,
        cause: StreamCut,
    },
}

/// The exchange: engine, accounts, sessions, connections, subscriptions and the market, changed
/// only by [`Core::apply`].
pub struct Core {
    pub(crate) engine: Engine,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) config: CoreConfig,
    pub(crate) accounts: Accounts,
    pub(crate) connections: Connections,
    pub(crate) sessions: Sessions,
    pub(crate) market_data: MarketData,
    pub(crate) market: MarketClock,
    /// The time of the input being applied (never goes back).
    pub(crate) now_ns: u64,
    /// When the exchange started ([`Input::Start`]).
    pub(crate) started_ns: u64,
    /// The effects of the input being applied.
    pub(crate) out: Vec<Effect>,
    /// The engine events of the command being run (reused).
    pub(crate) events: Vec<engine::Event>,
    /// Phantom fills fabricated so far (for their ids).
    pub(crate) phantom_fills: u64,
    /// How many inputs were applied.
    pub(crate) inputs: u64,
}

impl Core {
    /// Builds the engine, the configured accounts (funded) and the market. `custom_models`
    /// replace the configured price model of their symbol; `market_seed` seeds the market's
    /// streams; `start_ns` is the time the exchange starts at (the market's clock starts there).
    pub fn new(
        config: CoreConfig,
        custom_models: HashMap<String, Box<dyn market::PriceModel>>,
        market_seed: u64,
        start_ns: u64,
    ) -> Result<Core, CoreError> {
        let engine = Engine::new(config.engine.clone())
            .map_err(|e| CoreError::new("exchange.symbols", e.to_string()))?;
        let catalog = Arc::new(Catalog::from_engine(&engine));
        let mut default_funds = Vec::new();
        for (asset, text) in &config.default_balances {
            let Some(id) = engine.asset_id(asset) else {
                continue;
            };
            let amount = engine.parse_amount(id, text).map_err(|e| {
                CoreError::new(format!("exchange.default_balance.{asset}"), e.to_string())
            })?;
            default_funds.push((id, amount));
        }
        let symbols = catalog.symbols().len();
        let mut core = Core {
            engine,
            catalog,
            accounts: Accounts::new(default_funds),
            connections: Connections::default(),
            sessions: Sessions::new(config.history.resume_max_age_ns),
            market_data: MarketData::new(symbols, config.market.candles.history_limit),
            market: MarketClock::new(&config, start_ns),
            config,
            now_ns: start_ns,
            started_ns: start_ns,
            out: Vec::new(),
            events: Vec::with_capacity(64),
            phantom_fills: 0,
            inputs: 0,
        };
        core.open_configured_accounts()?;
        core.start_market(market_seed, custom_models)?;
        Ok(core)
    }

    /// Applies one input at `at_ns` and appends its effects to `out`, in order. Time never goes
    /// back: an input stamped before the previous one counts at the previous one's time.
    pub fn apply(&mut self, at_ns: u64, input: Input, out: &mut Vec<Effect>) {
        self.now_ns = self.now_ns.max(at_ns);
        self.inputs += 1;
        self.market_data.begin_input();
        match input {
            Input::Start => self.start(),
            Input::Open { conn } => self.open_connection(conn),
            Input::Close { conn } => self.close_connection(conn),
            Input::Request { conn, request } => self.request(conn, request),
            Input::Query { reply, query } => {
                let answer = self.query(query);
                self.emit(Effect::Reply { to: reply, answer });
            }
            Input::Call { reply, call } => {
                let answer = self.call(call);
                self.emit(Effect::Reply { to: reply, answer });
            }
            Input::Wake(timer) => self.wake(timer),
            Input::AdvanceMarket { ticks, reply } => {
                self.advance_market(ticks);
                self.emit(Effect::Reply {
                    to: reply,
                    answer: crate::message::Answer::Advanced,
                });
            }
            Input::PhantomFill { conn } => self.phantom_fill(conn),
            Input::Fence { conn, token } => self.emit(Effect::Fence { conn, token }),
            Input::RestartStream {
                conn,
                channel,
                symbol,
                cause,
            } => self.restart_stream_if_subscribed(conn, channel, symbol, cause),
        }
        if out.is_empty() {
            std::mem::swap(out, &mut self.out);
        } else {
            out.append(&mut self.out);
        }
    }

    /// Appends one effect of the input being applied.
    pub(crate) fn emit(&mut self, effect: Effect) {
        self.out.push(effect);
    }

    /// The connections subscribed to `topic` now, in subscription order: where a
    /// [`Effect::Publish`] goes.
    pub fn subscribers(&self, topic: crate::request::Topic) -> &[ConnId] {
        self.market_data.subscribers(topic)
    }

    /// The symbols and assets, for the edges' parsing and rendering.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    /// The engine, read-only (for tests, the simulator's truth and start-up logging).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How many inputs were applied since the core was built.
    pub fn inputs_applied(&self) -> u64 {
        self.inputs
    }

    /// The time of the latest input.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The synthetic market's current model price of a symbol.
    pub fn model_price(&self, symbol: SymbolId) -> Option<engine::Price> {
        self.market.model_price(symbol)
    }

    /// The account's id by name (configured, system, or a live anonymous one).
    pub fn account_id(&self, name: &str) -> Option<engine::AccountId> {
        self.accounts.by_name(name)
    }

    /// [`Input::Request`]: one request from a connection, to the duty that handles it. Requests
    /// of a connection the core already closed are dropped.
    fn request(&mut self, conn: ConnId, request: Request) {
        if self.connections.get(conn).is_none() {
            return;
        }
        let Request { rid, command } = request;
        match command {
            Command::Ping => {
                let at_ns = self.now_ns;
                self.answer(conn, Message::Pong { rid, at_ns });
            }
            Command::Login {
                account,
                api_key,
                cancel_on_disconnect,
                secret,
            } => self.login(conn, rid, &account, &api_key, cancel_on_disconnect, secret),
            Command::Logout => self.logout(conn, rid),
            Command::Resume {
                credentials,
                last_account_seq,
                cancel_on_disconnect,
                secret,
            } => self.resume(
                conn,
                rid,
                credentials,
                last_account_seq,
                cancel_on_disconnect,
                secret,
            ),
            Command::Place(order) => self.place(conn, rid, order),
            Command::Cancel(target) => self.cancel(conn, rid, target),
            Command::CancelAll { symbol } => self.cancel_all(conn, rid, symbol),
            Command::Amend { target, quantity } => self.amend(conn, rid, target, quantity),
            Command::CancelAllAfter { timeout_ms } => {
                self.arm_dead_mans_switch(conn, rid, timeout_ms)
            }
            Command::SetCancelOnDisconnect(on) => {
                if let Some(c) = self.connections.get_mut(conn) {
                    c.cancel_on_disconnect = on;
                }
                self.answer(conn, Message::CancelOnDisconnectSet { rid, on });
            }
            Command::GetOrder(target) => self.get_order(conn, rid, target),
            Command::GetOrders { symbol, status } => self.get_orders(conn, rid, symbol, status),
            Command::GetBalance => self.get_balance(conn, rid),
            Command::GetPosition { symbol } => self.get_position(conn, rid, symbol),
            Command::GetOrderbook { symbol, depth } => self.get_orderbook(conn, rid, symbol, depth),
            Command::GetFills {
                symbol,
                since_fill_id,
            } => self.get_fills(conn, rid, symbol, since_fill_id),
            Command::Subscribe(topic) => self.subscribe(conn, rid, topic),
            Command::Unsubscribe { channel, symbol } => {
                self.unsubscribe(conn, rid, channel, symbol)
            }
            Command::UnsubscribeTopic(topic) => self.unsubscribe_topic(conn, rid, topic),
            Command::Call(call) => self.connection_call(conn, rid, *call),
            Command::Watch(caller) => self.watch(conn, rid, &caller),
            Command::Unwatch(account) => self.unwatch(conn, rid, account),
        }
    }

    /// [`Input::Start`]: the market's first step and the first housekeeping are scheduled.
    fn start(&mut self) {
        self.started_ns = self.now_ns;
        self.schedule_first_step();
        self.schedule(
            self.now_ns + crate::timers::HOUSEKEEPING_INTERVAL_NS,
            Timer::Housekeeping,
        );
    }
}
