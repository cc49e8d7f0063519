//! One seed's world in simulated time: the real core, the real delivery and slow-consumer policy,
//! a real [`Link`] per connection with the real fault layer, and scripted clients. No sockets,
//! no threads: a connection's "socket" is a queue of frames the client has not read yet, and
//! time moves only when the world says so.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use exchange::request::SessionSecret;
use exchange::{Catalog, ConnId, Core, Effect, Input, Message, Timer};
use faults::FaultInjector;
use seed::SplitMix64;
use server::delivery::{Delivery, Outlet, Refused};
use server::dialect::{Dialect, Wire};
use server::link::{Action, Link};
use server::outbound::Outbound;
use server::Config;
use sha2::{Digest, Sha256};

use crate::client::{Act, Client, Incoming, Trader, Watcher};
use crate::oracle::Oracle;
use crate::scenario::Scenario;
use crate::Plant;

/// The simulated clock starts here (2023-11-14T22:13:20Z), a plain date for readable traces.
const START_NS: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;
/// Frames written to a connection and not yet read, before its writer waits (the socket and
/// the WebSocket's own buffer, in frames).
const SOCKET_FRAMES: usize = 128;
/// How long a HEARTBEAT subscriber hears nothing before it gets one (as on the server).
const HEARTBEAT_SILENCE_MS: u64 = 1_000;
/// How long a queued close may wait for a peer that does not read (as the server's).
const CLOSE_FLUSH_MS: u64 = 10_000;
/// Inputs after which a planted bug shows, so that the world is busy first.
const PLANT_AFTER_INPUTS: u64 = 300;

/// A connection's queue, shared between delivery (which pushes) and the world (which drains).
#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Outbound>,
    capacity: usize,
    gone: bool,
    /// Closed at once by delivery (a slow consumer): the code and reason.
    killed: Option<(u16, &'static str)>,
    /// A queued close was asked to be forced, with this code, if it is not written within the
    /// bound.
    close_deadline: Option<u16>,
    /// That deadline is on the world's clock already.
    deadline_scheduled: bool,
}

/// Delivery's handle on a simulated connection's queue.
struct SimOutlet(Rc<RefCell<Queue>>);

impl Outlet for SimOutlet {
    fn try_push(&mut self, item: Outbound) -> Result<(), Refused> {
        let mut q = self.0.borrow_mut();
        if q.gone {
            return Err(Refused::Gone);
        }
        if q.items.len() >= q.capacity {
            return Err(Refused::Full);
        }
        q.items.push_back(item);
        Ok(())
    }

    fn force_push(&mut self, item: Outbound) -> Result<(), Refused> {
        let mut q = self.0.borrow_mut();
        if q.gone {
            return Err(Refused::Gone);
        }
        q.items.push_back(item);
        Ok(())
    }

    fn room(&self) -> (usize, usize) {
        let q = self.0.borrow();
        (q.capacity.saturating_sub(q.items.len()), q.capacity)
    }

    fn kill(&mut self, code: u16, reason: &'static str) {
        let mut q = self.0.borrow_mut();
        q.items.clear();
        q.killed = Some((code, reason));
    }

    fn kill_unless_closed_soon(&mut self, code: u16, _reason: &'static str) {
        self.0.borrow_mut().close_deadline = Some(code);
    }
}

/// One simulated connection.
struct SimConn {
    link: Link,
    queue: Rc<RefCell<Queue>>,
    /// Frames the client sent that the server has not read (while reading is paused).
    inbox: VecDeque<String>,
    /// Frames written to the client and not read yet.
    socket: VecDeque<String>,
    /// The connection ended (with the close code when a close frame was sent); the client reads
    /// what the socket still holds first.
    ended: Option<Option<u16>>,
    /// When the link last wrote: HEARTBEAT subscribers get one after a second of silence.
    last_write_ms: u64,
}

