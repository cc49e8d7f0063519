//! The Binance listener's REST requests: what the fault layer does to each, decided when it
//! arrives, before the server handles it. The faults look like Binance's own failures: a delay,
//! a request held and then closed without an answer, HTTP 5xx, 503 with -1008 (overloaded) or
//! -1007 (unknown outcome, though the order was executed), 429 storms and 418 bans.
//!
//! Requests are aimed at with the usual filters, the REST path standing in for the message type
//! (and the native request type it corresponds to, `PLACE_ORDER` for a new order). Decisions are
//! keyed like every other: on the seed, the client key (API key or IP), the request's method and
//! path, and the ordinal of that request among the client's requests of the same method and path,
//! so a bot polling `GET /api/v3/depth` beside its orders does not change the orders' faults.

use std::collections::HashMap;
use std::sync::Arc;

use crate::filter::Target;
use crate::mode::Mode;
use crate::modes::rate_limit_storm::{self, StormClient, StormRefusal};
use crate::modes::{delay, drop, http_errors, reject_orders, unknown_outcome, ModeConfig, Modes};
use crate::rng::Stream;
use crate::shared::lock;
use crate::stats::FaultLogEntry;
use crate::{Direction, FaultInjector, REST_SESSIONS_MAX};

/// The most REST clients remembered at once; beyond it the one heard from longest ago is
/// forgotten, with its storm count and ban.
pub const HTTP_CLIENTS_MAX: usize = REST_SESSIONS_MAX;

/// The most (method, path) pairs one client's ordinals are kept for; further pairs share one
/// ordinal (only a client calling paths the server does not route gets there).
pub const HTTP_OPERATIONS_PER_CLIENT_MAX: usize = 64;

/// The prefix of the connection key REST faults are logged under: `binance:<client key>`.
pub const HTTP_CLIENT_KEY_PREFIX: &str = "binance:";

/// The native request type of a new order, which `reject_orders` and `unknown_outcome` aim at.
const PLACE_ORDER: &str = "PLACE_ORDER";

/// What the server knows about a Binance REST request when it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRequestMeta<'a> {
    /// The HTTP method, upper case (`POST`).
    pub method: &'a str,
    /// The path without the query (`/api/v3/order`): what `message_types` names.
    pub path: &'a str,
    /// Whether the request places an order (`POST /api/v3/order`, `order/cancelReplace`, ...):
    /// the natural target of `reject_orders` and `unknown_outcome`.
    pub places_order: bool,
    /// The account, when the API key names one (what `accounts` filters on); `None` for public
    /// endpoints.
    pub account: Option<&'a str>,
    /// Who is asking: the API key, else the peer's IP. Draws, storms and bans are per client key.
    pub client_key: &'a str,
}

impl<'a> HttpRequestMeta<'a> {
    /// A request of `method` on `path` from `client_key`, without an account; `places_order`
    /// from Binance's routes ([`crate::binance_rest_request_type`]).
    pub fn new(method: &'a str, path: &'a str, client_key: &'a str) -> Self {
        Self {
            method,
            path,
            places_order: crate::binance_rest_request_type(method, path) == Some(PLACE_ORDER),
            account: None,
            client_key,
        }
    }

    /// The same request, of `account`.
    pub fn with_account(self, account: Option<&'a str>) -> Self {
        Self { account, ..self }
    }

    /// The native request type the request stands for (`PLACE_ORDER`, `CANCEL_ORDER`, ...), which
    /// a filter may name instead of the path.
    pub fn request_type(&self) -> Option<&'static str> {
        if self.places_order {
            return Some(PLACE_ORDER);
        }
        crate::binance_rest_request_type(self.method, self.path).filter(|t| *t != PLACE_ORDER)
    }
}

