//! Market streams as Binance serves them: stream names (`btcusd@depth@100ms`) to topics and back,
//! the events each topic publishes, and a stream connection's state: what it subscribed to under
//! which name, and the SUBSCRIBE requests waiting for the core.
//!
//! A connection opened on `/ws` or `/ws/<stream>` gets raw events; one opened on
//! `/stream?streams=a/b` gets each wrapped as `{"stream":"a","data":{...}}`. Live
//! `{"method":"SUBSCRIBE","params":[...],"id":N}` is answered `{"result":null,"id":N}` once the core
//! has every stream subscribed, so a client that fetches a snapshot after the answer (ccxt)
//! misses no update; a repeated SUBSCRIBE is answered the same way (ccxt subscribes again to
//! resynchronise).

use exchange::message::{BookDelta, BookSnapshot, BookTicker};
use exchange::{Command, Message, Request, RequestId, Topic, BOOK_TOP_LEVELS};
use market::Interval;
use protocol::json::ObjectWriter;
use serde::Deserialize;

use crate::market::{write_agg_trade_fields, write_best, write_levels};
use crate::symbols::Symbols;
use crate::tickers::{write_kline_event, write_mini_ticker, write_ticker};
use crate::venue::{ms, Venue};

/// The most streams one connection may subscribe to, as on Binance.
pub const MAX_STREAMS: usize = 1024;

/// The topic a stream name stands for; `None` for a name this exchange does not serve.
pub fn parse_stream_name(name: &str, symbols: &Symbols) -> Option<Topic> {
    match name {
        "!ticker@arr" => return Some(Topic::AllTickers),
        "!miniTicker@arr" => return Some(Topic::AllMiniTickers),
        _ => {}
    }
    let (symbol, stream) = name.split_once('@')?;
    let symbol = symbols.id(symbol)?;
    // Update speeds are accepted and served at the exchange's own pace.
    let stream = stream
        .strip_suffix("@100ms")
        .or_else(|| stream.strip_suffix("@1000ms"))
        .unwrap_or(stream);
    Some(match stream {
        "depth" => Topic::BookL2(symbol),
        "trade" => Topic::Trades(symbol),
        "aggTrade" => Topic::AggTrades(symbol),
        "ticker" => Topic::Ticker(symbol),
        "miniTicker" => Topic::MiniTicker(symbol),
        "bookTicker" => Topic::BookTicker(symbol),
        other => {
            if let Some(levels) = other.strip_prefix("depth") {
                let levels: u8 = levels.parse().ok()?;
                return BOOK_TOP_LEVELS
                    .contains(&levels)
                    .then_some(Topic::BookTop(symbol, levels));
            }
            let interval = Interval::parse(other.strip_prefix("kline_")?)?;
            Topic::Candles(symbol, interval)
        }
    })
}

/// Appends the event published on `topic` as its subscribers on this dialect see it (without
/// a combined stream's wrapper); `false` when the topic shows nothing for this message.
pub fn write_publication(topic: Topic, message: &Message, venue: &Venue, out: &mut String) -> bool {
    match (topic, message) {
        (Topic::Trades(_), Message::Trade(trade)) => write_trade_event(venue, trade, out),
        (Topic::AggTrades(_), Message::Trade(trade)) => {
            write_agg_trade_fields(venue, trade, out, true)
        }
        (Topic::BookL2(_), Message::BookDelta(delta)) => write_depth_update(venue, delta, out),
        (Topic::BookTop(..), Message::BookPicture(book)) => write_partial_depth(venue, book, out),
        (Topic::BookTicker(_), Message::BookTicker(top)) => write_book_ticker(venue, top, out),
        (Topic::Ticker(_), Message::Ticker(ticker)) => write_ticker(venue, ticker, true, out),
        (Topic::MiniTicker(_), Message::Ticker(ticker)) => write_mini_ticker(venue, ticker, out),
        (Topic::AllTickers, Message::Tickers(tickers)) => {
            crate::market::write_array(tickers, out, |t, out| write_ticker(venue, t, true, out))
        }
        (Topic::AllMiniTickers, Message::Tickers(tickers)) => {
            crate::market::write_array(tickers, out, |t, out| write_mini_ticker(venue, t, out))
        }
        (Topic::Candles(..), Message::Candle { candle, closed }) => {
            write_kline_event(venue, candle, *closed, out)
        }
        // The diff stream has no snapshot (clients fetch /depth), nor any reset: a restarted
        // stream shows as the gap in U/u it is.
        _ => return false,
    }
    true
}

