//! The TCP listener under axum, with one addition: a connection can be ended by a TCP reset
//! instead of an orderly close, which is what the fault layer's abrupt disconnect needs. axum's
//! `WebSocket` hides its socket, so each accepted stream carries a shared flag; when the
//! connection task sets it and drops the WebSocket, the stream sets `SO_LINGER` to zero as it is
//! dropped and the kernel answers with RST (no close frame, no FIN).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A [`TcpListener`] whose streams can be reset on drop.
pub struct ResetListener {
    inner: TcpListener,
}

impl ResetListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> ResetListener {
        ResetListener { inner }
    }
}

impl Listener for ResetListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        // Frames are small and latency matters: no Nagle delay on any connection.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let stream = ResettableStream {
            stream,
            reset: Arc::new(AtomicBool::new(false)),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted TCP stream that ends with RST instead of FIN once its flag is set.
pub struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Acquire) {
            // A zero linger makes close() discard unsent data and send RST; it cannot block.
            if let Err(e) = self.stream.set_zero_linger() {
                tracing::debug!(error = %e, "cannot set SO_LINGER for a reset");
            }
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // A reset connection reads no more either: whoever serves it stops and drops it.
        if self.reset.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

// Once the reset flag is set nothing more is written: the peer sees the reset and never a late
// byte (an HTTP answer the fault layer withholds is swallowed, and the connection then ends).
impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.reset.load(Ordering::Acquire) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.reset.load(Ordering::Acquire) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// What a handler learns about its peer: the address, and the switch that turns the stream's
/// end into a TCP reset.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub addr: SocketAddr,
    /// Set it, then drop the connection: the client sees a reset.
    pub reset: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, ResetListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, ResetListener>) -> Self {
        Peer {
            addr: *stream.remote_addr(),
            reset: stream.io().reset.clone(),
        }
    }
}
