//! A market maker: one account quoting a ladder of GTC limit orders on one symbol around the model
//! price, re-quoting on a fixed cadence, and learning what happened to its orders only from the
//! engine's events. A pure state machine: time, price and randomness come in, commands go out.
//!
//! Quotes sit on a [`QuoteGrid`] (multiples of the level spacing) shared by every maker of a
//! symbol, so their quotes coincide, a small price move changes nothing, and a move of one spacing
//! replaces one level per side instead of the whole ladder: re-quoting costs book updates in
//! proportion to how far the price moved, not to the depth.

use std::collections::BTreeMap;

use engine::{
    AccountId, ClientOrderId, Command, Event, NewOrder, OrderRef, OrderType, Price, Qty, Side,
    SymbolId, TimeInForce,
};
use rand::{Rng, RngCore};

use crate::models::MAX_PRICE_TICKS;

/// A maker's settings in the symbol's units (see `MarketMakerConfig` for their meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct MakerParams {
    /// Price levels per side.
    pub levels: u32,
    /// Best bid to best ask, in basis points of the price (at least this, at most this plus one
    /// spacing, as quotes sit on the grid).
    pub spread_bps: f64,
    /// Distance between levels in basis points of the price (at least one tick).
    pub level_spacing_bps: f64,
    /// Quantity per level before jitter.
    pub size: Qty,
    /// Sizes are drawn uniformly within `size * (1 +- size_jitter)`.
    pub size_jitter: f64,
    /// Time between re-quotes.
    pub refresh_ms: u64,
    /// The symbol's smallest order quantity: jittered sizes never go below it.
    pub min_qty: Qty,
    /// The symbol's largest order quantity: jittered sizes never go above it.
    pub max_qty: Qty,
}

/// How the maker's order lives, as far as it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QuoteState {
    /// Placed; the engine has not accepted it (yet).
    Sent,
    /// Accepted and resting.
    Live,
    /// A cancel was sent.
    Cancelling,
}

#[derive(Clone, Copy, Debug)]
struct Quote {
    side: Side,
    price: Price,
    qty: Qty,
    remaining: Qty,
    state: QuoteState,
}

/// The price grid of a symbol's ladders: levels are multiples of `spacing_ticks`, the best bid
/// and ask at least `half_spread_ticks` from the model price. Spacing and spread are derived from
/// a reference price and kept until the price moves [`REGRID_FRACTION`] away from it, so the
/// grid (and every quote on it) stays put while the price wanders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuoteGrid {
    reference: Price,
    spacing_ticks: i64,
    half_spread_ticks: i64,
    spread_bps: f64,
    level_spacing_bps: f64,
}

/// How far (as a fraction) the price moves from the grid's reference before the grid is derived
/// again, moving every quote: spacing and spread stay within 10% of their configured bps.
pub const REGRID_FRACTION: f64 = 0.10;

impl QuoteGrid {
    /// The grid for `params`' spread and spacing around `price`.
    pub fn new(price: Price, params: &MakerParams) -> QuoteGrid {
        let mut grid = QuoteGrid {
            reference: price,
            spacing_ticks: 1,
            half_spread_ticks: 0,
            spread_bps: params.spread_bps,
            level_spacing_bps: params.level_spacing_bps,
        };
        grid.derive(price);
        grid
    }

    /// Follows the price: derives the grid again when the price is too far from the reference.
    /// Returns whether it did.
    pub fn follow(&mut self, price: Price) -> bool {
        let moved = (price.0 - self.reference.0).abs() as f64;
        if moved > self.reference.0 as f64 * REGRID_FRACTION {
            self.derive(price);
            true
        } else {
            false
        }
    }

    /// The distance between levels, in ticks (at least one).
    pub fn spacing_ticks(&self) -> i64 {
        self.spacing_ticks
    }

    fn derive(&mut self, price: Price) {
        let reference = price.0.max(1) as f64;
        self.reference = price;
        self.spacing_ticks = ((reference * self.level_spacing_bps / 10_000.0).round() as i64)
            .clamp(1, MAX_PRICE_TICKS);
        self.half_spread_ticks =
            ((reference * self.spread_bps / 20_000.0).ceil() as i64).clamp(0, MAX_PRICE_TICKS);
    }

