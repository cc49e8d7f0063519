//! The native REST bodies (`/api/v1/...`): the core's typed answers as JSON, with their HTTP
//! status. Rendered by the task serving the request, never on the engine thread.

use engine::Reject;
use exchange::message::{AccountRow, Health};
use exchange::{Answer, Catalog, Failure, Message};

use crate::codes::ErrorCode;
use crate::json::ObjectWriter;
use crate::messages::{
    failure_parts, fills_array, order_fields, orders_array, render, trades_array, write_amount,
};
use crate::time::write_iso8601;

/// An HTTP answer: status and JSON body.
pub type RestReply = (u16, String);

/// An HTTP error: the ERROR shape without `seq` or `request_id`.
pub fn rest_error(status: u16, code: ErrorCode, message: &str) -> RestReply {
    let mut s = String::new();
    crate::messages::error(&mut s, None, code, message, "{}");
    (status, s)
}

/// The HTTP status of a failure.
pub fn failure_status(failure: &Failure) -> u16 {
    match failure {
        Failure::UnknownApiKey
        | Failure::UnknownAccount
        | Failure::NotLoggedIn
        | Failure::AuthFailed => 401,
        Failure::Reject(Reject::OrderNotFound | Reject::UnknownSymbol) => 404,
        Failure::Internal(_) => 500,
        _ => 400,
    }
}

/// The body and status of an answer.
pub fn answer(answer: &Answer, catalog: &Catalog) -> RestReply {
    let mut s = String::new();
    match answer {
        Answer::Failed(failure) => {
            let (code, message, details) = failure_parts(failure);
            crate::messages::error(&mut s, None, code, &message, &details);
            return (failure_status(failure), s);
        }
        Answer::Health(health) => health_body(&mut s, health),
        Answer::Book(book) => render(
            &Message::Book {
                rid: None,
                book: book.clone(),
                stream: false,
            },
            catalog,
            &mut s,
        ),
        Answer::Trades(trades) => trades_array(&mut s, catalog, trades),
        Answer::Ticker(ticker) => render(&Message::Ticker(*ticker), catalog, &mut s),
        Answer::Tickers(tickers) => {
            s.push('[');
            for (i, ticker) in tickers.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                render(&Message::Ticker(*ticker), catalog, &mut s);
            }
            s.push(']');
        }
        Answer::Accounts(rows) => accounts_body(&mut s, rows),
        Answer::Balances {
            balances,
            account_seq,
            at_ns,
        } => render(
            &Message::Balances {
                rid: None,
                balances: balances.clone(),
                account_seq: *account_seq,
                at_ns: *at_ns,
            },
            catalog,
            &mut s,
        ),
        Answer::Orders {
            orders,
            account_seq,
        } => {
            let mut w = ObjectWriter::new(&mut s);
            w.with("orders", |o| orders_array(o, catalog, orders));
            w.u64("account_seq", *account_seq);
            w.end();
        }
        Answer::Order(order) => {
            let mut w = ObjectWriter::new(&mut s);
            order_fields(&mut w, catalog, order);
            w.end();
        }
        Answer::Placed { order, fills } => {
            let mut w = ObjectWriter::new(&mut s);
            order_fields(&mut w, catalog, order);
            w.with("fills", |o| fills_array(o, catalog, fills));
            w.end();
        }
        Answer::Replaced { cancel, place } => {
            let mut w = ObjectWriter::new(&mut s);
            w.with("cancel", |o| match cancel {
                Ok(order) => answer_into(&Answer::Order(*order), catalog, o),
                Err(failure) => answer_into(&Answer::Failed(failure.clone()), catalog, o),
            });
            w.with("place", |o| match place {
                None => o.push_str("null"),
                Some(Ok((order, fills))) => {
                    let placed = Answer::Placed {
                        order: *order,
                        fills: fills.clone(),
                    };
                    answer_into(&placed, catalog, o)
                }
                Some(Err(failure)) => answer_into(&Answer::Failed(failure.clone()), catalog, o),
            });
            w.end();
        }
        Answer::Fills { fills, account_seq } => {
            let mut w = ObjectWriter::new(&mut s);
            w.with("fills", |o| fills_array(o, catalog, fills));
            w.u64("account_seq", *account_seq);
            w.end();
        }
        Answer::Candles(candles) => {
            s.push('[');
            for (i, (candle, closed)) in candles.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let message = Message::Candle {
                    candle: *candle,
                    closed: *closed,
                };
                render(&message, catalog, &mut s);
            }
            s.push(']');
        }
        Answer::Advanced => s.push_str("{\"advanced\":true}"),
    }
    (200, s)
}

/// Appends the body of an answer (whatever its status).
fn answer_into(a: &Answer, catalog: &Catalog, out: &mut String) {
    out.push_str(&answer(a, catalog).1);
}

fn health_body(s: &mut String, health: &Health) {
    let mut w = ObjectWriter::new(s);
    w.str("status", "ok")
        .u64("uptime_s", health.uptime_ns / 1_000_000_000)
        .u64("connections", health.connections)
        .u64("accounts", health.accounts);
    w.str_with("timestamp", |o| write_iso8601(health.at_ns, o));
    w.end();
}

fn accounts_body(s: &mut String, rows: &[AccountRow]) {
    s.push('[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let mut w = ObjectWriter::new(s);
        w.str("account", &row.name)
            .str("kind", row.kind)
            .u64("open_orders", row.open_orders);
        w.end();
    }
    s.push(']');
}

/// `GET /api/v1/symbols`: every symbol with its increments and limits.
pub fn symbols(catalog: &Catalog) -> String {
    let mut s = String::from('[');
    for (i, sym) in catalog.symbols().iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let mut w = ObjectWriter::new(&mut s);
        w.str("symbol", &sym.spec.name)
            .str("base", &sym.spec.base)
            .str("quote", &sym.spec.quote)
            .str("tick_size", &sym.spec.tick.format(1))
            .str("lot_size", &sym.spec.lot.format(1))
            .str("min_quantity", &sym.format_qty(sym.spec.min_qty))
            .str("max_quantity", &sym.format_qty(sym.spec.max_qty))
            .str_with("min_notional", |o| {
                write_amount(
                    catalog.asset_decimals(sym.quote),
                    sym.spec.min_notional.0,
                    o,
                )
            });
        w.end();
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_get_their_http_status() {
        assert_eq!(failure_status(&Failure::UnknownApiKey), 401);
        assert_eq!(failure_status(&Failure::Reject(Reject::OrderNotFound)), 404);
        assert_eq!(failure_status(&Failure::Internal("x")), 500);
        let (status, body) = answer(&Answer::Failed(Failure::NotLoggedIn), &empty_catalog());
        assert_eq!(status, 401);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "NOT_LOGGED_IN");
    }

    fn empty_catalog() -> Catalog {
        let engine = engine::Engine::new(engine::EngineConfig::default()).unwrap();
        Catalog::from_engine(&engine)
    }
}
