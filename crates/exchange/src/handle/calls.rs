//! Calls: commands on behalf of the account the call names, from outside the connections
//! ([`crate::Input::Call`], REST) or from a connection not bound to it ([`Command::Call`], the
//! Binance WebSocket API), answered with the same typed answers as the queries. And watchers:
//! connections that receive an account's private events without being bound to it.

use engine::{AccountId, CloseReason, Event, Fill, NewOrder, Order, OrderRef, Reject};

use crate::accounts::{AccountKind, ANONYMOUS_PREFIX};
use crate::call::{Call, CallAction, Caller};
use crate::core::Core;
use crate::message::{Answer, Failure, Message};
use crate::request::RequestId;
use crate::ConnId;

impl Core {
    /// Carries out a call and answers it.
    pub(crate) fn call(&mut self, call: Call) -> Answer {
        match self.call_inner(call) {
            Ok(answer) => answer,
            Err(failure) => Answer::Failed(failure),
        }
    }

    fn call_inner(&mut self, call: Call) -> Result<Answer, Failure> {
        let account = self.caller_account(&call.caller)?;
        Ok(match call.action {
            CallAction::Place(order) => {
                let (order, fills) = self.place_for(account, order)?;
                Answer::Placed { order, fills }
            }
            CallAction::Cancel(target) => Answer::Order(self.cancel_for(account, target)?),
            CallAction::CancelAll { symbol } => {
                let open = self.engine.open_orders(account, symbol);
                let cancel_all = engine::Command::CancelAll {
                    account,
                    symbol,
                    reason: CloseReason::CancelAll,
                };
                self.run_command(None, cancel_all)
                    .map_err(Failure::Reject)?;
                let orders = open
                    .iter()
                    .map(|o| {
                        let after = self.engine.order(account, OrderRef::Id(o.id)).copied();
                        after.unwrap_or(*o)
                    })
                    .collect();
                Answer::Orders {
                    orders,
                    account_seq: self.engine.account_seq(account),
                }
            }
            CallAction::CancelReplace {
                cancel,
                place,
                allow_failure,
            } => {
                let cancel = self.cancel_for(account, cancel);
                let place =
                    (cancel.is_ok() || allow_failure).then(|| self.place_for(account, place));
                Answer::Replaced { cancel, place }
            }
            CallAction::Balances => Answer::Balances {
                balances: self.engine.balances(account).to_vec(),
                account_seq: self.engine.account_seq(account),
                at_ns: self.now_ns,
            },
            CallAction::Orders { symbol, status } => Answer::Orders {
                orders: self.orders_of(account, symbol, status),
                account_seq: self.engine.account_seq(account),
            },
            CallAction::Order(target) => {
                let order = self.engine.order(account, target).copied();
                Answer::Order(order.ok_or(Failure::Reject(Reject::OrderNotFound))?)
            }
            CallAction::Fills { symbol } => Answer::Fills {
                fills: self.fills_of(account, symbol, None),
                account_seq: self.engine.account_seq(account),
            },
        })
    }

