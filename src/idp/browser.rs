//! The `browser` provider, for IdPs whose sign-in no client can script: the user's own browser
//! signs in, and the IdP's auto-posting form delivers the SAML response to a one-shot
//! service-provider endpoint (ACS) of ours, `http://127.0.0.1:PORT/saml/acs`. The port is fixed
//! (a default, or `saml_browser_port`), since the IdP posts only to the ACS URL registered with
//! it. We print (and, where there is a browser, open) a one-time local start link,
//! `http://127.0.0.1:PORT/start?token=T1`, which redirects to the IdP's sign-in URL with
//! `RelayState=T2` added; the IdP hands RelayState back in its post, and only a post carrying T2
//! is taken. The HTTP side (connections, header and body bounds, slow clients) is
//! `http_server`'s; the wait is bounded, and runs only where a terminal can see it.
//!
//! What another local process (any user's: loopback has no owners) can do, and what it gets:
//! - Take the port first: our bind fails, and we say so and stop before printing or opening
//!   anything, so no browser is sent to it by us.
//! - Post an assertion of its own (one AWS would accept: signed by an IdP of the attacker's, for
//!   a role of the attacker's) to make us hand its credentials to the user: refused without T2,
//!   which only the start link's redirect reveals, and reported on the terminal. Where the
//!   profile names `role_arn`, AWS refuses a foreign assertion for it anyway: the role trusts
//!   only the user's IdP.
//! - Learn T1: it is on the user's terminal, and in the opener's command line for the moment
//!   the opener runs (readable in /proc). The start link works once: whoever opens it second,
//!   the user's browser or the intruder, gets a page saying so and the terminal a warning, so a
//!   theft does not go unnoticed. An intruder quick enough to follow the link and post first
//!   still wins that race (the user's browser then finds the endpoint gone, and with `role_arn`
//!   set AWS refuses the assertion); printing only (`RUNAS_NO_BROWSER`) keeps T1 off
//!   command lines altogether.
//! - Flood it, hold connections idle or trickle a body: bounded by `http_server` (connections,
//!   10 s to send a head or body, body size) and here (after `MAX_STRAY` requests that are not
//!   the sign-in the wait ends with one line), so the real post still gets through or the user
//!   hears why not.
//! - A web page in the user's browser posting to the ACS (CSRF): same as a process without T2.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use url::Url;

use crate::config::signin::BrowserWait;
use crate::http_server::{
    local_hosts, random_token, same_secret, start_with_body_limit, Handler, Request, Running,
};
use crate::idp::assertion;
use crate::oauth::loopback::page;

pub const ACS_PATH: &str = "/saml/acs";
const START_PATH: &str = "/start";
/// A SAML response with many roles and groups, its signature and certificate, base64-encoded,
/// then form-encoded: tens of kilobytes; a quarter megabyte is past any real one.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Requests that are not the sign-in tolerated before the wait ends: a browser asks for a
/// favicon or two, a flood is not waited out.
const MAX_STRAY: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("cannot listen on 127.0.0.1:{port} for the browser's SAML response ({reason}): if another program holds it, set saml_browser_port (or RUNAS_SAML_BROWSER_PORT) to another port registered at the identity provider")]
    Listen { port: u16, reason: String },
    #[error("the sign-in was not completed in the browser within {}", crate::duration::human(*.0))]
    Timeout(Duration),
    #[error("too many requests to 127.0.0.1:{0} that were not the sign-in: gave up waiting")]
    Flooded(u16),
    #[error("the browser delivered an unusable SAML response: {0}")]
    Unusable(assertion::AssertionError),
}

