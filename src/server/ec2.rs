//! An EC2 instance-metadata endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), IMDSv2 as the real
//! one: `PUT /latest/api/token` issues a random token that expires; credential paths need one
//! (IMDSv1 only when asked for). Requests carrying `X-Forwarded-For` — relayed by a proxy, as in
//! the attacks IMDSv2 was made against — and requests for a foreign Host are refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use percent_encoding::percent_decode_str;
use tiny_http::{Method, Request};

use super::broker::Broker;
use super::page::Page;
use super::{header, host_allowed, path, random_token, Reply};

const TTL_HEADER: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aws-ec2-metadata-token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials";
/// Tokens outstanding at once; more are refused rather than kept without bound.
const MAX_TOKENS: usize = 10_000;

pub struct Ec2 {
    pub broker: Arc<Broker>,
    pub hosts: Vec<String>,
    pub imdsv1: bool,
    pub page: Option<Page>,
    tokens: Mutex<HashMap<String, Timestamp>>,
}

impl Ec2 {
    pub fn new(broker: Arc<Broker>, hosts: Vec<String>, imdsv1: bool, page: Option<Page>) -> Self {
        Self {
            broker,
            hosts,
            imdsv1,
            page,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn issue_token(&self, request: &Request) -> Reply {
        let ttl = header(request, TTL_HEADER).and_then(|v| v.trim().parse::<i64>().ok());
        let Some(ttl) = ttl.filter(|t| (1..=21600).contains(t)) else {
            return Reply::text(400, format!("{TTL_HEADER} must be 1 to 21600"));
        };
        let Ok(token) = random_token() else {
            return Reply::text(500, "no randomness");
        };
        let now = Timestamp::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expires| *expires > now);
        if tokens.len() >= MAX_TOKENS {
            return Reply::text(429, "too many tokens outstanding");
        }
        tokens.insert(token.clone(), now + SignedDuration::from_secs(ttl));
        let mut reply = Reply::text(200, token);
        reply.headers.push((TTL_HEADER, ttl.to_string()));
        reply
    }

    fn token_valid(&self, request: &Request) -> bool {
        match header(request, TOKEN_HEADER) {
            Some(token) => {
                let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                tokens
                    .get(token)
                    .is_some_and(|expires| *expires > Timestamp::now())
            }
            None => self.imdsv1,
        }
    }

    pub fn handle(&self, request: &mut Request) -> Reply {
        if header(request, "X-Forwarded-For").is_some() {
            return Reply::text(403, "forwarded requests are refused");
        }
        if !host_allowed(request, &self.hosts) {
            return Reply::text(403, "this endpoint answers only to its own address");
        }
        let route = path(request).to_owned();
        if route == "/latest/api/token" {
            return match request.method() {
                Method::Put => self.issue_token(request),
                _ => Reply::text(405, "use PUT"),
            };
        }
        let Some(rest) = route.strip_prefix(CREDENTIALS_PATH) else {
            if route.starts_with("/latest/") {
                return Reply::text(404, "not found");
            }
            return match &self.page {
                Some(page) => page.handle(request),
                None => Reply::text(404, "not found"),
            };
        };
        if *request.method() != Method::Get {
            return Reply::text(405, "use GET");
        }
        if !self.token_valid(request) {
            return Reply::text(401, "a valid IMDSv2 token is needed");
        }
        let name = rest.trim_start_matches('/');
        if name.is_empty() {
            return Reply::text(200, self.broker.active());
        }
        let profile = percent_decode_str(name).decode_utf8_lossy().into_owned();
        match self.broker.credentials(&profile) {
            Ok(creds) => Reply::json(
                200,
                serde_json::json!({
                    "Code": "Success",
                    "LastUpdated": crate::credentials::rfc3339(Timestamp::now()),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": creds.access_key_id,
                    "SecretAccessKey": creds.secret_access_key,
                    "Token": creds.session_token,
                    "Expiration": creds.expiration_rfc3339(),
                })
                .to_string(),
            ),
            Err(e) => Reply::json(
                500,
                serde_json::json!({ "Code": "CredentialsUnavailable", "Message": e.message })
                    .to_string(),
            ),
        }
    }
}
