//! An EC2 instance-metadata endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), IMDSv2 as the real
//! one: `PUT /latest/api/token` issues a token that expires; credential paths need one (IMDSv1
//! only when asked for). Requests carrying `X-Forwarded-For` or `Forwarded` — relayed by a
//! proxy, as in the attacks IMDSv2 was made against — and requests for a foreign Host are
//! refused. Tokens are stateless: the expiry and an HMAC of it under a key made at start, so
//! no number of token requests fills anything or locks real clients out.

use std::sync::Arc;

use hyper::Method;
use jiff::Timestamp;
use percent_encoding::percent_decode_str;

use super::broker::{Broker, Unavailable};
use super::page::Page;
use super::{random_bytes, Answer, Reply, Request};
use crate::credentials::Credentials;
use crate::digest::{hex, hmac_sha256, hmac_sha256_verify};

const TTL_HEADER: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aws-ec2-metadata-token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials";
/// What the real IMDS allows: one second to six hours.
const MAX_TTL_SECONDS: i64 = 21600;

pub struct Ec2 {
    pub broker: Arc<Broker>,
    pub hosts: Vec<String>,
    pub imdsv1: bool,
    pub page: Option<Page>,
    tokens: Tokens,
}

/// IMDSv2 tokens: `EXPIRY_MS.HMAC-SHA256(key, EXPIRY_MS)`, valid until the expiry with this
/// run's key. Nothing is stored per token.
struct Tokens {
    key: [u8; 32],
}

impl Tokens {
    fn issue(&self, now: Timestamp, ttl_seconds: i64) -> String {
        let expiry_ms = now.as_millisecond() + ttl_seconds * 1000;
        let tag = hmac_sha256(&self.key, expiry_ms.to_string().as_bytes());
        format!("{expiry_ms}.{}", hex(&tag))
    }

    fn valid(&self, token: &str, now: Timestamp) -> bool {
        let Some((expiry, tag)) = token.split_once('.') else {
            return false;
        };
        let (Ok(expiry_ms), Some(tag)) = (expiry.parse::<i64>(), unhex(tag)) else {
            return false;
        };
        hmac_sha256_verify(&self.key, expiry_ms.to_string().as_bytes(), &tag)
            && now.as_millisecond() < expiry_ms
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn served(result: Result<Credentials, Unavailable>) -> Reply {
    match result {
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

impl Ec2 {
    pub fn new(
        broker: Arc<Broker>,
        hosts: Vec<String>,
        imdsv1: bool,
        page: Option<Page>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            broker,
            hosts,
            imdsv1,
            page,
            tokens: Tokens {
                key: random_bytes()?,
            },
        })
    }

    fn issue_token(&self, request: &Request) -> Reply {
        let ttl = request
            .header(TTL_HEADER)
            .and_then(|v| v.trim().parse::<i64>().ok());
        let Some(ttl) = ttl.filter(|t| (1..=MAX_TTL_SECONDS).contains(t)) else {
            return Reply::text(400, format!("{TTL_HEADER} must be 1 to {MAX_TTL_SECONDS}"));
        };
        let mut reply = Reply::text(200, self.tokens.issue(Timestamp::now(), ttl));
        reply
            .headers
            .push(("x-aws-ec2-metadata-token-ttl-seconds", ttl.to_string()));
        reply
    }

    fn token_valid(&self, request: &Request) -> bool {
        match request.header(TOKEN_HEADER) {
            Some(token) => self.tokens.valid(token, Timestamp::now()),
            None => self.imdsv1,
        }
    }

    pub fn handle(&self, request: &Request) -> Answer {
        if request.forwarded() {
            return Reply::text(403, "forwarded requests are refused").into();
        }
        if !request.host_allowed(&self.hosts) {
            return Reply::text(403, "this endpoint answers only to its own address").into();
        }
        let route = request.path.as_str();
        if route == "/latest/api/token" {
            return match request.method {
                Method::PUT => self.issue_token(request),
                _ => Reply::text(405, "use PUT"),
            }
            .into();
        }
        let Some(rest) = route.strip_prefix(CREDENTIALS_PATH) else {
            if route.starts_with("/latest/") {
                return Reply::text(404, "not found").into();
            }
            return match &self.page {
                Some(page) => page.handle(request),
                None => Reply::text(404, "not found").into(),
            };
        };
        if request.method != Method::GET {
            return Reply::text(405, "use GET").into();
        }
        if !self.token_valid(request) {
            return Reply::text(401, "a valid IMDSv2 token is needed").into();
        }
        let name = rest.trim_start_matches('/');
        if name.is_empty() {
            return Reply::text(200, self.broker.active()).into();
        }
        let profile = percent_decode_str(name).decode_utf8_lossy().into_owned();
        if let Some(creds) = self.broker.cached(&profile) {
            return served(Ok(creds)).into();
        }
        let broker = self.broker.clone();
        Answer::blocking(move || served(broker.credentials(&profile)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens {
            key: random_bytes().unwrap(),
        }
    }

    #[test]
    fn a_token_is_valid_until_it_expires_and_only_under_its_key() {
        let (ours, theirs) = (tokens(), tokens());
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let token = ours.issue(now, 60);
        assert!(ours.valid(&token, now));
        assert!(ours.valid(&token, now + jiff::SignedDuration::from_secs(59)));
        assert!(!ours.valid(&token, now + jiff::SignedDuration::from_secs(60)));
        assert!(!theirs.valid(&token, now), "another run's key");
    }

    #[test]
    fn a_token_with_a_changed_expiry_or_tag_is_refused() {
        let tokens = tokens();
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let token = tokens.issue(now, 1);
        let (expiry, tag) = token.split_once('.').unwrap();
        let later: i64 = expiry.parse::<i64>().unwrap() + 3_600_000;
        assert!(!tokens.valid(&format!("{later}.{tag}"), now));
        let mut flipped = tag.to_owned();
        let last = if flipped.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(flipped.len() - 1.., last);
        assert!(!tokens.valid(&format!("{expiry}.{flipped}"), now));
        for junk in ["", ".", "x.y", "1.zz", "forged", "1.é"] {
            assert!(!tokens.valid(junk, now), "{junk}");
        }
    }
}