/// What the handler saw: the end of the wait, or something the person should hear meanwhile.
enum Event {
    Response(String),
    Unusable(assertion::AssertionError),
    Flooded,
    Warning(&'static str),
}

/// The listening endpoint, bound before anything is shown, stopped when dropped.
pub struct Acs {
    running: Option<Running>,
    port: u16,
    start_token: String,
    events: mpsc::Receiver<Event>,
}

/// `url` with our RelayState in place of any it had (that one only says where the AWS console
/// would land, which a CLI sign-in has no use for).
fn with_relay_state(url: &Url, relay_state: &str) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "RelayState")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("RelayState", relay_state);
    out
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Acs {
    /// Listens on 127.0.0.1:`port` for the post that follows a sign-in started at `sign_in_url`.
    pub fn bind(port: u16, sign_in_url: &Url) -> Result<Self, BrowserError> {
        let random = || {
            random_token().map_err(|e| BrowserError::Listen {
                port,
                reason: format!("{e:#}"),
            })
        };
        let start_token = random()?;
        let relay_state = random()?;
        let target = with_relay_state(sign_in_url, &relay_state);
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let started = AtomicBool::new(false);
        let answered = AtomicBool::new(false);
        let warned_relay = AtomicBool::new(false);
        let stray = AtomicUsize::new(0);
        let expected_start = start_token.clone();
        let make = move |addr| {
            let hosts = local_hosts(addr);
            let handler = move |request: &Request| {
                let send = |event| {
                    let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(event);
                };
                let stray_one = |status, text| {
                    if stray.fetch_add(1, Ordering::SeqCst) + 1 == MAX_STRAY {
                        send(Event::Flooded);
                    }
                    page(status, text)
                };
                if !request.host_allowed(&hosts) || request.forwarded() {
                    return stray_one(403, "This is not the sign-in aws-runas is waiting for.")
                        .into();
                }
                match (request.method.as_str(), request.path.as_str()) {
                    ("GET", START_PATH) => {
                        let token = request
                            .query
                            .as_deref()
                            .and_then(|q| form_field(q.as_bytes(), "token"))
                            .unwrap_or_default();
                        if !same_secret(&token, &expected_start) {
                            return stray_one(
                                403,
                                "This is not the sign-in link aws-runas printed.",
                            )
                            .into();
                        }
                        if started.swap(true, Ordering::SeqCst) {
                            send(Event::Warning(
                                "the sign-in link was opened a second time (by you, or by another program on this machine); the second one was refused",
                            ));
                            return page(
                                410,
                                "This sign-in link was already used. Continue in the window where it was first opened, or run aws-runas again.",
                            )
                            .into();
                        }
                        let mut reply = page(303, "Going on to the sign-in.");
                        reply.headers.push(("Location", target.to_string()));
                        reply.into()
                    }
                    ("POST", ACS_PATH) => {
                        let relay = form_field(&request.body, "RelayState").unwrap_or_default();
                        if !same_secret(&relay, &relay_state) {
                            // Once: a flood of these must not scroll the terminal away.
                            if !warned_relay.swap(true, Ordering::SeqCst) {
                                send(Event::Warning(
                                "refused a SAML response without this sign-in's RelayState (from another program, or an identity provider that drops RelayState)",
                            ));
                            }
                            return stray_one(
                                403,
                                "This is not the sign-in aws-runas is waiting for.",
                            )
                            .into();
                        }
                        if answered.swap(true, Ordering::SeqCst) {
                            return page(409, "aws-runas already has this sign-in's response.")
                                .into();
                        }
                        let response =
                            form_field(&request.body, "SAMLResponse").unwrap_or_default();
                        match assertion::parse(&response) {
                            Ok(_) => {
                                send(Event::Response(response));
                                page(
                                    200,
                                    "Signed in: aws-runas has the response. You can close this window and return to the terminal.",
                                )
                                .into()
                            }
                            Err(e) => {
                                send(Event::Unusable(e));
                                page(
                                    400,
                                    "The identity provider's response is not one aws-runas can use; the terminal says why. You can close this window.",
                                )
                                .into()
                            }
                        }
                    }
                    (_, ACS_PATH) => {
                        let mut reply = stray_one(405, "The sign-in response is posted here.");
                        reply.headers.push(("Allow", "POST".into()));
                        reply.into()
                    }
                    _ => stray_one(404, "This is not the sign-in aws-runas is waiting for.").into(),
                }
            };
            Ok(Arc::new(handler) as Arc<Handler>)
        };
        let running = start_with_body_limit(&format!("127.0.0.1:{port}"), MAX_BODY_BYTES, make)
            .map_err(|e| BrowserError::Listen {
                port,
                reason: e
                    .chain()
                    .last()
                    .map_or_else(|| e.to_string(), |c| c.to_string()),
            })?;
        Ok(Self {
            port: running.addr.port(),
            running: Some(running),
            start_token,
            events: rx,
        })
    }

    /// The link to open: ours, once, on to the IdP.
    pub fn start_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{START_PATH}?token={}",
            self.port, self.start_token
        )
    }

    /// The base64 SAML response the browser posts; `tick` runs at least every quarter second
    /// (a spinner), `warn` for what the person should know while waiting.
    pub fn wait(
        &self,
        limit: Duration,
        mut tick: impl FnMut(),
        mut warn: impl FnMut(&str),
    ) -> Result<String, BrowserError> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BrowserError::Timeout(limit));
            }
            tick();
            match self
                .events
                .recv_timeout(left.min(Duration::from_millis(250)))
            {
                Ok(Event::Response(r)) => return Ok(r),
                Ok(Event::Unusable(e)) => return Err(BrowserError::Unusable(e)),
                Ok(Event::Flooded) => return Err(BrowserError::Flooded(self.port)),
                Ok(Event::Warning(w)) => warn(w),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(BrowserError::Listen {
                        port: self.port,
                        reason: "the listener stopped".into(),
                    })
                }
            }
        }
    }
}

