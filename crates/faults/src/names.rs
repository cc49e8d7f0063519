//! The names a filter's `message_types` may list: the native protocol's message and request types
//! (what the server reports for every frame, whatever the dialect), Binance's event and
//! WebSocket API method names, which stand for the native types they are shown as, and Binance
//! REST paths. A name outside these never matches anything, so it is refused when the config is
//! read, with the nearest valid name.

/// Every message type the server reports for frames it sends: the native protocol's
/// (`exchange_protocol::type_name`, plus HEARTBEAT which the server writes itself). Other
/// dialects report these too, so one filter aims at every listener.
pub const MESSAGE_TYPES: [&str; 33] = [
    "PONG",
    "LOGGED_IN",
    "LOGGED_OUT",
    "RESUMED",
    "ORDER_ACK",
    "ORDER_REJECT",
    "ORDER_FILL",
    "ORDER_CANCEL",
    "ORDER_AMENDED",
    "BALANCE_UPDATE",
    "POSITION_UPDATE",
    "CANCEL_ALL_ACK",
    "CANCEL_ALL_AFTER_ACK",
    "CANCEL_ON_DISCONNECT_SET",
    "ORDER_STATUS",
    "ORDERS",
    "FILLS",
    "ORDERBOOK_SNAPSHOT",
    "SUBSCRIBED",
    "UNSUBSCRIBED",
    "ERROR",
    "TRADE",
    "ORDERBOOK_UPDATE",
    "MARKET_DATA",
    "TICKERS",
    "BOOK_TICKER",
    "CANDLE",
    "STREAM_RESET",
    "SERVER_NOTICE",
    "ANSWER",
    "WATCHING",
    "UNWATCHED",
    "HEARTBEAT",
];

/// Every request type the server reports for frames it reads (`exchange_protocol::request_type`),
/// in every dialect.
pub const REQUEST_TYPES: [&str; 21] = [
    "PING",
    "LOGIN",
    "LOGOUT",
    "RESUME",
    "PLACE_ORDER",
    "CANCEL_ORDER",
    "CANCEL_ALL",
    "AMEND_ORDER",
    "CANCEL_ALL_AFTER",
    "SET_CANCEL_ON_DISCONNECT",
    "GET_ORDER",
    "GET_ORDERS",
    "GET_BALANCE",
    "GET_POSITION",
    "GET_ORDERBOOK",
    "GET_FILLS",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "CALL",
    "WATCH",
    "UNWATCH",
];

/// Binance names and the native types the server reports for what they name. Events (user data
/// and market streams) map onto outbound messages; WebSocket API methods onto the request the
/// server reports for them (see [`binance_request_type`]).
const BINANCE_ALIASES: [(&str, &[&str]); 27] = [
    // User data stream.
    (
        "executionReport",
        &["ORDER_ACK", "ORDER_FILL", "ORDER_CANCEL", "ORDER_AMENDED"],
    ),
    ("outboundAccountPosition", &["BALANCE_UPDATE"]),
    ("balanceUpdate", &["BALANCE_UPDATE"]),
    // Market streams. A diff-depth stream is the book's updates; the snapshot is included so that
    // `sequence_gap` aimed with `depthUpdate` keeps its natural target (a snapshot followed by
    // skipped updates is a gap too).
    ("depthUpdate", &["ORDERBOOK_UPDATE", "ORDERBOOK_SNAPSHOT"]),
    ("trade", &["TRADE"]),
    ("aggTrade", &["TRADE"]),
    ("24hrTicker", &["MARKET_DATA", "TICKERS"]),
    ("24hrMiniTicker", &["MARKET_DATA", "TICKERS"]),
    ("bookTicker", &["BOOK_TICKER"]),
    ("kline", &["CANDLE"]),
    // WebSocket API methods.
    ("session.logon", &["LOGIN"]),
    ("session.logout", &["LOGOUT"]),
    ("ping", &["PING"]),
    ("depth", &["GET_ORDERBOOK"]),
    ("order.place", &["PLACE_ORDER"]),
    ("order.cancelReplace", &["PLACE_ORDER"]),
    ("order.cancel", &["CANCEL_ORDER"]),
    ("order.amend.keepPriority", &["AMEND_ORDER"]),
    ("order.status", &["GET_ORDER"]),
    ("openOrders.status", &["GET_ORDERS"]),
    ("allOrders", &["GET_ORDERS"]),
    ("openOrders.cancelAll", &["CANCEL_ALL"]),
    ("myTrades", &["GET_FILLS"]),
    ("account.status", &["GET_BALANCE"]),
    ("userDataStream.subscribe", &["WATCH"]),
    ("userDataStream.unsubscribe", &["UNWATCH"]),
    ("userDataStream.subscribe.signature", &["WATCH"]),
];

