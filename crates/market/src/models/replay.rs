//! Replay: recorded prices (a CSV of `timestamp,price`) drive the market instead of a random
//! process, at the recorded pace or faster.
//!
//! Parsing works on a string or any reader; [`ReplayModel::from_path`] is the one thin helper that
//! touches the file system, used once at start-up.

use std::io::BufRead;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::PriceModel;
use crate::error::{check_range, ConfigError};

/// The most rows a replay holds (16 bytes each): a bound, not an accident of memory.
pub const MAX_REPLAY_ROWS: usize = 10_000_000;

/// `{"model_type": "replay", "csv_path": "btc.csv", "speed": 10.0}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// A CSV file of `timestamp,price` rows (a header line is allowed). Exactly one of `csv_path`
    /// and `csv` is required.
    #[serde(default)]
    pub csv_path: Option<String>,
    /// The CSV text itself, inline.
    #[serde(default)]
    pub csv: Option<String>,
    /// Playback speed: 1.0 replays at the recorded pace, 2.0 in half the time.
    #[serde(default = "default_speed")]
    pub speed: f64,
    /// The unit of the timestamps: `s` (fractions allowed), `ms`, `us` or `ns`.
    #[serde(default)]
    pub timestamp_unit: TimestampUnit,
    /// Starts again from the first row after the last one; otherwise the last price holds.
    #[serde(default)]
    pub repeat: bool,
}

fn default_speed() -> f64 {
    1.0
}

impl ReplayConfig {
    /// Checks the values (not the file), naming the key that is wrong.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        check_range(path, "speed", self.speed, 1e-6, 1e9)?;
        match (&self.csv_path, &self.csv) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            _ => Err(ConfigError::at(
                path,
                "csv_path",
                "give exactly one of csv_path and csv",
            )),
        }
    }

    /// Reads the data (the file, if `csv_path`) and builds the model.
    pub fn build(&self, path: &str) -> Result<ReplayModel, ConfigError> {
        self.validate(path)?;
        let built = match (&self.csv_path, &self.csv) {
            (Some(file), _) => ReplayModel::from_path(file, self.timestamp_unit)
                .map_err(|e| ConfigError::at(path, "csv_path", format!("{file}: {e}"))),
            (None, Some(text)) => ReplayModel::from_csv_str(text, self.timestamp_unit)
                .map_err(|e| ConfigError::at(path, "csv", e.to_string())),
            (None, None) => Err(ConfigError::at(path, "csv_path", "missing")),
        }?;
        Ok(built.with_speed(self.speed).with_repeat(self.repeat))
    }
}

/// The unit of a replay file's timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampUnit {
    /// Seconds, fractions allowed (the default).
    #[default]
    #[serde(rename = "s")]
    Seconds,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Millis,
    /// Microseconds.
    #[serde(rename = "us")]
    Micros,
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Nanos,
}

impl TimestampUnit {
    fn seconds_per_unit(self) -> f64 {
        match self {
            TimestampUnit::Seconds => 1.0,
            TimestampUnit::Millis => 1e-3,
            TimestampUnit::Micros => 1e-6,
            TimestampUnit::Nanos => 1e-9,
        }
    }
}

/// Why replay data cannot be used.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// A row is not `timestamp,price` with a finite timestamp and a positive price.
    #[error("line {line}: {reason}")]
    BadRow {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timestamp is earlier than the one before it.
    #[error("line {line}: timestamps must not go back")]
    OutOfOrder {
        /// The line number, from 1.
        line: usize,
    },
    /// No rows at all.
    #[error("no rows")]
    Empty,
    /// More than [`MAX_REPLAY_ROWS`] rows.
    #[error("more than {MAX_REPLAY_ROWS} rows")]
    TooLong,
}

/// Plays recorded prices back: the price at elapsed time `t` is that of the last row whose
/// timestamp, measured from the first row and divided by `speed`, is at most `t`.
#[derive(Clone, Debug)]
pub struct ReplayModel {
    /// Seconds since the first row, non-decreasing.
    times_s: Vec<f64>,
    prices: Vec<f64>,
    speed: f64,
    repeat: bool,
    elapsed_s: f64,
    cursor: usize,
}

