//! An account as Binance shows it (`GET /api/v3/account`, `account.status`), and the filters of
//! the history endpoints (`myTrades`, `allOrders`).

use engine::{Balance, FeeRate, Fill, Order};
use protocol::json::ObjectWriter;
use protocol::messages::write_amount;

use crate::error::ApiError;
use crate::params::Params;
use crate::venue::{ms, Venue};

/// The account's balances (indexed by asset id) and commission rates.
pub fn write_account(venue: &Venue, balances: &[Balance], at_ns: u64, out: &mut String) {
    let bps = |rate: FeeRate| (i128::from(rate.0) * 10_000 / FeeRate::SCALE).max(0) as u64;
    let rate = |rate: FeeRate, o: &mut String| write_amount(8, i128::from(rate.0), o);
    let mut w = ObjectWriter::new(out);
    w.u64("makerCommission", bps(venue.maker_fee))
        .u64("takerCommission", bps(venue.taker_fee))
        .u64("buyerCommission", 0)
        .u64("sellerCommission", 0)
        .with("commissionRates", |out| {
            let mut r = ObjectWriter::new(out);
            r.str_with("maker", |o| rate(venue.maker_fee, o))
                .str_with("taker", |o| rate(venue.taker_fee, o))
                .str("buyer", "0.00000000")
                .str("seller", "0.00000000");
            r.end();
        })
        .bool("canTrade", true)
        .bool("canWithdraw", false)
        .bool("canDeposit", false)
        .bool("brokered", false)
        .bool("requireSelfTradePrevention", false)
        .bool("preventSor", false)
        .u64("updateTime", ms(at_ns))
        .str("accountType", "SPOT")
        .with("balances", |out| {
            out.push('[');
            for (i, balance) in balances.iter().enumerate() {
                let asset = engine::AssetId(i as u32);
                let decimals = venue.catalog.asset_decimals(asset);
                if i > 0 {
                    out.push(',');
                }
                let mut b = ObjectWriter::new(out);
                b.str("asset", venue.catalog.asset_name(asset))
                    .str_with("free", |o| write_amount(decimals, balance.available.0, o))
                    .str_with("locked", |o| write_amount(decimals, balance.locked.0, o));
                b.end();
            }
            out.push(']');
        })
        .raw("permissions", r#"["SPOT"]"#);
    w.end();
}

/// What `myTrades` and `allOrders` narrow their history to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub order_id: Option<u64>,
    /// Trades only: from this trade id up.
    pub from_id: Option<u64>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub limit: usize,
}

impl HistoryFilter {
    /// The filter's parameters (`limit` 500 by default, at most 1000, as on Binance).
    pub fn parse(params: &Params<'_>) -> Result<HistoryFilter, ApiError> {
        Ok(HistoryFilter {
            order_id: params.u64("orderId")?,
            from_id: params.u64("fromId")?,
            start_ms: params.u64("startTime")?,
            end_ms: params.u64("endTime")?,
            limit: params.limit(500, 1_000)?,
        })
    }

    fn in_time(&self, ns: u64) -> bool {
        let at = ms(ns);
        self.start_ms.is_none_or(|s| at >= s) && self.end_ms.is_none_or(|e| at <= e)
    }

    /// The fills that pass, oldest first: the first `limit` from `fromId` or the start time, else
    /// the newest `limit`.
    pub fn fills<'f>(&self, fills: &'f [Fill]) -> Vec<&'f Fill> {
        let passing: Vec<&Fill> = fills
            .iter()
            .filter(|f| self.order_id.is_none_or(|id| f.order_id.0 == id))
            .filter(|f| self.from_id.is_none_or(|id| f.trade_id.0 >= id))
            .filter(|f| self.in_time(f.ts_ns))
            .collect();
        self.take(passing, self.from_id.is_some() || self.start_ms.is_some())
    }

    /// The orders that pass, oldest first: from `orderId` or the start time, else the newest.
    pub fn orders<'o>(&self, orders: &'o [Order]) -> Vec<&'o Order> {
        let mut passing: Vec<&Order> = orders
            .iter()
            .filter(|o| self.order_id.is_none_or(|id| o.id.0 >= id))
            .filter(|o| self.in_time(o.created_ns))
            .collect();
        passing.sort_by_key(|o| o.id);
        self.take(passing, self.order_id.is_some() || self.start_ms.is_some())
    }

    fn take<T>(&self, mut items: Vec<T>, from_start: bool) -> Vec<T> {
        if from_start {
            items.truncate(self.limit);
        } else {
            let skip = items.len().saturating_sub(self.limit);
            items.drain(..skip);
        }
        items
    }
}