/// Binance Spot REST paths, which name REST requests of the Binance listener.
pub const BINANCE_REST_PATHS: [&str; 37] = [
    "/api/v3/ping",
    "/api/v3/time",
    "/api/v3/exchangeInfo",
    "/api/v3/depth",
    "/api/v3/trades",
    "/api/v3/historicalTrades",
    "/api/v3/aggTrades",
    "/api/v3/klines",
    "/api/v3/uiKlines",
    "/api/v3/avgPrice",
    "/api/v3/ticker",
    "/api/v3/ticker/24hr",
    "/api/v3/ticker/tradingDay",
    "/api/v3/ticker/price",
    "/api/v3/ticker/bookTicker",
    "/api/v3/order",
    "/api/v3/order/test",
    "/api/v3/order/cancelReplace",
    "/api/v3/order/amend/keepPriority",
    "/api/v3/order/amendments",
    "/api/v3/order/oco",
    "/api/v3/orderList",
    "/api/v3/orderList/oco",
    "/api/v3/orderList/oto",
    "/api/v3/orderList/otoco",
    "/api/v3/allOrderList",
    "/api/v3/openOrderList",
    "/api/v3/sor/order",
    "/api/v3/sor/order/test",
    "/api/v3/openOrders",
    "/api/v3/allOrders",
    "/api/v3/account",
    "/api/v3/account/commission",
    "/api/v3/myTrades",
    "/api/v3/myPreventedMatches",
    "/api/v3/rateLimit/order",
    "/api/v3/userDataStream",
];

/// The native request type of a Binance REST request, by method and path: what a filter's native
/// names (`PLACE_ORDER`, ...) and the natural targets of `reject_orders` and `unknown_outcome`
/// compare against.
const BINANCE_REST_TYPES: [(&str, &str, &str); 20] = [
    ("POST", "/api/v3/order", "PLACE_ORDER"),
    ("POST", "/api/v3/order/cancelReplace", "PLACE_ORDER"),
    ("POST", "/api/v3/sor/order", "PLACE_ORDER"),
    ("POST", "/api/v3/order/oco", "PLACE_ORDER"),
    ("POST", "/api/v3/orderList/oco", "PLACE_ORDER"),
    ("POST", "/api/v3/orderList/oto", "PLACE_ORDER"),
    ("POST", "/api/v3/orderList/otoco", "PLACE_ORDER"),
    ("PUT", "/api/v3/order/amend/keepPriority", "AMEND_ORDER"),
    ("DELETE", "/api/v3/order", "CANCEL_ORDER"),
    ("DELETE", "/api/v3/orderList", "CANCEL_ORDER"),
    ("DELETE", "/api/v3/openOrders", "CANCEL_ALL"),
    ("GET", "/api/v3/order", "GET_ORDER"),
    ("GET", "/api/v3/openOrders", "GET_ORDERS"),
    ("GET", "/api/v3/allOrders", "GET_ORDERS"),
    ("GET", "/api/v3/account", "GET_BALANCE"),
    ("GET", "/api/v3/myTrades", "GET_FILLS"),
    ("GET", "/api/v3/depth", "GET_ORDERBOOK"),
    ("GET", "/api/v3/ping", "PING"),
    ("POST", "/api/v3/userDataStream", "WATCH"),
    ("DELETE", "/api/v3/userDataStream", "UNWATCH"),
];

/// The native request type the server reports for a Binance WebSocket API call of `method`
/// (`order.place` → `PLACE_ORDER`), so that filters and natural targets (`reject_orders` on
/// PLACE_ORDER) aim at it as they aim at the native request. `None` for methods without a native
/// counterpart (market data queries, `time`, ...): report them as `CALL`.
pub fn binance_request_type(method: &str) -> Option<&'static str> {
    BINANCE_ALIASES
        .iter()
        .find(|(name, _)| *name == method)
        .and_then(|(_, types)| match types {
            [single] if is_request_type(single) => Some(*single),
            _ => None,
        })
}

/// The native request type of a Binance REST request (`POST /api/v3/order` → `PLACE_ORDER`);
/// `method` in any case.
pub fn binance_rest_request_type(method: &str, path: &str) -> Option<&'static str> {
    BINANCE_REST_TYPES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, native)| *native)
}

/// Whether `name` is a native request (client to server) type.
fn is_request_type(name: &str) -> bool {
    REQUEST_TYPES.contains(&name)
}

/// Every native name, messages then requests.
fn native_types() -> impl Iterator<Item = &'static &'static str> {
    MESSAGE_TYPES.iter().chain(REQUEST_TYPES.iter())
}

