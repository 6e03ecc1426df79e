//! A small HTTP server for loopback listeners that any local process can reach (the credential
//! endpoints, the sign-in redirect listener): hyper on a tokio runtime of its own, with every
//! resource a client can make us hold bounded — connections (below the process's file limit, so
//! accept never runs out of descriptors), header bytes (431), body bytes (413), time to send a
//! request head or body and to take an answer. Accept errors are waited out instead of ending the
//! listener, and a panicking handler costs its one request a 500. Handlers are plain functions of
//! a request; work that may block runs on a bounded blocking pool.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::Method;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Semaphore};

/// Request line and headers together; more is answered 431. SDKs send well under 1 KB.
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// A connection's read buffer (hyper's floor is 8 KB).
const MAX_BUFFER_BYTES: usize = 32 * 1024;
/// Request bodies: the page's API takes small JSON documents; nothing else takes a body.
pub const MAX_BODY_BYTES: usize = 4096;
/// How long a client may take to send a request's head (also the idle time allowed between
/// kept-alive requests) or its body, or to take an answer off the socket.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once never exceed this, nor the file limit less `RESERVED_FILES`.
const MAX_CONNECTIONS: usize = 1024;
/// Descriptors kept for everything else the process opens: the cache and its locks, config
/// files, the STS connection, a child's pipes.
const RESERVED_FILES: usize = 64;
/// Threads for work that may block (an STS call, an MFA prompt on the terminal).
const BLOCKING_THREADS: usize = 4;
/// Where the back-off after a failed accept stops growing.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// A random token, hex-encoded: 256 bits from the OS.
pub fn random_token() -> anyhow::Result<String> {
    Ok(crate::digest::hex(&random_bytes()?))
}

pub fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(bytes)
}

/// Compares secrets without revealing, through timing, how much of a guess was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A request as the handlers see it: the head, and a body already read within its bounds.
pub struct Request {
    pub method: Method,
    /// The path, still percent-encoded, without the query.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    /// A header's value, if present and printable ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Host a request names is one of ours: a page from another site that rebinds its own
    /// name to 127.0.0.1 still sends its own name here.
    pub fn host_allowed(&self, allowed: &[String]) -> bool {
        self.header("Host")
            .is_some_and(|host| allowed.iter().any(|a| a.eq_ignore_ascii_case(host)))
    }

    /// Relayed by a proxy, as in the SSRF attacks IMDSv2 was made against: refused everywhere.
    pub fn forwarded(&self) -> bool {
        self.headers.contains_key("X-Forwarded-For") || self.headers.contains_key("Forwarded")
    }
}

pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Error messages sent to clients: one line, bounded. Whatever a message quotes from elsewhere
/// (an STS answer, a file) cannot make an answer long or multi-line.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// `message` as one line of at most `MAX_MESSAGE_CHARS` characters.
pub fn one_line(message: &str) -> String {
    let flat: String = message
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match flat.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

impl Reply {
    pub fn json(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "application/json",
            body,
            headers: Vec::new(),
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A JSON error body that says what went wrong, as the ECS endpoint's clients expect.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({ "code": code, "message": one_line(message) }).to_string(),
        )
    }

    fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = hyper::StatusCode::from_u16(self.status)
            .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        // Credentials and tokens: nothing between here and the client keeps a copy.
        headers.insert(
            hyper::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// What a handler answers: a reply now, or work that may block (an STS call, a cache lock, an
/// MFA prompt), which runs on the blocking pool so that it never stalls the runtime's workers.
pub enum Answer {
    Now(Reply),
    Blocking(Box<dyn FnOnce() -> Reply + Send>),
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer::Now(reply)
    }
}

impl Answer {
    pub fn blocking(job: impl FnOnce() -> Reply + Send + 'static) -> Self {
        Answer::Blocking(Box::new(job))
    }
}

/// Handlers are plain functions of a request: the server owns everything asynchronous.
pub type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

fn internal_error() -> Reply {
    Reply::error(
        500,
        "InternalError",
        "aws-runas failed answering this request",
    )
}

/// A running server: its address, and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: oneshot::Sender<()>,
}

impl Running {
    pub fn stop(self) {
        let _ = self.stop.send(());
        // A handler blocked on a terminal prompt must not keep the process from exiting.
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Binds `addr` and answers requests with the handler `make` builds for the bound address (its
/// Host checks need the port), on a runtime of its own, until stopped.
pub fn start(
    addr: &str,
    make: impl FnOnce(SocketAddr) -> anyhow::Result<Arc<Handler>>,
) -> anyhow::Result<Running> {
    start_with_body_limit(addr, MAX_BODY_BYTES, make)
}

/// `start`, taking request bodies of up to `max_body` bytes (a SAML response posted by a
/// browser is tens of kilobytes; the credential endpoints keep the small default).
pub fn start_with_body_limit(
    addr: &str,
    max_body: usize,
    make: impl FnOnce(SocketAddr) -> anyhow::Result<Arc<Handler>>,
) -> anyhow::Result<Running> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    serve_bound(vec![listener], max_body, make)
}

/// `start_with_body_limit` on sockets already bound, served as one: a name that stands for
/// several loopback addresses (`localhost`: 127.0.0.1 and ::1) is answered on each, with one
/// handler and one bound on connections. `make` is given the first one's address.
pub fn serve_bound(
    listeners: Vec<std::net::TcpListener>,
    max_body: usize,
    make: impl FnOnce(SocketAddr) -> anyhow::Result<Arc<Handler>>,
) -> anyhow::Result<Running> {
    let first = listeners.first().context("no socket to serve")?;
    let bound = first.local_addr()?;
    for listener in &listeners {
        listener.set_nonblocking(true)?;
    }
    let handler = make(bound)?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("aws-runas-server")
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    let listeners = {
        let _inside = runtime.enter();
        listeners
            .into_iter()
            .map(TcpListener::from_std)
            .collect::<io::Result<Vec<_>>>()?
    };
    let (stop, stopped) = oneshot::channel();
    runtime.spawn(accept_loop(listeners, handler, max_body, stopped));
    Ok(Running {
        addr: bound,
        runtime,
        stop,
    })
}

/// How many connections are served at once: what the file limit leaves room for.
fn connection_limit() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
            let files = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
            return files
                .saturating_sub(RESERVED_FILES)
                .clamp(8, MAX_CONNECTIONS);
        }
    }
    MAX_CONNECTIONS / 4
}