    /// Places an order for the account: the order as it stands after matching, and its fills.
    fn place_for(
        &mut self,
        account: AccountId,
        mut order: NewOrder,
    ) -> Result<(Order, Vec<Fill>), Failure> {
        order.account = account;
        self.run_command(None, engine::Command::Place(order))
            .map_err(Failure::Reject)?;
        // The command's events are still at hand: the accepted order's id and its fills.
        let id = self
            .events
            .iter()
            .find_map(|event| match event {
                Event::Accepted(accepted) => Some(accepted.order.id),
                _ => None,
            })
            .ok_or(Failure::Internal("an order placed without being accepted"))?;
        let fills = self
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Fill(fill) if fill.order_id == id && fill.account == account => Some(*fill),
                _ => None,
            })
            .collect();
        let placed = self.engine.order(account, OrderRef::Id(id)).copied();
        let order = placed.ok_or(Failure::Internal("a placed order went missing"))?;
        Ok((order, fills))
    }

    /// Cancels an order of the account: the order as it stands after the cancel.
    fn cancel_for(&mut self, account: AccountId, target: OrderRef) -> Result<Order, Failure> {
        let order = self
            .engine
            .order(account, target)
            .copied()
            .ok_or(Failure::Reject(Reject::OrderNotFound))?;
        let cancel = engine::Command::Cancel { account, target };
        self.run_command(None, cancel).map_err(Failure::Reject)?;
        let after = self.engine.order(account, OrderRef::Id(order.id)).copied();
        Ok(after.unwrap_or(order))
    }

    /// The account a call acts for; a REST session's, or an opening key's, is opened on its first
    /// call.
    fn caller_account(&mut self, caller: &Caller) -> Result<AccountId, Failure> {
        match caller {
            Caller::ApiKey(key) => self.accounts.by_api_key(key).ok_or(Failure::UnknownApiKey),
            Caller::Anonymous(name) => self
                .accounts
                .by_name(name)
                .filter(|id| self.accounts.kind(*id) == Some(AccountKind::Anonymous))
                .ok_or(Failure::UnknownAccount),
            Caller::Session(name) => match self.accounts.by_name(name) {
                Some(id) if self.accounts.kind(id) == Some(AccountKind::Session) => Ok(id),
                // A configured, system or anonymous account's name is not a session's to take.
                Some(_) => Err(Failure::AuthFailed),
                None if name.is_empty() || name.starts_with(ANONYMOUS_PREFIX) => {
                    Err(Failure::AuthFailed)
                }
                None => {
                    let funds = self.accounts.default_funds.clone();
                    Ok(self.open_account(name.clone(), AccountKind::Session, None, &funds))
                }
            },
            Caller::OpeningKey(key) => match self.accounts.by_api_key(key) {
                Some(id) => Ok(id),
                None if key.is_empty()
                    || key.starts_with(ANONYMOUS_PREFIX)
                    || self.accounts.by_name(key).is_some() =>
                {
                    Err(Failure::AuthFailed)
                }
                None => {
                    let funds = self.accounts.default_funds.clone();
                    let kind = AccountKind::Configured;
                    Ok(self.open_account(key.clone(), kind, Some(key.clone()), &funds))
                }
            },
        }
    }

    /// [`Command::Call`]: a connection's call, answered on the connection.
    ///
    /// [`Command::Call`]: crate::Command::Call
    pub(crate) fn connection_call(&mut self, conn: ConnId, rid: Option<RequestId>, call: Call) {
        let answer = Box::new(self.call(call));
        self.answer(conn, Message::Answered { rid, answer });
    }

    /// [`crate::Command::Watch`]: the connection receives the account's private events.
    pub(crate) fn watch(&mut self, conn: ConnId, rid: Option<RequestId>, caller: &Caller) {
        // An anonymous account retires once its connection is gone: it is not one to watch.
        let account = match caller {
            Caller::Anonymous(_) => Err(Failure::AuthFailed),
            _ => self.caller_account(caller),
        };
        let account = match account {
            Ok(account) => account,
            Err(failure) => return self.fail(conn, rid, failure),
        };
        let (Some(c), Some(info)) = (
            self.connections.get_mut(conn),
            self.accounts.get_mut(account),
        ) else {
            return;
        };
        if !c.watching.contains(&account) {
            c.watching.push(account);
            info.watchers.push(conn);
        }
        let name = info.name.clone();
        let account_seq = self.engine.account_seq(account);
        self.answer(
            conn,
            Message::Watching {
                rid,
                account,
                name,
                account_seq,
            },
        );
    }

    /// [`crate::Command::Unwatch`]: stops one account's private events (every one's with `None`).
    pub(crate) fn unwatch(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        which: Option<AccountId>,
    ) {
        let Some(c) = self.connections.get_mut(conn) else {
            return;
        };
        let ended: Vec<AccountId> = c
            .watching
            .iter()
            .copied()
            .filter(|a| which.is_none_or(|w| w == *a))
            .collect();
        c.watching.retain(|a| !ended.contains(a));
        self.forget_watcher(conn, &ended);
        self.answer(
            conn,
            Message::Unwatched {
                rid,
                accounts: ended,
            },
        );
    }

    /// Removes `conn` from the watchers of `accounts`.
    pub(crate) fn forget_watcher(&mut self, conn: ConnId, accounts: &[AccountId]) {
        for &account in accounts {
            if let Some(info) = self.accounts.get_mut(account) {
                info.watchers.retain(|&w| w != conn);
            }
        }
    }
}
