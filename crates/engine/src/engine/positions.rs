//! Positions by average cost, in the quote asset's smallest unit: what each fill does to an
//! account's net quantity, cost basis and realized PnL.

use super::funds::mul_div;
use super::*;

/// Applies a trade of `qty` lots at `unit` quote per lot to an average-cost position.
pub(super) fn apply_to_position(pos: &mut Position, buy: bool, qty: i64, unit: i128) {
    let net = pos.net_qty.0;
    let signed = if buy { qty } else { -qty };
    if net == 0 || (net > 0) == buy {
        pos.net_qty = Qty(net.saturating_add(signed));
        pos.cost_basis = Amount(
            pos.cost_basis
                .0
                .saturating_add(unit.saturating_mul(i128::from(qty))),
        );
        return;
    }
    let abs_net = net.unsigned_abs() as i128;
    let close = i128::from(qty).min(abs_net);
    let cost_closed = if close == abs_net {
        pos.cost_basis.0
    } else {
        mul_div(pos.cost_basis.0, close, abs_net)
    };
    let value_closed = unit.saturating_mul(close);
    let pnl = if net > 0 {
        value_closed.saturating_sub(cost_closed)
    } else {
        cost_closed.saturating_sub(value_closed)
    };
    pos.realized_pnl = Amount(pos.realized_pnl.0.saturating_add(pnl));
    pos.cost_basis = Amount(pos.cost_basis.0 - cost_closed);
    let rest = i128::from(qty) - close;
    if rest > 0 {
        pos.net_qty = Qty(if buy { rest as i64 } else { -(rest as i64) });
        pos.cost_basis = Amount(unit.saturating_mul(rest));
    } else {
        let close = close as i64;
        pos.net_qty = Qty(if net > 0 { net - close } else { net + close });
    }
}
