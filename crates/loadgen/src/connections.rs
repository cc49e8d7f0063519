//! `bench connections`: how many connections the server holds, and at what memory cost. Opens
//! the connections in batches, each subscribed to TICKER, holds them for the duration counting
//! what they receive, and reads the server's resident memory from `/proc` before and during.

use std::sync::Arc;

use tokio::time::Instant;

use crate::client::{resolve_order_spec, Feed, Fleet};
use crate::common::CommonArgs;
use crate::progress::Progress;
use crate::report::{ConnectionsReport, Report};
use crate::stats::{round3, seconds_since};
use crate::system::{find_pid_by_port, own_rss_kib, raise_nofile, rss_kib, url_port};
use crate::BenchError;

/// Flags of `bench connections`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionsArgs {
    /// Flags shared by every scenario (`--connections` defaults to 1000).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Connections opened at once during the ramp.
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
    /// Process id of the server, for its memory; found by the URL's port when absent.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Opens, holds and measures the connections.
pub(crate) async fn run(args: &ConnectionsArgs) -> Result<Report, BenchError> {
    let common = &args.common;
    let n = common.connections_or(1000)?;
    let duration = common.duration()?;
    let spec = Arc::new(resolve_order_spec(&common.url, common).await?);
    let nofile_limit = raise_nofile(n as u64 + 64);
    let server_pid = args
        .server_pid
        .or_else(|| url_port(&common.url).and_then(find_pid_by_port));
    let server_rss_before_kib = server_pid.and_then(rss_kib);

    let ramp_start = Instant::now();
    let fleet = Fleet::open(&common.url, n, args.batch, spec, Feed::Native(&["TICKER"])).await;
    let ramp_s = ramp_start.elapsed().as_secs_f64();
    eprintln!(
        "connections: {} of {n} opened in {ramp_s:.2} s",
        n as u64 - fleet.connect_failures
    );
    if fleet.connect_failures == n as u64 {
        return Err(BenchError::Connect {
            url: common.url.clone(),
            reason: format!("none of {n} connections could be opened"),
        });
    }

    let start = Instant::now();
    let before = fleet.counts();
    let progress = Progress::start(
        "connections",
        "frames",
        start,
        duration,
        fleet.frames_reader(),
    );
    tokio::time::sleep_until(start + duration).await;
    let during = fleet.counts().since(&before);
    let duration_s = seconds_since(start);
    let server_rss_held_kib = server_pid.and_then(rss_kib);
    let client_rss_kib = own_rss_kib();
    drop(progress);
    let connect_failures = fleet.connect_failures;
    let (held, total) = fleet.close().await;

    Ok(Report::Connections(ConnectionsReport {
        url: common.url.clone(),
        connections_requested: n as u64,
        connections_held: held,
        connect_failures,
        disconnects: total.disconnects,
        subscriptions_confirmed: total.subscribed,
        ramp_s: round3(ramp_s),
        duration_s: round3(duration_s),
        messages: during.frames,
        messages_per_s: round3(during.frames as f64 / duration_s),
        malformed: total.malformed,
        server_pid,
        server_rss_before_kib,
        server_rss_held_kib,
        client_rss_kib,
        nofile_limit,
    }))
}
