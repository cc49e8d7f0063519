//! [`crate::Input::Call`]: commands on behalf of an account from outside the connections (REST
//! order placement), answered with the same typed answers as the queries.

use engine::{AccountId, Command, Event, OrderRef, Reject};

use crate::accounts::{AccountKind, ANONYMOUS_PREFIX};
use crate::call::{Call, CallAction, Caller};
use crate::core::Core;
use crate::message::Failure;
use crate::query::Answer;

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
            CallAction::Place(mut order) => {
                order.account = account;
                self.run_command(None, Command::Place(order))
                    .map_err(Failure::Reject)?;
                // The command's events are still at hand: the accepted order's id is there.
                let id = self
                    .events
                    .iter()
                    .find_map(|event| match event {
                        Event::Accepted(accepted) => Some(accepted.order.id),
                        _ => None,
                    })
                    .ok_or(Failure::Internal("an order placed without being accepted"))?;
                let placed = self.engine.order(account, OrderRef::Id(id)).copied();
                Answer::Order(placed.ok_or(Failure::Internal("a placed order went missing"))?)
            }
            CallAction::Cancel(target) => {
                let order = self
                    .engine
                    .order(account, target)
                    .copied()
                    .ok_or(Failure::Reject(Reject::OrderNotFound))?;
                let cancel = Command::Cancel { account, target };
                self.run_command(None, cancel).map_err(Failure::Reject)?;
                let after = self.engine.order(account, OrderRef::Id(order.id)).copied();
                Answer::Order(after.unwrap_or(order))
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
        })
    }

    /// The account a call acts for; a REST session's is opened on its first call.
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
        }
    }
}