/// What a listed name stands for: the names a frame's or request's type is compared with. A
/// native name or a REST path stands for itself, a Binance name for its native types. `None`
/// for a name that would never match.
pub(crate) fn resolve(name: &str) -> Option<&'static [&'static str]> {
    if let Some(position) = MESSAGE_TYPES.iter().position(|native| *native == name) {
        return MESSAGE_TYPES.get(position..=position);
    }
    if let Some(position) = REQUEST_TYPES.iter().position(|native| *native == name) {
        return REQUEST_TYPES.get(position..=position);
    }
    if let Some(position) = BINANCE_REST_PATHS.iter().position(|path| *path == name) {
        return BINANCE_REST_PATHS.get(position..=position);
    }
    BINANCE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, types)| *types)
}

/// The message for a name [`resolve`] refuses: the nearest valid one and the valid names (REST
/// paths for a name that looks like one, message type names otherwise).
pub(crate) fn unknown_name_message(name: &str) -> String {
    if name.starts_with('/') {
        crate::reader::unknown_message("Binance REST path", name, &BINANCE_REST_PATHS)
    } else {
        let names: Vec<&str> = native_types()
            .copied()
            .chain(BINANCE_ALIASES.iter().map(|(alias, _)| *alias))
            .collect();
        crate::reader::unknown_message("message type", name, &names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_names_stand_for_themselves_and_binance_names_for_their_native_types() {
        assert_eq!(resolve("ORDER_FILL"), Some(&["ORDER_FILL"][..]));
        assert_eq!(resolve("/api/v3/order"), Some(&["/api/v3/order"][..]));
        assert_eq!(
            resolve("executionReport"),
            Some(&["ORDER_ACK", "ORDER_FILL", "ORDER_CANCEL", "ORDER_AMENDED"][..])
        );
        assert_eq!(resolve("order.place"), Some(&["PLACE_ORDER"][..]));
        assert_eq!(resolve("ORDER_FIL"), None);
        assert_eq!(resolve("/api/v3/ordr"), None);
        // Every alias resolves to native names only.
        for (alias, types) in BINANCE_ALIASES {
            assert!(
                types
                    .iter()
                    .all(|native| native_types().any(|n| n == native)),
                "{alias}"
            );
        }
        for (_, path, native) in BINANCE_REST_TYPES {
            assert!(BINANCE_REST_PATHS.contains(&path), "{path}");
            assert!(is_request_type(native), "{native}");
        }
    }

    #[test]
    fn unknown_names_suggest_the_nearest() {
        let message = unknown_name_message("executionreport");
        assert!(
            message.starts_with("unknown message type (did you mean `executionReport`?)"),
            "{message}"
        );
        let message = unknown_name_message("/api/v3/ordr");
        assert!(
            message.starts_with("unknown Binance REST path (did you mean `/api/v3/order`?)"),
            "{message}"
        );
    }

    #[test]
    fn ws_api_methods_and_rest_requests_have_native_request_types() {
        assert_eq!(binance_request_type("order.place"), Some("PLACE_ORDER"));
        assert_eq!(binance_request_type("order.cancel"), Some("CANCEL_ORDER"));
        assert_eq!(
            binance_request_type("userDataStream.subscribe"),
            Some("WATCH")
        );
        assert_eq!(binance_request_type("ping"), Some("PING"));
        // Events and unknown methods are not requests.
        assert_eq!(binance_request_type("executionReport"), None);
        assert_eq!(binance_request_type("ticker.price"), None);
        assert_eq!(
            binance_rest_request_type("POST", "/api/v3/order"),
            Some("PLACE_ORDER")
        );
        assert_eq!(
            binance_rest_request_type("delete", "/api/v3/order"),
            Some("CANCEL_ORDER")
        );
        assert_eq!(binance_rest_request_type("GET", "/api/v3/time"), None);
    }

    /// The native names are those the protocol crate reports: read from its source, so a new
    /// message type that is not listed here fails this test instead of every filter naming it.
    #[test]
    fn every_type_the_protocol_reports_is_listed() {
        let sources = [
            (
                include_str!("../../protocol/src/messages.rs"),
                "pub fn type_name(",
                &MESSAGE_TYPES[..],
            ),
            (
                include_str!("../../protocol/src/request.rs"),
                "pub fn request_type(",
                &REQUEST_TYPES[..],
            ),
        ];
        let mut found = 0;
        for (source, start, listed) in sources {
            let body = source
                .split_once(start)
                .and_then(|(_, rest)| rest.split_once("\n}\n"))
                .map(|(body, _)| body)
                .unwrap_or_default();
            for literal in body.split('"').skip(1).step_by(2) {
                if literal.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    assert!(listed.contains(&literal), "{literal} is not listed");
                    found += 1;
                }
            }
        }
        assert!(found > 40, "the protocol's type names were read ({found})");
    }
}