fn write_trade_event(venue: &Venue, trade: &engine::Trade, out: &mut String) {
    let Some(symbol) = venue.symbol(trade.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    w.str("e", "trade")
        .u64("E", ms(trade.ts_ns))
        .str("s", venue.symbols.name(trade.symbol))
        .u64("t", trade.trade_id.0)
        .str_with("p", |o| symbol.write_price(trade.price, o))
        .str_with("q", |o| symbol.write_qty(trade.qty, o))
        .u64("T", ms(trade.ts_ns))
        .bool("m", trade.taker_side == engine::Side::Sell)
        .bool("M", true);
    w.end();
}

/// `depthUpdate`: `U` is the first book sequence the diff covers, `u` the last; each diff's `U`
/// is the previous one's `u` + 1, and `/depth`'s `lastUpdateId` is the same sequence.
fn write_depth_update(venue: &Venue, delta: &BookDelta, out: &mut String) {
    let Some(symbol) = venue.symbol(delta.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    w.str("e", "depthUpdate")
        .u64("E", ms(delta.at_ns))
        .str("s", venue.symbols.name(delta.symbol))
        .u64("U", delta.first_seq)
        .u64("u", delta.last_seq)
        .with("b", |o| write_levels(symbol, &delta.bids, o))
        .with("a", |o| write_levels(symbol, &delta.asks, o));
    w.end();
}

fn write_partial_depth(venue: &Venue, book: &BookSnapshot, out: &mut String) {
    crate::market::write_depth(venue, book, out)
}

fn write_book_ticker(venue: &Venue, top: &BookTicker, out: &mut String) {
    let Some(symbol) = venue.symbol(top.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    w.u64("u", top.book_seq)
        .str("s", venue.symbols.name(top.symbol));
    write_best(&mut w, symbol, top.bid, top.ask, ["b", "B", "a", "A"]);
    w.end();
}

/// A SUBSCRIBE or UNSUBSCRIBE still waiting for the core's answers.
#[derive(Debug)]
struct Pending {
    id: RequestId,
    remaining: usize,
}

/// What a client frame on a stream connection asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamInbound {
    /// Requests for the core (one per stream named).
    Core(Vec<Request>),
    /// An answer the connection gives itself.
    Reply(String),
}

/// One stream connection's state.
#[derive(Debug, Default)]
pub struct StreamSession {
    combined: bool,
    /// Every stream subscribed to, by the name the client used.
    names: Vec<(Topic, String)>,
    pending: Vec<Pending>,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    params: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

impl StreamSession {
    /// A connection on `/ws...` (`combined`: `/stream`).
    pub fn new(combined: bool) -> StreamSession {
        StreamSession {
            combined,
            ..StreamSession::default()
        }
    }

    /// The subscriptions named in the URL, as requests for the core. A name that is no stream is
    /// passed over, as Binance does (ccxt opens `/ws/0`, `/ws/1`, ... and subscribes later).
    pub fn open<'n>(
        &mut self,
        names: impl IntoIterator<Item = &'n str>,
        symbols: &Symbols,
    ) -> Vec<Request> {
        let mut requests = Vec::new();
        for name in names {
            if self.names.len() >= MAX_STREAMS {
                break;
            }
            if let Some(topic) = parse_stream_name(name, symbols) {
                requests.push(self.add(topic, name, None));
            }
        }
        requests
    }

    /// Records a subscription under `name`, and makes its request for the core.
    fn add(&mut self, topic: Topic, name: &str, rid: Option<&RequestId>) -> Request {
        if let Some(held) = self.names.iter_mut().find(|(t, _)| *t == topic) {
            // The latest name is the one the combined wrapper shows.
            held.1 = name.to_owned();
        } else {
            self.names.push((topic, name.to_owned()));
        }
        // Subscribed again even when held: the core answers with a fresh start where the
        // topic has one, which is how a client resynchronises.
        Request {
            rid: rid.cloned(),
            command: Command::Subscribe(topic),
        }
    }

    /// A text frame from the client.
    pub fn on_text(&mut self, text: &str, symbols: &Symbols) -> StreamInbound {
        let frame: Frame<'_> = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                return StreamInbound::Reply(error_reply(None, 3, &format!("Invalid JSON: {e}")))
            }
        };
        let id = match &frame.id {
            None | Some(serde_json::Value::Null) => None,
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => {
                Some(RequestId::from_json(&v.to_string()))
            }
            Some(_) => {
                let msg = "Invalid request: request ID must be an unsigned integer or a string";
                return StreamInbound::Reply(error_reply(None, 2, msg));
            }
        };
        let names = || -> Result<Vec<&str>, &'static str> {
            match &frame.params {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .ok_or("Invalid request: stream names must be strings")
                    })
                    .collect(),
                None => Ok(Vec::new()),
                Some(_) => Err("Invalid request: params must be an array"),
            }
        };
        match frame.method.as_deref() {
            Some("SUBSCRIBE") => {
                let names = match names() {
                    Ok(names) => names,
                    Err(msg) => return StreamInbound::Reply(error_reply(id.as_ref(), 2, msg)),
                };
                let mut topics = Vec::with_capacity(names.len());
                for name in &names {
                    match parse_stream_name(name, symbols) {
                        Some(topic) => topics.push((topic, *name)),
                        None => {
                            let msg = format!("Invalid request: unknown stream '{name}'");
                            return StreamInbound::Reply(error_reply(id.as_ref(), 2, &msg));
                        }
                    }
                }
                let new = topics
                    .iter()
                    .filter(|(t, _)| !self.names.iter().any(|(held, _)| held == t))
                    .count();
                if self.names.len() + new > MAX_STREAMS {
                    let msg = format!("Invalid request: at most {MAX_STREAMS} streams");
                    return StreamInbound::Reply(error_reply(id.as_ref(), 2, &msg));
                }
                let requests: Vec<Request> = topics
                    .into_iter()
                    .map(|(topic, name)| self.add(topic, name, id.as_ref()))
                    .collect();
                self.expect(id, requests)
            }
            Some("UNSUBSCRIBE") => {
                let names = match names() {
                    Ok(names) => names,
                    Err(msg) => return StreamInbound::Reply(error_reply(id.as_ref(), 2, msg)),
                };
                let mut requests = Vec::new();
                for name in names {
                    let Some(topic) = parse_stream_name(name, symbols) else {
                        continue;
                    };
                    // A stream not subscribed to is acknowledged all the same, as on Binance.
                    if let Some(at) = self.names.iter().position(|(t, _)| *t == topic) {
                        self.names.remove(at);
                        requests.push(Request {
                            rid: id.clone(),
                            command: Command::UnsubscribeTopic(topic),
                        });
                    }
                }
                self.expect(id, requests)
            }
            Some("LIST_SUBSCRIPTIONS") => {
                let mut out = String::from("{\"result\":[");
                for (i, (_, name)) in self.names.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    protocol::json::write_escaped(name, &mut out);
                }
                out.push(']');
                StreamInbound::Reply(with_id(out, id.as_ref()))
            }
            Some("SET_PROPERTY") => match frame.params.as_ref().and_then(|p| p.as_array()) {
                Some(p) if p.first().and_then(|v| v.as_str()) == Some("combined") => {
                    match p.get(1).and_then(|v| v.as_bool()) {
                        Some(on) => {
                            self.combined = on;
                            StreamInbound::Reply(result_null(id.as_ref()))
                        }
                        None => StreamInbound::Reply(error_reply(
                            id.as_ref(),
                            1,
                            "Invalid value type: expected Boolean",
                        )),
                    }
                }
                _ => StreamInbound::Reply(error_reply(id.as_ref(), 0, "Unknown property")),
            },
            Some("GET_PROPERTY") => match frame.params.as_ref().and_then(|p| p.as_array()) {
                Some(p) if p.first().and_then(|v| v.as_str()) == Some("combined") => {
                    let value = if self.combined { "true" } else { "false" };
                    StreamInbound::Reply(with_id(format!("{{\"result\":{value}"), id.as_ref()))
                }
                _ => StreamInbound::Reply(error_reply(id.as_ref(), 0, "Unknown property")),
            },
            _ => StreamInbound::Reply(error_reply(
                id.as_ref(),
                2,
                "Invalid request: unknown method",
            )),
        }
    }

    /// Waits for the core's answers to `requests`, or answers at once when there are none.
    fn expect(&mut self, id: Option<RequestId>, requests: Vec<Request>) -> StreamInbound {
        match id {
            None => StreamInbound::Core(requests),
            Some(id) if requests.is_empty() => StreamInbound::Reply(result_null(Some(&id))),
            Some(id) => {
                match self.pending.iter_mut().find(|p| p.id == id) {
                    Some(p) => p.remaining += requests.len(),
                    None => self.pending.push(Pending {
                        id,
                        remaining: requests.len(),
                    }),
                }
                StreamInbound::Core(requests)
            }
        }
    }

    /// Appends what the connection shows for a message for it alone (answers, stream starts);
    /// `false` when it shows nothing.
    pub fn write_message(&mut self, message: &Message, venue: &Venue, out: &mut String) -> bool {
        match message {
            Message::Subscribed { rid, .. }
            | Message::Unsubscribed { rid, .. }
            | Message::Error { rid, .. } => {
                let Some(rid) = rid else {
                    return false;
                };
                let Some(at) = self.pending.iter().position(|p| &p.id == rid) else {
                    return false;
                };
                let done = self.pending.get_mut(at).is_some_and(|p| {
                    p.remaining = p.remaining.saturating_sub(1);
                    p.remaining == 0
                });
                if !done {
                    return false;
                }
                self.pending.remove(at);
                out.push_str(&result_null(Some(rid)));
                true
            }
            Message::StreamStart { topic, first } => {
                let mut body = String::new();
                if !write_publication(*topic, first, venue, &mut body) {
                    return false;
                }
                self.wrap(*topic, &body, out);
                true
            }
            // Stream resets show as the gap they are; everything else is another dialect's.
            _ => false,
        }
    }

    /// Appends a publication's body as this connection shows it: raw, or in the combined
    /// wrapper under the name the client subscribed with.
    pub fn wrap(&self, topic: Topic, body: &str, out: &mut String) {
        if !self.combined {
            return out.push_str(body);
        }
        let name = self
            .names
            .iter()
            .find(|(t, _)| *t == topic)
            .map_or("", |(_, n)| n.as_str());
        out.reserve(body.len() + name.len() + 20);
        out.push_str("{\"stream\":");
        protocol::json::write_escaped(name, out);
        out.push_str(",\"data\":");
        out.push_str(body);
        out.push('}');
    }
}

