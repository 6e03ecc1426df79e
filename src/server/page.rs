//! The profile page (aws-runas v3's serve feature): `/` lists the profiles, switches the active
//! one, refreshes now, and asks for an MFA code when a refresh needs one.
//!
//! Any local process can connect, so the page is reached only through the address printed on
//! the terminal that started the server, which carries a secret (as notebook servers do):
//! `/?token=SECRET` sets an HttpOnly, SameSite=Strict cookie and redirects to `/`, and `/`
//! shows the page only with that cookie. The page's API (`/list-profiles`, `/profile`,
//! `/refresh`, `/mfa`) answers only requests that carry the API token written into the page —
//! which only a script of the page itself can read — and refuses any request whose `Origin` is
//! not the page's own.

use std::sync::Arc;

use hyper::Method;
use serde_json::json;

use super::broker::{Broker, Unavailable};
use super::{one_line, random_token, same_secret, Answer, Reply, Request};
use crate::config::Profiles;
use crate::environment::Environment;

const PAGE: &str = include_str!("page.html");
const TOKEN_HEADER: &str = "X-Runas-Token";

pub struct Page {
    broker: Arc<Broker>,
    /// What the printed address carries, and the cookie then.
    secret: String,
    /// What the page's script sends with each API call.
    token: String,
    /// Per port: browsers send a host's cookies to all of its ports.
    cookie: String,
    /// The Host values of this server: a same-origin request's `Origin` names one of them.
    hosts: Vec<String>,
}

fn failure(e: &Unavailable) -> Reply {
    Reply::json(
        500,
        json!({ "error": e.message, "needs_mfa": e.needs_mfa }).to_string(),
    )
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, json!({ "error": one_line(message) }).to_string())
}

fn status(broker: &Broker) -> Reply {
    let profile = broker.active();
    let body = match broker.credentials(&profile) {
        Ok(creds) => {
            json!({ "profile": profile, "expiration": creds.expiration_rfc3339(), "needs_mfa": false })
        }
        Err(e) => json!({ "profile": profile, "error": e.message, "needs_mfa": e.needs_mfa }),
    };
    Reply::json(200, body.to_string())
}

/// The API's answer to an authenticated request; may block (config files, STS).
fn api(broker: &Broker, route: &str, post: bool, payload: &serde_json::Value) -> Reply {
    match (route, post) {
        ("/list-profiles", false) => match Profiles::load(&Environment::from_process()) {
            Ok(profiles) => Reply::json(
                200,
                json!({ "profiles": profiles.names().collect::<Vec<_>>(), "active": broker.active() })
                    .to_string(),
            ),
            Err(e) => error(500, &e.to_string()),
        },
        ("/profile", false) => status(broker),
        ("/profile", true) => match payload["profile"].as_str() {
            Some(name) => match broker.set_active(name) {
                Ok(()) => status(broker),
                Err(e) => error(400, &e.message),
            },
            None => error(400, "send {\"profile\": NAME}"),
        },
        ("/refresh", true) => match broker.refresh(&broker.active()) {
            Ok(_) => status(broker),
            Err(e) => failure(&e),
        },
        ("/mfa", true) => match payload["code"].as_str() {
            Some(code) => {
                broker.submit_mfa(code.trim().to_owned());
                match broker.refresh(&broker.active()) {
                    Ok(_) => status(broker),
                    Err(e) => failure(&e),
                }
            }
            None => error(400, "send {\"code\": \"123456\"}"),
        },
        _ => error(405, "wrong method"),
    }
}

impl Page {
    pub fn new(broker: Arc<Broker>, hosts: Vec<String>, port: u16) -> anyhow::Result<Self> {
        Ok(Self {
            broker,
            secret: random_token()?,
            token: random_token()?,
            cookie: format!("aws-runas-page-{port}"),
            hosts,
        })
    }

    /// The address that opens the page, for the terminal that started the server only.
    pub fn address(&self, base: &str) -> String {
        format!("{base}/?token={}", self.secret)
    }

    fn has_cookie(&self, request: &Request) -> bool {
        request
            .headers
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| name == self.cookie && same_secret(value, &self.secret))
    }

    fn front(&self, request: &Request) -> Reply {
        let offered = request
            .query
            .as_deref()
            .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("token=")));
        if let Some(offered) = offered {
            if !same_secret(offered, &self.secret) {
                return Reply::text(403, "wrong page token: open the address aws-runas printed");
            }
            // The secret moves from the address bar into a cookie no script can read, and
            // that a request from another site does not carry.
            let mut reply = Reply::text(303, "");
            reply.headers.push(("Location", "/".into()));
            reply.headers.push((
                "Set-Cookie",
                format!(
                    "{}={}; HttpOnly; SameSite=Strict; Path=/",
                    self.cookie, self.secret
                ),
            ));
            reply
                .headers
                .push(("Referrer-Policy", "no-referrer".into()));
            return reply;
        }
        if !self.has_cookie(request) {
            return Reply::text(
                401,
                "open the address aws-runas printed on its terminal when it started",
            );
        }
        let mut reply = Reply::text(200, PAGE.replace("@TOKEN@", &self.token));
        reply.content_type = "text/html; charset=utf-8";
        reply.headers.push((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'".into(),
        ));
        reply.headers.push(("X-Frame-Options", "DENY".into()));
        reply
            .headers
            .push(("Referrer-Policy", "no-referrer".into()));
        reply
    }

    pub fn handle(&self, request: &Request) -> Answer {
        let route = request.path.clone();
        if route == "/" && request.method == Method::GET {
            return self.front(request).into();
        }
        if !["/list-profiles", "/profile", "/refresh", "/mfa"].contains(&route.as_str()) {
            return Reply::text(404, "not found").into();
        }
        if let Some(origin) = request.header("Origin") {
            let host = origin.strip_prefix("http://").unwrap_or(origin);
            if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return error(403, "cross-origin requests are refused").into();
            }
        }
        if !request
            .header(TOKEN_HEADER)
            .is_some_and(|t| same_secret(t, &self.token))
        {
            return error(403, "the page token is missing or wrong").into();
        }
        let post = request.method == Method::POST;
        let payload = if post {
            serde_json::from_slice::<serde_json::Value>(&request.body).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        let broker = self.broker.clone();
        Answer::blocking(move || api(&broker, &route, post, &payload))
    }
}