/// What a seed's run found.
pub struct Outcome {
    /// The first broken rule, if any.
    pub failure: Option<String>,
    /// Steps run (including those of the settling phase).
    pub steps: u64,
    /// Inputs the core applied.
    pub inputs: u64,
    /// Trades the exchange made.
    pub trades: u64,
    /// Faults the fault layer injected.
    pub faults: u64,
    /// Connections opened.
    pub connections: u64,
    /// Client recoveries: resumes, rebuilds, book resynchronisations.
    pub recoveries: u64,
    /// The hash of every input, effect and frame, in order.
    pub digest: [u8; 32],
    /// What happened, line by line (when asked for).
    pub trace: Vec<String>,
}

/// One seed's world.
pub struct World {
    now_ns: u64,
    core: Core,
    catalog: Arc<Catalog>,
    wire: Arc<Wire>,
    injector: FaultInjector,
    delivery: Delivery<SimOutlet>,
    queue_frames: usize,
    max_messages_per_second: u32,
    conns: BTreeMap<ConnId, SimConn>,
    last_conn: ConnId,
    clients: Vec<Client>,
    /// The core's wake-ups: due ones first; a later schedule of a timer replaces the earlier.
    timers: BTreeSet<(u64, Timer)>,
    timer_at: BTreeMap<Timer, u64>,
    /// The links' fault wake-ups, in milliseconds of the fault clock.
    link_wakes: BTreeSet<(u64, ConnId)>,
    link_wake_at: BTreeMap<ConnId, u64>,
    close_deadlines: BTreeSet<(u64, ConnId)>,
    inputs: VecDeque<Input>,
    oracle: Oracle,
    hasher: Sha256,
    rng: SplitMix64,
    plant: Option<Plant>,
    trace: Option<Vec<String>>,
    steps: u64,
}

impl World {
    /// The world of `seed`.
    pub fn new(seed: u64, plant: Option<Plant>, trace: bool) -> Result<World, String> {
        let scenario = Scenario::of(seed);
        let config: Config = serde_json::from_value(scenario.config.clone())
            .map_err(|e| format!("scenario config: {e}"))?;
        config.validate().map_err(|e| e.to_string())?;
        let core_config = config.core_config().map_err(|e| e.to_string())?;
        let faults = config.fault_config().map_err(|e| e.to_string())?;
        let core = Core::new(
            core_config,
            Default::default(),
            seed::derive_seed(seed, "market"),
            START_NS,
        )
        .map_err(|e| e.to_string())?;
        let catalog = core.catalog();
        let injector = FaultInjector::new(faults, seed::derive_seed(seed, "faults"));
        let wire = Arc::new(Wire::native(catalog.clone()));
        let delivery = Delivery::new(config.server.limits.slow_consumer, wire.venue.clone());
        let mut clients = Vec::new();
        for (account, cancel_on_disconnect) in &scenario.roster.traders {
            let trader = Trader::new(account, *cancel_on_disconnect, false, seed);
            clients.push(Client::Trader(Box::new(trader)));
        }
        for account in &scenario.roster.switch_users {
            let trader = Trader::new(account, false, true, seed);
            clients.push(Client::Trader(Box::new(trader)));
        }
        for (i, pauses) in scenario.roster.watchers.iter().enumerate() {
            let name = format!("watcher-{}", i + 1);
            let watcher = Watcher::new(&name, catalog.clone(), *pauses, seed);
            clients.push(Client::Watcher(Box::new(watcher)));
        }
        let mut world = World {
            now_ns: START_NS,
            core,
            catalog,
            wire,
            injector,
            delivery,
            queue_frames: config.server.limits.outbound_queue_frames,
            max_messages_per_second: config.server.limits.max_messages_per_second,
            conns: BTreeMap::new(),
            last_conn: 0,
            clients,
            timers: BTreeSet::new(),
            timer_at: BTreeMap::new(),
            link_wakes: BTreeSet::new(),
            link_wake_at: BTreeMap::new(),
            close_deadlines: BTreeSet::new(),
            inputs: VecDeque::new(),
            oracle: Oracle::default(),
            hasher: Sha256::new(),
            rng: SplitMix64::new(seed::derive_seed(seed, "simulation/world")),
            plant,
            trace: trace.then(Vec::new),
            steps: 0,
        };
        world.inputs.push_back(Input::Start);
        world.pump()?;
        Ok(world)
    }