/// The error a faulted request is answered with, as Binance would answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// `outage`: 503, -1001 ("Internal error; unable to process your request.").
    Unavailable,
    /// `reject_orders`: 503, -1008 ("Server is currently overloaded ...").
    Overloaded,
    /// `unknown_outcome`: 503, -1007 ("Timeout waiting for response from backend server. Send
    /// status unknown; execution status unknown."). The request was carried out.
    UnknownOutcome,
    /// `http_errors`: this 5xx, -1000.
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// `rate_limit_storm`: 429, -1003, with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` header, in seconds.
        retry_after_s: u64,
    },
    /// `rate_limit_storm`: 418, -1003 ("IP banned until ..."), with `Retry-After`.
    Banned {
        /// The end of the ban, in milliseconds since server start.
        until_ms: u64,
        /// The `Retry-After` header, in seconds.
        retry_after_s: u64,
    },
}

impl HttpError {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            HttpError::Unavailable | HttpError::Overloaded | HttpError::UnknownOutcome => 503,
            HttpError::ServerError { status } => status,
            HttpError::TooManyRequests { .. } => 429,
            HttpError::Banned { .. } => 418,
        }
    }

    /// Binance's error code for the body.
    pub fn binance_code(self) -> i32 {
        match self {
            HttpError::Unavailable => -1001,
            HttpError::Overloaded => -1008,
            HttpError::UnknownOutcome => -1007,
            HttpError::ServerError { .. } => -1000,
            HttpError::TooManyRequests { .. } | HttpError::Banned { .. } => -1003,
        }
    }

    /// The `Retry-After` header in seconds, for 429 and 418.
    pub fn retry_after_s(self) -> Option<u64> {
        match self {
            HttpError::TooManyRequests { retry_after_s }
            | HttpError::Banned { retry_after_s, .. } => Some(retry_after_s),
            _ => None,
        }
    }
}

/// What happens to the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpOutcome {
    /// Carry it out and answer as usual.
    #[default]
    Execute,
    /// Do not carry it out; answer with this error.
    Refuse(HttpError),
    /// Carry it out, then answer with this error instead of the usual answer.
    ExecuteThenError(HttpError),
    /// The request is lost on the way in: do not carry it out; hold the connection `hold_ms`,
    /// then close it without an answer.
    Hang {
        /// How long to hold the connection.
        hold_ms: u64,
    },
    /// The answer is lost on the way out: carry it out, hold the connection `hold_ms`, then
    /// close it without an answer.
    ExecuteThenHang {
        /// How long to hold the connection.
        hold_ms: u64,
    },
}

impl HttpOutcome {
    /// Whether the server carries the request out (hands it to the exchange).
    pub fn executes(self) -> bool {
        matches!(
            self,
            HttpOutcome::Execute
                | HttpOutcome::ExecuteThenError(_)
                | HttpOutcome::ExecuteThenHang { .. }
        )
    }

    /// The error answered, if any.
    pub fn error(self) -> Option<HttpError> {
        match self {
            HttpOutcome::Refuse(error) | HttpOutcome::ExecuteThenError(error) => Some(error),
            _ => None,
        }
    }

    /// How long to hold the connection before closing it unanswered, if it is.
    pub fn hold_ms(self) -> Option<u64> {
        match self {
            HttpOutcome::Hang { hold_ms } | HttpOutcome::ExecuteThenHang { hold_ms } => {
                Some(hold_ms)
            }
            _ => None,
        }
    }
}

/// What the fault layer does to one Binance REST request, in the order the server acts:
/// wait `request_delay_ms`, act on `outcome`, wait `response_delay_ms` before any answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpVerdict {
    /// `delay_messages` inbound: wait this long before handling the request.
    pub request_delay_ms: u64,
    /// What happens to it.
    pub outcome: HttpOutcome,
    /// `delay_messages` outbound: wait this long before sending the answer (0 when none is sent).
    pub response_delay_ms: u64,
}

