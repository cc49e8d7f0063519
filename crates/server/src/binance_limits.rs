//! Binance's rate limits on the Binance listener, as Binance states them: request weight per
//! minute per client address, new orders per 10 seconds and per day per account, in fixed
//! windows (a minute starts at :00). Over a limit is 429 with `Retry-After`; a client that goes
//! on sending while told to wait is banned with 418, for longer each time.
//!
//! The windows run on the server's wall clock: limits are a fact of the edge, like the socket,
//! not of the exchange's state.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Clients and accounts remembered at once; beyond it the ones idle longest are forgotten.
pub const TRACKED_MAX: usize = 100_000;
/// Requests a client may send during its wait after a 429 before it is banned.
const REQUESTS_WHILE_LIMITED_MAX: u32 = 5;
/// The longest ban: three days, Binance's.
const BAN_MAX_MS: u64 = 3 * 24 * 3_600_000;

const MINUTE_MS: u64 = 60_000;
const TEN_SECONDS_MS: u64 = 10_000;
const DAY_MS: u64 = 24 * 3_600_000;

/// The limits in force.
#[derive(Clone, Copy, Debug)]
pub struct LimitsConfig {
    pub weight_per_minute: u32,
    pub orders_per_10s: u32,
    pub orders_per_day: u32,
    pub ban_ms: u64,
}

/// A count within a fixed window.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    start_ms: u64,
    count: u32,
}

impl Window {
    /// The count in the window of `len_ms` holding `now_ms`, after adding `n`.
    fn add(&mut self, now_ms: u64, len_ms: u64, n: u32) -> u32 {
        let start = now_ms - now_ms % len_ms;
        if self.start_ms != start {
            *self = Window {
                start_ms: start,
                count: 0,
            };
        }
        self.count = self.count.saturating_add(n);
        self.count
    }

    /// Seconds until the window of `len_ms` holding `now_ms` ends (at least 1).
    fn seconds_left(now_ms: u64, len_ms: u64) -> u64 {
        let end = now_ms - now_ms % len_ms + len_ms;
        (end - now_ms).div_ceil(1_000).max(1)
    }
}

#[derive(Debug, Default)]
struct Client {
    weight: Window,
    /// Told to wait until then (a 429).
    limited_until_ms: u64,
    requests_while_limited: u32,
    banned_until_ms: u64,
    bans: u32,
    last_ms: u64,
}

#[derive(Debug, Default)]
struct Account {
    ten_seconds: Window,
    day: Window,
    last_ms: u64,
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 429 `-1003`: over the weight limit; retry after this many seconds.
    Weight { retry_after_s: u64, limit: u32 },
    /// 418: banned until then.
    Banned { until_ms: u64, retry_after_s: u64 },
    /// 429 `-1015`: over an order limit (`interval`: `10s` or `1d`).
    Orders {
        retry_after_s: u64,
        limit: u32,
        interval: &'static str,
    },
}

/// What a request costs and what the headers say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `X-MBX-USED-WEIGHT-1M`.
    pub weight_1m: u32,
    /// `X-MBX-ORDER-COUNT-10S` and `-1D`, for an order placement.
    pub orders: Option<(u32, u32)>,
}

/// Every client's and account's counts.
#[derive(Debug)]
pub struct RateLimits {
    config: LimitsConfig,
    clients: Mutex<HashMap<IpAddr, Client>>,
    accounts: Mutex<HashMap<String, Account>>,
}

