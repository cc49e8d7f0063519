//! `bench roundtrip`: closed loop. Each connection sends one PLACE_ORDER, waits for its answer,
//! and sends the next; orders alternate sides through the mid so they trade with each other.

use crate::client::{measure_orders, resolve_order_spec, LoadShape};
use crate::common::CommonArgs;
use crate::report::Report;
use crate::BenchError;

/// Flags of `bench roundtrip`.
#[derive(Debug, Clone, clap::Args)]
pub struct RoundtripArgs {
    /// Flags shared by every scenario (`--connections` defaults to 1).
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs the closed loop against `--url`.
pub(crate) async fn run(args: &RoundtripArgs) -> Result<Report, BenchError> {
    let shape = LoadShape {
        label: "roundtrip",
        connections: args.common.connections_or(1)?,
        inflight_max: 1,
        rate_per_s: None,
        ack_type: "ORDER_ACK",
    };
    let spec = resolve_order_spec(&args.common.url, &args.common).await?;
    let report = measure_orders(&args.common.url, &args.common, spec, shape).await?;
    Ok(Report::Roundtrip(report))
}