    /// The ladder's prices around `mid`: bids best first, asks best first. The best bid is the
    /// highest grid price at least half a spread below `mid`, the best ask the lowest at least half
    /// a spread above; the bid is always below the ask, and bids below one tick are left out.
    pub fn ladder(&self, mid: Price, levels: u32) -> (Vec<Price>, Vec<Price>) {
        let step = self.spacing_ticks.max(1);
        let low = mid.0.saturating_sub(self.half_spread_ticks);
        let high = mid.0.saturating_add(self.half_spread_ticks);
        let best_bid = low.div_euclid(step) * step;
        let mut best_ask = high.div_euclid(step) * step;
        if best_ask < high {
            best_ask += step;
        }
        if best_ask <= best_bid {
            best_ask = best_bid + step;
        }
        let bids = (0..i64::from(levels))
            .map(|i| best_bid.saturating_sub(i.saturating_mul(step)))
            .take_while(|&p| p >= 1)
            .map(Price)
            .collect();
        let asks = (0..i64::from(levels))
            .map(|i| Price(best_ask.saturating_add(i.saturating_mul(step))))
            .collect();
        (bids, asks)
    }
}

/// Counters of what the maker did, for statistics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MakerStats {
    /// Orders placed.
    pub placed: u64,
    /// Cancels sent.
    pub cancels_sent: u64,
    /// Orders that the engine never accepted (refused: funds, limits).
    pub refused: u64,
    /// Fills received.
    pub fills: u64,
    /// Quantity filled, in lots.
    pub filled_qty: i64,
}

/// One account's quotes on one symbol.
pub struct MarketMaker {
    symbol: SymbolId,
    account: AccountId,
    params: MakerParams,
    refresh_ns: u64,
    first_offset_ns: u64,
    next_refresh_ns: Option<u64>,
    /// By the number in the client order id, so iteration follows placement order.
    quotes: BTreeMap<u64, Quote>,
    next_quote: u64,
    /// `mm-<symbol>-`: every client order id of this maker starts with it.
    prefix: String,
    stats: MakerStats,
}

impl MarketMaker {
    /// A maker for `account` on `symbol`. Its first quotes go out `first_offset_ms` after the
    /// first tick, so several makers spread their refreshes over the cadence.
    pub fn new(
        symbol: SymbolId,
        account: AccountId,
        params: MakerParams,
        first_offset_ms: u64,
    ) -> MarketMaker {
        let refresh_ns = params.refresh_ms.max(1).saturating_mul(1_000_000);
        MarketMaker {
            symbol,
            account,
            params,
            refresh_ns,
            first_offset_ns: first_offset_ms.saturating_mul(1_000_000) % refresh_ns,
            next_refresh_ns: None,
            quotes: BTreeMap::new(),
            next_quote: 1,
            prefix: format!("mm-{}-", symbol.0),
            stats: MakerStats::default(),
        }
    }

    /// The account it quotes for.
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// The symbol it quotes.
    pub fn symbol(&self) -> SymbolId {
        self.symbol
    }

    /// What it has done so far.
    pub fn stats(&self) -> MakerStats {
        self.stats
    }

    /// Its resting orders as it believes them to be: (side, price, remaining), placement order.
    pub fn open_quotes(&self) -> Vec<(Side, Price, Qty)> {
        self.quotes
            .values()
            .filter(|q| q.state == QuoteState::Live)
            .map(|q| (q.side, q.price, q.remaining))
            .collect()
    }

