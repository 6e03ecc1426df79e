//! The loopback server the API stand-ins (Okta, OneLogin, ForgeRock AM: `okta.rs`,
//! `onelogin.rs`, `forgerock.rs`) and the web identity tests' own (Keycloak's code step) run
//! on: one thread answering with a handler, the request as handlers read it, the state they
//! keep (counters the tests assert on, sessions, codes, everything handed out that must never
//! show in a log), and the OpenID side they share: discovery, an authorization endpoint that
//! requires PKCE (S256) and echoes `state`, and a token endpoint that hands each code out once,
//! for its redirect URI and the verifier of its challenge.

// Two test binaries (SAML and web identity) use different parts of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The OpenID client the stand-ins know.
pub const CLIENT: &str = "aws-runas-client";

/// A request as a stand-in reads it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.header("cookie")?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// An authorization the stand-in granted, waiting for its code to be exchanged.
pub struct Grant {
    pub user: String,
    pub redirect_uri: String,
    pub challenge: String,
}

#[derive(Default)]
pub struct State {
    /// Every request that reached the stand-in.
    pub requests: usize,
    /// Username and password submissions.
    pub password_posts: usize,
    /// Push polls.
    pub polls: usize,
    /// Requests to the token endpoint.
    pub token_posts: usize,
    pub codes: HashMap<String, Grant>,
    /// Session tokens and cookies to the user they sign in.
    pub sessions: HashMap<String, String>,
    /// Logins in progress (Keycloak's session codes) to the authorization request they answer.
    pub logins: HashMap<String, Vec<(String, String)>>,
    /// Everything handed out that must never show in a log.
    pub secrets: Vec<String>,
    pub serial: usize,
    /// Push polls, each user's own.
    pub user_polls: HashMap<String, usize>,
    /// Pushes that wait for the test are approved (`Idp::approve_pushes`).
    pub approved: bool,
}

impl State {
    /// Counts a push poll of `user`'s; how many of theirs, this one included.
    pub fn poll(&mut self, user: &str) -> usize {
        self.polls += 1;
        let n = self.user_polls.entry(user.to_owned()).or_default();
        *n += 1;
        *n
    }

    /// What `token` (a session, state or step token handed out) stands for.
    pub fn session(&self, token: Option<&str>) -> Option<String> {
        token.and_then(|t| self.sessions.get(t)).cloned()
    }

    pub fn secret(&mut self, prefix: &str) -> String {
        self.serial += 1;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).unwrap();
        let s = format!("{prefix}{}{}", self.serial, URL_SAFE_NO_PAD.encode(random));
        self.secrets.push(s.clone());
        s
    }
}

pub type Handler = fn(&str, &mut State, &Req) -> tiny_http::ResponseBox;

/// A stand-in IdP on loopback: one thread answering with `handler`, stopped on drop.
pub struct Idp {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub state: Arc<Mutex<State>>,
}

