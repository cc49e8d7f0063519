//! The taker flow: orders arriving at random (a Poisson process) on one symbol, each a MARKET
//! order or an IOC limit priced through the model price, so that trades print and the traded
//! price follows the model. A pure state machine: it needs no events, only time, price and RNG.

use engine::{AccountId, Command, NewOrder, OrderType, Price, Qty, Side, SymbolId, TimeInForce};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

use crate::models::MAX_PRICE_TICKS;

/// How order sizes are drawn between the minimum and the maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeDistribution {
    /// Every quantity in lots equally likely.
    Uniform,
    /// Uniform in the logarithm: as many orders between 0.001 and 0.01 as between 0.01 and 0.1,
    /// like real flow with many small orders and a few large ones.
    #[default]
    LogUniform,
}

/// A taker flow's settings in the symbol's units (see `TakerFlowConfig` for their meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct TakerParams {
    /// Mean orders per second.
    pub rate_per_s: f64,
    /// The smallest quantity.
    pub size_min: Qty,
    /// The largest quantity.
    pub size_max: Qty,
    /// How quantities are drawn.
    pub size_distribution: SizeDistribution,
    /// The fraction of MARKET orders; the rest are IOC limits.
    pub market_fraction: f64,
    /// An IOC limit is priced this many basis points through the model price.
    pub ioc_slippage_bps: f64,
    /// The most orders one call sends; a longer backlog is skipped.
    pub max_orders_per_step: u32,
}

/// Counters of what the flow did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TakerStats {
    /// MARKET orders sent.
    pub market_orders: u64,
    /// IOC limit orders sent.
    pub limit_orders: u64,
    /// Times a backlog over `max_orders_per_step` was skipped.
    pub backlogs_skipped: u64,
}

/// One symbol's taker flow, for one account.
pub struct TakerFlow {
    symbol: SymbolId,
    account: AccountId,
    params: TakerParams,
    next_arrival_ns: Option<u64>,
    stats: TakerStats,
}

impl TakerFlow {
    /// A flow of orders for `account` on `symbol`.
    pub fn new(symbol: SymbolId, account: AccountId, params: TakerParams) -> TakerFlow {
        TakerFlow {
            symbol,
            account,
            params,
            next_arrival_ns: None,
            stats: TakerStats::default(),
        }
    }

    /// What it has sent so far.
    pub fn stats(&self) -> TakerStats {
        self.stats
    }

    /// Appends the orders that arrived up to `now_ns` to `out`. The first call starts the clock.
    pub fn due(
        &mut self,
        now_ns: u64,
        model_price: Price,
        rng: &mut dyn RngCore,
        out: &mut Vec<Command>,
    ) {
        if !self.params.rate_per_s.is_finite() || self.params.rate_per_s <= 0.0 {
            return;
        }
        let mut next_ns = match self.next_arrival_ns {
            Some(next) => next,
            None => now_ns.saturating_add(self.gap_ns(rng)),
        };
        let mut sent = 0u32;
        while next_ns <= now_ns {
            if sent >= self.params.max_orders_per_step {
                // The caller fell behind (a stall, a paused clock): start afresh from now rather
                // than flood the book with the backlog.
                self.stats.backlogs_skipped += 1;
                next_ns = now_ns.saturating_add(self.gap_ns(rng));
                break;
            }
            out.push(Command::Place(self.draw_order(model_price, rng)));
            sent += 1;
            next_ns = next_ns.saturating_add(self.gap_ns(rng));
        }
        self.next_arrival_ns = Some(next_ns);
    }

    /// An exponential inter-arrival time with mean `1 / rate_per_s` seconds.
    fn gap_ns(&self, rng: &mut dyn RngCore) -> u64 {
        let gap_s: f64 = Exp1.sample(rng);
        let gap_ns = gap_s / self.params.rate_per_s * 1e9;
        // The float-to-int cast saturates; zero gaps are legal (two orders at once).
        gap_ns as u64
    }

    fn draw_order(&mut self, model_price: Price, rng: &mut dyn RngCore) -> NewOrder {
        // Always the same three draws per order, so one order's kind never shifts the next's.
        let side = if rng.gen_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let is_market = rng.gen::<f64>() < self.params.market_fraction;
        let qty = self.draw_size(rng);
        let (order_type, price) = if is_market {
            self.stats.market_orders += 1;
            (OrderType::Market, None)
        } else {
            self.stats.limit_orders += 1;
            (
                OrderType::Limit,
                Some(self.marketable_price(side, model_price)),
            )
        };
        NewOrder {
            account: self.account,
            symbol: self.symbol,
            side,
            order_type,
            price,
            qty,
            time_in_force: TimeInForce::Ioc,
            post_only: false,
            client_order_id: None,
            stp: None,
            quote_budget: None,
        }
    }

    fn draw_size(&self, rng: &mut dyn RngCore) -> Qty {
        let min = self.params.size_min.0.max(1);
        let max = self.params.size_max.0.max(min);
        let lots = match self.params.size_distribution {
            SizeDistribution::Uniform => rng.gen_range(min..=max),
            SizeDistribution::LogUniform => {
                let (low, high) = ((min as f64).ln(), (max as f64 + 1.0).ln());
                let drawn = if high > low {
                    rng.gen_range(low..high)
                } else {
                    low
                };
                drawn.exp().floor() as i64
            }
        };
        Qty(lots.clamp(min, max))
    }