    /// Re-quotes around `model_price` on `grid` when a refresh is due, appending the commands to
    /// `out`: cancels of quotes no longer on the ladder first, then the new orders. Nothing when
    /// no refresh is due. The commands must be executed before the next call.
    pub fn on_tick(
        &mut self,
        now_ns: u64,
        model_price: Price,
        grid: &QuoteGrid,
        rng: &mut dyn RngCore,
        out: &mut Vec<Command>,
    ) {
        let due_ns = *self
            .next_refresh_ns
            .get_or_insert(now_ns.saturating_add(self.first_offset_ns));
        if now_ns < due_ns {
            return;
        }
        // Keep to the schedule even when ticks do not divide the cadence; after a stall, start
        // again from now rather than catch up with a burst.
        let next_ns = due_ns.saturating_add(self.refresh_ns);
        self.next_refresh_ns = Some(if next_ns > now_ns {
            next_ns
        } else {
            now_ns.saturating_add(self.refresh_ns)
        });
        self.forget_unanswered();
        let (bids, asks) = grid.ladder(model_price, self.params.levels);
        let mut kept_bids = vec![false; bids.len()];
        let mut kept_asks = vec![false; asks.len()];
        for (&n, quote) in self.quotes.iter_mut() {
            let (wanted, kept) = match quote.side {
                Side::Buy => (&bids, &mut kept_bids),
                Side::Sell => (&asks, &mut kept_asks),
            };
            let slot = wanted.iter().position(|&p| p == quote.price);
            let still_full = quote.remaining.0.saturating_mul(2) >= quote.qty.0;
            match slot {
                Some(i) if still_full && !kept.get(i).copied().unwrap_or(true) => {
                    if let Some(k) = kept.get_mut(i) {
                        *k = true;
                    }
                }
                _ => {
                    quote.state = QuoteState::Cancelling;
                    self.stats.cancels_sent += 1;
                    if let Some(id) = client_order_id(&self.prefix, n) {
                        out.push(Command::Cancel {
                            account: self.account,
                            target: OrderRef::Client(id),
                        });
                    }
                }
            }
        }
        for (side, prices, kept) in [
            (Side::Buy, &bids, &kept_bids),
            (Side::Sell, &asks, &kept_asks),
        ] {
            for (&price, &is_kept) in prices.iter().zip(kept) {
                if !is_kept {
                    self.place(side, price, rng, out);
                }
            }
        }
        debug_assert!(self.is_uncrossed(), "a maker's own bid and ask crossed");
    }

    /// Updates its orders from an engine event; events of other accounts or symbols are ignored.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Accepted(e) if self.owns(e.order.account, e.order.symbol) => {
                if let Some(quote) = self.quote_mut(e.order.client_order_id) {
                    if quote.state == QuoteState::Sent {
                        quote.state = QuoteState::Live;
                    }
                    quote.remaining = e.order.remaining_qty();
                }
            }
            Event::Fill(f) if self.owns(f.account, f.symbol) => {
                self.stats.fills += 1;
                self.stats.filled_qty = self.stats.filled_qty.saturating_add(f.qty.0);
                if let Some(n) = self.quote_number(f.client_order_id) {
                    if f.status.is_terminal() || f.remaining_qty.0 <= 0 {
                        self.quotes.remove(&n);
                    } else if let Some(quote) = self.quotes.get_mut(&n) {
                        quote.remaining = f.remaining_qty;
                    }
                }
            }
            Event::Closed(c) if self.owns(c.account, c.symbol) => {
                if let Some(n) = self.quote_number(c.client_order_id) {
                    self.quotes.remove(&n);
                }
            }
            Event::Amended(a) if self.owns(a.account, a.symbol) => {
                if let Some(quote) = self.quote_mut(a.client_order_id) {
                    quote.qty = a.new_qty;
                    quote.remaining = a.remaining_qty;
                }
            }
            _ => {}
        }
    }

    fn owns(&self, account: AccountId, symbol: SymbolId) -> bool {
        account == self.account && symbol == self.symbol
    }

    fn quote_number(&self, id: Option<ClientOrderId>) -> Option<u64> {
        id?.as_str().strip_prefix(&self.prefix)?.parse().ok()
    }

    fn quote_mut(&mut self, id: Option<ClientOrderId>) -> Option<&mut Quote> {
        let n = self.quote_number(id)?;
        self.quotes.get_mut(&n)
    }

    /// Orders never accepted were refused, and orders still being cancelled a whole refresh
    /// later are gone (a refused cancel means the order was already closed): the engine answers
    /// every command at once, so by the next refresh there is nothing more to wait for.
    fn forget_unanswered(&mut self) {
        let mut refused = 0u64;
        self.quotes.retain(|_, q| match q.state {
            QuoteState::Live => true,
            QuoteState::Sent => {
                refused += 1;
                false
            }
            QuoteState::Cancelling => false,
        });
        self.stats.refused += refused;
    }

    fn place(&mut self, side: Side, price: Price, rng: &mut dyn RngCore, out: &mut Vec<Command>) {
        let qty = self.draw_size(rng);
        let n = self.next_quote;
        self.next_quote += 1;
        let Some(id) = client_order_id(&self.prefix, n) else {
            return;
        };
        self.quotes.insert(
            n,
            Quote {
                side,
                price,
                qty,
                remaining: qty,
                state: QuoteState::Sent,
            },
        );
        self.stats.placed += 1;
        out.push(Command::Place(NewOrder {
            account: self.account,
            symbol: self.symbol,
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            qty,
            time_in_force: TimeInForce::Gtc,
            post_only: false,
            client_order_id: Some(id),
            stp: None,
            quote_budget: None,
        }));
    }

    fn draw_size(&self, rng: &mut dyn RngCore) -> Qty {
        let jitter = self.params.size_jitter;
        let factor = if jitter > 0.0 {
            1.0 + rng.gen_range(-jitter..=jitter)
        } else {
            1.0
        };
        let lots = (self.params.size.0 as f64 * factor).round() as i64;
        let min = self.params.min_qty.0.max(1);
        Qty(lots.clamp(min, self.params.max_qty.0.max(min)))
    }

    fn is_uncrossed(&self) -> bool {
        let best_bid = self.active(Side::Buy).max();
        let best_ask = self.active(Side::Sell).min();
        match (best_bid, best_ask) {
            (Some(bid), Some(ask)) => bid < ask,
            _ => true,
        }
    }

    fn active(&self, side: Side) -> impl Iterator<Item = Price> + '_ {
        self.quotes
            .values()
            .filter(move |q| q.side == side && q.state != QuoteState::Cancelling)
            .map(|q| q.price)
    }
}

