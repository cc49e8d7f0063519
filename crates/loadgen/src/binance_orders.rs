//! `bench binance-orders`: signed REST orders on the Binance listener over keep-alive HTTP/1.1
//! connections, one request at a time per connection, as a bot's REST client sends them. Each
//! connection signs with its own API key (an account of its own, so no account's order limit is
//! shared): HMAC-SHA256 over the form body, `X-MBX-APIKEY`, `timestamp`. Orders are IOC limits
//! far off the mid (buys 10% below, sells 10% above) by default: each is accepted, tries to
//! match, expires, and locks no funds, so an account never runs dry.
//!
//! The HTTP client is hand-written (a request is one write, a response is read by its
//! `Content-Length`): a general client's per-request cost would be measured along with the
//! server's.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::client::{new_histogram, record_latency};
use crate::common::CommonArgs;
use crate::report::{BinanceOrdersReport, Report};
use crate::stats::{round3, seconds_since, LatencyFigures};
use crate::system::raise_nofile;
use crate::BenchError;

/// Flags of `bench binance-orders`.
#[derive(Debug, Clone, clap::Args)]
pub struct BinanceOrdersArgs {
    /// Flags shared by every scenario; here `--url` is the Binance listener's base,
    /// `http://host:port`, and `--connections` the keep-alive connections (default 50).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Orders that may trade: priced through the mid instead of 10% away (they rest or fill,
    /// and lock funds while they rest).
    #[arg(long)]
    pub crossing: bool,
}

/// The most bytes of one response read.
const RESPONSE_MAX: usize = 64 * 1024;

/// What one connection counted.
#[derive(Default)]
struct Counts {
    sent: u64,
    accepted: u64,
    /// Refused answers by Binance code (or HTTP status when the body has none).
    errors: BTreeMap<String, u64>,
    disconnects: u64,
}

