//! Public market data over REST: `exchangeInfo`, `depth`, `trades`, `aggTrades`, and the price
//! and book tickers, written as Binance writes them.

use engine::symbol::Symbol;
use engine::{Amount, Level, Trade};
use exchange::message::{BookSnapshot, Ticker};
use protocol::json::ObjectWriter;

use crate::orders::{stp_name, write_quote};
use crate::venue::{ms, Venue};

/// `GET /api/v3/exchangeInfo` (and the WebSocket API's `exchangeInfo`): every symbol, or the
/// ones asked for.
pub fn write_exchange_info(
    venue: &Venue,
    now_ms: u64,
    only: Option<&[engine::SymbolId]>,
    out: &mut String,
) {
    let mut w = ObjectWriter::new(out);
    w.str("timezone", "UTC").u64("serverTime", now_ms);
    w.with("rateLimits", |out| write_rate_limits(venue, out));
    w.raw("exchangeFilters", "[]");
    w.with("symbols", |out| {
        out.push('[');
        let mut first = true;
        for (i, symbol) in venue.catalog.symbols().iter().enumerate() {
            let id = engine::SymbolId(i as u32);
            if only.is_some_and(|ids| !ids.contains(&id)) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            write_symbol_info(venue, id, symbol, out);
        }
        out.push(']');
    });
    w.end();
}

/// The `rateLimits` array.
pub fn write_rate_limits(venue: &Venue, out: &mut String) {
    let l = venue.limits;
    let limit = |out: &mut String, kind: &str, interval: &str, num: u32, limit: u32| {
        let mut w = ObjectWriter::new(out);
        w.str("rateLimitType", kind)
            .str("interval", interval)
            .u64("intervalNum", num.into())
            .u64("limit", limit.into());
        w.end();
    };
    out.push('[');
    limit(
        out,
        "REQUEST_WEIGHT",
        "MINUTE",
        1,
        l.request_weight_per_minute,
    );
    out.push(',');
    limit(out, "ORDERS", "SECOND", 10, l.orders_per_10s);
    out.push(',');
    limit(out, "ORDERS", "DAY", 1, l.orders_per_day);
    out.push(']');
}