/// One client's state.
#[derive(Debug, Default)]
struct HttpClient {
    /// Requests seen per `METHOD path`, and the shared count beyond the bound.
    operations: HashMap<String, u64>,
    other_operations: u64,
    /// The Gilbert-Elliott state of `drop_messages`, inbound and outbound.
    in_burst: [bool; 2],
    storm: StormClient,
    last_seen_ms: u64,
}

impl HttpClient {
    /// Counts a request of `operation` and returns its ordinal (from 1).
    fn next(&mut self, operation: &str) -> u64 {
        if let Some(count) = self.operations.get_mut(operation) {
            *count += 1;
            return *count;
        }
        if self.operations.len() < HTTP_OPERATIONS_PER_CLIENT_MAX {
            self.operations.insert(operation.to_owned(), 1);
            return 1;
        }
        self.other_operations += 1;
        self.other_operations
    }
}

/// Every REST client of the Binance listener the layer remembers, and the storm's activation.
#[derive(Debug, Default)]
pub(crate) struct HttpClients {
    clients: HashMap<String, HttpClient>,
    storm: crate::activation::Activation<rate_limit_storm::RateLimitStormParams>,
}

impl HttpClients {
    /// The client's state, made on first use (forgetting the stalest client when full).
    fn client(&mut self, key: &str, now_ms: u64) -> &mut HttpClient {
        if !self.clients.contains_key(key) && self.clients.len() >= HTTP_CLIENTS_MAX {
            let stalest = self
                .clients
                .iter()
                .min_by_key(|(_, client)| client.last_seen_ms)
                .map(|(key, _)| key.clone());
            if let Some(stalest) = stalest {
                self.clients.remove(&stalest);
            }
        }
        let client = self.clients.entry(key.to_owned()).or_default();
        client.last_seen_ms = now_ms;
        client
    }
}

#[cfg(test)]
impl HttpClients {
    /// How many clients are remembered.
    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    /// How many operations of client `key` have their own ordinal.
    pub(crate) fn operations_of(&self, key: &str) -> usize {
        self.clients
            .get(key)
            .map_or(0, |client| client.operations.len())
    }
}

/// The natural REST target of `reject_orders` and `unknown_outcome`: new orders.
const PLACEMENTS: &[&str] = &[PLACE_ORDER];

/// A request as the filters see it.
struct Aim<'a> {
    request: &'a HttpRequestMeta<'a>,
    now_ms: u64,
}

impl Aim<'_> {
    /// The mode, when it is on and its filter covers the request going `direction`: by path, or
    /// by the native request type. `natural` narrows a mode without `message_types` (empty: all).
    fn applies<'m, P>(
        &self,
        mode: &'m Option<ModeConfig<P>>,
        direction: Direction,
        natural: &[&str],
    ) -> Option<&'m ModeConfig<P>> {
        let mode = mode.as_ref().filter(|mode| mode.enabled)?;
        let by_path = Target {
            direction: Some(direction),
            message_type: Some(self.request.path),
            channel: None,
            account: self.request.account,
            now_ms: self.now_ms,
        };
        let by_type = Target {
            message_type: self.request.request_type(),
            ..by_path
        };
        (mode.filter.matches(&by_path, natural) || mode.filter.matches(&by_type, natural))
            .then_some(mode)
    }
}

/// A fault decided, to be recorded once the clients' lock is released.
struct Decided {
    mode: Mode,
    direction: Direction,
    detail: String,
}

/// What one request's decisions are keyed and aimed on.
struct Request<'a> {
    aim: &'a Aim<'a>,
    modes: &'a Modes,
    stream: Stream,
    ordinal: u64,
    /// The storm mode's span, when it applies now.
    storm: Option<crate::activation::Active>,
    /// The configuration generation (a change lifts bans).
    generation: u64,
}

impl From<StormRefusal> for HttpError {
    fn from(refusal: StormRefusal) -> Self {
        match refusal {
            StormRefusal::TooManyRequests { retry_after_s } => {
                HttpError::TooManyRequests { retry_after_s }
            }
            StormRefusal::Banned {
                until_ms,
                retry_after_s,
            } => HttpError::Banned {
                until_ms,
                retry_after_s,
            },
        }
    }
}