/// The next connection on any of `listeners`.
async fn accept_any(listeners: &[TcpListener]) -> io::Result<(TcpStream, SocketAddr)> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted);
            }
        }
        Poll::Pending
    })
    .await
}

async fn accept_loop(
    listeners: Vec<TcpListener>,
    handler: Arc<Handler>,
    max_body: usize,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(connection_limit()));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(IO_TIMEOUT)
        .max_buf_size(MAX_BUFFER_BYTES)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let mut backoff = Duration::from_millis(10);
    loop {
        // Past the limit, new connections wait in the kernel's backlog, holding no descriptor
        // of ours, until one served closes or times out.
        let slot = tokio::select! {
            _ = &mut stopped => return,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = accept_any(&listeners) => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(10);
                stream
            }
            Err(e) => {
                // Out of descriptors (EMFILE, ENFILE), or a connection reset before we took it:
                // the listener stays; wait for descriptors to be freed and try again.
                tracing::warn!("accepting a connection failed: {e}; retrying in {backoff:?}");
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service =
            hyper::service::service_fn(move |request| answer(request, handler.clone(), max_body));
        let connection = http.serve_connection(TokioIo::new(Stalled::new(stream)), service);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
}

async fn answer(
    request: hyper::Request<Incoming>,
    handler: Arc<Handler>,
    max_body: usize,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (head, body) = request.into_parts();
    // Most requests (every SDK's GET) have no body: no timer, no collecting.
    let body = if body.is_end_stream() {
        Bytes::new()
    } else {
        match read_body(body, max_body).await {
            Ok(body) => body,
            Err(reply) => return Ok(reply.into_response()),
        }
    };
    let request = Request {
        method: head.method,
        path: head.uri.path().to_owned(),
        query: head.uri.query().map(str::to_owned),
        headers: head.headers,
        body,
    };
    let reply = match catch_unwind(AssertUnwindSafe(|| run_handler(handler.as_ref(), &request))) {
        Ok(Answer::Now(reply)) => reply,
        Ok(Answer::Blocking(job)) => tokio::task::spawn_blocking(job)
            .await
            .unwrap_or_else(|_| internal_error()),
        Err(_) => internal_error(),
    };
    // Method, path and status only: the query may carry the page's secret, headers the tokens,
    // bodies the credentials.
    tracing::info!("{} {} -> {}", request.method, request.path, reply.status);
    Ok(reply.into_response())
}

/// A request's body, within its bounds of size and time.
async fn read_body(body: Incoming, max_body: usize) -> Result<Bytes, Reply> {
    match tokio::time::timeout(IO_TIMEOUT, Limited::new(body, max_body).collect()).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(_)) => Err(Reply::error(
            413,
            "PayloadTooLarge",
            "the request body is too large",
        )),
        Err(_) => Err(Reply::error(
            408,
            "RequestTimeout",
            "the request body came too slowly",
        )),
    }
}

fn run_handler(handler: &Handler, request: &Request) -> Answer {
    // Debug builds only: the tests' way to show a panicking request costs only itself.
    #[cfg(debug_assertions)]
    if std::env::var_os("AWSRUNAS_TEST_PANIC").is_some() {
        match request.path.as_str() {
            "/test-panic" => panic!("a panic in a handler (test trigger)"),
            "/test-panic-blocking" => {
                return Answer::blocking(|| panic!("a panic in blocking work (test trigger)"))
            }
            _ => {}
        }
    }
    handler(request)
}

/// A connection whose writes fail once the peer has taken nothing for `IO_TIMEOUT`: a client
/// that sends requests and never reads the answers cannot hold a connection slot forever.
struct Stalled {
    stream: TcpStream,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Stalled {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            deadline: None,
        }
    }

    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.deadline = None;
            return poll;
        }
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(IO_TIMEOUT)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client takes no answers",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Stalled {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stalled {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}

/// The Host values under which a server bound to `addr` is reached from this machine.
pub fn local_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        addr.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_and_bounds_a_message() {
        assert_eq!(one_line("a\n  b\tc\u{7}d"), "a b c d");
        let long = "x".repeat(1000);
        let short = one_line(&long);
        assert_eq!(short.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(short.ends_with('…'));
    }
}
