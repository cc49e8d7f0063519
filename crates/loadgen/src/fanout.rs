//! `bench fanout`: market data delivered to many subscribers while trades happen. Subscribers
//! listen to TRADES and ORDERBOOK_L2; trader connections, in pairs, trade with each other: one
//! rests GTC orders a tick off the mid, alternating buys and sells so both accounts stay
//! balanced, and the other takes each one with an IOC as soon as it is acknowledged.

use std::sync::Arc;

use tokio::time::Instant;

use futures_util::{SinkExt, StreamExt};

use crate::client::{
    connect_all, resolve_order_spec, trader_config, Feed, Fleet, FrameWriter, OrderCounts, Outcome,
    Received, Side, Ws, DRAIN_GRACE,
};
use crate::common::CommonArgs;
use crate::pacing::Pacer;
use crate::progress::Progress;
use crate::report::{FanoutReport, Report};
use crate::stats::{round3, seconds_since};
use crate::system::raise_nofile;
use crate::BenchError;

/// Flags of `bench fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Flags shared by every scenario; here `--connections` is the number of trader
    /// connections (paired; default 4).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Subscriber connections, each subscribed to TRADES and ORDERBOOK_L2.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Subscriber connections opened at once during the ramp.
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
    /// Trades per second to aim for, all pairs together; as fast as answered when absent.
    #[arg(long = "trade-rate", value_name = "TRADES_PER_S")]
    pub trade_rate_per_s: Option<f64>,
    /// Most resting (maker) orders in flight per trading pair.
    #[arg(long = "inflight", default_value_t = 16)]
    pub inflight_max: usize,
    /// The Binance listener (`ws://host:port`): subscribers listen to its diff-depth and trade
    /// streams of the symbol instead of the native channels (the traders still trade on
    /// `--url`), so the two dialects' fan-out can be compared.
    #[arg(long = "binance-url", value_name = "WS_URL")]
    pub binance_url: Option<String>,
}

/// Opens the subscribers and traders, trades for the duration, counts what was delivered.
pub(crate) async fn run(args: &FanoutArgs) -> Result<Report, BenchError> {
    let common = &args.common;
    let duration = common.duration()?;
    let spec = Arc::new(resolve_order_spec(&common.url, common).await?);
    let pairs = (common.connections_or(4)? / 2).max(1);
    if args.subscribers == 0 {
        return Err(BenchError::InvalidArgument(
            "--subscribers must be at least 1".into(),
        ));
    }
    if args.inflight_max == 0 {
        return Err(BenchError::InvalidArgument(
            "--inflight must be at least 1".into(),
        ));
    }
    if let Some(rate) = args.trade_rate_per_s {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(BenchError::InvalidArgument(format!(
                "--trade-rate must be a positive number of trades per second, got {rate}"
            )));
        }
    }
    raise_nofile((args.subscribers + 2 * pairs) as u64 + 64);

    let (feed_url, feed) = match &args.binance_url {
        Some(base) => {
            let stream: String = spec.symbol.chars().filter(|c| *c != '/').collect();
            let stream = stream.to_ascii_lowercase();
            let base = base.trim_end_matches('/');
            (
                format!("{base}/ws/{stream}@depth@100ms/{stream}@trade"),
                Feed::Binance,
            )
        }
        None => (
            common.url.clone(),
            Feed::Native(&["TRADES", "ORDERBOOK_L2"]),
        ),
    };
    let fleet = Fleet::open(&feed_url, args.subscribers, args.batch, spec.clone(), feed).await;
    if fleet.connect_failures == args.subscribers as u64 {
        return Err(BenchError::Connect {
            url: common.url.clone(),
            reason: format!("none of {} subscribers could connect", args.subscribers),
        });
    }
    let (traders, _) = connect_all(&common.url, 2 * pairs, trader_config()).await?;
    let trader_connections = traders.len();

    let start = Instant::now();
    let deadline = start + duration;
    let before = fleet.counts();
    let progress = Progress::start("fanout", "frames", start, duration, fleet.frames_reader());
    let mut traders = traders.into_iter().enumerate();
    let mut tasks = Vec::new();
    while let (Some((i, maker)), Some((j, taker))) = (traders.next(), traders.next()) {
        let pair = tasks.len();
        let pacer = args
            .trade_rate_per_s
            .map(|rate| Pacer::new(start, rate, pairs, pair));
        tasks.push(tokio::spawn(trade_pair(
            (maker, FrameWriter::new(spec.clone(), i)),
            (taker, FrameWriter::new(spec.clone(), j)),
            deadline,
            pacer,
            args.inflight_max,
        )));
    }
    tokio::time::sleep_until(deadline).await;
    let during = fleet.counts().since(&before);
    let duration_s = seconds_since(start);
    drop(progress);
    let mut orders = OrderCounts::default();
    for task in tasks {
        match task.await {
            Ok(counts) => orders.add(&counts),
            Err(_) => orders.disconnects += 1,
        }
    }
    let connect_failures = fleet.connect_failures;
    let (held, total) = fleet.close().await;

    Ok(Report::Fanout(FanoutReport {
        url: feed_url,
        subscribers_requested: args.subscribers as u64,
        subscribers_held: held,
        connect_failures,
        disconnects: total.disconnects + orders.disconnects,
        trader_connections: trader_connections as u64,
        duration_s: round3(duration_s),
        market_data_messages: during.market_data,
        market_data_per_s: round3(during.market_data as f64 / duration_s),
        trade_messages: during.trades,
        orderbook_messages: during.book,
        trades: during.first_subscriber_trades,
        trades_per_s: round3(during.first_subscriber_trades as f64 / duration_s),
        orders_sent: orders.sent,
        order_rejects: orders.rejects + orders.errors,
        malformed: total.malformed + orders.malformed,
    }))
}

