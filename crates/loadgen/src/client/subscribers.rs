//! A fleet of mostly-listening connections, each subscribed to some channels of the symbol and
//! counting what it receives: the load of `bench connections` and the audience of `bench fanout`.
//!
//! Connections are opened in batches (a batch is fully connected or failed before the next one
//! starts), so that a server's accept queue is not flooded with thousands of handshakes at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::{connect, frame_type, subscriber_config, FrameWriter};
use crate::common::OrderSpec;

/// What a subscriber listens to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Feed {
    /// These native channels of the symbol, subscribed after connecting.
    Native(&'static [&'static str]),
    /// Binance streams named in the URL (`/ws/btcusd@depth@100ms/btcusd@trade`): nothing to
    /// send, and events counted by their `e`.
    Binance,
}

/// Frames handled after one wake-up before the stop signal is looked at again.
const READY_BATCH_MAX: usize = 256;

/// Counts of everything the fleet received, updated by every subscriber in batches.
#[derive(Debug, Default)]
pub(crate) struct FleetCounters {
    frames: AtomicU64,
    market_data: AtomicU64,
    trades: AtomicU64,
    book: AtomicU64,
    first_subscriber_trades: AtomicU64,
    subscribed: AtomicU64,
    malformed: AtomicU64,
    disconnects: AtomicU64,
}

/// A snapshot of [`FleetCounters`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FleetCounts {
    /// Every frame received.
    pub(crate) frames: u64,
    /// MARKET_DATA, TRADE, ORDERBOOK_UPDATE and ORDERBOOK_SNAPSHOT frames.
    pub(crate) market_data: u64,
    /// TRADE frames.
    pub(crate) trades: u64,
    /// ORDERBOOK_UPDATE and ORDERBOOK_SNAPSHOT frames.
    pub(crate) book: u64,
    /// TRADE frames received by subscriber 0: one per trade on the symbol.
    pub(crate) first_subscriber_trades: u64,
    /// SUBSCRIBED frames.
    pub(crate) subscribed: u64,
    /// Binary or unparsable frames.
    pub(crate) malformed: u64,
    /// Subscribers whose connection closed or failed.
    pub(crate) disconnects: u64,
}

impl FleetCounts {
    /// What was counted between `earlier` and this snapshot.
    pub(crate) fn since(&self, earlier: &FleetCounts) -> FleetCounts {
        FleetCounts {
            frames: self.frames - earlier.frames,
            market_data: self.market_data - earlier.market_data,
            trades: self.trades - earlier.trades,
            book: self.book - earlier.book,
            first_subscriber_trades: self.first_subscriber_trades - earlier.first_subscriber_trades,
            subscribed: self.subscribed - earlier.subscribed,
            malformed: self.malformed - earlier.malformed,
            disconnects: self.disconnects - earlier.disconnects,
        }
    }
}

impl FleetCounters {
    fn snapshot(&self) -> FleetCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FleetCounts {
            frames: get(&self.frames),
            market_data: get(&self.market_data),
            trades: get(&self.trades),
            book: get(&self.book),
            first_subscriber_trades: get(&self.first_subscriber_trades),
            subscribed: get(&self.subscribed),
            malformed: get(&self.malformed),
            disconnects: get(&self.disconnects),
        }
    }

    fn add(&self, local: &FleetCounts) {
        let add = |c: &AtomicU64, v: u64| {
            if v > 0 {
                c.fetch_add(v, Ordering::Relaxed);
            }
        };
        add(&self.frames, local.frames);
        add(&self.market_data, local.market_data);
        add(&self.trades, local.trades);
        add(&self.book, local.book);
        add(&self.first_subscriber_trades, local.first_subscriber_trades);
        add(&self.subscribed, local.subscribed);
        add(&self.malformed, local.malformed);
        add(&self.disconnects, local.disconnects);
    }
}

/// Running subscriber connections.
pub(crate) struct Fleet {
    tasks: Vec<JoinHandle<bool>>,
    stop: watch::Sender<bool>,
    counters: Arc<FleetCounters>,
    /// Connections that could not be opened.
    pub(crate) connect_failures: u64,
}

impl Fleet {
    /// Opens `n` subscribers, `batch` at a time, each listening to `feed`.
    pub(crate) async fn open(
        url: &str,
        n: usize,
        batch: usize,
        spec: Arc<OrderSpec>,
        feed: Feed,
    ) -> Fleet {
        let url: Arc<str> = Arc::from(url);
        let counters = Arc::new(FleetCounters::default());
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::with_capacity(n);
        let mut connect_failures = 0;
        let batch = batch.max(1);
        let mut first = 0;
        while first < n {
            let last = (first + batch).min(n);
            let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
            for index in first..last {
                tasks.push(tokio::spawn(subscriber(
                    url.clone(),
                    index,
                    feed,
                    FrameWriter::new(spec.clone(), index),
                    counters.clone(),
                    ready_tx.clone(),
                    stop_rx.clone(),
                )));
            }
            drop(ready_tx);
            // Every task of the batch reports once, connected or not, then drops its sender.
            while let Some(connected) = ready_rx.recv().await {
                if !connected {
                    connect_failures += 1;
                }
            }
            first = last;
        }
        Fleet {
            tasks,
            stop,
            counters,
            connect_failures,
        }
    }