impl Request<'_> {
    /// Decides the outcome, in this order: a standing ban, `outage`, `rate_limit_storm`,
    /// `http_errors` inbound, `reject_orders`, `drop_messages` inbound (none of which carry the
    /// request out), then `unknown_outcome`, `http_errors` outbound, `drop_messages` outbound.
    fn outcome(&self, client: &mut HttpClient, decided: &mut Vec<Decided>) -> HttpOutcome {
        let Request {
            aim,
            modes,
            ordinal,
            generation,
            ..
        } = *self;
        let stream = &self.stream;
        let now_ms = aim.now_ms;
        let mut record = |mode, direction, detail: String| {
            decided.push(Decided {
                mode,
                direction,
                detail,
            })
        };
        if let Some(ban) = rate_limit_storm::banned(&client.storm, generation, now_ms) {
            let error = HttpError::from(ban);
            record(Mode::RateLimitStorm, Direction::Inbound, describe(error));
            return HttpOutcome::Refuse(error);
        }
        if aim
            .applies(&modes.outage, Direction::Inbound, &[])
            .is_some_and(|outage| outage.params.reject_requests)
        {
            let error = HttpError::Unavailable;
            record(Mode::Outage, Direction::Inbound, describe(error));
            return HttpOutcome::Refuse(error);
        }
        if let (Some(mode), Some(active)) = (
            aim.applies(&modes.rate_limit_storm, Direction::Inbound, &[]),
            self.storm,
        ) {
            let raging =
                rate_limit_storm::storm_at(&mode.params, active.since_ms, active.until_ms, now_ms);
            if let Some(raging) = raging {
                let decision = rate_limit_storm::decide(
                    &mode.params,
                    raging,
                    &mut client.storm,
                    generation,
                    now_ms,
                );
                let error = HttpError::from(decision);
                record(Mode::RateLimitStorm, Direction::Inbound, describe(error));
                return HttpOutcome::Refuse(error);
            }
        }
        if let Some(status) = aim
            .applies(&modes.http_errors, Direction::Inbound, &[])
            .and_then(|mode| http_errors::decide(&mode.params, stream, Direction::Inbound, ordinal))
        {
            let error = HttpError::ServerError { status };
            record(Mode::HttpErrors, Direction::Inbound, describe(error));
            return HttpOutcome::Refuse(error);
        }
        if aim
            .applies(&modes.reject_orders, Direction::Inbound, PLACEMENTS)
            .is_some_and(|mode| reject_orders::decide(&mode.params, stream, ordinal))
        {
            let error = HttpError::Overloaded;
            record(Mode::RejectOrders, Direction::Inbound, describe(error));
            return HttpOutcome::Refuse(error);
        }
        let [burst_in, burst_out] = &mut client.in_burst;
        if let Some(mode) = aim.applies(&modes.drop_messages, Direction::Inbound, &[]) {
            if drop::decide(&mode.params, stream, Direction::Inbound, ordinal, burst_in) {
                let hold_ms = mode.params.hold_ms;
                record(
                    Mode::DropMessages,
                    Direction::Inbound,
                    format!("request lost, closed after hold_ms={hold_ms}"),
                );
                return HttpOutcome::Hang { hold_ms };
            }
        }
        if aim
            .applies(&modes.unknown_outcome, Direction::Outbound, PLACEMENTS)
            .is_some_and(|mode| unknown_outcome::decide(&mode.params, stream, ordinal))
        {
            let error = HttpError::UnknownOutcome;
            record(Mode::UnknownOutcome, Direction::Outbound, describe(error));
            return HttpOutcome::ExecuteThenError(error);
        }
        if let Some(status) = aim
            .applies(&modes.http_errors, Direction::Outbound, &[])
            .and_then(|mode| {
                http_errors::decide(&mode.params, stream, Direction::Outbound, ordinal)
            })
        {
            let error = HttpError::ServerError { status };
            record(Mode::HttpErrors, Direction::Outbound, describe(error));
            return HttpOutcome::ExecuteThenError(error);
        }
        if let Some(mode) = aim.applies(&modes.drop_messages, Direction::Outbound, &[]) {
            if drop::decide(
                &mode.params,
                stream,
                Direction::Outbound,
                ordinal,
                burst_out,
            ) {
                let hold_ms = mode.params.hold_ms;
                record(
                    Mode::DropMessages,
                    Direction::Outbound,
                    format!("answer lost, closed after hold_ms={hold_ms}"),
                );
                return HttpOutcome::ExecuteThenHang { hold_ms };
            }
        }
        HttpOutcome::Execute
    }
}

