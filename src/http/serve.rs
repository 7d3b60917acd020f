//! Serving connections: HTTP/1.1 over hyper, with the limits `axum::serve` does not set.
//!
//! - A request head (request line and headers) must arrive within
//!   [`ConnectionLimits::header_timeout`] of its first byte (of the connection's opening, for
//!   its first request), or the connection is closed: a client that sends part of a head and
//!   stops, or drips a byte now and then, holds a connection for seconds, not minutes.
//! - A connection with no request in flight is closed after
//!   [`ConnectionLimits::idle_timeout`] (hyper's header-read timer, which runs from the end of
//!   the previous answer). It is long on purpose: a load balancer reuses idle connections, and
//!   must be the one to close them first (keep this above its idle timeout).
//! - At most [`ConnectionLimits::max_connections`] are open at once. At the bound, a connection
//!   with no request in flight makes room for the new one (the slowest request head first,
//!   else the longest idle), so a flood of slow clients cannot lock out a load balancer's
//!   probe; when every connection has a request in flight, new ones wait in the kernel's
//!   backlog until one ends. A log line and `http_connection_limit_reached_total` say when the
//!   bound is hit. Accept errors (such as running out of file descriptors) are logged and
//!   retried, never fatal.
//!
//! - A request head is read at most [`MAX_HEAD_BYTES`] and [`MAX_HEAD_LINES`] lines far: a larger
//!   one is answered by the router as a smaller oversized head is (`limit_request_head`: 431
//!   `headers_too_large`, or 414 `uri_too_long` for a request line that long, in problem+json
//!   with our headers), never with hyper's own bare status line. The socket is watched for it
//!   before hyper sees the bytes, hyper's limits are set above ours, and the connection closes
//!   after the answer, reading what the client still sends for a moment so that the answer is
//!   read rather than lost to a reset.
//!
//! HTTP/1.1 only: what sits in front of the BFF (a load balancer, an ingress) speaks HTTP/1.1 to
//! it, and a single protocol needs no version sniffing, which has no timeout of its own.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    http::{StatusCode, header},
};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::{Request, Response, body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, Semaphore, oneshot},
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

use crate::config::ConnectionLimits;