    /// A reader of the frames received so far, for the progress display.
    pub(crate) fn frames_reader(&self) -> impl Fn() -> u64 + Send + 'static {
        let counters = self.counters.clone();
        move || counters.frames.load(Ordering::Relaxed)
    }

    /// What the fleet has counted so far.
    pub(crate) fn counts(&self) -> FleetCounts {
        self.counters.snapshot()
    }

    /// Stops every subscriber; returns how many were still connected, and the final counts.
    pub(crate) async fn close(self) -> (u64, FleetCounts) {
        // Receivers only go away with their tasks, which then need no signal.
        let _ = self.stop.send(true);
        let mut held = 0;
        for task in self.tasks {
            if matches!(task.await, Ok(true)) {
                held += 1;
            }
        }
        (held, self.counters.snapshot())
    }
}

/// One subscriber: connect, subscribe, count frames until stopped. Returns whether it was still
/// connected when stopped.
async fn subscriber(
    url: Arc<str>,
    index: usize,
    feed: Feed,
    mut writer: FrameWriter,
    counters: Arc<FleetCounters>,
    ready: mpsc::UnboundedSender<bool>,
    mut stop: watch::Receiver<bool>,
) -> bool {
    let Ok(mut ws) = connect(&url, subscriber_config()).await else {
        let _ = ready.send(false);
        return false;
    };
    let mut subscribed = true;
    let channels: &[&str] = match feed {
        Feed::Native(channels) => channels,
        Feed::Binance => &[],
    };
    for channel in channels {
        subscribed = subscribed && ws.feed(writer.subscribe(channel)).await.is_ok();
    }
    subscribed = subscribed && ws.flush().await.is_ok();
    // Nothing more is sent: the writer's buffer need not live as long as the connection.
    drop(writer);
    let _ = ready.send(subscribed);
    drop(ready);
    if !subscribed {
        return false;
    }
    let mut local = FleetCounts::default();
    // One stop future for the whole life of the connection: a fresh one per frame would register
    // with (and leave) the channel's waiter list every time.
    let stopped = stop.wait_for(|stopped| *stopped);
    tokio::pin!(stopped);
    let open = loop {
        let first = tokio::select! {
            biased;
            _ = &mut stopped => break true,
            frame = ws.next() => frame,
        };
        let mut next = Some(first);
        let mut handled = 0;
        let mut closed = false;
        while let Some(frame) = next.take() {
            match frame {
                Some(Ok(Message::Text(text))) => match feed {
                    Feed::Native(_) => count_frame(&text, index == 0, &mut local),
                    Feed::Binance => count_binance_event(&text, index == 0, &mut local),
                },
                Some(Ok(Message::Binary(_))) => {
                    local.frames += 1;
                    local.malformed += 1;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    closed = true;
                    break;
                }
                Some(Ok(_)) => {}
            }
            handled += 1;
            if handled < READY_BATCH_MAX {
                next = ws.next().now_or_never();
            }
        }
        counters.add(&local);
        local = FleetCounts::default();
        if closed {
            break false;
        }
    };
    if !open {
        counters.disconnects.fetch_add(1, Ordering::Relaxed);
    }
    open
}

/// Counts one Binance stream event by its `e`.
fn count_binance_event(text: &str, first_subscriber: bool, local: &mut FleetCounts) {
    local.frames += 1;
    match binance_event(text) {
        Some("trade") => {
            local.market_data += 1;
            local.trades += 1;
            if first_subscriber {
                local.first_subscriber_trades += 1;
            }
        }
        Some("depthUpdate") => {
            local.market_data += 1;
            local.book += 1;
        }
        Some(_) => local.market_data += 1,
        None => local.malformed += 1,
    }
}

/// The `e` of a Binance event, found without parsing it (it leads every event).
fn binance_event(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("{\"e\":\"")?;
    let end = memchr::memchr(b'"', rest.as_bytes())?;
    rest.get(..end)
}

/// Counts one text frame by its type.
fn count_frame(text: &str, first_subscriber: bool, local: &mut FleetCounts) {
    local.frames += 1;
    match frame_type(text) {
        Some("TRADE") => {
            local.market_data += 1;
            local.trades += 1;
            if first_subscriber {
                local.first_subscriber_trades += 1;
            }
        }
        Some("ORDERBOOK_UPDATE" | "ORDERBOOK_SNAPSHOT") => {
            local.market_data += 1;
            local.book += 1;
        }
        Some("MARKET_DATA") => local.market_data += 1,
        Some("SUBSCRIBED") => local.subscribed += 1,
        Some(_) => {}
        None => local.malformed += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_counted_by_type() {
        let mut local = FleetCounts::default();
        count_frame(
            r#"{"type":"TRADE","channel":"TRADES","trade_id":1}"#,
            true,
            &mut local,
        );
        count_frame(
            r#"{"type":"TRADE","channel":"TRADES","trade_id":2}"#,
            false,
            &mut local,
        );
        count_frame(
            r#"{"type":"ORDERBOOK_UPDATE","channel":"ORDERBOOK_L2"}"#,
            true,
            &mut local,
        );
        count_frame(
            r#"{"type":"MARKET_DATA","channel":"TICKER"}"#,
            true,
            &mut local,
        );
        count_frame(
            r#"{"type":"SUBSCRIBED","channel":"TICKER"}"#,
            true,
            &mut local,
        );
        count_frame(r#"{"type":"HEARTBEAT"}"#, true, &mut local);
        count_frame("garbage", true, &mut local);
        assert_eq!(local.frames, 7);
        assert_eq!(local.market_data, 4);
        assert_eq!(local.trades, 2);
        assert_eq!(local.first_subscriber_trades, 1);
        assert_eq!(local.book, 1);
        assert_eq!(local.subscribed, 1);
        assert_eq!(local.malformed, 1);
        let later = FleetCounts {
            frames: 10,
            ..local
        };
        assert_eq!(later.since(&local).frames, 3);
    }
}