pub(crate) async fn run(args: &BinanceOrdersArgs) -> Result<Report, BenchError> {
    let common = &args.common;
    let duration = common.duration()?;
    let connections = common.connections_or(50)?;
    let spec = common.order_spec()?;
    let authority = common
        .url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| {
            BenchError::InvalidArgument(format!(
                "--url must be the Binance listener's base, http://host:port, got {:?}",
                common.url
            ))
        })?
        .to_owned();
    raise_nofile(connections as u64 + 64);
    let symbol: String = spec.symbol.chars().filter(|c| *c != '/').collect();
    let (buy_ticks, sell_ticks) = if args.crossing {
        (spec.mid_ticks + 1, spec.mid_ticks - 1)
    } else {
        (spec.mid_ticks * 9 / 10, spec.mid_ticks * 11 / 10)
    };
    let mut streams = Vec::with_capacity(connections);
    for _ in 0..connections {
        let stream = TcpStream::connect(&authority)
            .await
            .map_err(|e| BenchError::Connect {
                url: common.url.clone(),
                reason: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        streams.push(stream);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(connections);
    for (i, stream) in streams.into_iter().enumerate() {
        let order = OrderText {
            authority: authority.clone(),
            key: format!("bench-{}-{i}", common.seed),
            symbol: symbol.clone(),
            quantity: spec.quantity.clone(),
            buy: price_text(buy_ticks),
            sell: price_text(sell_ticks),
            time_in_force: if args.crossing {
                spec.time_in_force
            } else {
                "IOC"
            },
        };
        tasks.push(tokio::spawn(connection(stream, order, deadline)));
    }
    let mut total = Counts::default();
    let mut hist = new_histogram();
    for task in tasks {
        match task.await {
            Ok((counts, h)) => {
                total.sent += counts.sent;
                total.accepted += counts.accepted;
                total.disconnects += counts.disconnects;
                for (code, n) in counts.errors {
                    *total.errors.entry(code).or_default() += n;
                }
                let _ = hist.add(&h);
            }
            Err(_) => total.disconnects += 1,
        }
    }
    let duration_s = seconds_since(start);
    Ok(Report::BinanceOrders(BinanceOrdersReport {
        url: common.url.clone(),
        connections: connections as u64,
        duration_s: round3(duration_s),
        sent: total.sent,
        accepted: total.accepted,
        errors_by_code: total.errors,
        disconnects: total.disconnects,
        orders_per_s: round3(total.accepted as f64 / duration_s),
        latency: LatencyFigures::from_ns(&hist),
    }))
}

/// What a connection's orders say.
struct OrderText {
    authority: String,
    key: String,
    symbol: String,
    quantity: String,
    buy: String,
    sell: String,
    time_in_force: &'static str,
}

/// Ticks of 0.01 as a decimal.
fn price_text(ticks: i64) -> String {
    format!("{}.{:02}", ticks / 100, ticks % 100)
}

/// One keep-alive connection: a signed order, its answer, the next, until the deadline.
async fn connection(
    mut stream: TcpStream,
    order: OrderText,
    deadline: Instant,
) -> (Counts, Histogram<u64>) {
    let mut counts = Counts::default();
    let mut hist = new_histogram();
    let Ok(mac) = Hmac::<Sha256>::new_from_slice(order.key.as_bytes()) else {
        return (counts, hist);
    };
    let mut request = Vec::with_capacity(512);
    let mut response = Vec::with_capacity(4096);
    let mut k: u64 = 0;
    while Instant::now() < deadline {
        let (side, price) = if k % 2 == 0 {
            ("BUY", &order.buy)
        } else {
            ("SELL", &order.sell)
        };
        k += 1;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let mut body = format!(
            "symbol={}&side={side}&type=LIMIT&timeInForce={}&quantity={}&price={price}&newOrderRespType=ACK&timestamp={timestamp}",
            order.symbol, order.time_in_force, order.quantity
        );
        let mut signer = mac.clone();
        signer.update(body.as_bytes());
        body.push_str("&signature=");
        for b in signer.finalize().into_bytes() {
            body.push(char::from(HEX[usize::from(b >> 4)]));
            body.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        request.clear();
        request.extend_from_slice(
            format!(
                "POST /api/v3/order HTTP/1.1\r\nHost: {}\r\nX-MBX-APIKEY: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                order.authority,
                order.key,
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body.as_bytes());
        let sent_at = std::time::Instant::now();
        if stream.write_all(&request).await.is_err() {
            counts.disconnects += 1;
            break;
        }
        counts.sent += 1;
        match read_response(
            &mut stream,
            &mut response,
            deadline + Duration::from_secs(5),
        )
        .await
        {
            Some((200, _)) => counts.accepted += 1,
            Some((status, body)) => {
                let code = error_code(body).unwrap_or_else(|| format!("HTTP {status}"));
                *counts.errors.entry(code).or_default() += 1;
            }
            None => {
                counts.disconnects += 1;
                break;
            }
        }
        record_latency(&mut hist, sent_at.elapsed());
    }
    (counts, hist)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Reads one response: its status and body (`None` when the connection ends or lies).
async fn read_response<'b>(
    stream: &mut TcpStream,
    buf: &'b mut Vec<u8>,
    give_up: Instant,
) -> Option<(u16, &'b [u8])> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = memchr::memmem::find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(buf.get(..head_end)?).ok()?;
            let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())?;
            let total = head_end + 4 + length;
            if total > RESPONSE_MAX {
                return None;
            }
            if buf.len() >= total {
                return Some((status, buf.get(head_end + 4..total)?));
            }
        }
        let read = tokio::time::timeout_at(give_up, stream.read(&mut chunk)).await;
        match read {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(chunk.get(..n)?),
            _ => return None,
        }
        if buf.len() > RESPONSE_MAX {
            return None;
        }
    }
}

/// The `code` of a Binance error body.
fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let at = text.find("\"code\":")? + 7;
    let code: String = text
        .get(at..)?
        .chars()
        .take_while(|c| *c == '-' || c.is_ascii_digit())
        .collect();
    (!code.is_empty()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_and_prices_read_as_written() {
        assert_eq!(
            error_code(br#"{"code":-1013,"msg":"x"}"#),
            Some("-1013".into())
        );
        assert_eq!(error_code(b"{}"), None);
        assert_eq!(price_text(5_000_000), "50000.00");
        assert_eq!(price_text(4_500_005), "45000.05");
    }
}
