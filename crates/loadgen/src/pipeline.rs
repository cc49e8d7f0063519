//! `bench pipeline`: many orders in flight per connection. With `--rate` an open loop at a fixed
//! offered rate, latency measured from each order's intended send time; without it, as fast as
//! the server answers, bounded by `--inflight` outstanding orders per connection.

use crate::client::{measure_orders, resolve_order_spec, LoadShape};
use crate::common::CommonArgs;
use crate::report::Report;
use crate::BenchError;

/// Flags of `bench pipeline`.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    /// Flags shared by every scenario (`--connections` defaults to 100).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Offered rate in orders per second, all connections together; unpaced when absent.
    #[arg(long = "rate", value_name = "ORDERS_PER_S")]
    pub rate_per_s: Option<f64>,
    /// Most orders outstanding per connection.
    #[arg(long = "inflight", default_value_t = 64)]
    pub inflight_max: usize,
}

/// Runs the pipelined load against `--url`.
pub(crate) async fn run(args: &PipelineArgs) -> Result<Report, BenchError> {
    let shape = LoadShape {
        label: "pipeline",
        connections: args.common.connections_or(100)?,
        inflight_max: args.inflight_max,
        rate_per_s: args.rate_per_s,
        ack_type: "ORDER_ACK",
    };
    let spec = resolve_order_spec(&args.common.url, &args.common).await?;
    let report = measure_orders(&args.common.url, &args.common, spec, shape).await?;
    Ok(Report::Pipeline(report))
}
