//! `bench fanout`: market data delivered to many subscribers while trades happen. Subscribers
//! listen to TRADES and ORDERBOOK_L2; trader connections, in pairs, trade with each other: one
//! rests a GTC order at the mid, the other takes it with an IOC, and the resting side alternates
//! between buy and sell so both accounts stay balanced.

use std::sync::Arc;

use tokio::time::Instant;

use crate::client::{
    connect_all, place_and_wait, resolve_order_spec, trader_config, Fleet, FrameWriter,
    OrderCounts, Side, Ws, DRAIN_GRACE,
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
    if let Some(rate) = args.trade_rate_per_s {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(BenchError::InvalidArgument(format!(
                "--trade-rate must be a positive number of trades per second, got {rate}"
            )));
        }
    }
    raise_nofile((args.subscribers + 2 * pairs) as u64 + 64);

    let fleet = Fleet::open(
        &common.url,
        args.subscribers,
        args.batch,
        spec.clone(),
        &["TRADES", "ORDERBOOK_L2"],
    )
    .await;
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
        url: common.url.clone(),
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

/// One pair of traders: the maker rests an order at the mid, then the taker takes it, until the
/// deadline; the maker's side alternates every trade.
async fn trade_pair(
    maker: (Ws, FrameWriter),
    taker: (Ws, FrameWriter),
    deadline: Instant,
    pacer: Option<Pacer>,
) -> OrderCounts {
    let (mut maker_ws, mut maker_writer) = maker;
    let (mut taker_ws, mut taker_writer) = taker;
    let mut counts = OrderCounts::default();
    let give_up = deadline + DRAIN_GRACE;
    let mut k: u64 = 0;
    while Instant::now() < deadline {
        if let Some(pacer) = &pacer {
            let at = pacer.intended(k);
            if at >= deadline {
                break;
            }
            tokio::time::sleep_until(at).await;
        }
        let side = if k % 2 == 0 { Side::Buy } else { Side::Sell };
        let rest = maker_writer.order_at_mid(side, "GTC");
        if place_and_wait(&mut maker_ws, rest, "ORDER_ACK", give_up, &mut counts)
            .await
            .is_none()
        {
            break;
        }
        let take = taker_writer.order_at_mid(side.opposite(), "IOC");
        if place_and_wait(&mut taker_ws, take, "ORDER_ACK", give_up, &mut counts)
            .await
            .is_none()
        {
            break;
        }
        k += 1;
    }
    counts
}