impl ReplayModel {
    /// Parses CSV text of `timestamp,price` rows; a first line that is not numbers is a header,
    /// blank lines and lines starting with `#` are skipped.
    pub fn from_csv_str(text: &str, unit: TimestampUnit) -> Result<ReplayModel, ReplayError> {
        Self::from_reader(text.as_bytes(), unit)
    }

    /// Parses CSV rows from a reader (see [`ReplayModel::from_csv_str`]).
    pub fn from_reader(
        reader: impl BufRead,
        unit: TimestampUnit,
    ) -> Result<ReplayModel, ReplayError> {
        let mut times_s = Vec::new();
        let mut prices = Vec::new();
        let mut first_ts: Option<f64> = None;
        for (index, line) in reader.lines().enumerate() {
            let line = line?;
            let line_no = index + 1;
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let (ts, price) = match parse_row(text) {
                Ok(row) => row,
                // A header names the columns instead of holding numbers.
                Err(_) if first_ts.is_none() && times_s.is_empty() && is_header(text) => continue,
                Err(reason) => {
                    return Err(ReplayError::BadRow {
                        line: line_no,
                        reason,
                    })
                }
            };
            if times_s.len() >= MAX_REPLAY_ROWS {
                return Err(ReplayError::TooLong);
            }
            let start = *first_ts.get_or_insert(ts);
            let t_s = (ts - start) * unit.seconds_per_unit();
            if times_s.last().is_some_and(|&last| t_s < last) {
                return Err(ReplayError::OutOfOrder { line: line_no });
            }
            times_s.push(t_s);
            prices.push(price);
        }
        if prices.is_empty() {
            return Err(ReplayError::Empty);
        }
        Ok(ReplayModel {
            times_s,
            prices,
            speed: 1.0,
            repeat: false,
            elapsed_s: 0.0,
            cursor: 0,
        })
    }

    /// Reads and parses a CSV file (see [`ReplayModel::from_csv_str`]).
    pub fn from_path(
        path: impl AsRef<Path>,
        unit: TimestampUnit,
    ) -> Result<ReplayModel, ReplayError> {
        let file = std::fs::File::open(path)?;
        Self::from_reader(std::io::BufReader::new(file), unit)
    }

    /// Plays `speed` times faster than recorded (values that are not positive and finite are
    /// ignored).
    pub fn with_speed(mut self, speed: f64) -> ReplayModel {
        if speed.is_finite() && speed > 0.0 {
            self.speed = speed;
        }
        self
    }

    /// Starts again from the first row after the last one, instead of holding the last price.
    pub fn with_repeat(mut self, repeat: bool) -> ReplayModel {
        self.repeat = repeat;
        self
    }

    /// How many rows were loaded.
    pub fn len(&self) -> usize {
        self.prices.len()
    }

    /// Whether no rows were loaded (never true for a parsed model).
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// The recorded duration, from the first row to the last, in recorded seconds.
    pub fn duration_s(&self) -> f64 {
        self.times_s.last().copied().unwrap_or(0.0)
    }

    /// The price after `elapsed_s` seconds of playback in total.
    fn price_after(&mut self, elapsed_s: f64) -> f64 {
        let recorded_s = elapsed_s * self.speed;
        if recorded_s < self.times_s.get(self.cursor).copied().unwrap_or(0.0) {
            self.cursor = 0;
        }
        while self
            .times_s
            .get(self.cursor + 1)
            .is_some_and(|&next| next <= recorded_s)
        {
            self.cursor += 1;
        }
        self.prices.get(self.cursor).copied().unwrap_or(f64::NAN)
    }
}

fn parse_row(text: &str) -> Result<(f64, f64), &'static str> {
    let mut fields = text.split(',').map(str::trim);
    let (Some(ts), Some(price), None) = (fields.next(), fields.next(), fields.next()) else {
        return Err("expected two fields: timestamp,price");
    };
    let ts: f64 = ts.parse().map_err(|_| "timestamp is not a number")?;
    let price: f64 = price.parse().map_err(|_| "price is not a number")?;
    if !ts.is_finite() {
        return Err("timestamp is not finite");
    }
    if !(price.is_finite() && price > 0.0) {
        return Err("price must be positive");
    }
    Ok((ts, price))
}

