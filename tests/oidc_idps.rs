//! Web identity password sign-in at Okta, OneLogin, ForgeRock AM, Keycloak and Azure AD, end to
//! end: the built binary signs in through each provider's API (or Keycloak's login form, or
//! Azure AD's sign-in pages, the SAML tests' stand-in with its OpenID side), gets the ID
//! token, and moto's AssumeRoleWithWebIdentity turns it into role credentials the AWS CLI
//! accepts. Okta, OneLogin and AM are loopback stand-ins written from their API documentation
//! (`shared/notes/idp-apis.md`); Keycloak is the real oidc-provider in Keycloak's URL layout, plus
//! a stand-in for its one-time-code step. Every stand-in's token endpoint checks the PKCE
//! verifier against the challenge and hands each code out once, and its authorization endpoint
//! echoes `state`: a client that got either wrong would get no ID token.

#[path = "standins/azuread.rs"]
mod azuread;
mod common;
#[allow(dead_code)] // this binary uses part of the harness
#[path = "idp/oidc_provider.rs"]
mod oidc_provider;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{assert_assumed_role, eval_in_sh, json, run, Output, Sandbox, LIMIT};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CLIENT: &str = "aws-runas-client";
const DEV: &str = "arn:aws:iam::123456789012:role/Dev";
const OPS: &str = "arn:aws:iam::123456789012:role/Ops";

/// A request as a stand-in reads it.
struct Req {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.header("cookie")?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// An authorization the stand-in granted, waiting for its code to be exchanged.
struct Grant {
    user: String,
    redirect_uri: String,
    challenge: String,
}

#[derive(Default)]
struct State {
    /// Every request that reached the stand-in.
    requests: usize,
    /// Username and password submissions.
    password_posts: usize,
    /// Push polls.
    polls: usize,
    /// Requests to the token endpoint.
    token_posts: usize,
    codes: HashMap<String, Grant>,
    /// Session tokens and cookies to the user they sign in.
    sessions: HashMap<String, String>,
    /// Logins in progress (Keycloak's session codes) to the authorization request they answer.
    logins: HashMap<String, Vec<(String, String)>>,
    /// Everything handed out that must never show in a log.
    secrets: Vec<String>,
    serial: usize,
}

impl State {
    fn secret(&mut self, prefix: &str) -> String {
        self.serial += 1;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).unwrap();
        let s = format!("{prefix}{}{}", self.serial, URL_SAFE_NO_PAD.encode(random));
        self.secrets.push(s.clone());
        s
    }
}

type Handler = fn(&str, &mut State, &Req) -> tiny_http::ResponseBox;

/// A stand-in IdP on loopback: one thread answering with `handler`, stopped on drop.
struct Idp {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: Arc<Mutex<State>>,
}

impl Idp {
    fn start(handler: Handler) -> Self {
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

    fn base(&self) -> String {
        format!("http://{}", self.server.server_addr())
    }

    fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    fn password_posts(&self) -> usize {
        self.state.lock().unwrap().password_posts
    }

    fn polls(&self) -> usize {
        self.state.lock().unwrap().polls
    }

    fn token_posts(&self) -> usize {
        self.state.lock().unwrap().token_posts
    }

    fn secrets(&self) -> Vec<String> {
        self.state.lock().unwrap().secrets.clone()
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

fn reply(status: u16, body: String, headers: &[(&str, &str)]) -> tiny_http::ResponseBox {
    let mut r = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .boxed();
    for (k, v) in headers {
        r.add_header(tiny_http::Header::from_bytes(*k, *v).unwrap());
    }
    r
}

fn json_reply(status: u16, value: Value) -> tiny_http::ResponseBox {
    reply(
        status,
        value.to_string(),
        &[("content-type", "application/json")],
    )
}

fn html(body: &str) -> tiny_http::ResponseBox {
    reply(200, body.to_owned(), &[("content-type", "text/html")])
}

fn redirect(to: &str) -> tiny_http::ResponseBox {
    reply(302, String::new(), &[("location", to)])
}

fn discovery(issuer: &str, authorization: &str, token: &str) -> tiny_http::ResponseBox {
    json_reply(
        200,
        json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}{authorization}"),
               "token_endpoint": format!("{issuer}{token}"),
               "code_challenge_methods_supported": ["S256"]}),
    )
}

