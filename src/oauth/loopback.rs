//! The loopback redirect listener of RFC 8252: `http://127.0.0.1:PORT/oauth/callback` on a port
//! the kernel picks (or the registered redirect URI's host, port and path), waiting (bounded)
//! for the one redirect that carries our `state`. Anything else that reaches it — other paths,
//! a wrong or missing state, from whatever local process — is answered with an error and
//! changes nothing; too many of them end the wait. The HTTP side (bounded headers, connections
//! and time) is `http_server`'s.
//!
//! A redirect URI at `localhost` is listened for on 127.0.0.1 and [::1] alike, on one port: the
//! browser resolves the name, and many resolve it to ::1 first. A machine without an IPv6
//! loopback gets 127.0.0.1 alone; an [::1] port some other program holds is refused rather
//! than left to it, since the browser might bring it the code.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http_server::{serve_bound, Handler, Reply, Request, Running, MAX_BODY_BYTES};

pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Stray requests tolerated before the listener gives up (a flood is not waited out).
const MAX_STRAY: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("cannot listen for the sign-in's redirect: {0}")]
    Listen(String),
    #[error("the sign-in was not completed in the browser within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("the sign-in was refused: {0}")]
    Refused(String),
    #[error("too many requests to the sign-in's redirect listener that were not the sign-in")]
    Flooded,
}

/// What the handler saw that ends the wait.
enum Outcome {
    Code(String),
    Refused(String),
    Flooded,
}

pub struct Listener {
    running: Option<Running>,
    port: u16,
    outcome: Mutex<mpsc::Receiver<Outcome>>,
}

fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// A small HTML page for the browser (the loopback listeners' answers to a person).
pub(crate) fn page(status: u16, text: &str) -> Reply {
    let mut reply = Reply::text(
        status,
        format!("<!doctype html><meta charset=utf-8><title>aws-runas</title><p>{text}</p>\n"),
    );
    reply.content_type = "text/html; charset=utf-8";
    reply
}

/// Which loopback addresses a redirect URI's host stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loopback {
    V4,
    V6,
    /// `localhost`: either, as the browser resolves it.
    Both,
}

impl Loopback {
    /// For a registered redirect URI: `[::1]` and `localhost` as named, anything else 127.0.0.1.
    pub fn of(uri: &url::Url) -> Self {
        match uri.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Loopback::Both,
            Some(url::Host::Ipv6(a)) if a.is_loopback() => Loopback::V6,
            _ => Loopback::V4,
        }
    }
}

/// Whether binding [::1] failed because the machine has no IPv6 loopback (no IPv6 at all, or
/// none on `lo`), rather than because the port is taken.
fn no_ipv6_loopback(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::AddrNotAvailable {
        return true;
    }
    #[cfg(unix)]
    return matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
    );
    #[cfg(windows)]
    // WSAEAFNOSUPPORT, WSAEPROTONOSUPPORT.
    return matches!(e.raw_os_error(), Some(10047 | 10043));
    #[cfg(not(any(unix, windows)))]
    false
}

/// How many kernel-picked ports are tried for one free on both 127.0.0.1 and [::1].
const PORT_TRIES: usize = 8;

/// The sockets to listen on: one port, on every address `hosts` stands for.
fn bind_loopback(hosts: Loopback, port: u16) -> Result<Vec<TcpListener>, LoopbackError> {
    let listen = |addr: SocketAddr| {
        TcpListener::bind(addr).map_err(|e| LoopbackError::Listen(format!("{addr}: {e}")))
    };
    let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match hosts {
        Loopback::V4 => return Ok(vec![listen(v4(port))?]),
        Loopback::V6 => return Ok(vec![listen(v6(port))?]),
        Loopback::Both => {}
    }
    let tries = if port == 0 { PORT_TRIES } else { 1 };
    for _ in 0..tries {
        let first = listen(v4(port))?;
        let bound = first
            .local_addr()
            .map_err(|e| LoopbackError::Listen(e.to_string()))?
            .port();
        match TcpListener::bind(v6(bound)) {
            Ok(second) => return Ok(vec![first, second]),
            Err(e) if no_ipv6_loopback(&e) => return Ok(vec![first]),
            // The kernel's pick for 127.0.0.1 is taken on ::1: another pick.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port == 0 => {}
            Err(e) => return Err(LoopbackError::Listen(format!("{}: {e}", v6(bound)))),
        }
    }
    Err(LoopbackError::Listen(format!(
        "no port free on both 127.0.0.1 and [::1] in {PORT_TRIES} tries"
    )))
}

