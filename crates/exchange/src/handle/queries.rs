//! Every read of the exchange's state, written once: the WebSocket requests (GET_ORDER,
//! GET_ORDERS, GET_BALANCE, GET_POSITION, GET_ORDERBOOK, GET_FILLS) and the REST routes
//! ([`Query`]) answer from the same functions.

use engine::{AccountId, Fill, Order, OrderRef, OrderStatus, Reject, SymbolId};
use market::Interval;

use crate::accounts::AccountKind;
use crate::core::Core;
use crate::message::{AccountRow, Answer, Health};
use crate::message::{Failure, Message, PositionReport};
use crate::query::{Query, RestAuth};
use crate::request::{RequestId, StatusFilter};
use crate::ConnId;

impl Core {
    /// The account's orders (open ones and those still in its history), oldest first.
    pub(crate) fn orders_of(
        &self,
        account: AccountId,
        symbol: Option<SymbolId>,
        status: Option<StatusFilter>,
    ) -> Vec<Order> {
        let mut orders = self.engine.open_orders(account, symbol);
        if !matches!(status, Some(StatusFilter::Open)) {
            orders.extend(
                self.engine
                    .closed_orders(account)
                    .into_iter()
                    .filter(|o| symbol.is_none_or(|s| o.symbol == s)),
            );
        }
        orders.retain(|o| match status {
            None => true,
            Some(StatusFilter::Open) => {
                matches!(o.status, OrderStatus::Open | OrderStatus::PartiallyFilled)
            }
            Some(StatusFilter::Exactly(s)) => o.status == s,
        });
        orders.sort_by_key(|o| o.id);
        orders
    }

    /// The account's fills, oldest first, optionally on one symbol and after a fill id.
    pub(crate) fn fills_of(
        &self,
        account: AccountId,
        symbol: Option<SymbolId>,
        since_fill_id: Option<u64>,
    ) -> Vec<Fill> {
        let mut fills = self.engine.fills(account);
        fills.retain(|f| {
            symbol.is_none_or(|s| f.symbol == s) && since_fill_id.is_none_or(|id| f.fill_id.0 > id)
        });
        fills
    }

    /// The account's position in a symbol, valued at the last trade.
    fn position_of(&self, account: AccountId, symbol: SymbolId) -> PositionReport {
        PositionReport {
            symbol,
            position: self.engine.position(account, symbol),
            unrealized: self.engine.unrealized_pnl(account, symbol).map(|a| a.0),
            account_seq: self.engine.account_seq(account),
            at_ns: self.now_ns,
        }
    }

