//! ISO-8601 UTC timestamps (`2026-11-28T04:05:06.123456Z`) from nanoseconds since the epoch.

use std::cell::RefCell;

/// The text of the last timestamp written on this thread, by second: the messages of one
/// command share their timestamp, and a busy exchange writes many per second, so the date and
/// time of day are worked out once a second and only the microseconds each time.
struct LastTimestamp {
    secs: u64,
    micros: u64,
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for `secs` and `micros`; empty before the first.
    text: String,
}

thread_local! {
    static LAST: RefCell<LastTimestamp> = const {
        RefCell::new(LastTimestamp { secs: 0, micros: 0, text: String::new() })
    };
}

/// Length of `YYYY-MM-DDTHH:MM:SS.`, the part that changes once a second.
const SECOND_PREFIX_LEN: usize = 20;

/// Appends `ts_ns` as ISO-8601 UTC with microseconds and a trailing `Z`
/// (`2026-11-28T04:05:06.123456Z`), without going through `fmt`: it is on every message.
pub fn write_iso8601(ts_ns: u64, out: &mut String) {
    let secs = ts_ns / 1_000_000_000;
    let micros = (ts_ns % 1_000_000_000) / 1_000;
    let memo = LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return false;
        };
        if last.text.is_empty() || last.secs != secs {
            last.text.clear();
            write_full(secs, micros, &mut last.text);
        } else if last.micros != micros {
            last.text.truncate(SECOND_PREFIX_LEN);
            write_micros(micros, &mut last.text);
        }
        last.secs = secs;
        last.micros = micros;
        out.push_str(&last.text);
        true
    });
    if memo != Ok(true) {
        write_full(secs, micros, out);
    }
}

/// Appends the six digits of `micros` (below one million) and the `Z`.
fn write_micros(micros: u64, out: &mut String) {
    // 1_000_000 + micros has seven digits: the six wanted, zero-padded, after a leading 1.
    let mut digits = itoa::Buffer::new();
    out.push_str(
        digits
            .format(1_000_000 + micros)
            .get(1..)
            .unwrap_or("000000"),
    );
    out.push('Z');
}

/// Appends the whole text of `secs` and `micros`.
fn write_full(secs: u64, micros: u64, out: &mut String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut buf = *b"0000-00-00T00:00:00.";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            if let Some(b) = buf.get_mut(i) {
                *b = b'0' + (value % 10) as u8;
            }
            value /= 10;
        }
    };
    put(0, 4, y.clamp(0, 9999) as u64);
    put(5, 2, m as u64);
    put(8, 2, d as u64);
    put(11, 2, rem / 3600);
    put(14, 2, (rem % 3600) / 60);
    put(17, 2, rem % 60);
    // Only ASCII digits were written into an ASCII template.
    out.push_str(std::str::from_utf8(&buf).unwrap_or("1970-01-01T00:00:00."));
    write_micros(micros, out);
}

/// ISO-8601 UTC text of `ts_ns`.
pub fn iso8601(ts_ns: u64) -> String {
    let mut s = String::with_capacity(27);
    write_iso8601(ts_ns, &mut s);
    s
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso8601(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            iso8601(1_795_838_706_123_456_789),
            "2026-11-28T04:05:06.123456Z"
        );
    }

    #[test]
    fn the_memo_never_shows_an_earlier_timestamp() {
        // Same second, other microseconds; another second; back again; the same instant twice.
        let base = 1_795_838_706_000_000_000;
        let steps = [
            base,
            base + 1_000,
            base + 999_999_000,
            base + 1_000_000_000,
            base + 7_000,
            base + 7_999,
            0,
            base + 1_000_000_000 + 42_000,
        ];
        for ts in steps {
            let mut memo = String::from("x");
            write_iso8601(ts, &mut memo);
            let mut fresh = String::from("x");
            write_full(ts / 1_000_000_000, (ts % 1_000_000_000) / 1_000, &mut fresh);
            assert_eq!(memo, fresh, "{ts}");
        }
        assert_eq!(iso8601(base + 7_999), "2026-11-28T04:05:06.000007Z");
    }
}
