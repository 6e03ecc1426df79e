//! Local credential endpoints: an ECS-container-style one (what exec mode hands its command, and
//! `serve ecs`), an EC2-instance-metadata one (`serve ec2`), and the profile page. All listen on
//! loopback only and are guarded: a random token per start, a Host check against DNS
//! rebinding, and no cross-origin writes. aws-runas v3 served credentials to anyone local who
//! asked; aws-vault added a token and a Host check after a DNS-rebinding report.

pub mod broker;
pub mod ec2;
pub mod ecs;
pub mod page;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tiny_http::{Header, Request, Response, Server};

/// Worker threads per server: enough to overlap a slow refresh with cache hits.
const WORKERS: usize = 8;

/// A random token, hex-encoded: 256 bits from the OS.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Compares secrets without revealing, through timing, how much of a guess was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The Host a request names is one of ours: a page from another site that rebinds its own name
/// to 127.0.0.1 still sends its own name here.
pub fn host_allowed(request: &Request, allowed: &[String]) -> bool {
    header(request, "Host").is_some_and(|host| allowed.iter().any(|a| a.eq_ignore_ascii_case(host)))
}

/// A request body of at most `limit` bytes (the API takes small JSON documents).
pub fn body(request: &mut Request, limit: u64) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    request
        .as_reader()
        .take(limit)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The path of a request, without its query.
pub fn path(request: &Request) -> &str {
    request.url().split('?').next().unwrap_or("/")
}

pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
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
            serde_json::json!({ "code": code, "message": message }).to_string(),
        )
    }
}

pub type Handler = dyn Fn(&mut Request) -> Reply + Send + Sync;

/// A running server: its address, and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    server: Arc<Server>,
    stopping: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn stop(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in &self.workers {
            self.server.unblock();
        }
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

/// Binds `addr` and answers requests with the handler `make` builds for the bound address (its
/// Host checks need the port), on worker threads until stopped.
pub fn start(addr: &str, make: impl FnOnce(SocketAddr) -> Arc<Handler>) -> anyhow::Result<Running> {
    let server = Server::http(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow::anyhow!("{addr} is not an IP address"))?;
    let handler = make(bound);
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let workers = (0..WORKERS)
        .map(|_| {
            let (server, handler, stopping) = (server.clone(), handler.clone(), stopping.clone());
            std::thread::spawn(move || {
                while !stopping.load(Ordering::SeqCst) {
                    let Ok(request) = server.recv() else { break };
                    answer(request, handler.as_ref());
                }
            })
        })
        .collect();
    Ok(Running {
        addr: bound,
        server,
        stopping,
        workers,
    })
}

fn answer(mut request: Request, handler: &Handler) {
    let reply = handler(&mut request);
    // Method, path and status only: headers carry the token, bodies the credentials.
    tracing::info!("{} {} -> {}", request.method(), request.url(), reply.status);
    let mut response = Response::from_string(reply.body).with_status_code(reply.status);
    let content_type =
        Header::from_bytes("Content-Type", reply.content_type).expect("valid header");
    response.add_header(content_type);
    for (name, value) in reply.headers {
        if let Ok(h) = Header::from_bytes(name, value.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
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