    /// The candles of a symbol and interval, oldest first, each with whether it is closed.
    fn candles_of(
        &self,
        symbol: SymbolId,
        interval: Interval,
        limit: usize,
    ) -> Vec<(market::Candle, bool)> {
        let candles = self.market_data.candles.candles(symbol, interval, limit);
        let last = candles.len().saturating_sub(1);
        candles
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, i < last || c.close_ns() <= self.now_ns))
            .collect()
    }

    pub(crate) fn get_order(&mut self, conn: ConnId, rid: Option<RequestId>, target: OrderRef) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        match self.engine.order(account, target).copied() {
            Some(order) => {
                let account_seq = self.engine.account_seq(account);
                self.answer(
                    conn,
                    Message::OrderStatus {
                        rid,
                        order,
                        account_seq,
                    },
                );
            }
            None => self.fail(conn, rid, Failure::Reject(Reject::OrderNotFound)),
        }
    }

    pub(crate) fn get_orders(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        symbol: Option<SymbolId>,
        status: Option<StatusFilter>,
    ) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let message = Message::Orders {
            rid,
            orders: self.orders_of(account, symbol, status),
            account_seq: self.engine.account_seq(account),
        };
        self.answer(conn, message);
    }

    pub(crate) fn get_balance(&mut self, conn: ConnId, rid: Option<RequestId>) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let message = Message::Balances {
            rid,
            balances: self.engine.balances(account).to_vec(),
            account_seq: self.engine.account_seq(account),
            at_ns: self.now_ns,
        };
        self.answer(conn, message);
    }

    pub(crate) fn get_position(&mut self, conn: ConnId, rid: Option<RequestId>, symbol: SymbolId) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let report = self.position_of(account, symbol);
        self.answer(conn, Message::Position { rid, report });
    }

    pub(crate) fn get_orderbook(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        symbol: SymbolId,
        depth: usize,
    ) {
        let book = self.book_snapshot(symbol, depth);
        let message = Message::Book {
            rid,
            book,
            stream: false,
        };
        self.answer(conn, message);
    }

    pub(crate) fn get_fills(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        symbol: Option<SymbolId>,
        since_fill_id: Option<u64>,
    ) {
        let Some(account) = self.account_of(conn) else {
            return;
        };
        let message = Message::Fills {
            rid,
            fills: self.fills_of(account, symbol, since_fill_id),
            account_seq: self.engine.account_seq(account),
        };
        self.answer(conn, message);
    }

    /// Whose account a REST request reads: a configured one by API key, or an anonymous one by
    /// name (only anonymous ones: a configured account's data needs its key).
    fn rest_account(&self, auth: &RestAuth) -> Result<AccountId, Failure> {
        if let Some(key) = &auth.api_key {
            return self.accounts.by_api_key(key).ok_or(Failure::UnknownApiKey);
        }
        if let Some(name) = &auth.account {
            return self
                .accounts
                .by_name(name)
                .filter(|id| self.accounts.kind(*id) == Some(AccountKind::Anonymous))
                .ok_or(Failure::UnknownAccount);
        }
        Err(Failure::NotLoggedIn)
    }

    /// Answers a question from outside the connections.
    pub(crate) fn query(&mut self, query: Query) -> Answer {
        match self.query_inner(query) {
            Ok(answer) => answer,
            Err(failure) => Answer::Failed(failure),
        }
    }

    fn query_inner(&mut self, query: Query) -> Result<Answer, Failure> {
        Ok(match query {
            Query::Health => Answer::Health(Health {
                uptime_ns: self.now_ns.saturating_sub(self.started_ns),
                connections: self.connections.len() as u64,
                accounts: self.accounts.live() as u64,
                at_ns: self.now_ns,
            }),
            Query::Orderbook { symbol, depth } => Answer::Book(self.book_snapshot(symbol, depth)),
            Query::Trades { symbol, limit } => {
                Answer::Trades(self.engine.recent_trades(symbol, limit))
            }
            Query::Ticker { symbol: Some(s) } => Answer::Ticker(self.ticker(s, false)),
            Query::Ticker { symbol: None } => Answer::Tickers(
                (0..self.catalog.symbols().len())
                    .map(|i| self.ticker(SymbolId(i as u32), false))
                    .collect(),
            ),
            Query::Accounts => Answer::Accounts(
                self.accounts
                    .iter()
                    .filter(|(_, info)| info.kind != AccountKind::Anonymous)
                    .map(|(id, info)| AccountRow {
                        name: info.name.to_string(),
                        kind: info.kind.as_str(),
                        open_orders: self.engine.open_orders(id, None).len() as u64,
                    })
                    .collect(),
            ),
            Query::Balances(auth) => {
                let account = self.rest_account(&auth)?;
                Answer::Balances {
                    balances: self.engine.balances(account).to_vec(),
                    account_seq: self.engine.account_seq(account),
                    at_ns: self.now_ns,
                }
            }
            Query::Orders(auth) => {
                let account = self.rest_account(&auth)?;
                Answer::Orders {
                    orders: self.orders_of(account, None, None),
                    account_seq: self.engine.account_seq(account),
                }
            }
            Query::Order(auth, target) => {
                let account = self.rest_account(&auth)?;
                let order = self.engine.order(account, target).copied();
                Answer::Order(order.ok_or(Failure::Reject(Reject::OrderNotFound))?)
            }
            Query::Fills(auth) => {
                let account = self.rest_account(&auth)?;
                Answer::Fills {
                    fills: self.fills_of(account, None, None),
                    account_seq: self.engine.account_seq(account),
                }
            }
            Query::Candles {
                symbol,
                interval,
                limit,
            } => Answer::Candles(self.candles_of(symbol, interval, limit)),
        })
    }
}
