//! Funds, apart from matching (as exchange-core keeps risk apart from its matching engine): what
//! an order holds while it rests, what it releases when it closes, and how one side of a trade
//! settles (the hold of the filled quantity unlocked, the cost paid, the proceeds received less
//! the fee). Matching decides who trades with whom at what price; this decides what it costs.

use super::*;

/// One trade as both of its sides settle it.
pub(super) struct FillTerms {
    pub price: Price,
    pub qty: Qty,
    /// Quote units of the trade: `price * qty` in the quote's smallest unit.
    pub notional: i128,
    /// Base units of the trade.
    pub base_amount: i128,
    pub trade_id: TradeId,
    pub ts_ns: u64,
}

/// `value * num / den` rounded toward zero, falling back to a coarser order of operations when
/// the product would overflow.
pub(super) fn mul_div(value: i128, num: i128, den: i128) -> i128 {
    if den == 0 {
        return 0;
    }
    match value.checked_mul(num) {
        Some(p) if p >= 0 && den > 0 => div_nonneg(p, den),
        Some(p) => p / den,
        None => (value / den).saturating_mul(num),
    }
}

/// `a / b` for `a >= 0`, `b > 0`, through 64-bit division when both fit (`i128` division is a
/// slow library call); 0 when `b <= 0`.
pub(super) fn div_nonneg(a: i128, b: i128) -> i128 {
    if b <= 0 {
        return 0;
    }
    match (u64::try_from(a), u64::try_from(b)) {
        (Ok(a), Ok(b)) => i128::from(a / b),
        _ => a / b,
    }
}

/// The fee on `received` at `rate`, rounded down, exactly and without overflow.
fn fee_of(received: i128, rate: FeeRate) -> i128 {
    let rate = i128::from(rate.0);
    if rate == 0 {
        return 0;
    }
    // floor(r * rate / S) = (r / S) * rate + floor((r % S) * rate / S), each part small.
    let whole = div_nonneg(received, FeeRate::SCALE);
    let part = received - whole * FeeRate::SCALE;
    whole * rate + div_nonneg(part * rate, FeeRate::SCALE)
}

impl Engine {
    /// What an order's remaining quantity holds: its asset and amount.
    pub(super) fn hold(&self, order: &Order) -> (AssetId, Amount) {
        let Some(sym) = self.symbol(order.symbol) else {
            return (AssetId(0), Amount(0));
        };
        let rem = order.remaining_qty();
        match (order.side, order.order_type, order.price) {
            (Side::Buy, OrderType::Limit, Some(p)) => {
                (sym.quote, sym.notional(p, rem).unwrap_or_default())
            }
            (Side::Buy, _, _) => (sym.quote, Amount(0)),
            (Side::Sell, _, _) => (sym.base, sym.base_amount(rem)),
        }
    }

    /// Moves what an order still holds from locked back to available.
    pub(super) fn release(&mut self, order: &Order) -> AssetId {
        let (asset, amount) = self.hold(order);
        if let Some(b) = self.balance_mut(order.account, asset) {
            b.locked.0 -= amount.0;
            b.available.0 += amount.0;
        }
        asset
    }

    /// Settles one side of a trade: the order's funds, the fee, its fill (recorded and returned,
    /// with the account's next `account_seq`). `changed` marks which of the trade's (account,
    /// asset) pairs moved: maker base, maker quote, taker base, taker quote.
    pub(super) fn settle(
        &mut self,
        order: &mut Order,
        is_maker: bool,
        terms: &FillTerms,
        changed: &mut [bool; 4],
    ) -> Fill {
        let FillTerms {
            price,
            qty,
            notional,
            base_amount,
            trade_id,
            ts_ns,
        } = *terms;
        let (base, quote, per_tick_lot) = match self.symbols.get(order.symbol.0 as usize) {
            Some(sym) => (sym.base, sym.quote, sym.quote_units_per_tick_lot),
            None => (AssetId(0), AssetId(0), 0),
        };
        let rate = if is_maker {
            self.config.maker_fee
        } else {
            self.config.taker_fee
        };
        let (received, recv_asset) = match order.side {
            Side::Buy => (base_amount, base),
            Side::Sell => (notional, quote),
        };
        let fee = fee_of(received, rate);
        if let Some(f) = self.fees.get_mut(recv_asset.0 as usize) {
            f.0 += fee;
        }
        let held = match (order.side, order.price) {
            (Side::Buy, Some(limit)) => i128::from(limit.0) * per_tick_lot * i128::from(qty.0),
            (Side::Buy, None) => 0,
            (Side::Sell, _) => base_amount,
        };
        let (pay_asset, paid) = match order.side {
            Side::Buy => (quote, notional),
            Side::Sell => (base, base_amount),
        };
        if let Some(b) = self.balance_mut(order.account, pay_asset) {
            // The hold of the filled quantity is unlocked; what it did not cost comes back.
            b.locked.0 -= held;
            b.available.0 += held - paid;
        }
        if let Some(b) = self.balance_mut(order.account, recv_asset) {
            b.available.0 += received - fee;
        }
        let first = if is_maker { 0 } else { 2 };
        let (pay_slot, recv_slot) = match order.side {
            Side::Buy => (first + 1, first),
            Side::Sell => (first, first + 1),
        };
        changed[pay_slot] = true;
        changed[recv_slot] |= received != fee;
        order.filled_qty.0 += qty.0;
        order.cum_quote.0 += notional;
        order.updated_ns = ts_ns;
        let status = if order.remaining_qty().0 == 0 {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        set_status(order, status);
        self.last_fill_id += 1;
        let fill = Fill {
            account: order.account,
            order_id: order.id,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            fill_id: FillId(self.last_fill_id),
            trade_id,
            price,
            qty,
            filled_qty: order.filled_qty,
            remaining_qty: order.remaining_qty(),
            status: order.status,
            is_maker,
            fee: Amount(fee),
            fee_asset: recv_asset,
            ts_ns,
            account_seq: self.next_seq(order.account),
            terms: order.terms(),
        };
        if let Some(a) = self.accounts.get_mut(order.account.0 as usize) {
            a.fills.push(fill);
        }
        fill
    }
}
