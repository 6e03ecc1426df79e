//! The loopback redirect listener of RFC 8252: `http://127.0.0.1:PORT/oauth/callback` on a port
//! the kernel picks, waiting (bounded) for the one redirect that carries our `state`. Anything
//! else that reaches it — other paths, a wrong or missing state, from whatever local process —
//! is answered with an error and changes nothing; too many of them end the wait. The HTTP side
//! (bounded headers, connections and time) is `http_server`'s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http_server::{start, Handler, Reply, Request, Running};

pub const CALLBACK_PATH: &str = "/oauth/callback";
/// Stray requests tolerated before the listener gives up (a flood is not waited out).
const MAX_STRAY: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("cannot listen on 127.0.0.1 for the sign-in's redirect: {0}")]
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

impl Listener {
    /// Listens for the redirect that carries `state`, at [`CALLBACK_PATH`] on a port the
    /// kernel picks.
    pub fn bind(state: &str) -> Result<Self, LoopbackError> {
        Self::bind_at(0, CALLBACK_PATH, state)
    }

    /// Listens on 127.0.0.1:`port` (0: any) for the redirect to `path` that carries `state`:
    /// a client registered with a fixed redirect URI gets it there.
    pub fn bind_at(port: u16, path: &str, state: &str) -> Result<Self, LoopbackError> {
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
        let running = start(&format!("127.0.0.1:{port}"), |_| {
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
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
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
        let l = Listener::bind_at(port, "/callback", "s").unwrap();
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

    #[test]
    fn nobody_coming_is_a_bounded_wait() {
        let l = Listener::bind("s").unwrap();
        let e = l
            .wait_for_code(Duration::from_millis(300), || {})
            .unwrap_err();
        assert!(matches!(e, LoopbackError::Timeout(_)));
    }
}