fn is_header(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic())
}

impl PriceModel for ReplayModel {
    fn next_price(&mut self, _current: f64, dt_s: f64, _rng: &mut dyn RngCore) -> f64 {
        self.elapsed_s += dt_s;
        let duration_s = self.duration_s();
        if self.repeat && duration_s > 0.0 && self.elapsed_s * self.speed > duration_s {
            self.elapsed_s %= duration_s / self.speed;
        }
        self.price_after(self.elapsed_s)
    }

    fn start_price(&self) -> Option<f64> {
        self.prices.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const CSV: &str = "timestamp,price\n\
        1700000000,100.5\n\
        1700000001,101.0\n\
        1700000001.5,99.25\n\
        \n\
        # a comment\n\
        1700000004,102.0\n";

    fn play(model: &mut ReplayModel, dt_s: f64, steps: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        (0..steps)
            .map(|_| model.next_price(0.0, dt_s, &mut rng))
            .collect()
    }

    #[test]
    fn reproduces_the_csv_at_recorded_speed() {
        let mut model = ReplayModel::from_csv_str(CSV, TimestampUnit::Seconds).unwrap();
        assert_eq!(model.len(), 4);
        assert_eq!(model.start_price(), Some(100.5));
        assert_eq!(model.duration_s(), 4.0);
        let prices = play(&mut model, 0.5, 10);
        assert_eq!(
            prices,
            [100.5, 101.0, 99.25, 99.25, 99.25, 99.25, 99.25, 102.0, 102.0, 102.0]
        );
    }

    #[test]
    fn double_speed_halves_the_time() {
        let mut model = ReplayModel::from_csv_str(CSV, TimestampUnit::Seconds)
            .unwrap()
            .with_speed(2.0);
        let prices = play(&mut model, 0.25, 10);
        assert_eq!(
            prices,
            [100.5, 101.0, 99.25, 99.25, 99.25, 99.25, 99.25, 102.0, 102.0, 102.0]
        );
    }

    #[test]
    fn repeat_starts_over() {
        let mut model = ReplayModel::from_csv_str(CSV, TimestampUnit::Seconds)
            .unwrap()
            .with_repeat(true);
        let prices = play(&mut model, 1.0, 6);
        assert_eq!(prices, [101.0, 99.25, 99.25, 102.0, 101.0, 99.25]);
    }

    #[test]
    fn millisecond_timestamps() {
        let csv = "0,10\n500,11\n1000,12\n";
        let mut model = ReplayModel::from_csv_str(csv, TimestampUnit::Millis).unwrap();
        assert_eq!(play(&mut model, 0.5, 3), [11.0, 12.0, 12.0]);
    }

    #[test]
    fn bad_data_names_the_line() {
        let cases = [
            ("1,2\nx,3\n", "line 2: timestamp is not a number"),
            ("1,2\n2\n", "line 2: expected two fields: timestamp,price"),
            ("1,2\n2,0\n", "line 2: price must be positive"),
            ("1,2\n2,-1\n", "line 2: price must be positive"),
            ("5,2\n4,3\n", "line 2: timestamps must not go back"),
            ("timestamp,price\n", "no rows"),
            ("", "no rows"),
        ];
        for (csv, message) in cases {
            let err = ReplayModel::from_csv_str(csv, TimestampUnit::Seconds).unwrap_err();
            assert_eq!(err.to_string(), message, "{csv:?}");
        }
    }

    #[test]
    fn config_needs_exactly_one_source() {
        let config = ReplayConfig {
            csv_path: None,
            csv: None,
            speed: 1.0,
            timestamp_unit: TimestampUnit::Seconds,
            repeat: false,
        };
        let err = config.build("p").unwrap_err();
        assert_eq!(err.path, "p.csv_path");
        let missing = ReplayConfig {
            csv_path: Some("/nonexistent/replay.csv".into()),
            ..config
        };
        let err = missing.build("p").unwrap_err();
        assert_eq!(err.path, "p.csv_path");
        assert!(err.reason.contains("/nonexistent/replay.csv"), "{err}");
    }
}