/// The authorization endpoint, for a request already signed in as `user`: a code for this
/// client, PKCE (S256) required, `state` echoed.
fn authorize(
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
fn token(issuer: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
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

// ---------------------------------------------------------------------------------------------
// Okta: the Authn API, then `/oauth2/default/v1/authorize?sessionToken=`.

/// dave has no MFA; erin a TOTP factor (123456) and a push; paul a push approved at the third
/// poll; rex a push he rejects; lou is locked out; nina's session token is one Okta ignores;
/// mallory's authorization comes back with another state (a mixed-up or forged response).
/// Two authorization servers: `default` (with a discovery document) and the org's (`/oauth2`,
/// without one below it).
fn okta(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    if req.method == "HEAD" {
        // Okta's fingerprint, for provider detection.
        return reply(200, String::new(), &[("x-okta-request-id", "req-1")]);
    }
    for server in ["/oauth2/default", "/oauth2"] {
        let Some(rest) = req.path.strip_prefix(server) else {
            continue;
        };
        let issuer = format!("{base}{server}");
        return match rest {
            "/.well-known/openid-configuration" if server == "/oauth2/default" => {
                discovery(&issuer, "/v1/authorize", "/v1/token")
            }
            // A session token is good once; without one, Okta's sign-in page.
            "/v1/authorize" => match req
                .query("sessionToken")
                .and_then(|t| st.sessions.remove(t))
            {
                Some(user) if user == "mallory" => {
                    redirect("app:/callback?code=forged-code&state=not-yours")
                }
                Some(user) => authorize(st, &req.query, &user, &[]),
                None => redirect("/login/login.htm?fromURI=%2Foauth2%2Fv1%2Fauthorize"),
            },
            "/v1/token" => token(&issuer, st, req),
            _ => json_reply(404, json!({"errorCode": "E0000022"})),
        };
    }
    let factor = |id: &str, kind: &str| {
        json!({"id": id, "factorType": kind, "provider": "OKTA",
               "_links": {"verify": {"href": format!("{base}/api/v1/authn/factors/{id}/verify")}}})
    };
    let success = |st: &mut State, user: &str| {
        let token = st.secret("okta-session-");
        st.sessions.insert(token.clone(), user.to_owned());
        json_reply(200, json!({"status": "SUCCESS", "sessionToken": token}))
    };
    let body = req.json();
    match req.path.as_str() {
        "/api/v1/authn" => {
            st.password_posts += 1;
            let mfa = |st: &mut State, factors: Vec<Value>| {
                let state = st.secret("okta-state-");
                json_reply(
                    200,
                    json!({"status": "MFA_REQUIRED", "stateToken": state,
                           "_embedded": {"factors": factors}}),
                )
            };
            match (body["username"].as_str(), body["password"].as_str()) {
                (Some(u @ ("dave" | "mallory")), Some(p)) if p == format!("{u}-password") => {
                    success(st, u)
                }
                (Some("erin"), Some("erin-password")) => mfa(
                    st,
                    vec![
                        factor("totp1", "token:software:totp"),
                        factor("push1", "push"),
                    ],
                ),
                (Some("paul"), Some("paul-password")) => mfa(st, vec![factor("push2", "push")]),
                (Some("rex"), Some("rex-password")) => mfa(st, vec![factor("push3", "push")]),
                (Some("nina"), Some("nina-password")) => {
                    let token = st.secret("okta-session-");
                    json_reply(200, json!({"status": "SUCCESS", "sessionToken": token}))
                }
                (Some("eve"), Some("eve-password")) => json_reply(
                    429,
                    json!({"errorCode": "E0000047",
                           "errorSummary": "API call exceeded rate limit\u{1b}[2J\naws-runas: all good"}),
                ),
                (Some("lou"), Some("lou-password")) => {
                    json_reply(200, json!({"status": "LOCKED_OUT"}))
                }
                _ => json_reply(
                    401,
                    json!({"errorCode": "E0000004", "errorSummary": "Authentication failed",
                           "errorCauses": []}),
                ),
            }
        }
        "/api/v1/authn/factors/totp1/verify" => match body["passCode"].as_str() {
            Some("123456") => success(st, "erin"),
            _ => json_reply(
                403,
                json!({"errorCode": "E0000068", "errorSummary": "Invalid Passcode/Answer"}),
            ),
        },
        p @ ("/api/v1/authn/factors/push2/verify" | "/api/v1/authn/factors/push3/verify") => {
            st.polls += 1;
            let waiting = json!({"status": "MFA_CHALLENGE", "factorResult": "WAITING",
                "stateToken": body["stateToken"],
                "_links": {"next": {"name": "poll", "href": format!("{base}{p}")}}});
            match (p.ends_with("push2/verify"), st.polls) {
                (true, n) if n >= 3 => success(st, "paul"),
                (false, n) if n >= 2 => json_reply(
                    200,
                    json!({"status": "MFA_CHALLENGE", "factorResult": "REJECTED"}),
                ),
                _ => json_reply(200, waiting),
            }
        }
        "/login/login.htm" => html("<html><script>/* the Okta sign-in widget */</script></html>"),
        _ => json_reply(404, json!({"errorCode": "E0000022"})),
    }
}

// ---------------------------------------------------------------------------------------------
// OneLogin: API token, `/api/1/login/auth`, `/session_via_api_token`, then `/oidc/2/auth`.

/// The API client `id:secret`; frank has no MFA; gina Google Authenticator (123456) and
/// OneLogin Protect; pia only Protect, approved at the third call; hal only Protect, denied.
fn onelogin(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    let issuer = format!("{base}/oidc/2");
    let v1 = |status: u16, message: &str, data: Value| {
        json_reply(
            status,
            json!({"status": {"error": status != 200, "code": status, "type": if status == 200 { "Success" } else { "Unauthorized" },
                              "message": message}, "data": data}),
        )
    };
    let session = |st: &mut State, user: &str| {
        let token = st.secret("ol-session-");
        st.sessions.insert(token.clone(), user.to_owned());
        v1(
            200,
            "Success",
            json!([{"status": "Authenticated", "session_token": token, "user": {"username": user}}]),
        )
    };
    let authorization = req.header("authorization").unwrap_or_default().to_owned();
    // The API token, as `bearer <token>` (aws-runas v3) or `bearer:<token>` (the docs).
    let api_client = authorization
        .strip_prefix("bearer ")
        .or_else(|| authorization.strip_prefix("bearer:"))
        .is_some_and(|t| st.sessions.get(t).map(String::as_str) == Some("api"));
    let body = req.json();
    match req.path.as_str() {
        "/auth/oauth2/v2/token" => {
            if authorization != format!("Basic {}", STANDARD.encode("id:secret")) {
                return v1(401, "Authentication Failure", Value::Null);
            }
            let token = st.secret("ol-api-");
            st.sessions.insert(token.clone(), "api".into());
            json_reply(
                200,
                json!({"access_token": token, "token_type": "bearer", "expires_in": 36000}),
            )
        }
        "/api/1/login/auth" | "/api/1/login/verify_factor" if !api_client => {
            v1(401, "Unauthorized", Value::Null)
        }
        "/api/1/login/auth" => {
            st.password_posts += 1;
            let mfa = |st: &mut State, user: &str, devices: Value| {
                let state = st.secret("ol-state-");
                st.sessions.insert(state.clone(), format!("mfa:{user}"));
                v1(
                    200,
                    "MFA is required for this user",
                    json!([{"state_token": state, "devices": devices,
                            "callback_url": format!("{base}/api/1/login/verify_factor"),
                            "user": {"username": user}}]),
                )
            };
            match (
                body["username_or_email"].as_str(),
                body["password"].as_str(),
            ) {
                (Some("frank"), Some("frank-password")) => session(st, "frank"),
                (Some("gina"), Some("gina-password")) => mfa(
                    st,
                    "gina",
                    json!([{"device_id": 11, "device_type": "Google Authenticator"},
                           {"device_id": 12, "device_type": "OneLogin Protect"}]),
                ),
                (Some("pia"), Some("pia-password")) => mfa(
                    st,
                    "pia",
                    json!([{"device_id": 12, "device_type": "OneLogin Protect"}]),
                ),
                (Some("hal"), Some("hal-password")) => mfa(
                    st,
                    "hal",
                    json!([{"device_id": 13, "device_type": "OneLogin Protect"}]),
                ),
                _ => v1(401, "Authentication Failed", Value::Null),
            }
        }
        "/api/1/login/verify_factor" => {
            let user = body["state_token"]
                .as_str()
                .and_then(|s| st.sessions.get(s))
                .and_then(|u| u.strip_prefix("mfa:"))
                .map(str::to_owned);
            let Some(user) = user else {
                return v1(400, "Invalid state_token", Value::Null);
            };
            match (body["device_id"].as_str(), body["otp_token"].as_str()) {
                (Some("11"), Some("123456")) => session(st, &user),
                (Some("11"), _) => v1(401, "Failed authentication with this factor", Value::Null),
                (Some("12"), None) => {
                    st.polls += 1;
                    if st.polls >= 3 {
                        session(st, &user)
                    } else {
                        v1(200, "Authentication pending on OL Protect", json!([]))
                    }
                }
                (Some("13"), None) => {
                    v1(401, "Failed authentication with this factor", Value::Null)
                }
                _ => v1(400, "bad request", Value::Null),
            }
        }
        "/session_via_api_token" if req.method == "POST" => {
            let user = field(&req.form(), "session_token").and_then(|t| st.sessions.remove(t));
            match user {
                Some(user) => {
                    let cookie = st.secret("ol-web-");
                    st.sessions.insert(cookie.clone(), format!("web:{user}"));
                    reply(
                        200,
                        "<html>signed in</html>".into(),
                        &[(
                            "set-cookie",
                            &format!("sub_session_onelogin.com={cookie}; Path=/; HttpOnly"),
                        )],
                    )
                }
                None => reply(400, "bad session token".into(), &[]),
            }
        }
        "/oidc/2/auth" => {
            let user = req
                .cookie("sub_session_onelogin.com")
                .and_then(|c| st.sessions.get(&c))
                .and_then(|u| u.strip_prefix("web:"))
                .map(str::to_owned);
            match user {
                Some(user) => authorize(st, &req.query, &user, &[]),
                None => redirect("/login"),
            }
        }
        "/oidc/2/token" => token(&issuer, st, req),
        "/login" => html("<html><form><input name=username></form></html>"),
        // No discovery document: the client falls back to v3's `/auth` and `/token`.
        _ => v1(404, "Not Found", Value::Null),
    }
}

// ---------------------------------------------------------------------------------------------
// ForgeRock AM: the authenticate API in realm alpha, its SSO cookie, then the realm's OAuth2.

/// hank has no MFA (a non-ASCII password); ivy's code service wants 123456; ida's push service
/// waits twice then approves; ivan's push is denied.
fn am(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    if req.method == "HEAD" {
        // AM's fingerprint (its CORS headers), for provider detection.
        return reply(
            200,
            String::new(),
            &[(
                "access-control-allow-headers",
                "X-OpenAM-Username, X-OpenAM-Password, Accept-API-Version",
            )],
        );
    }
    let issuer = format!("{base}/am/oauth2/realms/root/realms/alpha");
    let decoded = |name: &str| {
        let raw = req.header(name)?;
        let b64 = raw.strip_prefix("=?UTF-8?B?")?.strip_suffix("?=")?;
        String::from_utf8(STANDARD.decode(b64).ok()?).ok()
    };
    let unauthorized = || {
        json_reply(
            401,
            json!({"code": 401, "reason": "Unauthorized", "message": "Authentication Failed"}),
        )
    };
    let signed_in = |st: &mut State, user: &str| {
        let token = st.secret("AQIC");
        st.sessions.insert(token.clone(), user.to_owned());
        json_reply(
            200,
            json!({"tokenId": token, "successUrl": "/am/console", "realm": "/alpha"}),
        )
    };
    let step = |st: &mut State, user: &str, callbacks: Value| {
        let auth_id = st.secret("authid-");
        st.sessions.insert(auth_id.clone(), format!("step:{user}"));
        json_reply(200, json!({"authId": auth_id, "callbacks": callbacks}))
    };
    let polling =
        json!([{"type": "PollingWaitCallback", "output": [{"name": "waitTime", "value": "1000"}]}]);
    let body = req.json();
    match req.path.as_str() {
        "/am/oauth2/realms/root/realms/alpha/.well-known/openid-configuration" => {
            discovery(&issuer, "/authorize", "/access_token")
        }
        "/am/json/realms/root/realms/alpha/authenticate" => {
            if req.header("accept-api-version").is_none() {
                return json_reply(400, json!({"message": "no API version"}));
            }
            let service = req.query("authIndexValue").unwrap_or_default().to_owned();
            let Some(auth_id) = body["authId"].as_str() else {
                st.password_posts += 1;
                return match (
                    decoded("X-OpenAM-Username").as_deref(),
                    decoded("X-OpenAM-Password").as_deref(),
                    service.as_str(),
                ) {
                    (Some("hank"), Some("hänk-pässword"), _) => signed_in(st, "hank"),
                    (Some("ivy"), Some("ivy-password"), "mfa_oath_authentication") => step(
                        st,
                        "ivy",
                        json!([{"type": "TextOutputCallback", "output": [{"name": "message", "value": "Code"}]},
                               {"type": "PasswordCallback", "input": [{"name": "IDToken2", "value": ""}]}]),
                    ),
                    (Some(u @ ("ida" | "ivan")), Some(p), "mfa_push_authentication")
                        if p == format!("{u}-password") =>
                    {
                        step(st, u, polling)
                    }
                    _ => unauthorized(),
                };
            };
            let user = st
                .sessions
                .get(auth_id)
                .and_then(|u| u.strip_prefix("step:"))
                .map(str::to_owned);
            match user.as_deref() {
                Some("ivy") if body["callbacks"][1]["input"][0]["value"] == "123456" => {
                    signed_in(st, "ivy")
                }
                Some(u @ ("ida" | "ivan")) => {
                    st.polls += 1;
                    match (u, st.polls) {
                        ("ida", n) if n >= 3 => signed_in(st, "ida"),
                        ("ivan", n) if n >= 2 => unauthorized(),
                        _ => json_reply(200, json!({"authId": auth_id, "callbacks": polling})),
                    }
                }
                _ => unauthorized(),
            }
        }
        "/am/oauth2/realms/root/realms/alpha/authorize" => {
            let user = req
                .cookie("iPlanetDirectoryPro")
                .and_then(|c| st.sessions.get(&c).cloned())
                .filter(|u| !u.contains(':'));
            match user {
                Some(user) => authorize(st, &req.query, &user, &[]),
                None => redirect("/am/XUI/?realm=/alpha"),
            }
        }
        "/am/oauth2/realms/root/realms/alpha/access_token" => token(&issuer, st, req),
        "/am/XUI/" => html("<html><script>/* the AM login UI */</script></html>"),
        _ => json_reply(404, json!({"code": 404, "message": "Not Found"})),
    }
}

// ---------------------------------------------------------------------------------------------
// Keycloak's one-time-code step (the real Keycloak answers the login with a 302 to the
// redirect URI, which v3 rejects), realm corp, no discovery document served.

fn kc_form(
    base: &str,
    st: &mut State,
    login: Vec<(String, String)>,
    otp: bool,
    error: &str,
) -> tiny_http::ResponseBox {
    let session_code = st.secret("kc-session-");
    st.logins.insert(session_code.clone(), login);
    let action = format!(
        "{base}/realms/corp/login-actions/authenticate?session_code={session_code}&amp;execution=e1&amp;client_id={CLIENT}&amp;tab_id=t1"
    );
    let inputs = if otp {
        r#"<input id="otp" name="otp" autocomplete="off" type="text">"#
    } else {
        r#"<input id="username" name="username" type="text"><input id="password" name="password" type="password"><input type="hidden" id="id-hidden-input" name="credentialId">"#
    };
    let id = if otp {
        "kc-otp-login-form"
    } else {
        "kc-form-login"
    };
    html(&format!(
        r#"<html><body><span id="input-error">{error}</span><form id="{id}" action="{action}" method="post">{inputs}<input type="submit" name="login" value="Sign In"></form></body></html>"#
    ))
}

/// kim signs in with kim-password, then the code 123456.
fn keycloak(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    let issuer = format!("{base}/realms/corp");
    match req.path.as_str() {
        "/realms/corp/protocol/openid-connect/auth" => {
            kc_form(base, st, req.query.clone(), false, "")
        }
        "/realms/corp/login-actions/authenticate" if req.method == "POST" => {
            let Some(login) = req.query("session_code").and_then(|c| st.logins.remove(c)) else {
                return html("<html>Your login attempt timed out.</html>");
            };
            let form = req.form();
            if let Some(code) = field(&form, "otp") {
                return match login.iter().find(|(k, _)| k == "kc-user") {
                    Some((_, user)) if code == "123456" => {
                        let user = user.clone();
                        let identity = st.secret("kc-identity-");
                        let cookie = format!("KEYCLOAK_IDENTITY={identity}; Path=/realms/corp/");
                        authorize(st, &login, &user, &[("set-cookie", &cookie)])
                    }
                    _ => kc_form(base, st, login, true, "Invalid authenticator code."),
                };
            }
            st.password_posts += 1;
            match (field(&form, "username"), field(&form, "password")) {
                (Some("kim"), Some("kim-password")) => {
                    let mut login = login;
                    login.push(("kc-user".into(), "kim".into()));
                    kc_form(base, st, login, true, "")
                }
                _ => kc_form(base, st, login, false, "Invalid username or password."),
            }
        }
        "/realms/corp/protocol/openid-connect/token" => token(&issuer, st, req),
        _ => reply(404, "Not Found".into(), &[]),
    }
}

// ---------------------------------------------------------------------------------------------

/// Profiles signing in at `url` as the provider `provider`: dev and ops (two roles, one ID
/// token), code and push (mfa_type).
fn config(url: &str, provider: &str) -> String {
    format!(
        "[profile idp]\nweb_identity_auth_url = {url}\nweb_identity_client_id = {CLIENT}\n\
         web_identity_redirect_uri = app:/callback\nweb_identity_provider = {provider}\nregion = us-east-1\n\n\
         [profile dev]\nsource_profile = idp\nrole_arn = {DEV}\n\n\
         [profile ops]\nsource_profile = idp\nrole_arn = {OPS}\n\n\
         [profile code]\nsource_profile = idp\nrole_arn = {DEV}\nmfa_type = code\n\n\
         [profile push]\nsource_profile = idp\nrole_arn = {DEV}\nmfa_type = push\n"
    )
}

fn setup(url: &str, provider: &str) -> Sandbox {
    let sandbox = Sandbox::with_files(&config(url, provider), "");
    sandbox.moto.start_recording();
    sandbox
}

fn sign_in(sandbox: &Sandbox, args: &[&str], password: &str) -> Output {
    let mut cmd = sandbox.runas();
    if !password.is_empty() {
        cmd.env("WEB_PASSWORD", password);
    }
    run(cmd.args(args), LIMIT)
}

/// The identity STS sees for the credentials in `exports` (through the real AWS CLI).
fn identity(sandbox: &Sandbox, exports: &str) -> String {
    let mut aws = sandbox.aws();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        aws.env(var, eval_in_sh(exports, var));
    }
    let out = run(
        aws.args(["sts", "get-caller-identity", "--region", "us-east-1"]),
        LIMIT,
    )
    .ok();
    json(&out.stdout)["Arn"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_signed_in_as(sandbox: &Sandbox, out: &Output, role: &str, user: &str) {
    let arn = identity(sandbox, &out.stdout);
    assert_assumed_role(&arn, role);
    assert!(arn.ends_with(&format!("/{user}")), "{arn}");
}

/// A failed push: the prompt to approve it, then one line saying why, nothing else.
#[track_caller]
fn push_refused(out: Output, prompt: &str) -> String {
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(
        out.code.is_some() && !out.stderr.contains("panicked"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", out.stderr);
    assert!(lines[0].contains(prompt), "{:?}", out.stderr);
    lines[1].to_owned()
}

/// `-vv` as it must be: useful, and without any password, token, code, cookie or state the
/// stand-in handed out, the ID token (or any part of it), or the secret key.
#[track_caller]
fn assert_quiet(log: &str, passwords: &[&str], secrets: &[String], stdout: &str) {
    assert!(
        log.contains("AssumeRoleWithWebIdentity") && log.contains("IdP: POST"),
        "-vv logged nothing useful: {log}"
    );
    for p in passwords {
        assert!(!log.contains(p), "password in the log");
    }
    assert!(!secrets.is_empty());
    for secret in secrets {
        for part in secret.split('.') {
            assert!(!log.contains(part), "{secret} (or part of it) in the log");
        }
    }
    for marker in [
        "code=",
        "code_verifier",
        "state=",
        "sessionToken",
        "session_token=",
    ] {
        assert!(!log.contains(marker), "{marker} in the log");
    }
    let secret = eval_in_sh(stdout, "AWS_SECRET_ACCESS_KEY");
    assert!(!log.contains(&secret), "secret key in the log");
}

/// What every provider must do: a wrong password is one line and no STS call; a sign-in (at
/// -vv, quiet) gives the role; another role needs no request to the IdP (the cached ID token).
#[track_caller]
fn password_wrong_right_and_cached(idp: &Idp, sandbox: &Sandbox, user: &str, password: &str) {
    let err = sign_in(sandbox, &["-U", user, "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains(&format!("rejected the password for '{user}'"))
            && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert_eq!(idp.password_posts(), 1, "tried once");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);

    let out = sign_in(sandbox, &["-vv", "-U", user, "dev"], password).ok();
    assert_signed_in_as(sandbox, &out, "Dev", user);
    assert_quiet(&out.stderr, &[password], &idp.secrets(), &out.stdout);

    let before = idp.requests();
    let ops = sign_in(sandbox, &["-U", user, "ops"], "").ok();
    assert_signed_in_as(sandbox, &ops, "Ops", user);
    assert_eq!(
        idp.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn okta_password_code_push_and_the_cached_id_token() {
    let idp = Idp::start(okta);
    let sandbox = setup(&format!("{}/oauth2/default", idp.base()), "okta");
    password_wrong_right_and_cached(&idp, &sandbox, "dave", "dave-password");

    let err = sign_in(&sandbox, &["-U", "lou", "dev"], "lou-password").one_line_error();
    assert!(err.contains("has locked the account 'lou'"), "{err}");

    let err = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "000000", "code"],
        "erin-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "123456", "code"],
        "erin-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "erin");

    let out = sign_in(&sandbox, &["-U", "paul", "push"], "paul-password").ok();
    assert!(
        out.stderr.contains("approve the Okta push"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "paul");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "rex", "push"], "rex-password"),
        "approve the Okta push",
    );
    assert!(
        err.contains("the Okta push was denied on the device"),
        "{err}"
    );
}

#[test]
fn okta_org_server_without_discovery_and_an_ignored_session_token() {
    // The org authorization server (`/oauth2`) has no discovery document below it: v3's
    // `/v1/authorize` and `/v1/token` are appended.
    let idp = Idp::start(okta);
    let sandbox = setup(&format!("{}/oauth2", idp.base()), "okta");
    let out = sign_in(&sandbox, &["-U", "dave", "dev"], "dave-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "dave");
    // Okta sends the authorization request to its sign-in page instead of the redirect URI.
    let err = sign_in(&sandbox, &["-U", "nina", "dev"], "nina-password").one_line_error();
    assert!(
        err.contains("profile 'dev'")
            && err.contains("did not send them back to the redirect URI")
            && err.contains("/login/login.htm"),
        "{err}"
    );
    assert!(
        !err.contains("okta-session-") && !err.contains("fromURI"),
        "{err}"
    );
    // An answer written to fool the terminal: one line, escapes shown, not obeyed.
    let err = sign_in(&sandbox, &["-U", "eve", "dev"], "eve-password").one_line_error();
    assert!(
        err.contains("HTTP 429: API call exceeded rate limit"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    // A redirect with another state than the one sent: its code is never used.
    let tokens = idp.token_posts();
    let err = sign_in(&sandbox, &["-U", "mallory", "dev"], "mallory-password").one_line_error();
    assert!(
        err.contains("profile 'dev'") && err.contains("another state"),
        "{err}"
    );
    assert!(!err.contains("forged-code"), "{err}");
    assert_eq!(idp.token_posts(), tokens, "no code exchanged");
}

#[test]
fn okta_and_am_are_told_by_their_answers_without_web_identity_provider() {
    let okta = Idp::start(okta);
    let sandbox = setup(&format!("{}/oauth2/default", okta.base()), "auto");
    let out = sign_in(&sandbox, &["-v", "-U", "dave", "dev"], "dave-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: Okta"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "dave");

    let am = Idp::start(am);
    let sandbox = setup(
        &format!("{}/am/oauth2/realms/root/realms/alpha", am.base()),
        "auto",
    );
    let out = sign_in(&sandbox, &["-v", "-U", "hank", "dev"], "hänk-pässword").ok();
    assert!(
        out.stderr.contains("identity provider detected: ForgeRock"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "hank");
}

#[test]
fn onelogin_password_code_push_and_the_cached_id_token() {
    let idp = Idp::start(onelogin);
    let token = STANDARD.encode("id:secret");
    let sandbox = setup(&format!("{}/oidc/2?token={token}", idp.base()), "onelogin");
    // The API client's secret in the URL is as secret as the rest.
    idp.state.lock().unwrap().secrets.push(token.clone());
    password_wrong_right_and_cached(&idp, &sandbox, "frank", "frank-password");

    let err = sign_in(
        &sandbox,
        &["-U", "gina", "-o", "000000", "code"],
        "gina-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "gina", "-o", "123456", "code"],
        "gina-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "gina");

    let out = sign_in(&sandbox, &["-U", "pia", "push"], "pia-password").ok();
    assert!(
        out.stderr.contains("approve the OneLogin Protect push"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "pia");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "hal", "push"], "hal-password"),
        "approve the OneLogin Protect push",
    );
    assert!(err.contains("push was not approved"), "{err}");
}

#[test]
fn onelogin_with_a_wrong_api_client_is_one_line_without_its_secret() {
    let idp = Idp::start(onelogin);
    let token = STANDARD.encode("id:wrong");
    let sandbox = setup(&format!("{}/oidc/2?token={token}", idp.base()), "onelogin");
    let err = sign_in(&sandbox, &["-U", "frank", "dev"], "frank-password").one_line_error();
    assert!(
        err.contains("API credentials") && err.contains("Authentication Failure"),
        "{err}"
    );
    assert!(!err.contains(&token), "the client secret leaked: {err}");
    assert_eq!(idp.password_posts(), 0);
}

#[test]
fn forgerock_password_code_push_and_the_cached_id_token() {
    let idp = Idp::start(am);
    let sandbox = setup(
        &format!("{}/am/oauth2/realms/root/realms/alpha", idp.base()),
        "forgerock",
    );
    // A non-ASCII password travels RFC 2047-encoded in its header.
    password_wrong_right_and_cached(&idp, &sandbox, "hank", "hänk-pässword");

    let err = sign_in(
        &sandbox,
        &["-U", "ivy", "-o", "000000", "code"],
        "ivy-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "ivy", "-o", "123456", "code"],
        "ivy-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "ivy");

    let out = sign_in(&sandbox, &["-U", "ida", "push"], "ida-password").ok();
    assert!(
        out.stderr.contains("approve the sign-in on your device"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "ida");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "ivan", "push"], "ivan-password"),
        "approve the sign-in on your device",
    );
    assert!(err.contains("push was denied or expired"), "{err}");
}

#[test]
fn keycloak_realm_url_signs_in_at_its_login_form() {
    use oidc_provider::{OidcProvider, CLIENT_ID, PASSWORD, USERNAME};
    let op = OidcProvider::start_with(&[("KEYCLOAK_ROUTES", "1"), ("MOUNT_PATH", "/realms/test")]);
    let sandbox = Sandbox::with_files(
        &config(&op.issuer(), "keycloak").replace(CLIENT, CLIENT_ID),
        "",
    );
    sandbox.moto.start_recording();
    let err = sign_in(&sandbox, &["-U", USERNAME, "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains(&format!("rejected the password for '{USERNAME}'")),
        "{err}"
    );
    assert_eq!(op.password_posts(), 1);
    let out = sign_in(&sandbox, &["-vv", "-U", USERNAME, "dev"], PASSWORD).ok();
    assert_signed_in_as(&sandbox, &out, "Dev", USERNAME);
    assert!(
        out.stderr
            .contains("/realms/test/protocol/openid-connect/auth"),
        "Keycloak's endpoints: {}",
        out.stderr
    );
    let cached = sandbox
        .cache_files()
        .into_iter()
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("idtoken_") && name.ends_with(".json")
        })
        .expect("a cached ID token");
    let id_token = json(&std::fs::read_to_string(cached).unwrap())["value"]["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_quiet(&out.stderr, &[PASSWORD], &[id_token], &out.stdout);

    let before = op.requests();
    let ops = sign_in(&sandbox, &["-U", USERNAME, "ops"], "").ok();
    assert_signed_in_as(&sandbox, &ops, "Ops", USERNAME);
    assert_eq!(
        op.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
}

#[test]
fn keycloak_one_time_code_step_and_the_302_after_it() {
    let idp = Idp::start(keycloak);
    let sandbox = setup(&format!("{}/realms/corp", idp.base()), "keycloak");
    let err = sign_in(&sandbox, &["-U", "kim", "-o", "123456", "code"], "nope").one_line_error();
    assert!(err.contains("rejected the password for 'kim'"), "{err}");
    let err = sign_in(
        &sandbox,
        &["-U", "kim", "-o", "000000", "code"],
        "kim-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "kim", "-o", "123456", "code"],
        "kim-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "kim");
    let before = idp.requests();
    sign_in(&sandbox, &["-U", "kim", "ops"], "").ok();
    assert_eq!(
        idp.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
}

// ---------------------------------------------------------------------------------------------
// Azure AD / Entra ID: the authorization request starts the sign-in pages the SAML client walks
// (tests/standins/azuread.rs, shared with tests/saml.rs).

/// The Azure AD stand-in's SAML answer, which no web identity sign-in reaches.
fn saml_page(_: &str) -> tiny_http::ResponseBox {
    reply(500, "no SAML here".into(), &[])
}

/// Everything cached but the IdP's session cookies: the next run signs in again.
fn forget_tokens_and_credentials(sandbox: &Sandbox) {
    for file in sandbox.cache_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("idp_cookies_") && name.ends_with(".json") {
            std::fs::remove_file(file).unwrap();
        }
    }
}

#[test]
fn azure_ad_password_push_code_lockout_and_the_cached_id_token() {
    assert_eq!(azuread::OIDC_CLIENT, CLIENT);
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");

    let err = sign_in(&sandbox, &["-U", "alice", "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert_eq!(aad.password_posts(), 1, "tried once");
    assert_eq!(aad.token_posts(), 0);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);

    let out = sign_in(&sandbox, &["-vv", "-U", "alice", "dev"], "alice-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert!(
        out.stderr.contains("/t-1234/oauth2/v2.0/authorize"),
        "Azure AD's endpoints from its discovery document: {}",
        out.stderr
    );
    assert_quiet(
        &out.stderr,
        &["alice-password"],
        &aad.secrets(),
        &out.stdout,
    );
    for marker in ["ESTSAUTH", "flowToken", "passwd"] {
        assert!(!out.stderr.contains(marker), "{marker} in the log");
    }
    assert_eq!(aad.token_posts(), 1);

    let before = aad.requests();
    let ops = sign_in(&sandbox, &["-U", "alice", "ops"], "").ok();
    assert_signed_in_as(&sandbox, &ops, "Ops", "alice");
    assert_eq!(
        aad.requests(),
        before,
        "the cached ID token: no request to Azure AD"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);

    let err = sign_in(&sandbox, &["-U", "ivan", "dev"], "ivan-password").one_line_error();
    assert!(err.contains("has locked the account 'ivan'"), "{err}");

    let out = sign_in(&sandbox, &["-U", "frank", "push"], "frank-password").ok();
    assert!(
        out.stderr.contains("approve the Azure AD sign-in") && out.stderr.contains("choose 42"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "frank");

    let out = sign_in(&sandbox, &["-U", "gus", "push"], "gus-password");
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    let (last, prompts) = lines.split_last().expect("an error line");
    assert!(
        prompts
            .iter()
            .all(|l| l.starts_with("aws-runas: approve")
                || l.starts_with("aws-runas: on your device")),
        "more than the push prompts and one error: {:?}",
        out.stderr
    );
    assert!(
        last.contains("the Azure AD push was denied on the device"),
        "{last}"
    );

    let tokens = aad.token_posts();
    let err = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "000000", "code"],
        "erin-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    assert!(!err.contains("000000"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "246810", "code"],
        "erin-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "erin");
    assert_eq!(
        aad.token_posts(),
        tokens + 1,
        "only the signed-in code traded"
    );
}

#[test]
fn azure_ad_detected_a_live_session_skips_the_password_and_form_post_answers_are_read() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "auto");
    let out = sign_in(&sandbox, &["-v", "-U", "alice", "dev"], "alice-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: AzureAd"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));

    // The ID token gone, Azure AD's session cookie kept: the authorization request answers at
    // once, with no password (none is given, and no terminal could be asked).
    forget_tokens_and_credentials(&sandbox);
    let out = sign_in(&sandbox, &["-U", "alice", "dev"], "").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));
    assert_eq!(aad.token_posts(), 2);

    // Azure AD answering with its auto-post form: read, never posted (the redirect URI is
    // not a page to load).
    aad.answer_with_form_post();
    let out = sign_in(
        &sandbox,
        &["-U", "sam", "-o", "246810", "code"],
        "sam-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "sam");
    forget_tokens_and_credentials(&sandbox);
    let out = sign_in(&sandbox, &["-U", "sam", "code"], "").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "sam");
    assert_eq!(aad.token_posts(), 4);
}

#[test]
fn azure_ad_tenant_url_without_discovery_and_a_forged_state() {
    // No discovery document below the tenant: v3's `/TENANT/oauth2/v2.0/...` are used.
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.tenant_url(), "azuread");
    let out = sign_in(&sandbox, &["-v", "-U", "alice", "dev"], "alice-password").ok();
    assert!(
        out.stderr.contains("no OpenID discovery document"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");

    // A redirect carrying another state than the one sent: refused before any token request.
    let tokens = aad.token_posts();
    let err = sign_in(&sandbox, &["-U", "oscar", "dev"], "oscar-password").one_line_error();
    assert!(
        err.contains("profile 'dev'") && err.contains("another state"),
        "{err}"
    );
    assert!(!err.contains("code-"), "{err}");
    assert_eq!(aad.token_posts(), tokens, "no code exchanged");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn azure_ad_federated_users_an_unassigned_user_and_an_unknown_client() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");
    // Azure AD sends a federated user to their own IdP's login form; its answer comes back to
    // Azure AD, which ends the authorization request as for its own users.
    let err = sign_in(&sandbox, &["-U", "fed@corp.example", "dev"], "not-it").one_line_error();
    assert!(err.contains("rejected the password"), "{err}");
    let out = sign_in(&sandbox, &["-U", "fed@corp.example", "dev"], "fed-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "fed@corp.example");

    // A user the application is not assigned to: Azure AD's error page, one line.
    let err = sign_in(&sandbox, &["-U", "pat", "dev"], "pat-password").one_line_error();
    assert!(
        err.contains("'pat' is not assigned to the application") && err.contains("AADSTS50105"),
        "{err}"
    );

    // A client id the tenant does not know: Azure AD's error page, one line with its code.
    let sandbox = Sandbox::with_files(
        &config(&aad.issuer(), "azuread").replace(CLIENT, "not-registered"),
        "",
    );
    let posts = aad.password_posts();
    let err = sign_in(&sandbox, &["-U", "alice", "dev"], "alice-password").one_line_error();
    assert!(
        err.contains("profile 'dev'")
            && err.contains("knows no such application")
            && err.contains("AADSTS700016"),
        "{err}"
    );
    assert_eq!(aad.password_posts(), posts, "no password sent");
}

#[test]
fn azure_ad_sixteen_concurrent_callers_make_one_sign_in_one_push_and_one_code_exchange() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .runas()
                .env("WEB_PASSWORD", "frank-password")
                .args(["-O", "json", "-U", "frank", "push"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            o.stdout, outputs[0].stdout,
            "everyone got the same credentials"
        );
    }
    let pushes = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("approve the Azure AD sign-in"))
        .count();
    assert_eq!(pushes, 1);
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));
    assert_eq!(aad.token_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}