impl Idp {
    pub fn start(handler: Handler) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st) = (server.clone(), state.clone());
        let thread = std::thread::spawn(move || {
            let base = format!("http://{}", s.server_addr());
            for mut request in s.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
                let req = Req {
                    method: request.method().to_string(),
                    path: path.to_owned(),
                    query: url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                };
                let response = {
                    let mut state = st.lock().unwrap();
                    state.requests += 1;
                    handler(&base, &mut state, &req)
                };
                let _ = request.respond(response);
            }
        });
        Idp {
            server,
            thread: Some(thread),
            state,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.server.server_addr())
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    pub fn password_posts(&self) -> usize {
        self.state.lock().unwrap().password_posts
    }

    pub fn polls(&self) -> usize {
        self.state.lock().unwrap().polls
    }

    pub fn token_posts(&self) -> usize {
        self.state.lock().unwrap().token_posts
    }

    pub fn secrets(&self) -> Vec<String> {
        self.state.lock().unwrap().secrets.clone()
    }

    /// Approves the pushes that wait for the test.
    pub fn approve_pushes(&self) {
        self.state.lock().unwrap().approved = true;
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn reply(status: u16, body: String, headers: &[(&str, &str)]) -> tiny_http::ResponseBox {
    let mut r = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .boxed();
    for (k, v) in headers {
        r.add_header(tiny_http::Header::from_bytes(*k, *v).unwrap());
    }
    r
}

pub fn json_reply(status: u16, value: Value) -> tiny_http::ResponseBox {
    reply(
        status,
        value.to_string(),
        &[("content-type", "application/json")],
    )
}

pub fn html(body: &str) -> tiny_http::ResponseBox {
    reply(200, body.to_owned(), &[("content-type", "text/html")])
}

pub fn redirect(to: &str) -> tiny_http::ResponseBox {
    reply(302, String::new(), &[("location", to)])
}

pub fn discovery(issuer: &str, authorization: &str, token: &str) -> tiny_http::ResponseBox {
    json_reply(
        200,
        json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}{authorization}"),
               "token_endpoint": format!("{issuer}{token}"),
               "code_challenge_methods_supported": ["S256"]}),
    )
}

/// The authorization endpoint, for a request already signed in as `user`: a code for this
/// client, PKCE (S256) required, `state` echoed.
pub fn authorize(
    st: &mut State,
    params: &[(String, String)],
    user: &str,
    extra: &[(&str, &str)],
) -> tiny_http::ResponseBox {
    let get = |k: &str| field(params, k).map(str::to_owned);
    let (Some(client), Some(redirect_uri), Some(kind), Some(state), Some(challenge), Some(method)) = (
        get("client_id"),
        get("redirect_uri"),
        get("response_type"),
        get("state"),
        get("code_challenge"),
        get("code_challenge_method"),
    ) else {
        return json_reply(400, json!({"error": "invalid_request"}));
    };
    let scope = get("scope").unwrap_or_default();
    if client != CLIENT
        || kind != "code"
        || method != "S256"
        || !scope.split(' ').any(|s| s == "openid")
    {
        return json_reply(400, json!({"error": "invalid_request"}));
    }
    let code = st.secret("code-");
    st.secrets.push(state.clone());
    st.codes.insert(
        code.clone(),
        Grant {
            user: user.to_owned(),
            redirect_uri: redirect_uri.clone(),
            challenge,
        },
    );
    let location = format!(
        "{redirect_uri}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &state)
            .finish()
    );
    let mut headers = vec![("location", location.as_str())];
    headers.extend_from_slice(extra);
    reply(302, String::new(), &headers)
}

/// The token endpoint: each code once, for the redirect URI it was issued to, and only with
/// the verifier whose S256 challenge came with the authorization request.
pub fn token(issuer: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    st.token_posts += 1;
    let form = req.form();
    let invalid = || json_reply(400, json!({"error": "invalid_grant"}));
    if field(&form, "grant_type") != Some("authorization_code")
        || field(&form, "client_id") != Some(CLIENT)
    {
        return json_reply(400, json!({"error": "unsupported_grant_type"}));
    }
    let Some(grant) = field(&form, "code").and_then(|c| st.codes.remove(c)) else {
        return invalid();
    };
    let verifier = field(&form, "code_verifier").unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge
        || field(&form, "redirect_uri") != Some(grant.redirect_uri.as_str())
    {
        return invalid();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let id_token = format!(
        "{}.{}.{}",
        part(json!({"alg": "RS256", "typ": "JWT", "kid": "k1"})),
        part(
            json!({"iss": issuer, "sub": grant.user, "aud": CLIENT, "iat": now, "exp": now + 3600,
                    "jti": st.secret("jti-")})
        ),
        URL_SAFE_NO_PAD.encode(st.secret("signature-"))
    );
    st.secrets.push(id_token.clone());
    let access = st.secret("access-");
    json_reply(
        200,
        json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600,
               "scope": "openid", "id_token": id_token}),
    )
}