/// `mm-<symbol>-<n>`: at most 3 + 10 + 1 + 20 = 34 characters, within the 36 allowed.
fn client_order_id(prefix: &str, n: u64) -> Option<ClientOrderId> {
    ClientOrderId::new(&format!("{prefix}{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::{AssetId, Order, StpMode};
    use engine::{
        CloseReason, Fill, FillId, OrderAccepted, OrderClosed, OrderId, OrderStatus, TradeId,
    };
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const SYMBOL: SymbolId = SymbolId(0);
    const ACCOUNT: AccountId = AccountId(7);
    const MS: u64 = 1_000_000;

    fn params() -> MakerParams {
        // At 50,000.00 (tick 0.01): spread 4 bps = 20.00 (half 1000 ticks), spacing 2 bps = 10.00
        // (1000 ticks).
        MakerParams {
            levels: 5,
            spread_bps: 4.0,
            level_spacing_bps: 2.0,
            size: Qty(50_000),
            size_jitter: 0.3,
            refresh_ms: 500,
            min_qty: Qty(1),
            max_qty: Qty(100_000_000),
        }
    }

    /// A fake engine: accepts every place and cancel, remembering ids, to feed the maker events.
    struct FakeEngine {
        next_id: u64,
        open: Vec<Order>,
    }

    impl FakeEngine {
        fn new() -> FakeEngine {
            FakeEngine {
                next_id: 1,
                open: Vec::new(),
            }
        }

        fn run(&mut self, maker: &mut MarketMaker, commands: &[Command]) {
            for cmd in commands {
                let event = match *cmd {
                    Command::Place(new) => {
                        let order = Order {
                            id: OrderId(self.next_id),
                            account: new.account,
                            symbol: new.symbol,
                            side: new.side,
                            order_type: new.order_type,
                            price: new.price,
                            qty: new.qty,
                            filled_qty: Qty(0),
                            time_in_force: new.time_in_force,
                            post_only: new.post_only,
                            client_order_id: new.client_order_id,
                            stp: StpMode::ExpireTaker,
                            status: OrderStatus::Open,
                            close_reason: None,
                            cum_quote: engine::Amount(0),
                            quote_budget: None,
                            created_ns: 0,
                            updated_ns: 0,
                        };
                        self.next_id += 1;
                        self.open.push(order);
                        Event::Accepted(OrderAccepted {
                            order,
                            account_seq: 0,
                        })
                    }
                    Command::Cancel {
                        target: OrderRef::Client(id),
                        ..
                    } => {
                        let i = self
                            .open
                            .iter()
                            .position(|o| o.client_order_id == Some(id))
                            .expect("the maker cancels only orders it has open");
                        let order = self.open.remove(i);
                        Event::Closed(closed(&order))
                    }
                    other => panic!("a maker sent {other:?}"),
                };
                maker.on_event(&event);
            }
        }

        fn prices(&self, side: Side) -> Vec<i64> {
            let mut prices: Vec<i64> = self
                .open
                .iter()
                .filter(|o| o.side == side)
                .filter_map(|o| o.price.map(|p| p.0))
                .collect();
            prices.sort_unstable();
            prices
        }
    }

    fn closed(order: &Order) -> OrderClosed {
        OrderClosed {
            account: order.account,
            order_id: order.id,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            status: OrderStatus::Cancelled,
            reason: CloseReason::UserCancel,
            filled_qty: Qty(0),
            remaining_qty: order.remaining_qty(),
            account_seq: 0,
            terms: order.terms(),
        }
    }

    /// A maker with its own grid, following the price as the market's grid does.
    struct Quoter {
        maker: MarketMaker,
        grid: Option<QuoteGrid>,
    }

    impl Quoter {
        fn new(first_offset_ms: u64) -> Quoter {
            Quoter {
                maker: MarketMaker::new(SYMBOL, ACCOUNT, params(), first_offset_ms),
                grid: None,
            }
        }
    }

    impl std::ops::Deref for Quoter {
        type Target = MarketMaker;
        fn deref(&self) -> &MarketMaker {
            &self.maker
        }
    }

    impl std::ops::DerefMut for Quoter {
        fn deref_mut(&mut self) -> &mut MarketMaker {
            &mut self.maker
        }
    }

    fn tick(q: &mut Quoter, now_ns: u64, price: i64, rng: &mut ChaCha8Rng) -> Vec<Command> {
        let grid = q
            .grid
            .get_or_insert_with(|| QuoteGrid::new(Price(price), &params()));
        grid.follow(Price(price));
        let grid = *grid;
        let mut out = Vec::new();
        q.maker.on_tick(now_ns, Price(price), &grid, rng, &mut out);
        out
    }

    fn places(commands: &[Command]) -> Vec<NewOrder> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Place(new) => Some(*new),
                _ => None,
            })
            .collect()
    }

    fn cancels(commands: &[Command]) -> usize {
        commands
            .iter()
            .filter(|c| matches!(c, Command::Cancel { .. }))
            .count()
    }

    #[test]
    fn quotes_the_configured_ladder() {
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let commands = tick(&mut maker, 0, 5_000_000, &mut rng);
        let orders = places(&commands);
        assert_eq!(orders.len(), 10);
        let bids: Vec<i64> = orders
            .iter()
            .filter(|o| o.side == Side::Buy)
            .filter_map(|o| o.price.map(|p| p.0))
            .collect();
        let asks: Vec<i64> = orders
            .iter()
            .filter(|o| o.side == Side::Sell)
            .filter_map(|o| o.price.map(|p| p.0))
            .collect();
        assert_eq!(
            bids,
            [4_999_000, 4_998_000, 4_997_000, 4_996_000, 4_995_000]
        );
        assert_eq!(
            asks,
            [5_001_000, 5_002_000, 5_003_000, 5_004_000, 5_005_000]
        );
        for order in &orders {
            assert_eq!(order.account, ACCOUNT);
            assert_eq!(order.order_type, OrderType::Limit);
            assert_eq!(order.time_in_force, TimeInForce::Gtc);
            assert!((35_000..=65_000).contains(&order.qty.0), "{:?}", order.qty);
        }
        let ids: Vec<&str> = orders
            .iter()
            .filter_map(|o| o.client_order_id.as_ref().map(|id| id.as_str()))
            .collect();
        assert_eq!(ids.first(), Some(&"mm-0-1"));
        assert_eq!(ids.last(), Some(&"mm-0-10"));
        let sizes: std::collections::BTreeSet<i64> = orders.iter().map(|o| o.qty.0).collect();
        assert!(sizes.len() > 1, "sizes are jittered");
    }

    #[test]
    fn off_grid_prices_keep_the_spread_and_never_cross() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for price in [
            5_000_001, 5_000_499, 5_000_500, 5_000_999, 4_999_999, 137, 2, 1,
        ] {
            let mut maker = Quoter::new(0);
            let orders = places(&tick(&mut maker, 0, price, &mut rng));
            let best_bid = orders
                .iter()
                .filter(|o| o.side == Side::Buy)
                .filter_map(|o| o.price)
                .max();
            let best_ask = orders
                .iter()
                .filter(|o| o.side == Side::Sell)
                .filter_map(|o| o.price)
                .min();
            let ask = best_ask.expect("asks are always quoted").0;
            if let Some(bid) = best_bid {
                assert!(bid.0 < ask, "crossed at {price}");
                assert!(bid.0 >= 1);
                let half = (price as f64 * 4.0 / 20_000.0).ceil() as i64;
                assert!(
                    price - bid.0 >= half && ask - price >= half,
                    "spread at {price}"
                );
            }
        }
    }

    #[test]
    fn waits_for_the_refresh_cadence_and_its_offset() {
        let mut maker = Quoter::new(250);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!(tick(&mut maker, 1_000 * MS, 5_000_000, &mut rng).is_empty());
        assert!(tick(&mut maker, 1_249 * MS, 5_000_000, &mut rng).is_empty());
        assert_eq!(
            places(&tick(&mut maker, 1_250 * MS, 5_000_000, &mut rng)).len(),
            10
        );
        // Unanswered, those were refused: the next refresh places them again.
        assert!(tick(&mut maker, 1_749 * MS, 5_000_000, &mut rng).is_empty());
        assert_eq!(
            places(&tick(&mut maker, 1_750 * MS, 5_000_000, &mut rng)).len(),
            10
        );
        assert_eq!(maker.stats().refused, 10);
        // Ticks of 300 ms do not divide the cadence: refreshes still come every 500 ms on average.
        let refreshes = (1..=100u64)
            .filter(|i| {
                !tick(&mut maker, 1_750 * MS + i * 300 * MS, 5_000_000, &mut rng).is_empty()
            })
            .count();
        assert_eq!(refreshes, 60);
    }

    #[test]
    fn small_moves_change_nothing_and_a_move_of_one_spacing_one_level_per_side() {
        let mut engine = FakeEngine::new();
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // Between two grid prices the ladder is the same wherever the price is.
        let first = tick(&mut maker, 0, 5_000_300, &mut rng);
        engine.run(&mut maker, &first);
        assert_eq!(maker.open_quotes().len(), 10);
        assert_eq!(engine.prices(Side::Buy).last(), Some(&4_999_000));
        assert_eq!(engine.prices(Side::Sell).first(), Some(&5_002_000));

        let again = tick(&mut maker, 500 * MS, 5_000_900, &mut rng);
        assert!(
            again.is_empty(),
            "a move within the grid re-quotes nothing: {again:?}"
        );

        let moved = tick(&mut maker, 1_000 * MS, 5_001_300, &mut rng);
        assert_eq!(cancels(&moved), 2, "{moved:?}");
        assert_eq!(places(&moved).len(), 2);
        assert!(
            matches!(moved.first(), Some(Command::Cancel { .. })),
            "cancels go first"
        );
        engine.run(&mut maker, &moved);
        assert_eq!(
            engine.prices(Side::Buy),
            [4_996_000, 4_997_000, 4_998_000, 4_999_000, 5_000_000]
        );
        assert_eq!(
            engine.prices(Side::Sell),
            [5_003_000, 5_004_000, 5_005_000, 5_006_000, 5_007_000]
        );
    }

    #[test]
    fn a_big_move_replaces_the_ladder() {
        let mut engine = FakeEngine::new();
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let first = tick(&mut maker, 0, 5_000_000, &mut rng);
        engine.run(&mut maker, &first);
        let moved = tick(&mut maker, 500 * MS, 5_050_000, &mut rng);
        assert_eq!(cancels(&moved), 10);
        assert_eq!(places(&moved).len(), 10);
        engine.run(&mut maker, &moved);
        assert_eq!(engine.prices(Side::Buy).last(), Some(&5_049_000));
        assert_eq!(engine.prices(Side::Sell).first(), Some(&5_051_000));
        assert_eq!(maker.open_quotes().len(), 10);
    }

    #[test]
    fn tracks_fills_and_replaces_what_was_taken() {
        let mut engine = FakeEngine::new();
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let first = tick(&mut maker, 0, 5_000_000, &mut rng);
        engine.run(&mut maker, &first);
        let best_ask = engine
            .open
            .iter()
            .find(|o| o.side == Side::Sell && o.price == Some(Price(5_001_000)))
            .copied()
            .expect("best ask");
        let second_ask = engine
            .open
            .iter()
            .find(|o| o.side == Side::Sell && o.price == Some(Price(5_002_000)))
            .copied()
            .expect("second ask");
        // A buyer takes all of the best ask and a little of the second.
        let fill = |order: &Order, qty: i64, status: OrderStatus| {
            Event::Fill(Fill {
                account: ACCOUNT,
                order_id: order.id,
                client_order_id: order.client_order_id,
                symbol: SYMBOL,
                side: Side::Sell,
                fill_id: FillId(1),
                trade_id: TradeId(1),
                price: order.price.unwrap_or_default(),
                qty: Qty(qty),
                filled_qty: Qty(qty),
                remaining_qty: Qty(order.qty.0 - qty),
                status,
                is_maker: true,
                fee: engine::Amount(0),
                fee_asset: AssetId(1),
                ts_ns: 0,
                account_seq: 0,
                terms: order.terms(),
            })
        };
        maker.on_event(&fill(&best_ask, best_ask.qty.0, OrderStatus::Filled));
        maker.on_event(&fill(&second_ask, 1, OrderStatus::PartiallyFilled));
        engine.open.retain(|o| o.id != best_ask.id);
        assert_eq!(maker.open_quotes().len(), 9);
        assert_eq!(maker.stats().fills, 2);
        assert!(maker.open_quotes().contains(&(
            Side::Sell,
            Price(5_002_000),
            Qty(second_ask.qty.0 - 1)
        )));

        // Same price: only the level that was taken comes back; the nibbled one stays.
        let refill = tick(&mut maker, 500 * MS, 5_000_000, &mut rng);
        assert_eq!(cancels(&refill), 0);
        let orders = places(&refill);
        assert_eq!(orders.len(), 1);
        assert_eq!(
            (orders[0].side, orders[0].price),
            (Side::Sell, Some(Price(5_001_000)))
        );
    }

    #[test]
    fn a_mostly_filled_level_is_refreshed() {
        let mut engine = FakeEngine::new();
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let first = tick(&mut maker, 0, 5_000_000, &mut rng);
        engine.run(&mut maker, &first);
        let bid = engine
            .open
            .iter()
            .find(|o| o.side == Side::Buy && o.price == Some(Price(4_999_000)))
            .copied()
            .expect("best bid");
        let taken = bid.qty.0 - bid.qty.0 / 4;
        maker.on_event(&Event::Fill(Fill {
            account: ACCOUNT,
            order_id: bid.id,
            client_order_id: bid.client_order_id,
            symbol: SYMBOL,
            side: Side::Buy,
            fill_id: FillId(1),
            trade_id: TradeId(1),
            price: Price(4_999_000),
            qty: Qty(taken),
            filled_qty: Qty(taken),
            remaining_qty: Qty(bid.qty.0 - taken),
            status: OrderStatus::PartiallyFilled,
            is_maker: true,
            fee: engine::Amount(0),
            fee_asset: AssetId(0),
            ts_ns: 0,
            account_seq: 0,
            terms: bid.terms(),
        }));
        let refresh = tick(&mut maker, 500 * MS, 5_000_000, &mut rng);
        assert_eq!(cancels(&refresh), 1);
        let orders = places(&refresh);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].price, Some(Price(4_999_000)));
    }

    #[test]
    fn the_grid_moves_only_after_a_large_move() {
        let mut grid = QuoteGrid::new(Price(5_000_000), &params());
        assert_eq!(grid.spacing_ticks(), 1_000);
        assert!(
            !grid.follow(Price(5_400_000)),
            "8% is within the grid's reach"
        );
        assert_eq!(grid.spacing_ticks(), 1_000);
        assert!(grid.follow(Price(5_600_000)), "12% derives the grid again");
        assert_eq!(grid.spacing_ticks(), 1_120);
        let (bids, asks) = grid.ladder(Price(5_600_000), 3);
        assert!(bids.iter().chain(&asks).all(|p| p.0 % 1_120 == 0));
    }

    #[test]
    fn ignores_other_accounts_and_symbols() {
        let mut engine = FakeEngine::new();
        let mut maker = Quoter::new(0);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let first = tick(&mut maker, 0, 5_000_000, &mut rng);
        engine.run(&mut maker, &first);
        for order in engine.open.clone() {
            let mut other_account = closed(&order);
            other_account.account = AccountId(8);
            maker.on_event(&Event::Closed(other_account));
            let mut other_symbol = closed(&order);
            other_symbol.symbol = SymbolId(1);
            maker.on_event(&Event::Closed(other_symbol));
        }
        assert_eq!(maker.open_quotes().len(), 10);
    }
}