    /// Runs `steps` steps under faults, then lets the world settle without them and compares
    /// every client's view with the exchange's truth.
    pub fn run(mut self, steps: u64, settle_steps: u64) -> Outcome {
        let failure = self.run_inner(steps, settle_steps).err();
        if let (Some(failure), Some(trace)) = (&failure, self.trace.as_mut()) {
            trace.push(format!("FAILURE at step {}: {failure}", self.steps));
        }
        Outcome {
            failure,
            steps: self.steps,
            inputs: self.core.inputs_applied(),
            trades: self.core.engine().last_trade_id(engine::SymbolId(0)).0,
            faults: self.injector.statistics().totals.total(),
            connections: self.last_conn,
            recoveries: self.clients.iter().map(Client::recoveries).sum(),
            digest: self.hasher.finalize().into(),
            trace: self.trace.unwrap_or_default(),
        }
    }

    fn run_inner(&mut self, steps: u64, settle_steps: u64) -> Result<(), String> {
        for _ in 0..steps {
            let dt = 5 + self.rng.below(46);
            self.step(dt * MS)?;
        }
        self.injector.replace(faults::FaultConfig::default());
        for client in &mut self.clients {
            client.wind_down();
        }
        for _ in 0..settle_steps {
            self.step(10 * MS)?;
            if self.settled() {
                for client in &self.clients {
                    client.check(&self.core)?;
                }
                return Ok(());
            }
        }
        let waiting: Vec<String> = self
            .clients
            .iter()
            .filter(|c| !c.settled(&self.core))
            .map(|c| c.status(&self.core))
            .collect();
        let now_ms = self.now_ms();
        let busy: Vec<String> = self
            .conns
            .iter_mut()
            .filter_map(|(id, c)| {
                let wake = c.link.wake_ms(now_ms);
                let queued = c.queue.borrow().items.len();
                let idle = c.socket.is_empty() && c.inbox.is_empty() && queued == 0;
                (!idle || wake.is_some()).then(|| {
                    format!(
                        "connection {id}: {} unread, {} unsent, {queued} queued, wake {wake:?}",
                        c.socket.len(),
                        c.inbox.len()
                    )
                })
            })
            .collect();
        Err(format!(
            "the world did not settle within {settle_steps} steps without faults: clients \
             {waiting:?} not current; {busy:?}"
        ))
    }

