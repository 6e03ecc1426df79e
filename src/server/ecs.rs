//! The ECS-container credential endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`): what exec mode hands its command, and `serve ecs`.
//! `GET /credentials` serves the active profile, `GET /credentials/PROFILE` any profile.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use tiny_http::{Method, Request};

use super::broker::Broker;
use super::page::Page;
use super::{header, host_allowed, path, same_secret, Reply};
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

impl Ecs {
    pub fn handle(&self, request: &mut Request) -> Reply {
        if !host_allowed(request, &self.hosts) {
            return Reply::error(
                403,
                "Forbidden",
                "this endpoint answers only to its own address",
            );
        }
        let Some(rest) = path(request).strip_prefix("/credentials") else {
            return match &self.page {
                Some(page) => page.handle(request),
                None => Reply::error(404, "NotFound", "no such path"),
            };
        };
        if *request.method() != Method::Get {
            return Reply::error(405, "MethodNotAllowed", "use GET");
        }
        match header(request, "Authorization") {
            None => return Reply::error(401, "Unauthorized", "the Authorization token is missing"),
            Some(token) if !same_secret(token, &self.token) => {
                return Reply::error(403, "Forbidden", "wrong Authorization token")
            }
            Some(_) => {}
        }
        let profile = match rest.trim_start_matches('/') {
            "" => self.broker.active(),
            name => percent_decode_str(name).decode_utf8_lossy().into_owned(),
        };
        match self.broker.credentials(&profile) {
            Ok(creds) => Reply::json(200, document(&creds)),
            Err(e) => Reply::error(500, "CredentialsUnavailable", &e.message),
        }
    }
}
