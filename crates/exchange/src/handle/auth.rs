//! LOGIN, LOGOUT and RESUME: binding a connection to a configured account, and taking up a
//! session again after a reconnect with what was missed replayed first.

use engine::AccountId;

use crate::accounts::AccountKind;
use crate::core::Core;
use crate::effect::Effect;
use crate::message::{Failure, Message, ResumeGap, SessionInfo};
use crate::request::{Credentials, RequestId, SessionSecret};
use crate::sessions::ResumeError;
use crate::ConnId;

impl Core {
    /// Answers `conn` with an ERROR.
    pub(crate) fn fail(&mut self, conn: ConnId, rid: Option<RequestId>, failure: Failure) {
        self.emit(Effect::Send {
            conn,
            message: Message::Error { rid, failure },
        });
    }

    /// Answers `conn`.
    pub(crate) fn answer(&mut self, conn: ConnId, message: Message) {
        self.emit(Effect::Send { conn, message });
    }

    pub(crate) fn login(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        name: &str,
        api_key: &str,
        cancel_on_disconnect: bool,
        secret: SessionSecret,
    ) {
        let Some(account) = self.accounts.configured(name, api_key) else {
            return self.fail(conn, rid, Failure::AuthFailed);
        };
        if let Err(failure) = self.bind_configured(conn, account, cancel_on_disconnect) {
            return self.fail(conn, rid, failure);
        }
        let session_id = format!("s-{conn}");
        let resume_token =
            self.sessions
                .issue(conn, account, secret, session_id.clone(), self.now_ns);
        let message = Message::LoggedIn {
            rid,
            session: Box::new(SessionInfo {
                account: name.to_owned(),
                session_id,
                resume_token,
                cancel_on_disconnect,
            }),
            account_seq: self.engine.account_seq(account),
        };
        self.answer(conn, message);
    }

    pub(crate) fn logout(&mut self, conn: ConnId, rid: Option<RequestId>) {
        if let Some(c) = self.connections.get_mut(conn) {
            c.cancel_on_disconnect = false;
        }
        if self.unbind(conn).is_some() {
            self.emit(Effect::Bind {
                conn,
                account: None,
            });
        }
        self.sessions.revoke(conn);
        self.answer(conn, Message::LoggedOut { rid });
    }

    /// Binds the connection to a configured account, as LOGIN and RESUME do: a connection on an
    /// anonymous account moves over; one logged in to another configured account is refused.
    fn bind_configured(
        &mut self,
        conn: ConnId,
        account: AccountId,
        cancel_on_disconnect: bool,
    ) -> Result<(), Failure> {
        let current = self
            .connections
            .get(conn)
            .ok_or(Failure::Internal("unknown connection"))?
            .account;
        match current {
            Some(a) if a == account => {}
            Some(a) if self.accounts.kind(a) == Some(AccountKind::Configured) => {
                return Err(Failure::AlreadyLoggedIn);
            }
            Some(_) => {
                self.unbind(conn);
                self.bind(conn, account);
            }
            None => self.bind(conn, account),
        }
        if let Some(c) = self.connections.get_mut(conn) {
            c.cancel_on_disconnect = cancel_on_disconnect;
        }
        Ok(())
    }

    /// RESUME: binds the connection like LOGIN, replays the private events after `last_seen`,
    /// then answers RESUMED; or answers RESUME_GAP (still bound) when the buffer no longer
    /// reaches back that far. The replay and the live events after it are in one order.
    pub(crate) fn resume(
        &mut self,
        conn: ConnId,
        rid: Option<RequestId>,
        credentials: Credentials,
        last_seen: u64,
        cancel_on_disconnect: bool,
        secret: SessionSecret,
    ) {
        let now = self.now_ns;
        let (account, session_id) = match &credentials {
            Credentials::Token(token) => match self.sessions.lookup(token, now) {
                Some(info) => (info.account, info.session_id),
                None => return self.fail(conn, rid, Failure::InvalidResumeToken),
            },
            Credentials::ApiKey { account, api_key } => {
                match self.accounts.configured(account, api_key) {
                    Some(id) => (id, format!("s-{conn}")),
                    None => return self.fail(conn, rid, Failure::AuthFailed),
                }
            }
        };
        let current = self.engine.account_seq(account);
        if last_seen > current {
            return self.fail(conn, rid, Failure::ResumeAhead { last_seen, current });
        }
        if let Err(failure) = self.bind_configured(conn, account, cancel_on_disconnect) {
            return self.fail(conn, rid, failure);
        }
        let resume_token = match credentials {
            Credentials::Token(token) => {
                self.sessions.adopt(&token, conn, now);
                token
            }
            Credentials::ApiKey { .. } => {
                self.sessions
                    .issue(conn, account, secret, session_id.clone(), now)
            }
        };
        let replay = match self
            .accounts
            .get_mut(account)
            .and_then(|info| info.resume.as_mut())
        {
            Some(buffer) => buffer.replay(last_seen, now),
            None => Err(ResumeError::Gap {
                oldest_available: current + 1,
                current,
            }),
        };
        let session = SessionInfo {
            account: self
                .accounts
                .get(account)
                .map(|info| info.name.to_string())
                .unwrap_or_default(),
            session_id,
            resume_token,
            cancel_on_disconnect,
        };
        match replay {
            Ok(replay) => {
                if !replay.messages.is_empty() {
                    self.emit(Effect::Replay {
                        conn,
                        messages: replay.messages,
                    });
                }
                let message = Message::Resumed {
                    rid,
                    session: Box::new(session),
                    from: replay.from,
                    to: replay.to,
                };
                self.answer(conn, message);
            }
            Err(ResumeError::Gap {
                oldest_available,
                current,
            }) => {
                let gap = ResumeGap {
                    last_seen,
                    oldest_available,
                    current,
                    session,
                };
                self.fail(conn, rid, Failure::ResumeGap(Box::new(gap)));
            }
            Err(ResumeError::Ahead { current }) => {
                // Checked above against the engine; the buffer follows the engine exactly.
                debug_assert!(false, "resume buffer ahead of the engine at {current}");
                self.fail(conn, rid, Failure::Internal("resume buffer out of step"));
            }
        }
    }
}