    fn now_ms(&self) -> u64 {
        (self.now_ns - START_NS) / MS
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(line());
        }
    }

    /// One step: time moves by `dt_ns`, what is due happens, every client takes its turn.
    fn step(&mut self, dt_ns: u64) -> Result<(), String> {
        self.steps += 1;
        self.now_ns += dt_ns;
        self.fire_due()?;
        self.heartbeats()?;
        for i in 0..self.clients.len() {
            self.client_turn(i)?;
            self.pump()?;
        }
        self.core
            .check_invariants()
            .map_err(|broken| format!("invariant: {broken}"))
    }

    /// The core's timers, the links' fault timers and forced closes that are due.
    fn fire_due(&mut self) -> Result<(), String> {
        while let Some(&(at_ns, timer)) = self.timers.first() {
            if at_ns > self.now_ns {
                break;
            }
            self.timers.pop_first();
            self.timer_at.remove(&timer);
            self.inputs.push_back(Input::Wake(timer));
            self.pump()?;
        }
        let now_ms = self.now_ms();
        while let Some(&(at_ms, conn)) = self.link_wakes.first() {
            if at_ms > now_ms {
                break;
            }
            self.link_wakes.pop_first();
            self.link_wake_at.remove(&conn);
            let mut actions = Vec::new();
            if let Some(c) = self.conns.get_mut(&conn) {
                c.link.on_fault_timer(now_ms, &mut actions);
            }
            self.perform(conn, actions);
            self.pump()?;
        }
        while let Some(&(at_ms, conn)) = self.close_deadlines.first() {
            if at_ms > now_ms {
                break;
            }
            self.close_deadlines.pop_first();
            let code = self
                .conns
                .get(&conn)
                .and_then(|c| c.queue.borrow().close_deadline);
            if let Some(code) = code {
                self.end_conn(conn, Some(code));
            }
            self.pump()?;
        }
        Ok(())
    }

    /// A HEARTBEAT for every subscriber that heard nothing for a second, as the server sends.
    fn heartbeats(&mut self) -> Result<(), String> {
        let now_ms = self.now_ms();
        let engine = self.core.engine();
        let latest: Vec<(u64, u64)> = (0..self.catalog.symbols().len())
            .map(|i| {
                let symbol = engine::SymbolId(i as u32);
                (engine.book_seq(symbol), engine.last_trade_id(symbol).0)
            })
            .collect();
        let due: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.ended.is_none()
                    && c.link.wants_heartbeat()
                    && now_ms.saturating_sub(c.last_write_ms) >= HEARTBEAT_SILENCE_MS
            })
            .map(|(id, _)| *id)
            .collect();
        for conn in due {
            let mut actions = Vec::new();
            if let Some(c) = self.conns.get_mut(&conn) {
                c.last_write_ms = now_ms;
                let at_ns = self.now_ns;
                c.link.heartbeat(
                    now_ms,
                    at_ns,
                    |i| latest.get(i).copied().unwrap_or_default(),
                    &mut actions,
                );
            }
            self.perform(conn, actions);
        }
        self.pump()
    }

    /// A client reads what it can and acts.
    fn client_turn(&mut self, i: usize) -> Result<(), String> {
        let now_ms = self.now_ms();
        let mut incoming = Vec::new();
        let reading = self.clients.get(i).is_some_and(|c| c.reading(now_ms));
        if let Some(conn) = self.clients.get(i).and_then(Client::conn) {
            if let Some(c) = self.conns.get_mut(&conn) {
                if reading {
                    incoming.extend(c.socket.drain(..).map(Incoming::Text));
                }
                if let (Some(close), true) = (c.ended, c.socket.is_empty()) {
                    incoming.push(Incoming::Closed);
                    self.note(|| format!("client {i} saw connection {conn} end ({close:?})"));
                    self.conns.remove(&conn);
                    self.forget_link_wake(conn);
                }
            }
        }
        let mut acts = Vec::new();
        if let Some(client) = self.clients.get_mut(i) {
            client.tick(now_ms, incoming, &mut acts);
        }
        for act in acts {
            self.act(i, act)?;
        }
        Ok(())
    }

    fn act(&mut self, i: usize, act: Act) -> Result<(), String> {
        let now_ms = self.now_ms();
        let conn = self.clients.get(i).and_then(Client::conn);
        match act {
            Act::Connect => self.open_conn(i),
            Act::Send(text) => {
                let Some(conn) = conn else {
                    return Ok(());
                };
                let Some(c) = self.conns.get_mut(&conn) else {
                    return Ok(());
                };
                if c.ended.is_some() {
                    return Ok(());
                }
                if c.link.reading_paused(now_ms) || !c.inbox.is_empty() {
                    c.inbox.push_back(text);
                    return Ok(());
                }
                let mut actions = Vec::new();
                c.link.on_text(now_ms, &text, &mut actions);
                self.perform(conn, actions);
            }
            Act::Disconnect(conn) => {
                if let Some(c) = self.conns.remove(&conn) {
                    self.forget_link_wake(conn);
                    if c.ended.is_none() {
                        self.inputs.push_back(Input::Close { conn });
                    }
                }
            }
        }
        Ok(())
    }

    fn open_conn(&mut self, client: usize) {
        let now_ms = self.now_ms();
        self.last_conn += 1;
        let conn = self.last_conn;
        if !self.injector.accept_connection(now_ms) {
            // Refused (an outage): the client sees its connection end at once.
            if let Some(c) = self.clients.get_mut(client) {
                c.connected(conn);
                c.tick(now_ms, vec![Incoming::Closed], &mut Vec::new());
            }
            return;
        }
        let queue = Rc::new(RefCell::new(Queue {
            capacity: self.queue_frames,
            ..Queue::default()
        }));
        self.delivery
            .open(conn, SimOutlet(queue.clone()), Dialect::Native);
        let link = Link::new(
            conn,
            Dialect::Native,
            self.wire.clone(),
            self.injector.clone(),
            self.max_messages_per_second,
            now_ms,
        );
        self.conns.insert(
            conn,
            SimConn {
                link,
                queue,
                inbox: VecDeque::new(),
                socket: VecDeque::new(),
                ended: None,
                last_write_ms: now_ms,
            },
        );
        self.inputs.push_back(Input::Open { conn });
        if let Some(c) = self.clients.get_mut(client) {
            c.connected(conn);
        }
        self.note(|| format!("client {client} opened connection {conn}"));
    }

    /// The connection ends from the server's side: the client reads what was written, then the
    /// close; the core hears of it.
    fn end_conn(&mut self, conn: ConnId, close: Option<u16>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.ended.is_some() {
            return;
        }
        c.ended = Some(close);
        c.queue.borrow_mut().gone = true;
        self.forget_link_wake(conn);
        self.inputs.push_back(Input::Close { conn });
        self.note(|| format!("connection {conn} ended by the server ({close:?})"));
    }

    fn forget_link_wake(&mut self, conn: ConnId) {
        if let Some(at) = self.link_wake_at.remove(&conn) {
            self.link_wakes.remove(&(at, conn));
        }
    }

    /// Does what a connection's link asked.
    fn perform(&mut self, conn: ConnId, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Write(text) => {
                    self.hasher.update(text.as_bytes());
                    let now_ms = self.now_ms();
                    if let Some(c) = self.conns.get_mut(&conn) {
                        if c.ended.is_none() {
                            c.socket.push_back(text);
                            c.last_write_ms = now_ms;
                        }
                    }
                }
                Action::ToCore(mut input) => {
                    if let Input::Request { request, .. } = &mut input {
                        if request.needs_secret() {
                            let mut secret = [0u8; 16];
                            for chunk in secret.chunks_mut(8) {
                                chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
                            }
                            request.give_secret(SessionSecret(secret));
                        }
                    }
                    self.inputs.push_back(input);
                }
                Action::Close(code, _) => {
                    self.end_conn(conn, Some(code));
                    return;
                }
                Action::Reset(_) => {
                    self.end_conn(conn, None);
                    return;
                }
                Action::Bound(_) => {}
            }
        }
        self.schedule_link_wake(conn);
    }

    fn schedule_link_wake(&mut self, conn: ConnId) {
        let now_ms = self.now_ms();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.ended.is_some() {
            return;
        }
        let wake = c.link.wake_ms(now_ms);
        self.forget_link_wake(conn);
        if let Some(at) = wake {
            let at = at.max(now_ms + 1);
            self.link_wakes.insert((at, conn));
            self.link_wake_at.insert(conn, at);
        }
    }

    /// Applies the core's waiting inputs and moves queued messages into the connections until
    /// nothing moves any more.
    fn pump(&mut self) -> Result<(), String> {
        loop {
            let mut moved = false;
            while let Some(input) = self.inputs.pop_front() {
                self.apply(input)?;
                moved = true;
            }
            let conns: Vec<ConnId> = self.conns.keys().copied().collect();
            for conn in conns {
                moved |= self.pump_conn(conn);
            }
            if !moved {
                return Ok(());
            }
        }
    }

    /// Moves one connection's queued messages into its link while its socket has room, and the
    /// frames its client sent while reading was paused into the link once it reads again.
    fn pump_conn(&mut self, conn: ConnId) -> bool {
        let now_ms = self.now_ms();
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        if c.ended.is_some() {
            return false;
        }
        let killed = c.queue.borrow_mut().killed.take();
        if let Some((code, _)) = killed {
            self.end_conn(conn, Some(code));
            return true;
        }
        let mut moved = false;
        let mut actions = Vec::new();
        while !c.link.reading_paused(now_ms) {
            let Some(text) = c.inbox.pop_front() else {
                break;
            };
            c.link.on_text(now_ms, &text, &mut actions);
            moved = true;
        }
        while c.socket.len() < SOCKET_FRAMES {
            let Some(item) = c.queue.borrow_mut().items.pop_front() else {
                break;
            };
            c.link.on_outbound(now_ms, item, &mut actions);
            moved = true;
        }
        {
            let mut queue = c.queue.borrow_mut();
            if queue.close_deadline.is_some() && !queue.deadline_scheduled {
                queue.deadline_scheduled = true;
                self.close_deadlines.insert((now_ms + CLOSE_FLUSH_MS, conn));
            }
        }
        if moved {
            self.perform(conn, actions);
        }
        moved
    }

    /// Stamps one input with the simulated time, applies it, checks what it did, and carries out
    /// its effects.
    fn apply(&mut self, input: Input) -> Result<(), String> {
        let at_ns = self.now_ns;
        let closed = match &input {
            Input::Close { conn } => Some(*conn),
            _ => None,
        };
        self.hasher.update(encode(&(at_ns, &input)));
        self.note(|| format!("{} ms: {input:?}", (at_ns - START_NS) / MS));
        let mut effects = Vec::new();
        self.core.apply(at_ns, input, &mut effects);
        if let Some(plant) = self.plant {
            if self.core.inputs_applied() > PLANT_AFTER_INPUTS {
                plant.apply(&mut effects);
            }
        }
        self.hasher.update(encode(&effects));
        if let Some(trace) = self.trace.as_mut() {
            trace.extend(effects.iter().map(|e| format!("    {e:?}")));
        }
        if let Some(conn) = closed {
            self.oracle.closed(conn);
        }
        self.oracle.check(&effects, &self.core)?;
        self.core
            .check_invariants()
            .map_err(|broken| format!("invariant: {broken}"))?;
        for effect in effects {
            match effect {
                Effect::Schedule { at_ns, timer } => {
                    if let Some(old) = self.timer_at.insert(timer, at_ns) {
                        self.timers.remove(&(old, timer));
                    }
                    self.timers.insert((at_ns, timer));
                }
                Effect::Reply { .. } => {}
                effect => self.delivery.deliver(effect, &self.core),
            }
        }
        if let Some(conn) = closed {
            self.delivery.remove(conn);
        }
        self.delivery.poll_starved();
        self.inputs.extend(self.delivery.take_feedback());
        Ok(())
    }

    /// Nothing in flight anywhere, and every client's view complete and current.
    fn settled(&mut self) -> bool {
        let now_ms = self.now_ms();
        let quiet = self.inputs.is_empty()
            && self.conns.values_mut().all(|c| {
                c.socket.is_empty()
                    && c.inbox.is_empty()
                    && c.queue.borrow().items.is_empty()
                    && c.link.wake_ms(now_ms).is_none()
            });
        quiet && self.clients.iter().all(|c| c.settled(&self.core))
    }
}

/// The canonical bytes of a value for the digest (postcard: a stable, documented format).
fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

impl Plant {
    /// Breaks the core's output the way this bug would.
    fn apply(self, effects: &mut [Effect]) {
        match self {
            Plant::SkipAccountSeq => {
                for effect in effects {
                    if let Effect::Send { message, .. } = effect {
                        bump_account_seq(message);
                    }
                }
            }
            Plant::BookDelta => {
                for effect in effects {
                    if let Effect::Publish {
                        message: Message::BookDelta(delta),
                        ..
                    } = effect
                    {
                        if let Some(level) = delta.bids.first_mut().or(delta.asks.first_mut()) {
                            level.qty.0 += 1;
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// One more on a private event's `account_seq`: as if the core had skipped one.
fn bump_account_seq(message: &mut Message) {
    match message {
        Message::OrderAccepted { account_seq, .. } => *account_seq += 1,
        Message::OrderFilled(fill) => fill.account_seq += 1,
        Message::OrderClosed { closed, .. } => closed.account_seq += 1,
        Message::OrderAmended { amended, .. } => amended.account_seq += 1,
        Message::BalanceChanged { change, .. } => change.account_seq += 1,
        Message::Position { report, .. } => report.account_seq += 1,
        _ => {}
    }
}
