//! The ECS-container credential endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`): what exec mode hands its command, and `serve ecs`.
//! `GET /credentials` serves the active profile, `GET /credentials/PROFILE` any profile.

use std::sync::Arc;

use hyper::Method;
use percent_encoding::percent_decode_str;

use super::broker::{Broker, Unavailable};
use super::page::Page;
use super::{same_secret, Answer, Reply, Request};
use crate::credentials::Credentials;

pub struct Ecs {
    pub broker: Arc<Broker>,
    pub token: String,
    pub hosts: Vec<String>,
    pub page: Option<Page>,
}

/// The document the AWS SDKs' container provider reads.
pub fn document(creds: &Credentials) -> String {
    serde_json::json!({
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": creds.expiration_rfc3339(),
    })
    .to_string()
}

fn served(result: Result<Credentials, Unavailable>) -> Reply {
    match result {
        Ok(creds) => Reply::json(200, document(&creds)),
        Err(e) => Reply::error(500, "CredentialsUnavailable", &e.message),
    }
}

impl Ecs {
    pub fn handle(&self, request: &Request) -> Answer {
        if request.forwarded() {
            return Reply::error(403, "Forbidden", "forwarded requests are refused").into();
        }
        if !request.host_allowed(&self.hosts) {
            return Reply::error(
                403,
                "Forbidden",
                "this endpoint answers only to its own address",
            )
            .into();
        }
        let Some(rest) = request.path.strip_prefix("/credentials") else {
            return match &self.page {
                Some(page) => page.handle(request),
                None => Reply::error(404, "NotFound", "no such path").into(),
            };
        };
        if request.method != Method::GET {
            return Reply::error(405, "MethodNotAllowed", "use GET").into();
        }
        match request.header("Authorization") {
            None => {
                return Reply::error(401, "Unauthorized", "the Authorization token is missing")
                    .into()
            }
            Some(token) if !same_secret(token, &self.token) => {
                return Reply::error(403, "Forbidden", "wrong Authorization token").into()
            }
            Some(_) => {}
        }
        let profile = match rest.trim_start_matches('/') {
            "" => self.broker.active(),
            name => percent_decode_str(name).decode_utf8_lossy().into_owned(),
        };
        if let Some(creds) = self.broker.cached(&profile) {
            return served(Ok(creds)).into();
        }
        let broker = self.broker.clone();
        Answer::blocking(move || served(broker.credentials(&profile)))
    }
}
