//! The profile page (aws-runas v3's serve feature): `/` lists the profiles, switches the active
//! one, refreshes now, and asks for an MFA code when a refresh needs one. Its API (`/list-profiles`,
//! `/profile`, `/refresh`, `/mfa`) answers only requests that carry the page's token — which only
//! a script of the page itself can read, the Host check keeping other sites from loading it — and
//! refuses any request whose `Origin` is not the page's own.

use std::sync::Arc;

use serde_json::json;
use tiny_http::{Method, Request};

use super::broker::{Broker, Unavailable};
use super::{body, header, path, same_secret, Reply};
use crate::config::Profiles;
use crate::environment::Environment;

const PAGE: &str = include_str!("page.html");
const TOKEN_HEADER: &str = "X-Runas-Token";

pub struct Page {
    pub broker: Arc<Broker>,
    pub token: String,
    /// The Host values of this server: a same-origin request's `Origin` names one of them.
    pub hosts: Vec<String>,
}

fn failure(e: &Unavailable) -> Reply {
    Reply::json(
        500,
        json!({ "error": e.message, "needs_mfa": e.needs_mfa }).to_string(),
    )
}

impl Page {
    fn status(&self) -> Reply {
        let profile = self.broker.active();
        let body = match self.broker.credentials(&profile) {
            Ok(creds) => {
                json!({ "profile": profile, "expiration": creds.expiration_rfc3339(), "needs_mfa": false })
            }
            Err(e) => json!({ "profile": profile, "error": e.message, "needs_mfa": e.needs_mfa }),
        };
        Reply::json(200, body.to_string())
    }

    pub fn handle(&self, request: &mut Request) -> Reply {
        let route = path(request).to_owned();
        if route == "/" && *request.method() == Method::Get {
            let mut reply = Reply::text(200, PAGE.replace("@TOKEN@", &self.token));
            reply.content_type = "text/html; charset=utf-8";
            reply.headers.push((
                "Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'".into(),
            ));
            reply.headers.push(("X-Frame-Options", "DENY".into()));
            return reply;
        }
        if !["/list-profiles", "/profile", "/refresh", "/mfa"].contains(&route.as_str()) {
            return Reply::text(404, "not found");
        }
        if let Some(origin) = header(request, "Origin") {
            let host = origin.strip_prefix("http://").unwrap_or(origin);
            if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Reply::json(
                    403,
                    json!({ "error": "cross-origin requests are refused" }).to_string(),
                );
            }
        }
        if !header(request, TOKEN_HEADER).is_some_and(|t| same_secret(t, &self.token)) {
            return Reply::json(
                403,
                json!({ "error": "the page token is missing or wrong" }).to_string(),
            );
        }
        let post = *request.method() == Method::Post;
        let payload = if post {
            body(request, 4096)
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
                .unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        match (route.as_str(), post) {
            ("/list-profiles", false) => match Profiles::load(&Environment::from_process()) {
                Ok(profiles) => Reply::json(
                    200,
                    json!({ "profiles": profiles.names().collect::<Vec<_>>(), "active": self.broker.active() })
                        .to_string(),
                ),
                Err(e) => Reply::json(500, json!({ "error": e.to_string() }).to_string()),
            },
            ("/profile", false) => self.status(),
            ("/profile", true) => match payload["profile"].as_str() {
                Some(name) => match self.broker.set_active(name) {
                    Ok(()) => self.status(),
                    Err(e) => Reply::json(400, json!({ "error": e.message }).to_string()),
                },
                None => Reply::json(400, json!({ "error": "send {\"profile\": NAME}" }).to_string()),
            },
            ("/refresh", true) => match self.broker.refresh(&self.broker.active()) {
                Ok(_) => self.status(),
                Err(e) => failure(&e),
            },
            ("/mfa", true) => match payload["code"].as_str() {
                Some(code) => {
                    self.broker.submit_mfa(code.trim().to_owned());
                    match self.broker.refresh(&self.broker.active()) {
                        Ok(_) => self.status(),
                        Err(e) => failure(&e),
                    }
                }
                None => Reply::json(400, json!({ "error": "send {\"code\": \"123456\"}" }).to_string()),
            },
            _ => Reply::json(405, json!({ "error": "wrong method" }).to_string()),
        }
    }
}
