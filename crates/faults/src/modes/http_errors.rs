//! `http_errors`: a Binance REST request is answered with an HTTP 5xx, as a gateway or backend in
//! trouble answers. Inbound (the default) the request is never carried out; outbound it is
//! carried out and the answer replaced, so the client cannot tell which happened. The server
//! renders Binance's `-1000` body with the status drawn.

use serde_json::{Map, Value};

use super::{ModeParams, Scope};
use crate::filter::DirectionFilter;
use crate::mode::Mode;
use crate::reader::ObjectReader;
use crate::rng::{between, Stream};
use crate::{Direction, FaultConfigError};

/// The most statuses one mode may list.
pub const HTTP_STATUSES_MAX: usize = 100;

/// Parameters of `http_errors`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpErrorsParams {
    /// `probability` (default 0.1): the fraction of matching requests answered with a 5xx.
    pub probability: f64,
    /// `statuses` (default 500, 502, 503, 504): each error takes one of these, equally likely (a
    /// status listed twice is twice as likely).
    pub statuses: Vec<u16>,
}

impl ModeParams for HttpErrorsParams {
    const MODE: Mode = Mode::HttpErrors;
    const DEFAULT_DIRECTION: DirectionFilter = DirectionFilter::Inbound;
    const SCOPE: Scope = Scope::Http { outbound: true };

    fn read(reader: &mut ObjectReader<'_>) -> Result<Self, FaultConfigError> {
        let probability = reader.probability_or("probability", 0.1)?;
        let statuses = match reader.number_list("statuses", 500.0, 599.0)? {
            None => vec![500, 502, 503, 504],
            Some(listed) if listed.is_empty() => {
                return Err(reader.error("statuses", "must list at least one status"))
            }
            Some(listed) if listed.len() > HTTP_STATUSES_MAX => {
                return Err(
                    reader.error("statuses", format!("at most {HTTP_STATUSES_MAX} statuses"))
                )
            }
            Some(listed) => {
                let mut statuses = Vec::with_capacity(listed.len());
                for (position, status) in listed.into_iter().enumerate() {
                    if status.fract() != 0.0 {
                        return Err(FaultConfigError::new(
                            &format!("{}[{position}]", reader.key_path("statuses")),
                            "must be an integer between 500 and 599",
                        ));
                    }
                    statuses.push(status as u16);
                }
                statuses
            }
        };
        Ok(Self {
            probability,
            statuses,
        })
    }

    fn write(&self, map: &mut Map<String, Value>) {
        map.insert("probability".into(), Value::from(self.probability));
        map.insert("statuses".into(), Value::from(self.statuses.clone()));
    }
}

/// The status request `ordinal` is answered with going `direction`, or `None` when it passes.
pub(crate) fn decide(
    params: &HttpErrorsParams,
    stream: &Stream,
    direction: Direction,
    ordinal: u64,
) -> Option<u16> {
    if stream.uniform(Mode::HttpErrors, Some(direction), ordinal, 0) >= params.probability {
        return None;
    }
    let last = params.statuses.len().checked_sub(1)? as u64;
    let pick = between(
        stream.draw(Mode::HttpErrors, Some(direction), ordinal, 1),
        0,
        last,
    );
    params.statuses.get(pick as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_rate, read_params};

    #[test]
    fn errors_come_at_the_probability_spread_over_the_statuses() {
        let params: HttpErrorsParams = read_params(serde_json::json!({"probability": 0.2}));
        assert_eq!(params.statuses, vec![500, 502, 503, 504]);
        let stream = Stream::new(3, "binance:10.0.0.1 POST /api/v3/order", 0);
        let n = 20_000;
        let drawn: Vec<u16> = (1..=n)
            .filter_map(|ordinal| decide(&params, &stream, Direction::Inbound, ordinal))
            .collect();
        assert_rate(drawn.len() as u64, n, 0.2, 1.0);
        for status in [500, 502, 503, 504] {
            let count = drawn.iter().filter(|s| **s == status).count() as u64;
            assert_rate(count, drawn.len() as u64, 0.25, 1.0);
        }
    }

    #[test]
    fn statuses_must_be_5xx_integers() {
        for (json, path) in [
            (serde_json::json!({"statuses": []}), "test.statuses"),
            (serde_json::json!({"statuses": [404]}), "test.statuses[0]"),
            (
                serde_json::json!({"statuses": [500, 502.5]}),
                "test.statuses[1]",
            ),
            (serde_json::json!({"statuses": "500"}), "test.statuses"),
            (serde_json::json!({"channels": ["TRADES"]}), "test.channels"),
        ] {
            let error = crate::modes::ModeConfig::<HttpErrorsParams>::read("test", &json)
                .expect_err("refused");
            assert_eq!(error.path, path, "{json}");
        }
    }
}
