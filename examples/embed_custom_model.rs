//! A custom price model plugged into an embedded exchange: the price swings around where it
//! started, once per `period_s`, with a little noise. The market makers quote around it and the
//! taker flow trades against them.
//!
//! Run with `cargo run --release --example embed_custom_model`.

use exchange_simulator::{ClockMode, Config, ExchangeServer, PriceModel};
use futures_util::{SinkExt, StreamExt};
use rand::{Rng, RngCore};
use tokio_tungstenite::tungstenite::Message;

/// One step of the process: current price and elapsed time in, next price out. All randomness
/// comes from `rng`, the run's seeded stream, so a seed replays exactly.
struct Swing {
    amplitude: f64,
    period_s: f64,
    noise: f64,
    elapsed_s: f64,
    center: Option<f64>,
}

impl PriceModel for Swing {
    fn next_price(&mut self, current: f64, dt_s: f64, rng: &mut dyn RngCore) -> f64 {
        let center = *self.center.get_or_insert(current);
        self.elapsed_s += dt_s;
        let phase = std::f64::consts::TAU * self.elapsed_s / self.period_s;
        center * (1.0 + self.amplitude * phase.sin() + rng.gen_range(-self.noise..=self.noise))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::default();
    config.server.port = 0;
    config.seed = Some(7);
    // Step the market by hand, so this example runs an hour of market in a moment.
    config.exchange.clock = ClockMode::Manual;
    config.exchange.tick_interval = 1.0;
    let mut server = ExchangeServer::new(config)?;
    server.set_price_model(
        "BTC/USD",
        Box::new(Swing {
            amplitude: 0.05,
            period_s: 3_600.0,
            noise: 0.0005,
            elapsed_s: 0.0,
            center: None,
        }),
    );
    let addr = server.start().await?;
    println!("exchange on ws://{addr}/ws, BTC/USD driven by the Swing model");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
    for quarter in 1..=4 {
        server.advance_market(900).await;
        let request = r#"{"type":"GET_ORDERBOOK","symbol":"BTC/USD","depth":1}"#;
        ws.send(Message::text(request)).await?;
        while let Some(frame) = ws.next().await {
            let book: serde_json::Value = serde_json::from_str(frame?.to_text()?)?;
            if book["type"] == "ORDERBOOK_SNAPSHOT" {
                let top = |side: &str| book[side][0]["price"].as_str().unwrap_or("-").to_string();
                println!(
                    "after {:>2} min: bid {} / ask {}",
                    quarter * 15,
                    top("bids"),
                    top("asks")
                );
                break;
            }
        }
    }
    server.shutdown().await;
    Ok(())
}