impl RateLimits {
    pub fn new(config: LimitsConfig) -> RateLimits {
        RateLimits {
            config,
            clients: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `weight` from `client`: its usage, or why it is refused (a refused
    /// request still counts, as on Binance).
    pub fn admit(
        &self,
        client: IpAddr,
        weight: u32,
        now_ms: u64,
    ) -> Result<Usage, (Refusal, Usage)> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= TRACKED_MAX && !clients.contains_key(&client) {
            evict_idlest(&mut clients, |c| c.last_ms);
        }
        let c = clients.entry(client).or_default();
        c.last_ms = now_ms;
        let used = c.weight.add(now_ms, MINUTE_MS, weight);
        let usage = Usage {
            weight_1m: used,
            orders: None,
        };
        if c.banned_until_ms > now_ms {
            let retry_after_s = (c.banned_until_ms - now_ms).div_ceil(1_000);
            let until_ms = c.banned_until_ms;
            return Err((
                Refusal::Banned {
                    until_ms,
                    retry_after_s,
                },
                usage,
            ));
        }
        if c.limited_until_ms > now_ms {
            c.requests_while_limited += 1;
            if c.requests_while_limited > REQUESTS_WHILE_LIMITED_MAX {
                c.bans = c.bans.saturating_add(1);
                let ban = self
                    .config
                    .ban_ms
                    .saturating_mul(1 << (c.bans - 1).min(20))
                    .min(BAN_MAX_MS);
                c.banned_until_ms = now_ms + ban;
                c.requests_while_limited = 0;
                let retry_after_s = ban.div_ceil(1_000);
                let until_ms = c.banned_until_ms;
                return Err((
                    Refusal::Banned {
                        until_ms,
                        retry_after_s,
                    },
                    usage,
                ));
            }
        } else {
            c.requests_while_limited = 0;
        }
        let limit = self.config.weight_per_minute;
        if used > limit {
            let retry_after_s = Window::seconds_left(now_ms, MINUTE_MS);
            c.limited_until_ms = now_ms + retry_after_s * 1_000;
            return Err((
                Refusal::Weight {
                    retry_after_s,
                    limit,
                },
                usage,
            ));
        }
        Ok(usage)
    }

    /// Counts a new order of `account`: the counts, or the limit it is over.
    pub fn admit_order(&self, account: &str, now_ms: u64) -> Result<(u32, u32), Refusal> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if accounts.len() >= TRACKED_MAX && !accounts.contains_key(account) {
            evict_idlest(&mut accounts, |a| a.last_ms);
        }
        let a = accounts.entry(account.to_owned()).or_default();
        a.last_ms = now_ms;
        let ten = a.ten_seconds.add(now_ms, TEN_SECONDS_MS, 1);
        let day = a.day.add(now_ms, DAY_MS, 1);
        if ten > self.config.orders_per_10s {
            return Err(Refusal::Orders {
                retry_after_s: Window::seconds_left(now_ms, TEN_SECONDS_MS),
                limit: self.config.orders_per_10s,
                interval: "10s",
            });
        }
        if day > self.config.orders_per_day {
            return Err(Refusal::Orders {
                retry_after_s: Window::seconds_left(now_ms, DAY_MS),
                limit: self.config.orders_per_day,
                interval: "1d",
            });
        }
        Ok((ten, day))
    }
}

/// Forgets the entry heard from longest ago.
fn evict_idlest<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    last: impl Fn(&V) -> u64,
) {
    if let Some(key) = map
        .iter()
        .min_by_key(|(_, v)| last(v))
        .map(|(k, _)| k.clone())
    {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(weight: u32, orders: u32) -> RateLimits {
        RateLimits::new(LimitsConfig {
            weight_per_minute: weight,
            orders_per_10s: orders,
            orders_per_day: 1_000,
            ban_ms: 120_000,
        })
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn weight_counts_per_minute_and_resets_at_the_minute() {
        let l = limits(10, 5);
        assert_eq!(l.admit(IP, 6, 60_000).map(|u| u.weight_1m), Ok(6));
        assert_eq!(l.admit(IP, 4, 60_500).map(|u| u.weight_1m), Ok(10));
        let Err((Refusal::Weight { retry_after_s, .. }, usage)) = l.admit(IP, 1, 61_000) else {
            panic!("over the limit")
        };
        assert_eq!((retry_after_s, usage.weight_1m), (59, 11));
        // The next minute starts afresh.
        assert_eq!(l.admit(IP, 1, 120_000).map(|u| u.weight_1m), Ok(1));
    }

    #[test]
    fn going_on_after_a_429_earns_a_ban_that_grows() {
        let l = limits(1, 5);
        assert!(l.admit(IP, 1, 0).is_ok());
        assert!(matches!(
            l.admit(IP, 1, 1),
            Err((Refusal::Weight { .. }, _))
        ));
        for t in 2..2 + REQUESTS_WHILE_LIMITED_MAX as u64 {
            assert!(matches!(
                l.admit(IP, 1, t),
                Err((Refusal::Weight { .. }, _))
            ));
        }
        let Err((Refusal::Banned { retry_after_s, .. }, _)) = l.admit(IP, 1, 100) else {
            panic!("banned")
        };
        assert_eq!(retry_after_s, 120);
        assert!(matches!(
            l.admit(IP, 1, 60_000),
            Err((Refusal::Banned { .. }, _))
        ));
    }

    #[test]
    fn orders_count_per_account_in_ten_second_windows() {
        let l = limits(100, 2);
        assert_eq!(l.admit_order("a", 0), Ok((1, 1)));
        assert_eq!(l.admit_order("a", 1), Ok((2, 2)));
        assert!(matches!(
            l.admit_order("a", 2),
            Err(Refusal::Orders {
                interval: "10s",
                ..
            })
        ));
        assert_eq!(l.admit_order("b", 2), Ok((1, 1)));
        assert_eq!(l.admit_order("a", 10_000), Ok((1, 4)));
    }
}