/// The largest request head read (request line and headers). The router's own, lower limits
/// ([`super::MAX_URI_BYTES`], [`super::MAX_HEADER_BYTES`], [`super::MAX_HEADERS`]) refuse a head
/// it can read; one larger than this is refused before hyper has all of it.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most lines a request head may have (its request line and headers).
const MAX_HEAD_LINES: usize = 129;
/// Hyper's limits, above ours so that hyper never refuses a head itself: its buffer holds our
/// largest head and the read that completed it, and its header slots the headers of our
/// longest head and the start of one more.
const HYPER_BUFFER: usize = 2 * MAX_HEAD_BYTES;
const HYPER_MAX_HEADERS: usize = MAX_HEAD_LINES + 8;
/// After refusing a head, what the client still sends is read and dropped for this long (and
/// at most [`LINGER_BYTES`]) before the connection closes: closing with unread bytes would
/// reset it, and the client could lose the answer.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;
/// A request head younger than this is never closed to make room: a client that just
/// connected is about to be answered, and a burst of new connections must not push it out.
const EVICTION_GRACE: Duration = Duration::from_millis(250);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish its request in flight (idle ones close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Open::default());
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .max_buf_size(HYPER_BUFFER)
        .max_headers(HYPER_MAX_HEADERS);
    tokio::pin!(shutdown);
    let mut at_limit = false;
    let mut next_id = 0u64;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                if at_limit && permits.available_permits() >= limits.max_connections / 10 {
                    tracing::info!("below the connection limit again");
                    at_limit = false;
                }
                permit
            }
            Err(_) => {
                if !at_limit {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: idle and slow connections make room for new ones, and new ones wait while every connection is busy"
                    );
                    at_limit = true;
                }
                metrics::counter!("http_connection_limit_reached_total").increment(1);
                // Make room, or wait for it: a head too young to close may age past the grace.
                let permit = loop {
                    open.evict_one();
                    tokio::select! {
                        permit = permits.clone().acquire_owned() => break Some(permit.expect("the semaphore is never closed")),
                        () = tokio::time::sleep(EVICTION_GRACE) => {}
                        () = &mut shutdown => break None,
                    }
                };
                match permit {
                    Some(permit) => permit,
                    None => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: the listener stays; try again shortly.
                    tracing::warn!(error = %e, "accepting a connection failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers leave as soon as they are written (no Nagle delay on a multi-segment body).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        next_id += 1;
        let id = next_id;
        let activity = Arc::new(Activity::new());
        // A client connects to send a request: its first head is timed from now, and a
        // connection that never sends one is closed like a slow head.
        activity.bytes_read();
        open.insert(id, activity.clone());
        let service = Tracked {
            router: router.clone(),
            activity: activity.clone(),
        };
        let (refuse, refused) = oneshot::channel();
        let io = TokioIo::new(Watched {
            inner: Some(stream),
            activity: activity.clone(),
            head: HeadScan::default(),
            refuse: Some(refuse),
        });
        let router = router.clone();
        let connection = graceful.watch(http.serve_connection(io, service));
        let header_timeout = limits.header_timeout;
        let open = open.clone();
        tokio::spawn(async move {
            let gauge = metrics::gauge!("http_connections_open");
            gauge.increment(1.0);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = activity.head_overdue(header_timeout) => {
                    metrics::counter!("http_slow_request_heads_total").increment(1);
                    tracing::debug!("closed a connection whose request head was too slow");
                }
                () = activity.evicted.cancelled() => {
                    metrics::counter!("http_connections_evicted_total").increment(1);
                    tracing::debug!("closed an idle connection to make room at the connection limit");
                }
                Ok((stream, status)) = refused => {
                    refuse_head(stream, status, router).await;
                }
            }
            open.remove(id);
            gauge.decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The open connections, so that one can make room at the limit.
#[derive(Default)]
struct Open(Mutex<HashMap<u64, Arc<Activity>>>);

impl Open {
    fn insert(&self, id: u64, activity: Arc<Activity>) {
        self.0
            .lock()
            .expect("connections lock")
            .insert(id, activity);
    }

    fn remove(&self, id: u64) {
        self.0.lock().expect("connections lock").remove(&id);
    }

    /// Closes the connection with no request in flight that matters least: the oldest
    /// unfinished request head (older than [`EVICTION_GRACE`]), else the oldest idle
    /// connection. Runs only at the limit.
    fn evict_one(&self) {
        let open = self.0.lock().expect("connections lock");
        let now = Instant::now();
        let victim = open
            .iter()
            .filter(|(_, a)| {
                a.in_flight.load(Ordering::Acquire) == 0
                    && !a.evicted.is_cancelled()
                    && a.head_started_at()
                        .is_none_or(|started| now.duration_since(started) >= EVICTION_GRACE)
            })
            .min_by_key(|(id, a)| {
                let head = a.head_started_at();
                (head.is_none(), head, **id)
            });
        if let Some((_, activity)) = victim {
            activity.evicted.cancel();
        }
    }
}

/// What one connection is doing: requests in flight, and when the head being read started.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `epoch` at which the current head's first byte arrived, plus one;
    /// zero while no head is being read.
    head_started: AtomicU64,
    head_begins: Notify,
    /// Fired to close the connection and make room at the limit.
    evicted: CancellationToken,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(0),
            head_begins: Notify::new(),
            evicted: CancellationToken::new(),
        }
    }

    /// When the head being read started (as a comparable instant), if one is.
    fn head_started_at(&self) -> Option<Instant> {
        match self.head_started.load(Ordering::Acquire) {
            0 => None,
            ms => Some(self.epoch + Duration::from_millis(ms)),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Bytes arrived: with no request in flight they start a request head (answers whether
    /// they did).
    fn bytes_read(&self) -> bool {
        let starts = self.in_flight.load(Ordering::Acquire) == 0
            && self.head_started.load(Ordering::Acquire) == 0;
        if starts {
            self.head_started.store(self.now_ms(), Ordering::Release);
            self.head_begins.notify_one();
        }
        starts
    }

    /// Whether bytes read now belong to a request head (no request is in flight).
    fn reading_head(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
    }

    fn answer_done(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Completes once a request head has taken longer than `limit` from its first byte.
    async fn head_overdue(&self, limit: Duration) {
        let limit_ms = limit.as_millis() as u64;
        loop {
            self.head_begins.notified().await;
            loop {
                let started = self.head_started.load(Ordering::Acquire);
                if started == 0 {
                    break;
                }
                let elapsed = self.now_ms().saturating_sub(started);
                if elapsed >= limit_ms {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(limit_ms - elapsed)).await;
            }
        }
    }
}

/// How far a request head has come, to refuse one larger than we read.
#[derive(Default)]
struct HeadScan {
    bytes: usize,
    /// Lines ended, not counting empty ones before the request line.
    lines: usize,
    /// Bytes of the current line, but `\r`.
    line: usize,
    /// The empty line that ends the head has arrived.
    done: bool,
    /// Where the request line ended, once it has.
    request_line: Option<usize>,
}

impl HeadScan {
    /// Reads on: the status to refuse the head with, once it is larger than we read.
    fn read(&mut self, bytes: &[u8]) -> Option<StatusCode> {
        if self.done {
            return None;
        }
        let mut taken = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if self.line == 0 && self.lines > 0 => {
                    // What follows is the body, or the next request.
                    self.done = true;
                    taken = i + 1;
                    break;
                }
                b'\n' => {
                    if self.line > 0 && self.lines == 0 {
                        self.request_line = Some(self.bytes + i + 1);
                    }
                    self.lines += usize::from(self.line > 0);
                    self.line = 0;
                }
                b'\r' => {}
                _ => self.line += 1,
            }
        }
        self.bytes += taken;
        if self.bytes <= MAX_HEAD_BYTES && self.lines <= MAX_HEAD_LINES {
            None
        } else if self.request_line.is_none_or(|end| end > MAX_HEAD_BYTES) {
            Some(StatusCode::URI_TOO_LONG)
        } else {
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
    }
}

/// The socket, telling [`Activity`] when bytes arrive, and handing itself over (to the
/// connection's task, which answers and closes) instead of passing on a request head larger
/// than we read.
struct Watched {
    /// `None` once handed over: hyper then waits, until the task drops it.
    inner: Option<TcpStream>,
    activity: Arc<Activity>,
    head: HeadScan,
    refuse: Option<oneshot::Sender<(TcpStream, StatusCode)>>,
}

impl Watched {
    fn inner(&mut self) -> Option<Pin<&mut TcpStream>> {
        self.inner.as_mut().map(Pin::new)
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let Some(inner) = self.inner() else {
            return Poll::Pending;
        };
        let polled = inner.poll_read(cx, buf);
        if buf.filled().len() > before {
            if self.activity.bytes_read() {
                self.head = HeadScan::default();
            }
            if self.activity.reading_head()
                && let Some(status) = self.head.read(&buf.filled()[before..])
            {
                buf.set_filled(before);
                if let (Some(stream), Some(refuse)) = (self.inner.take(), self.refuse.take()) {
                    // The task answers; if it is gone, so is the connection.
                    let _ = refuse.send((stream, status));
                }
                return Poll::Pending;
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.inner() {
            Some(inner) => inner.poll_write(cx, buf),
            None => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.inner() {
            Some(inner) => inner.poll_write_vectored(cx, bufs),
            None => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.inner() {
            Some(inner) => inner.poll_flush(cx),
            None => Poll::Pending,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.inner() {
            Some(inner) => inner.poll_shutdown(cx),
            None => Poll::Pending,
        }
    }
}

/// Answers a request head larger than we read on its connection, as the router answers one it
/// can read that is too large, then closes the connection.
async fn refuse_head(mut stream: TcpStream, status: StatusCode, router: Router) {
    let request = axum::http::Request::builder()
        .uri("/")
        .extension(super::OversizedHead(status))
        .body(Body::empty())
        .expect("a request of constant parts");
    let Ok(answer) = router.oneshot(request).await;
    let (parts, body) = answer.into_parts();
    // Our own problem document: small.
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut out = format!("HTTP/1.1 {}\r\n", parts.status).into_bytes();
    for (name, value) in &parts.headers {
        if ![
            header::CONTENT_LENGTH,
            header::CONNECTION,
            header::TRANSFER_ENCODING,
        ]
        .contains(name)
        {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    let answered = async {
        stream.write_all(&out).await?;
        stream.shutdown().await?;
        // Read on until the client closes, so that closing does not reset the connection
        // under the answer.
        let mut sink = vec![0u8; 16 * 1024];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<_, std::io::Error>(())
    };
    if let Ok(Err(e)) = tokio::time::timeout(LINGER, answered).await {
        tracing::debug!(error = %e, "could not answer an oversized request head");
    }
}

/// The router, telling [`Activity`] when a request starts and when its answer is done.
#[derive(Clone)]
struct Tracked {
    router: Router,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let done = AnswerDone(self.activity.clone());
        let answer = self.router.clone().oneshot(req.map(Body::new));
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|inner| TrackedBody { inner, _done: done }))
        })
    }
}

/// Marks the answer done when hyper drops its body (written out, or the connection gone).
struct AnswerDone(Arc<Activity>);

impl Drop for AnswerDone {
    fn drop(&mut self) {
        self.0.answer_done();
    }
}

struct TrackedBody {
    inner: Body,
    _done: AnswerDone,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_measured_to_its_empty_line_across_reads_and_refused_past_our_limits() {
        let mut scan = HeadScan::default();
        assert_eq!(scan.read(b"\r\nGET / HTTP/1.1\r\nHost: x\r"), None);
        // Its end, then a body larger than any head: not the head's.
        let mut rest = b"\n\r\n".to_vec();
        rest.extend(vec![b'x'; 2 * MAX_HEAD_BYTES]);
        assert_eq!(scan.read(&rest), None);

        let refused = |head: String| HeadScan::default().read(head.as_bytes());
        let long_target = "a".repeat(MAX_HEAD_BYTES);
        assert_eq!(
            refused(format!("GET /{long_target} HTTP/1.1\r\nHost: x\r\n\r\n")),
            Some(StatusCode::URI_TOO_LONG)
        );
        assert_eq!(
            refused(format!("GET / HTTP/1.1\r\nX: {long_target}\r\n\r\n")),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let headers = |n: usize| format!("GET / HTTP/1.1\r\n{}\r\n", "a: 1\r\n".repeat(n));
        assert_eq!(refused(headers(MAX_HEAD_LINES - 1)), None);
        assert_eq!(
            refused(headers(MAX_HEAD_LINES)),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }
}