/// One pair of traders, pipelined. The maker keeps up to `inflight_max` GTC orders in flight,
/// alternating a buy one tick below the mid and a sell one tick above it (so its own orders never
/// cross each other); each maker ORDER_ACK makes the taker send an IOC at that order's price on
/// the other side, which takes it. Until the deadline, then answers are drained.
async fn trade_pair(
    maker: (Ws, FrameWriter),
    taker: (Ws, FrameWriter),
    deadline: Instant,
    pacer: Option<Pacer>,
    inflight_max: usize,
) -> OrderCounts {
    let (mut maker_ws, mut maker_writer) = maker;
    let (mut taker_ws, mut taker_writer) = taker;
    let mut counts = OrderCounts::default();
    // The side of each maker order in flight, by request id.
    let ring_len = inflight_max.next_power_of_two();
    let mask = ring_len as u64 - 1;
    let mut sides = vec![Side::Buy; ring_len];
    let (mut maker_inflight, mut taker_inflight) = (0usize, 0usize);
    let mut k: u64 = 0;
    let drain_end = deadline + DRAIN_GRACE;
    let wake = tokio::time::sleep_until(deadline);
    tokio::pin!(wake);
    loop {
        let now = Instant::now();
        let sending = now < deadline;
        if (!sending && maker_inflight + taker_inflight == 0) || now >= drain_end {
            break;
        }
        let mut fed = false;
        while sending && maker_inflight < inflight_max {
            if pacer.as_ref().is_some_and(|p| p.intended(k) > now) {
                break;
            }
            let side = if k % 2 == 0 { Side::Buy } else { Side::Sell };
            let (id, frame) = maker_writer.order_through_mid(side, -1, "GTC");
            if maker_ws.feed(frame).await.is_err() {
                counts.disconnects += 1;
                return counts;
            }
            sides[(id & mask) as usize] = side;
            maker_inflight += 1;
            counts.sent += 1;
            k += 1;
            fed = true;
        }
        if fed && maker_ws.flush().await.is_err() {
            counts.disconnects += 1;
            return counts;
        }
        let next_wake = match &pacer {
            _ if !sending => drain_end,
            Some(p) if maker_inflight < inflight_max => p.intended(k).min(deadline),
            _ => deadline,
        };
        if wake.deadline() != next_wake {
            wake.as_mut().reset(next_wake);
        }
        tokio::select! {
            biased;
            frame = maker_ws.next() => match counts.receive(frame, "ORDER_ACK") {
                Received::Answer(id, outcome, code) => {
                    counts.record(outcome, code);
                    maker_inflight = maker_inflight.saturating_sub(1);
                    if outcome == Outcome::Ack && sending {
                        let side = sides[(id & mask) as usize].opposite();
                        let (_, frame) = taker_writer.order_through_mid(side, 1, "IOC");
                        if taker_ws.send(frame).await.is_err() {
                            counts.disconnects += 1;
                            return counts;
                        }
                        taker_inflight += 1;
                        counts.sent += 1;
                    }
                }
                Received::Other => {}
                Received::Closed => return counts,
            },
            frame = taker_ws.next() => match counts.receive(frame, "ORDER_ACK") {
                Received::Answer(_, outcome, code) => {
                    counts.record(outcome, code);
                    taker_inflight = taker_inflight.saturating_sub(1);
                }
                Received::Other => {}
                Received::Closed => return counts,
            },
            _ = &mut wake => {}
        }
    }
    counts.unanswered += (maker_inflight + taker_inflight) as u64;
    counts
}