impl Drop for Acs {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

/// Signs in through the user's browser: binds the endpoint, shows and opens the start link,
/// waits. The caller has made sure a terminal can see this.
pub fn sign_in(profile: &str, sign_in_url: &Url, wait: BrowserWait) -> anyhow::Result<String> {
    let acs = Acs::bind(wait.port, sign_in_url)?;
    let url = acs.start_url();
    let line = format!(
        "aws-runas: to sign in at {} for profile '{profile}', open {url}",
        crate::idp::http::origin(sign_in_url)
    );
    eprintln!("{line}");
    // `aws-runas PROFILE 2>log` on a terminal: the person still needs the link.
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let _ = crate::tty::say(&line);
    }
    crate::tty::open_browser(&url);
    let spinner = std::cell::RefCell::new(crate::tty::Spinner::new(
        "waiting for the sign-in in the browser",
    ));
    let result = acs.wait(
        wait.timeout,
        || spinner.borrow_mut().tick(),
        |w| {
            // Off the spinner's line first, so the warning stands on its own.
            spinner.borrow_mut().done();
            eprintln!("aws-runas: {w}");
        },
    );
    spinner.borrow_mut().done();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use super::*;

    fn send(port: u16, head: &str, body: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "{head} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    fn response(role: &str) -> String {
        use base64::Engine as _;
        let xml = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>{role},arn:aws:iam::123456789012:saml-provider/P</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#
        );
        base64::engine::general_purpose::STANDARD.encode(xml)
    }

    fn location(reply: &str) -> Url {
        let line = reply
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("location:"))
            .unwrap_or_else(|| panic!("no Location: {reply}"));
        Url::parse(line[9..].trim()).unwrap()
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn relay_state_replaces_the_urls_own() {
        let u = Url::parse("https://idp.example/sso?spentityid=x&RelayState=console").unwrap();
        let out = with_relay_state(&u, "t2");
        assert_eq!(
            out.as_str(),
            "https://idp.example/sso?spentityid=x&RelayState=t2"
        );
    }

    #[test]
    fn only_a_post_with_the_start_links_relay_state_is_taken() {
        let idp = Url::parse("https://idp.example/sso?spentityid=aws").unwrap();
        let acs = Acs::bind(free_port(), &idp).unwrap();
        let port = acs.port;
        let start = Url::parse(&acs.start_url()).unwrap();
        let start_target = format!("{}?{}", start.path(), start.query().unwrap());
        let client = std::thread::spawn(move || {
            let forged = format!("SAMLResponse={}&RelayState=guess", response("x"));
            let refused = [
                send(port, "POST /saml/acs", &forged),
                send(port, "GET /saml/acs", ""),
                send(port, "GET /start?token=guess", ""),
                send(port, "POST /other", &forged),
            ];
            let first = send(port, &format!("GET {start_target}"), "");
            let second = send(port, &format!("GET {start_target}"), "");
            let to = location(&first);
            let relay: String = to
                .query_pairs()
                .find(|(k, _)| k == "RelayState")
                .unwrap()
                .1
                .into_owned();
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("SAMLResponse", &response("arn:aws:iam::1:role/R"))
                .append_pair("RelayState", &relay)
                .finish();
            let ours = send(port, "POST /saml/acs", &body);
            (refused, first, second, to, ours)
        });
        let mut warnings = Vec::new();
        let got = acs
            .wait(
                Duration::from_secs(30),
                || {},
                |w| warnings.push(w.to_owned()),
            )
            .unwrap();
        let (refused, first, second, to, ours) = client.join().unwrap();
        assert_eq!(got, response("arn:aws:iam::1:role/R"));
        for (r, status) in refused.iter().zip(["403", "405", "403", "404"]) {
            assert!(r.starts_with(&format!("HTTP/1.1 {status}")), "{r}");
        }
        assert!(first.starts_with("HTTP/1.1 303"), "{first}");
        assert_eq!(to.host_str(), Some("idp.example"));
        assert!(to
            .as_str()
            .starts_with("https://idp.example/sso?spentityid=aws&RelayState="));
        assert!(
            second.starts_with("HTTP/1.1 410"),
            "the start link works once: {second}"
        );
        assert!(ours.starts_with("HTTP/1.1 200"), "{ours}");
        assert!(ours.contains("close this window"), "{ours}");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("RelayState"), "{warnings:?}");
        assert!(warnings[1].contains("second time"), "{warnings:?}");
    }

    #[test]
    fn garbage_with_the_right_relay_state_ends_the_wait_with_why() {
        let idp = Url::parse("https://idp.example/sso").unwrap();
        let acs = Acs::bind(free_port(), &idp).unwrap();
        let port = acs.port;
        let start = Url::parse(&acs.start_url()).unwrap();
        let start_target = format!("{}?{}", start.path(), start.query().unwrap());
        let client = std::thread::spawn(move || {
            let to = location(&send(port, &format!("GET {start_target}"), ""));
            let relay = to
                .query_pairs()
                .find(|(k, _)| k == "RelayState")
                .unwrap()
                .1
                .into_owned();
            send(
                port,
                "POST /saml/acs",
                &format!("SAMLResponse=%%%%&RelayState={relay}"),
            )
        });
        let e = acs
            .wait(Duration::from_secs(30), || {}, |_| {})
            .unwrap_err();
        assert!(client.join().unwrap().starts_with("HTTP/1.1 400"));
        assert_eq!(e.to_string(), "the browser delivered an unusable SAML response: the identity provider's SAML response is not base64");
    }

    #[test]
    fn a_huge_body_a_flood_and_a_taken_port() {
        let idp = Url::parse("https://idp.example/sso").unwrap();
        let acs = Acs::bind(free_port(), &idp).unwrap();
        let port = acs.port;
        let taken = Acs::bind(port, &idp).err().unwrap();
        assert!(
            taken
                .to_string()
                .starts_with(&format!("cannot listen on 127.0.0.1:{port}")),
            "{taken}"
        );
        let client = std::thread::spawn(move || {
            let huge = send(port, "POST /saml/acs", &"a".repeat(MAX_BODY_BYTES + 1));
            for _ in 0..MAX_STRAY {
                send(port, "GET /x", "");
            }
            huge
        });
        let e = acs
            .wait(Duration::from_secs(30), || {}, |_| {})
            .unwrap_err();
        assert!(matches!(e, BrowserError::Flooded(_)), "{e}");
        let huge = client.join().unwrap();
        assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    }

    #[test]
    fn nobody_coming_is_a_bounded_wait() {
        let idp = Url::parse("https://idp.example/sso").unwrap();
        let acs = Acs::bind(free_port(), &idp).unwrap();
        let e = acs
            .wait(Duration::from_millis(300), || {}, |_| {})
            .unwrap_err();
        assert!(matches!(e, BrowserError::Timeout(_)), "{e}");
    }
}
