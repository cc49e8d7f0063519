//! Orders: placing, cancelling and amending through the engine, and routing what the engine
//! reports. Private events go to every connection of their account (the connection whose request
//! caused them gets its copy with the request id) and into the account's resume buffer; public
//! ones go to the market-data topics and to the synthetic market.

use engine::{
    AccountId, Amount, CloseReason, Command, Event, FillId, NewOrder, OrderRef, OrderStatus, Qty,
    Reject, Side,
};

use crate::core::Core;
use crate::effect::Effect;
use crate::message::{Failure, Message, PositionReport};
use crate::request::RequestId;
use crate::ConnId;

/// Fabricated (phantom) fills take ids from here up: real fill ids count from 1 and never get
/// this far.
pub const PHANTOM_FILL_ID_BASE: u64 = 1 << 48;

/// Who asked for a command: the connection and its request id, whose copy of the answer echoes
/// it. `None` for the exchange's own commands (cancel-on-disconnect, the dead man's switch, the
/// market).
pub(crate) type Origin<'a> = Option<(ConnId, Option<&'a RequestId>)>;

impl Core {
    pub(crate) fn place(&mut self, conn: ConnId, rid: Option<RequestId>, mut order: NewOrder) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        order.account = account;
        if let Err(reject) = self.run_command(Some((conn, rid.as_ref())), Command::Place(order)) {
            let message = Message::OrderRejected {
                rid,
                reject,
                symbol: order.symbol,
                client_order_id: order.client_order_id,
                at_ns: self.now_ns,
            };
            self.answer(conn, message);
        }
    }

    pub(crate) fn cancel(&mut self, conn: ConnId, rid: Option<RequestId>, target: OrderRef) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let cancel = Command::Cancel { account, target };
        if let Err(reject) = self.run_command(Some((conn, rid.as_ref())), cancel) {
            self.fail(conn, rid, Failure::Reject(reject));
        }
    }

    pub(crate) fn cancel_all(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        symbol: Option<engine::SymbolId>,
    ) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let cancelled = self.engine.open_orders(account, symbol).len() as u64;
        let cancel_all = Command::CancelAll {
            account,
            symbol,
            reason: CloseReason::CancelAll,
        };
        match self.run_command(Some((conn, rid.as_ref())), cancel_all) {
            Ok(()) => {
                let message = Message::CancelAllAck {
                    rid,
                    symbol,
                    cancelled,
                    account_seq: self.engine.account_seq(account),
                };
                self.answer(conn, message);
            }
            Err(reject) => self.fail(conn, rid, Failure::Reject(reject)),
        }
    }

    pub(crate) fn amend(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        target: OrderRef,
        quantity: engine::Decimal,
    ) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let Some(order) = self.engine.order(account, target).copied() else {
            return self.fail(conn, rid, Failure::Reject(Reject::OrderNotFound));
        };
        let Some(symbol) = self.catalog.symbol(order.symbol) else {
            return self.fail(conn, rid, Failure::Internal("order of an unknown symbol"));
        };
        let new_qty = match symbol.spec.lot.count(quantity, false) {
            Ok(lots) => Qty(lots),
            Err(error) => return self.fail(conn, rid, Failure::Quantity { quantity, error }),
        };
        let amend = Command::Amend {
            account,
            target,
            new_qty,
        };
        if let Err(reject) = self.run_command(Some((conn, rid.as_ref())), amend) {
            self.fail(conn, rid, Failure::Reject(reject));
        }
    }

    /// Runs one engine command at the input's time and routes its events. `origin` is the
    /// connection whose request it is: its copy of the answer carries the request id.
    pub(crate) fn run_command(&mut self, origin: Origin<'_>, cmd: Command) -> Result<(), Reject> {
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let result = self.engine.execute(&cmd, self.now_ns, &mut events);
        if result.is_ok() {
            self.route(origin, &cmd, &events);
            self.market.on_events(&events);
        }
        self.events = events;
        result
    }

    /// Routes a command's events: private ones to their accounts, public ones to the topics.
    fn route(&mut self, origin: Origin<'_>, cmd: &Command, events: &[Event]) {
        let at_ns = self.now_ns;
        // Whose request a closure or an amendment answers: only a cancel's or an amend's own.
        let answers_close = matches!(cmd, Command::Cancel { .. });
        let answers_amend = matches!(cmd, Command::Amend { .. });
        let origin_if = |yes: bool| if yes { origin } else { None };
        for event in events {
            match event {
                Event::Accepted(e) => {
                    let message = Message::OrderAccepted {
                        rid: None,
                        order: e.order,
                        account_seq: e.account_seq,
                    };
                    self.send_private(e.order.account, message, origin);
                }
                Event::Fill(fill) => {
                    self.send_private(fill.account, Message::OrderFilled(*fill), None);
                }
                Event::Closed(closed) => {
                    let message = Message::OrderClosed {
                        rid: None,
                        closed: *closed,
                        at_ns,
                    };
                    self.send_private(closed.account, message, origin_if(answers_close));
                }
                Event::Amended(amended) => {
                    let message = Message::OrderAmended {
                        rid: None,
                        amended: *amended,
                        at_ns,
                    };
                    self.send_private(amended.account, message, origin_if(answers_amend));
                }
                Event::Balance(change) => {
                    let message = Message::BalanceChanged {
                        change: *change,
                        at_ns,
                    };
                    self.send_private(change.account, message, None);
                }
                Event::Position(p) => {
                    let report = PositionReport {
                        symbol: p.symbol,
                        position: p.position,
                        unrealized: self.engine.unrealized_pnl(p.account, p.symbol).map(|a| a.0),
                        account_seq: p.account_seq,
                        at_ns,
                    };
                    let message = Message::Position { rid: None, report };
                    self.send_private(p.account, message, None);
                }
                Event::Trade(trade) => self.on_trade(trade),
                Event::BookLevel(level) => self.market_data.on_level(*level),
            }
        }
        self.publish_books();
    }

    /// Sends a private event to every connection of the account and keeps it for RESUME. The
    /// connection that asked (`origin`) gets its copy with the request id.
    fn send_private(&mut self, account: AccountId, message: Message, origin: Origin<'_>) {
        let Some(info) = self.accounts.get_mut(account) else {
            return;
        };
        if let (Some(buffer), Some(seq)) = (info.resume.as_mut(), message.account_seq()) {
            buffer.push(seq, self.now_ns, message.clone());
        }
        let copy_for = |conn: ConnId, message: Message| -> Message {
            match origin {
                Some((asker, Some(rid))) if asker == conn => message.with_rid(rid.clone()),
                _ => message,
            }
        };
        // Watchers that are not also bound get a copy without a request id.
        for &conn in &info.watchers {
            if !info.conns.contains(&conn) {
                let message = message.clone();
                self.out.push(Effect::Send { conn, message });
            }
        }
        let Some((&last, others)) = info.conns.split_last() else {
            return;
        };
        // The last connection takes the message itself; the others (rarely any) get copies.
        for &conn in others {
            let message = copy_for(conn, message.clone());
            self.out.push(Effect::Send { conn, message });
        }
        let message = copy_for(last, message);
        self.out.push(Effect::Send {
            conn: last,
            message,
        });
    }

    /// Tells `conn` of a fill that never happened (the fault layer's `phantom_fills`): for the
    /// account's oldest open order, half its open quantity (at least one lot) at its price, as a
    /// maker without fee. Its `fill_id` comes from a range real fills never reach, its `trade_id`
    /// is the symbol's latest and its `account_seq` repeats the latest, so a bot can tell it
    /// from the truth (the REST fills). Nothing happens when the connection has no open order.
    pub(crate) fn phantom_fill(&mut self, conn: ConnId) {
        let Some(account) = self.connections.get(conn).and_then(|c| c.account) else {
            return;
        };
        let orders = self.engine.open_orders(account, None);
        let Some(order) = orders
            .iter()
            .filter(|o| o.price.is_some() && o.remaining_qty().0 > 0)
            .min_by_key(|o| o.id)
        else {
            return;
        };
        let (Some(price), Some(symbol)) = (order.price, self.catalog.symbol(order.symbol)) else {
            return;
        };
        let remaining = order.remaining_qty().0;
        let qty = (remaining / 2).max(1);
        let fee_asset = match order.side {
            Side::Buy => symbol.base,
            Side::Sell => symbol.quote,
        };
        self.phantom_fills += 1;
        let fill = engine::Fill {
            account,
            order_id: order.id,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            fill_id: FillId(PHANTOM_FILL_ID_BASE + self.phantom_fills),
            trade_id: self.engine.last_trade_id(order.symbol),
            price,
            qty: Qty(qty),
            filled_qty: Qty(order.filled_qty.0 + qty),
            remaining_qty: Qty(remaining - qty),
            status: if qty == remaining {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            },
            is_maker: true,
            fee: Amount(0),
            fee_asset,
            ts_ns: self.now_ns,
            account_seq: self.engine.account_seq(account),
            terms: order.terms(),
        };
        self.answer(conn, Message::OrderFilled(fill));
    }
}