/// `{"result":null,"id":N}`.
fn result_null(id: Option<&RequestId>) -> String {
    with_id(String::from("{\"result\":null"), id)
}

/// Closes an answer object with its `id`.
fn with_id(mut out: String, id: Option<&RequestId>) -> String {
    out.push_str(",\"id\":");
    out.push_str(id.map_or("null", RequestId::as_json));
    out.push('}');
    out
}

/// A refusal on a stream connection, with the code and message of `error`.
pub fn refusal(id: Option<&RequestId>, error: &crate::ApiError) -> String {
    error_reply(id, error.code, &error.msg)
}

/// `{"error":{"code":N,"msg":"..."},"id":N}`.
fn error_reply(id: Option<&RequestId>, code: i32, msg: &str) -> String {
    let mut out = String::from("{\"error\":{\"code\":");
    out.push_str(itoa::Buffer::new().format(code));
    out.push_str(",\"msg\":");
    protocol::json::write_escaped(msg, &mut out);
    out.push('}');
    with_id(out, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_venue;

    #[test]
    fn stream_names_are_binances() {
        let venue = test_venue();
        let s = &venue.symbols;
        let btc = engine::SymbolId(0);
        assert_eq!(
            parse_stream_name("btcusd@depth", s),
            Some(Topic::BookL2(btc))
        );
        assert_eq!(
            parse_stream_name("btcusd@depth@100ms", s),
            Some(Topic::BookL2(btc))
        );
        assert_eq!(
            parse_stream_name("btcusd@depth20@100ms", s),
            Some(Topic::BookTop(btc, 20))
        );
        assert_eq!(parse_stream_name("btcusd@depth7", s), None);
        assert_eq!(
            parse_stream_name("btcusd@aggTrade", s),
            Some(Topic::AggTrades(btc))
        );
        assert_eq!(
            parse_stream_name("btcusd@kline_5m", s),
            Some(Topic::Candles(btc, Interval::M5))
        );
        assert_eq!(parse_stream_name("btcusd@kline_7m", s), None);
        assert_eq!(
            parse_stream_name("!miniTicker@arr", s),
            Some(Topic::AllMiniTickers)
        );
        assert_eq!(parse_stream_name("dogeusd@trade", s), None);
        assert_eq!(parse_stream_name("0", s), None);
    }

    #[test]
    fn subscribe_is_answered_when_the_core_has_every_stream() {
        let venue = test_venue();
        let mut session = StreamSession::new(false);
        let frame = r#"{"method":"SUBSCRIBE","params":["btcusd@trade","btcusd@ticker"],"id":3}"#;
        let StreamInbound::Core(requests) = session.on_text(frame, &venue.symbols) else {
            panic!("for the core")
        };
        assert_eq!(requests.len(), 2);
        let answer = |request: &Request| Message::Subscribed {
            rid: request.rid.clone(),
            topic: Topic::Heartbeat,
        };
        let mut out = String::new();
        assert!(!session.write_message(&answer(&requests[0]), &venue, &mut out));
        assert!(session.write_message(&answer(&requests[1]), &venue, &mut out));
        assert_eq!(out, r#"{"result":null,"id":3}"#);
        // Nothing to do: answered at once.
        let frame = r#"{"method":"UNSUBSCRIBE","params":["btcusd@depth"],"id":"u"}"#;
        assert_eq!(
            session.on_text(frame, &venue.symbols),
            StreamInbound::Reply(r#"{"result":null,"id":"u"}"#.into())
        );
        let StreamInbound::Reply(bad) = session.on_text("{oops", &venue.symbols) else {
            panic!("answered")
        };
        assert!(bad.starts_with(r#"{"error":{"code":3"#), "{bad}");
    }

    #[test]
    fn a_combined_stream_wraps_under_the_name_subscribed() {
        let venue = test_venue();
        let mut session = StreamSession::new(true);
        session.open(["btcusd@depth@100ms", "nonsense"], &venue.symbols);
        let mut out = String::new();
        session.wrap(Topic::BookL2(engine::SymbolId(0)), "{}", &mut out);
        assert_eq!(out, r#"{"stream":"btcusd@depth@100ms","data":{}}"#);
    }
}