/// The log's detail for an error answered.
fn describe(error: HttpError) -> String {
    let mut detail = format!("status={} code={}", error.status(), error.binance_code());
    if let Some(retry_after_s) = error.retry_after_s() {
        detail.push_str(&format!(" retry_after_s={retry_after_s}"));
    }
    if let HttpError::Banned { until_ms, .. } = error {
        detail.push_str(&format!(" banned_until_ms={until_ms}"));
    }
    detail
}

impl FaultInjector {
    /// What happens to a REST request of the Binance listener arriving at `now_ms`: delays, a
    /// refusal, a lost request or answer, or an error after it was carried out (see
    /// [`HttpVerdict`]). Every fault is counted and logged under `binance:<client key>`, with the
    /// request's ordinal as `seq` and its path as `message_type`. Nothing while the layer is off.
    pub fn binance_rest(&self, request: &HttpRequestMeta<'_>, now_ms: u64) -> HttpVerdict {
        let mut verdict = HttpVerdict::default();
        if !self.is_enabled() {
            return verdict;
        }
        let (generation, config) = self.shared.config();
        let modes: Arc<Modes> = Arc::clone(config.modes_at(now_ms));
        let key = format!("{HTTP_CLIENT_KEY_PREFIX}{}", request.client_key);
        let operation = format!("{} {}", request.method, request.path);
        let stream = Stream::new(
            self.shared.seed_for(&config),
            &format!("{key} {operation}"),
            0,
        );
        let aim = Aim { request, now_ms };
        let mut decided = Vec::new();
        let ordinal = {
            let mut clients = lock(&self.shared.http);
            let storm = clients
                .storm
                .update(generation, &config, now_ms, |modes| &modes.rate_limit_storm);
            let client = clients.client(request.client_key, now_ms);
            let decision = Request {
                aim: &aim,
                modes: &modes,
                stream,
                ordinal: client.next(&operation),
                storm,
                generation,
            };
            verdict.outcome = decision.outcome(client, &mut decided);
            decision.ordinal
        };
        let answered = verdict.outcome.hold_ms().is_none();
        for (direction, delay_ms) in [
            (Direction::Inbound, &mut verdict.request_delay_ms),
            (Direction::Outbound, &mut verdict.response_delay_ms),
        ] {
            if direction == Direction::Outbound && !answered {
                continue;
            }
            if let Some(drawn) = aim
                .applies(&modes.delay_messages, direction, &[])
                .and_then(|mode| delay::decide(&mode.params, &stream, direction, ordinal))
            {
                *delay_ms = drawn;
                decided.push(Decided {
                    mode: Mode::DelayMessages,
                    direction,
                    detail: format!("delay_ms={drawn}"),
                });
            }
        }
        for fault in decided {
            self.shared.record(FaultLogEntry {
                conn_id: 0,
                connection_key: key.clone(),
                connection_ordinal: 0,
                mode: fault.mode,
                direction: Some(fault.direction),
                seq: Some(ordinal),
                message_type: Some(request.path.to_owned()),
                time_ms: now_ms,
                detail: Some(format!("{} {}", request.method, fault.detail)),
            });
        }
        verdict
    }
}