fn write_symbol_info(venue: &Venue, id: engine::SymbolId, symbol: &Symbol, out: &mut String) {
    let base_decimals = venue.catalog.asset_decimals(symbol.base);
    let quote_decimals = venue.catalog.asset_decimals(symbol.quote);
    let spec = &symbol.spec;
    let mut w = ObjectWriter::new(out);
    w.str("symbol", venue.symbols.name(id))
        .str("status", "TRADING")
        .str("baseAsset", &spec.base)
        .u64("baseAssetPrecision", base_decimals.into())
        .str("quoteAsset", &spec.quote)
        .u64("quotePrecision", quote_decimals.into())
        .u64("quoteAssetPrecision", quote_decimals.into())
        .u64("baseCommissionPrecision", base_decimals.into())
        .u64("quoteCommissionPrecision", quote_decimals.into())
        .raw("orderTypes", r#"["LIMIT","LIMIT_MAKER","MARKET"]"#)
        .bool("icebergAllowed", false)
        .bool("ocoAllowed", false)
        .bool("otoAllowed", false)
        .bool("quoteOrderQtyMarketAllowed", true)
        .bool("allowTrailingStop", false)
        .bool("cancelReplaceAllowed", true)
        .bool("amendAllowed", false)
        .bool("isSpotTradingAllowed", true)
        .bool("isMarginTradingAllowed", false)
        .with("filters", |out| write_filters(venue, symbol, out))
        .raw("permissions", "[]")
        .raw("permissionSets", r#"[["SPOT"]]"#)
        .str(
            "defaultSelfTradePreventionMode",
            stp_name(engine::StpMode::default()),
        )
        .raw(
            "allowedSelfTradePreventionModes",
            r#"["NONE","EXPIRE_TAKER","EXPIRE_MAKER","EXPIRE_BOTH"]"#,
        );
    w.end();
}

/// The largest price a symbol's filter allows, in ticks: far above any real price, and small
/// enough that price times the largest quantity stays well inside the engine's integers.
pub const MAX_PRICE_TICKS: i64 = 1_000_000_000_000;

fn write_filters(venue: &Venue, symbol: &Symbol, out: &mut String) {
    let spec = &symbol.spec;
    out.push('[');
    let mut w = ObjectWriter::new(out);
    w.str("filterType", "PRICE_FILTER")
        .str_with("minPrice", |o| spec.tick.write(1, o))
        .str_with("maxPrice", |o| spec.tick.write(MAX_PRICE_TICKS, o))
        .str_with("tickSize", |o| spec.tick.write(1, o));
    w.end();
    for kind in ["LOT_SIZE", "MARKET_LOT_SIZE"] {
        out.push(',');
        let mut w = ObjectWriter::new(out);
        w.str("filterType", kind)
            .str_with("minQty", |o| symbol.write_qty(spec.min_qty, o))
            .str_with("maxQty", |o| symbol.write_qty(spec.max_qty, o))
            .str_with("stepSize", |o| spec.lot.write(1, o));
        w.end();
    }
    out.push(',');
    let mut w = ObjectWriter::new(out);
    w.str("filterType", "NOTIONAL")
        .str_with("minNotional", |o| {
            write_quote(venue, symbol, spec.min_notional, o)
        })
        // The engine checks the minimum notional of limit orders at their price only.
        .bool("applyMinToMarket", false)
        .str_with("maxNotional", |o| {
            let max = symbol
                .notional(engine::Price(MAX_PRICE_TICKS), spec.max_qty)
                .unwrap_or(Amount(i128::from(i64::MAX)));
            write_quote(venue, symbol, max, o)
        })
        .bool("applyMaxToMarket", false)
        .u64("avgPriceMins", 5);
    w.end();
    out.push(']');
}

/// `GET /api/v3/depth`: the book with the sequence the diff stream continues from.
pub fn write_depth(venue: &Venue, book: &BookSnapshot, out: &mut String) {
    let Some(symbol) = venue.symbol(book.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    w.u64("lastUpdateId", book.depth.book_seq)
        .with("bids", |o| write_levels(symbol, &book.depth.bids, o))
        .with("asks", |o| write_levels(symbol, &book.depth.asks, o));
    w.end();
}

/// `[["price","qty"],...]`.
pub fn write_levels(symbol: &Symbol, levels: &[Level], out: &mut String) {
    out.push('[');
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("[\"");
        symbol.write_price(level.price, out);
        out.push_str("\",\"");
        symbol.write_qty(level.qty, out);
        out.push_str("\"]");
    }
    out.push(']');
}

/// `GET /api/v3/trades` and `historicalTrades`: newest last.
pub fn write_trades(venue: &Venue, trades: &[Trade], out: &mut String) {
    write_array(trades, out, |trade, out| {
        let Some(symbol) = venue.symbol(trade.symbol) else {
            return out.push_str("{}");
        };
        let quote = symbol.notional(trade.price, trade.qty).unwrap_or(Amount(0));
        let mut w = ObjectWriter::new(out);
        w.u64("id", trade.trade_id.0)
            .str_with("price", |o| symbol.write_price(trade.price, o))
            .str_with("qty", |o| symbol.write_qty(trade.qty, o))
            .str_with("quoteQty", |o| write_quote(venue, symbol, quote, o))
            .u64("time", ms(trade.ts_ns))
            .bool("isBuyerMaker", trade.taker_side == engine::Side::Sell)
            .bool("isBestMatch", true);
        w.end();
    });
}

/// `GET /api/v3/aggTrades`: each trade its own aggregate (the engine reports every match).
pub fn write_agg_trades(venue: &Venue, trades: &[Trade], out: &mut String) {
    write_array(trades, out, |trade, out| {
        write_agg_trade_fields(venue, trade, out, false)
    });
}

/// An aggregate trade's fields; `event` adds the stream event's `e`, `E` and `s`.
pub(crate) fn write_agg_trade_fields(venue: &Venue, trade: &Trade, out: &mut String, event: bool) {
    let Some(symbol) = venue.symbol(trade.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    if event {
        w.str("e", "aggTrade")
            .u64("E", ms(trade.ts_ns))
            .str("s", venue.symbols.name(trade.symbol));
    }
    let id = trade.trade_id.0;
    w.u64("a", id)
        .str_with("p", |o| symbol.write_price(trade.price, o))
        .str_with("q", |o| symbol.write_qty(trade.qty, o))
        .u64("f", id)
        .u64("l", id)
        .u64("T", ms(trade.ts_ns))
        .bool("m", trade.taker_side == engine::Side::Sell)
        .bool("M", true);
    w.end();
}

/// `GET /api/v3/ticker/price`: one symbol's last price (an object) or every symbol's (an array).
pub fn write_price_tickers(venue: &Venue, tickers: &[&Ticker], one: bool, out: &mut String) {
    write_one_or_many(tickers, one, out, |t, out| {
        let Some(symbol) = venue.symbol(t.symbol) else {
            return out.push_str("{}");
        };
        let mut w = ObjectWriter::new(out);
        w.str("symbol", venue.symbols.name(t.symbol))
            .str_with("price", |o| crate::orders::write_price(symbol, t.last, o));
        w.end();
    });
}

/// `GET /api/v3/ticker/bookTicker`: the best bid and ask.
pub fn write_book_tickers(venue: &Venue, tickers: &[&Ticker], one: bool, out: &mut String) {
    write_one_or_many(tickers, one, out, |t, out| {
        let Some(symbol) = venue.symbol(t.symbol) else {
            return out.push_str("{}");
        };
        let mut w = ObjectWriter::new(out);
        w.str("symbol", venue.symbols.name(t.symbol));
        write_best(
            &mut w,
            symbol,
            t.bid,
            t.ask,
            ["bidPrice", "bidQty", "askPrice", "askQty"],
        );
        w.end();
    });
}

/// The best bid and ask under the given four names (prices and quantities `0` when a side is
/// empty, as Binance shows them).
pub(crate) fn write_best(
    w: &mut ObjectWriter<'_>,
    symbol: &Symbol,
    bid: Option<Level>,
    ask: Option<Level>,
    names: [&str; 4],
) {
    let [bid_price, bid_qty, ask_price, ask_qty] = names;
    let price = |l: Option<Level>| l.map_or(engine::Price(0), |l| l.price);
    let qty = |l: Option<Level>| l.map_or(engine::Qty(0), |l| l.qty);
    w.str_with(bid_price, |o| symbol.write_price(price(bid), o))
        .str_with(bid_qty, |o| symbol.write_qty(qty(bid), o))
        .str_with(ask_price, |o| symbol.write_price(price(ask), o))
        .str_with(ask_qty, |o| symbol.write_qty(qty(ask), o));
}

/// An array of `items`, each written by `write`.
pub(crate) fn write_array<T>(
    items: &[T],
    out: &mut String,
    mut write: impl FnMut(&T, &mut String),
) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(item, out);
    }
    out.push(']');
}

/// One object when a single symbol was asked for, else an array.
pub(crate) fn write_one_or_many<T>(
    items: &[T],
    one: bool,
    out: &mut String,
    mut write: impl FnMut(&T, &mut String),
) {
    match (one, items.first()) {
        (true, Some(item)) => write(item, out),
        _ => write_array(items, out, write),
    }
}
