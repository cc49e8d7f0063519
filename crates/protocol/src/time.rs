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

/// Nanoseconds since the epoch of an ISO-8601 / RFC 3339 timestamp: `2026-11-28T04:05:06Z`,
/// with optional fractional seconds (up to nanoseconds) and a `Z`, `+HH:MM` or `-HH:MM` offset,
/// or none (taken as UTC); a date alone (`2026-11-28`) is its midnight UTC. `None` for anything
/// else or before 1970.
pub fn parse_iso8601(text: &str) -> Option<u64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let year = number(parts.next()?)?;
    let month = number(parts.next()?)?;
    let day = number(parts.next()?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let mut seconds = days_from_civil(year, month as u32, day as u32) * 86_400;
    let mut nanos = 0i64;
    if let Some(time) = time {
        let (clock, offset_s) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
            (clock, 0)
        } else if let Some(at) = time.rfind(['+', '-']) {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset.get(1..)?.split_once(':')?;
            (clock, sign * (number(h)? * 3_600 + number(m)? * 60))
        } else {
            (time, 0)
        };
        let (hms, fraction) = match clock.split_once('.') {
            Some((hms, fraction)) => (hms, Some(fraction)),
            None => (clock, None),
        };
        let mut hms = hms.splitn(3, ':');
        let h = number(hms.next()?)?;
        let m = number(hms.next()?)?;
        let s = hms.next().map_or(Some(0), number)?;
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        if let Some(fraction) = fraction {
            if fraction.len() > 9 || number(fraction).is_none() {
                return None;
            }
            let digits = number(fraction)?;
            nanos = digits * 10i64.pow(9 - fraction.len() as u32);
        }
        seconds += h * 3_600 + m * 60 + s - offset_s;
    }
    let total = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    u64::try_from(total).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn timestamps_parse_back() {
        for ts in [0, 951_782_400_000_000_000, 1_795_838_706_123_456_000] {
            assert_eq!(parse_iso8601(&iso8601(ts)), Some(ts));
        }
        assert_eq!(
            parse_iso8601("2026-11-28T05:05:06+01:00"),
            parse_iso8601("2026-11-28T04:05:06Z")
        );
        assert_eq!(
            parse_iso8601("2026-11-28T04:05:06.5"),
            Some(1_795_838_706_500_000_000)
        );
        assert_eq!(parse_iso8601("2026-11-28"), Some(1_795_824_000_000_000_000));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-28T25:00:00Z",
            "1969-12-31",
            "2026-11-28T04:05:06.1234567890Z",
            "-1-01-01",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
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