impl Listener {
    /// Listens for the redirect that carries `state`, at [`CALLBACK_PATH`] on 127.0.0.1, on a
    /// port the kernel picks.
    pub fn bind(state: &str) -> Result<Self, LoopbackError> {
        Self::bind_at(Loopback::V4, 0, CALLBACK_PATH, state)
    }

    /// Listens where a client's registered redirect URI points (its host, its port or any if
    /// it names none, its path) for the redirect that carries `state`.
    pub fn bind_for(uri: &url::Url, state: &str) -> Result<Self, LoopbackError> {
        Self::bind_at(
            Loopback::of(uri),
            uri.port().unwrap_or(0),
            uri.path(),
            state,
        )
    }

    /// Listens on `hosts`:`port` (0: any) for the redirect to `path` that carries `state`.
    pub fn bind_at(
        hosts: Loopback,
        port: u16,
        path: &str,
        state: &str,
    ) -> Result<Self, LoopbackError> {
        let listeners = bind_loopback(hosts, port)?;
        let path = path.to_owned();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let state = state.to_owned();
        let stray = AtomicUsize::new(0);
        let handler = move |request: &Request| {
            let query = request.query.as_deref().unwrap_or("");
            let send = |outcome| {
                let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(outcome);
            };
            let ours = request.path == path && param(query, "state") == Some(state.clone());
            let code = param(query, "code").filter(|c| !c.is_empty());
            if ours {
                if let Some(error) = param(query, "error") {
                    send(Outcome::Refused(crate::config::shown(&error)));
                    return page(400, "The sign-in was refused. You can close this window.").into();
                }
                if let Some(code) = code {
                    send(Outcome::Code(code));
                    return page(
                        200,
                        "Signed in. You can close this window and return to the terminal.",
                    )
                    .into();
                }
            }
            if stray.fetch_add(1, Ordering::SeqCst) + 1 >= MAX_STRAY {
                send(Outcome::Flooded);
            }
            page(400, "This is not the sign-in aws-runas is waiting for.").into()
        };
        let running = serve_bound(listeners, MAX_BODY_BYTES, |_| {
            Ok(Arc::new(handler) as Arc<Handler>)
        })
        .map_err(|e| LoopbackError::Listen(format!("{e:#}")))?;
        Ok(Self {
            port: running.addr.port(),
            running: Some(running),
            outcome: Mutex::new(rx),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// The authorization code of the redirect carrying our state; `tick` is called while
    /// waiting (a spinner), at least every quarter second.
    pub fn wait_for_code(
        &self,
        limit: Duration,
        mut tick: impl FnMut(),
    ) -> Result<String, LoopbackError> {
        let deadline = Instant::now() + limit;
        let outcome = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LoopbackError::Timeout(limit));
            }
            tick();
            match outcome.recv_timeout(left.min(Duration::from_millis(250))) {
                Ok(Outcome::Code(code)) => return Ok(code),
                Ok(Outcome::Refused(why)) => return Err(LoopbackError::Refused(why)),
                Ok(Outcome::Flooded) => return Err(LoopbackError::Flooded),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(LoopbackError::Listen("the listener stopped".into()))
                }
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    fn get(port: u16, target: &str) -> String {
        get_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), target)
    }