    /// Through the model price by the slippage, rounded away from it (up for a buy, down for a
    /// sell), and at least one tick.
    fn marketable_price(&self, side: Side, model_price: Price) -> Price {
        let offset = model_price.0 as f64 * self.params.ioc_slippage_bps / 10_000.0;
        let ticks = match side {
            Side::Buy => (model_price.0 as f64 + offset).ceil(),
            Side::Sell => (model_price.0 as f64 - offset).floor(),
        };
        Price((ticks as i64).clamp(1, MAX_PRICE_TICKS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const S: u64 = 1_000_000_000;

    fn params() -> TakerParams {
        TakerParams {
            rate_per_s: 5.0,
            size_min: Qty(100),
            size_max: Qty(10_000),
            size_distribution: SizeDistribution::Uniform,
            market_fraction: 0.3,
            ioc_slippage_bps: 10.0,
            max_orders_per_step: 100_000,
        }
    }

    /// Runs the flow for `seconds` in steps of 100 ms.
    fn run(flow: &mut TakerFlow, seconds: u64, seed: u64) -> Vec<NewOrder> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        for step in 0..=seconds * 10 {
            flow.due(step * S / 10, Price(5_000_000), &mut rng, &mut out);
        }
        out.iter()
            .filter_map(|c| match c {
                Command::Place(new) => Some(*new),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn arrivals_follow_the_configured_rate() {
        let mut flow = TakerFlow::new(SymbolId(0), AccountId(3), params());
        let orders = run(&mut flow, 10_000, 1);
        // 10,000 s at 5/s: 50,000 expected, Poisson standard deviation 224.
        let n = orders.len() as f64;
        assert!((n - 50_000.0).abs() < 5.0 * 224.0, "{n} orders");
    }

    #[test]
    fn market_and_ioc_mix_and_sides_are_binomial() {
        let mut flow = TakerFlow::new(SymbolId(0), AccountId(3), params());
        let orders = run(&mut flow, 4_000, 2);
        let n = orders.len() as f64;
        let markets = orders
            .iter()
            .filter(|o| o.order_type == OrderType::Market)
            .count() as f64;
        let buys = orders.iter().filter(|o| o.side == Side::Buy).count() as f64;
        let sd = |p: f64| (n * p * (1.0 - p)).sqrt();
        assert!(
            (markets - 0.3 * n).abs() < 5.0 * sd(0.3),
            "{markets} of {n}"
        );
        assert!((buys - 0.5 * n).abs() < 5.0 * sd(0.5), "{buys} buys of {n}");
        assert_eq!(flow.stats().market_orders as f64, markets);
        assert_eq!(flow.stats().limit_orders as f64, n - markets);
    }

    #[test]
    fn orders_are_ioc_and_marketable() {
        let mut flow = TakerFlow::new(SymbolId(2), AccountId(3), params());
        for order in run(&mut flow, 100, 3) {
            assert_eq!((order.symbol, order.account), (SymbolId(2), AccountId(3)));
            assert_eq!(order.time_in_force, TimeInForce::Ioc);
            assert!((100..=10_000).contains(&order.qty.0));
            match (order.order_type, order.side) {
                (OrderType::Market, _) => assert_eq!(order.price, None),
                (OrderType::Limit, Side::Buy) => assert_eq!(order.price, Some(Price(5_005_000))),
                (OrderType::Limit, Side::Sell) => assert_eq!(order.price, Some(Price(4_995_000))),
            }
        }
    }

    #[test]
    fn sizes_cover_the_range_in_either_distribution() {
        for distribution in [SizeDistribution::Uniform, SizeDistribution::LogUniform] {
            let mut flow = TakerFlow::new(
                SymbolId(0),
                AccountId(3),
                TakerParams {
                    size_distribution: distribution,
                    ..params()
                },
            );
            let sizes: Vec<i64> = run(&mut flow, 2_000, 4).iter().map(|o| o.qty.0).collect();
            let below_1000 =
                sizes.iter().filter(|&&q| q < 1_000).count() as f64 / sizes.len() as f64;
            // Uniform: 900 of 9,901 sizes are below 1,000 (9%); log-uniform: half the log range.
            let expected = match distribution {
                SizeDistribution::Uniform => 0.091,
                SizeDistribution::LogUniform => 0.5,
            };
            assert!(
                (below_1000 - expected).abs() < 0.03,
                "{distribution:?}: {below_1000}"
            );
            assert!(sizes.iter().all(|q| (100..=10_000).contains(q)));
        }
    }

    #[test]
    fn a_backlog_is_bounded() {
        let mut flow = TakerFlow::new(
            SymbolId(0),
            AccountId(3),
            TakerParams {
                max_orders_per_step: 10,
                ..params()
            },
        );
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut out = Vec::new();
        flow.due(0, Price(100), &mut rng, &mut out);
        flow.due(3_600 * S, Price(100), &mut rng, &mut out);
        assert_eq!(out.len(), 10);
        assert_eq!(flow.stats().backlogs_skipped, 1);
    }

    #[test]
    fn zero_rate_sends_nothing_and_sells_never_price_below_a_tick() {
        let mut quiet = TakerFlow::new(
            SymbolId(0),
            AccountId(3),
            TakerParams {
                rate_per_s: 0.0,
                ..params()
            },
        );
        assert!(run(&mut quiet, 100, 6).is_empty());
        let flow = TakerFlow::new(
            SymbolId(0),
            AccountId(3),
            TakerParams {
                ioc_slippage_bps: 10_000.0,
                ..params()
            },
        );
        assert_eq!(flow.marketable_price(Side::Sell, Price(3)), Price(1));
        assert_eq!(flow.marketable_price(Side::Buy, Price(3)), Price(6));
    }
}