    fn get_at(addr: SocketAddr, target: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn only_the_redirect_with_our_state_counts() {
        let l = Listener::bind("s1").unwrap();
        let port = l.port;
        let client = std::thread::spawn(move || {
            let others = [
                get(port, "/favicon.ico"),
                get(port, "/oauth/callback?code=stolen&state=guess"),
                get(port, "/oauth/callback?code=stolen"),
            ];
            let ours = get(port, "/oauth/callback?code=c%2B1&state=s1");
            (others, ours)
        });
        let code = l.wait_for_code(Duration::from_secs(30), || {}).unwrap();
        assert_eq!(code, "c+1");
        let (others, ours) = client.join().unwrap();
        for o in others {
            assert!(o.starts_with("HTTP/1.1 400"), "{o}");
        }
        assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
    }

    #[test]
    fn a_refusal_and_a_flood_end_the_wait() {
        let l = Listener::bind("s").unwrap();
        let port = l.port;
        std::thread::spawn(move || get(port, "/oauth/callback?error=access_denied&state=s"));
        let e = l.wait_for_code(Duration::from_secs(30), || {}).unwrap_err();
        assert!(e.to_string().contains("access_denied"), "{e}");

        let l = Listener::bind("s").unwrap();
        let port = l.port;
        std::thread::spawn(move || {
            for _ in 0..MAX_STRAY {
                get(port, "/x");
            }
        });
        let e = l.wait_for_code(Duration::from_secs(30), || {}).unwrap_err();
        assert!(matches!(e, LoopbackError::Flooded), "{e}");
    }

    #[test]
    fn a_huge_header_and_garbage_do_not_stop_the_real_redirect() {
        let l = Listener::bind("s").unwrap();
        let port = l.port;
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = write!(
                s,
                "GET /oauth/callback?state=guess&code=x HTTP/1.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(1 << 20)
            );
            drop(s);
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = s.write_all(b"\x00\x01\xff garbage\r\n\r\n");
            drop(s);
            get(port, "/oauth/callback?code=real&state=s")
        });
        let code = l.wait_for_code(Duration::from_secs(30), || {}).unwrap();
        let ours = client.join().unwrap();
        assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
        assert_eq!(code, "real");
    }

    #[test]
    fn a_fixed_port_and_path_as_a_registered_redirect_uri_names_them() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let l = Listener::bind_for(
            &url::Url::parse(&format!("http://127.0.0.1:{port}/callback")).unwrap(),
            "s",
        )
        .unwrap();
        assert_eq!(l.port(), port);
        let client = std::thread::spawn(move || {
            let other = get(port, "/oauth/callback?code=x&state=s");
            (other, get(port, "/callback?code=ok&state=s"))
        });
        let code = l.wait_for_code(Duration::from_secs(30), || {}).unwrap();
        let (other, ours) = client.join().unwrap();
        assert!(other.starts_with("HTTP/1.1 400"), "{other}");
        assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
        assert_eq!(code, "ok");
    }

    /// Whether this machine has an IPv6 loopback to test with.
    fn ipv6_loopback() -> bool {
        match TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
            Ok(_) => true,
            Err(e) if no_ipv6_loopback(&e) => false,
            Err(e) => panic!("binding [::1]: {e}"),
        }
    }

    #[test]
    fn a_localhost_redirect_uri_is_answered_on_ipv6_and_ipv4_loopback() {
        let uri = |port: u16| url::Url::parse(&format!("http://localhost:{port}/cb")).unwrap();
        assert_eq!(Loopback::of(&uri(8400)), Loopback::Both);
        assert_eq!(
            Loopback::of(&url::Url::parse("http://[::1]:8400/cb").unwrap()),
            Loopback::V6
        );
        assert_eq!(
            Loopback::of(&url::Url::parse("http://127.0.0.1:8400/cb").unwrap()),
            Loopback::V4
        );
        if !ipv6_loopback() {
            eprintln!("skipped: this machine has no IPv6 loopback");
            return;
        }
        // No port in the URI: the kernel's pick, the same on both.
        let l = Listener::bind_for(&url::Url::parse("http://localhost/cb").unwrap(), "s").unwrap();
        let port = l.port();
        let client = std::thread::spawn(move || {
            let v4 = get_at(
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                "/cb?state=guess",
            );
            let v6 = get_at(
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
                "/cb?code=v6&state=s",
            );
            (v4, v6)
        });
        let code = l.wait_for_code(Duration::from_secs(30), || {}).unwrap();
        let (v4, v6) = client.join().unwrap();
        assert!(v4.starts_with("HTTP/1.1 400"), "{v4}");
        assert!(v6.starts_with("HTTP/1.1 200"), "{v6}");
        assert_eq!(code, "v6");
        drop(l);

        // A fixed port, as registered: the redirect is taken over IPv4 too.
        let port = TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let l = Listener::bind_for(&uri(port), "s").unwrap();
        assert_eq!(l.port(), port);
        let client = std::thread::spawn(move || get(port, "/cb?code=v4&state=s"));
        assert_eq!(
            l.wait_for_code(Duration::from_secs(30), || {}).unwrap(),
            "v4"
        );
        assert!(client.join().unwrap().starts_with("HTTP/1.1 200"));
        drop(l);

        // Another program on [::1] at that port: refused, not shared with it.
        let _held = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).unwrap();
        let e = Listener::bind_for(&uri(port), "s").err().unwrap();
        assert!(e.to_string().contains("[::1]"), "{e}");
    }

    #[test]
    fn nobody_coming_is_a_bounded_wait() {
        let l = Listener::bind("s").unwrap();
        let e = l
            .wait_for_code(Duration::from_millis(300), || {})
            .unwrap_err();
        assert!(matches!(e, LoopbackError::Timeout(_)));
    }
}
