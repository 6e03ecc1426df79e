//! A loopback stand-in of Azure AD / Entra ID's sign-in pages and of the My Apps portal in front
//! of them, written from the flow as the client's module header describes it
//! (`src/idp/azuread.rs`: the request sequence, steps 1 to 6) and what public clients of it
//! send: `$Config` pages (`ConvergedSignIn`, `ConvergedTFA`, `KmsiInterrupt`) with flow tokens
//! that change at every step and are checked, GetCredentialType with its `canary` header,
//! BeginAuth / EndAuth, the auto-post form that ends the portal sign-in, and the app page whose
//! script goes on to `/TENANT/saml2?SAMLRequest=…`. HEAD answers carry `x-ms-request-id`.
//!
//! Users (password `NAME-password`): alice has no MFA; frank's push is approved at the third
//! EndAuth; gus denies his push; hal's times out at Azure AD (`PhoneAppNoResponse`); erin uses
//! codes (PhoneAppOTP or OneWaySMS, 246810), sam by SMS (his default; 246810 too); judy's push stays pending and her page asks for polls
//! two minutes apart, longer than any client waits; kim's push waits until the test approves it
//! (`approve_pushes`); ivan is locked out (50053, whatever the password);
//! fed@corp.example is federated to an ADFS-like IdP on the same server (`/adfs/ls/`, password
//! `fed-password`), whose answer posts a WS-Federation token back to `/login.srf`. Sessions live
//! in the `ESTSAUTH` cookie.
//!
//! pat is not assigned to the application (AADSTS50105 once the password is right);
//! oscar signs in as alice does, but his OpenID authorization comes back with another `state`.
//!
//! The OpenID side (web identity), at `/TENANT/v2.0` (discovery; none below `/TENANT`) and
//! `/TENANT/oauth2/v2.0/{authorize,token}`: the authorization request (client
//! `aws-runas-client`, PKCE S256 required) starts the same sign-in pages, its own request context
//! (`sCtx`) carried through them, or with a live session answers at once; the sign-in ends with
//! a 302 to `redirect_uri?code&state` (or, after `answer_with_form_post`, Azure AD's auto-post
//! form aimed at it). The token endpoint hands each code out once, for its redirect URI and the
//! verifier of its challenge, and answers with an unsigned-looking ID token (moto does not check
//! signatures). Everything handed out that must not be logged is listed by `secrets`.

// Two test binaries (SAML and web identity) use different parts of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tiny_http::{Header, Method, Request, Response, ResponseBox, Server};

const TENANT: &str = "t-1234";
const CANARY: &str = "canary-form-1";
const API_CANARY: &str = "canary-api-1";
const CTX: &str = "ctx-request-1";
/// The OpenID client the tenant knows.
pub const OIDC_CLIENT: &str = "aws-runas-client";
const USERS: [&str; 11] = [
    "alice", "frank", "gus", "hal", "erin", "ivan", "judy", "kim", "sam", "oscar", "pat",
];

/// An OpenID authorization request waiting for its sign-in to end.
struct Authorization {
    redirect_uri: String,
    state: Option<String>,
    challenge: String,
}

/// A code handed out, waiting to be traded at the token endpoint.
struct Grant {
    user: String,
    redirect_uri: String,
    challenge: String,
}

#[derive(Default)]
struct State {
    requests: usize,
    token_posts: usize,
    form_post: bool,
    /// Request context (`sCtx`) → the authorization request it signs in for.
    authorizations: HashMap<String, Authorization>,
    codes: HashMap<String, Grant>,
    /// What must never show in a log.
    secrets: Vec<String>,
    password_posts: usize,
    sign_ins: usize,
    end_auth: usize,
    approved: bool,
    next: usize,
    /// Flow token → (user, the step it was issued for).
    flows: HashMap<String, (String, &'static str)>,
    /// MFA session id → user, the EndAuth polls it has seen, and its request context.
    mfa: HashMap<String, (String, usize, String)>,
    /// ESTSAUTH value → user.
    sessions: HashMap<String, String>,
}

impl State {
    fn token(&mut self, user: &str, step: &'static str) -> String {
        self.next += 1;
        let t = format!("ft-{}-{step}", self.next);
        self.flows.insert(t.clone(), (user.to_owned(), step));
        self.secrets.push(t.clone());
        t
    }

    /// A random value for `prefix`, listed among the secrets.
    fn secret(&mut self, prefix: &str) -> String {
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).unwrap();
        let s = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random));
        self.secrets.push(s.clone());
        s
    }

    /// Whether a request context is one this server issued (the portal's or an
    /// authorization request's).
    fn known(&self, ctx: &str) -> bool {
        ctx == CTX || self.authorizations.contains_key(ctx)
    }

    /// The user a flow token issued for `step` belongs to; a token is good once.
    fn take(&mut self, token: &str, step: &str) -> Option<String> {
        match self.flows.remove(token) {
            Some((user, s)) if s == step => Some(user),
            _ => None,
        }
    }
}

pub struct AzureAd {
    server: Arc<Server>,
    state: Arc<Mutex<State>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AzureAd {
    pub fn start() -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st) = (server.clone(), state.clone());
        let thread = std::thread::spawn(move || {
            let base = format!("http://{}", s.server_addr());
            for mut request in s.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let response = respond(&base, &mut st.lock().unwrap(), &request, &body);
                let _ = request.respond(response);
            }
        });
        AzureAd {
            server,
            state,
            thread: Some(thread),
        }
    }

    /// The app's "User access URL".
    pub fn url(&self) -> String {
        format!(
            "http://{}/signin/AWS/app-1?tenantId={TENANT}",
            self.server.server_addr()
        )
    }

    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// The OpenID issuer (`web_identity_auth_url`).
    pub fn issuer(&self) -> String {
        format!("http://{}/{TENANT}/v2.0", self.server.server_addr())
    }

    /// The tenant's URL, below which no discovery document is served.
    pub fn tenant_url(&self) -> String {
        format!("http://{}/{TENANT}", self.server.server_addr())
    }

    pub fn token_posts(&self) -> usize {
        self.state.lock().unwrap().token_posts
    }

    /// Codes, tokens, flow tokens, session cookies and states handed out or seen.
    pub fn secrets(&self) -> Vec<String> {
        self.state.lock().unwrap().secrets.clone()
    }

    /// Ends OpenID sign-ins with the auto-post form (`response_mode=form_post`'s answer).
    pub fn answer_with_form_post(&self) {
        self.state.lock().unwrap().form_post = true;
    }

    /// Password forms received, right or wrong.
    pub fn password_posts(&self) -> usize {
        self.state.lock().unwrap().password_posts
    }

    /// Sign-ins completed (sessions created).
    pub fn sign_ins(&self) -> usize {
        self.state.lock().unwrap().sign_ins
    }

    pub fn end_auth_calls(&self) -> usize {
        self.state.lock().unwrap().end_auth
    }

    /// The person taps "Approve" on kim's phone.
    pub fn approve_pushes(&self) {
        self.state.lock().unwrap().approved = true;
    }

    /// Forgets every session, as Azure AD does when it revokes them.
    pub fn revoke_sessions(&self) {
        self.state.lock().unwrap().sessions.clear();
    }
}

impl Drop for AzureAd {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn html(body: String) -> ResponseBox {
    Response::from_string(body)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
        .with_header(header(
            "x-ms-request-id",
            "5c1f0a9e-0000-4000-8000-000000000001",
        ))
        .boxed()
}

fn json_reply(status: u16, value: Value) -> ResponseBox {
    Response::from_string(value.to_string())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json; charset=utf-8"))
        .boxed()
}

fn redirect(to: &str) -> ResponseBox {
    Response::empty(302)
        .with_header(header("Location", to))
        .boxed()
}

/// A sign-in page as Azure AD renders it: the state in `$Config`, the rest script. One string
/// holds `};` so that a client cutting at the first one gets it wrong.
fn converged(config: Value) -> ResponseBox {
    let mut config = config;
    config["strings"] = json!({"sTitle": "Sign in; {or} don't};"});
    config["canary"] = json!(CANARY);
    config["sFTName"] = json!("flowToken");
    config["correlationId"] = json!("corr-1");
    config["sessionId"] = json!("sess-page-1");
    html(format!(
        "<!DOCTYPE html><html><head><title>Sign in to your account</title>\
         <script type=\"text/javascript\">//<![CDATA[\n$Config={config};\n//]]></script></head>\
         <body><div id=\"root\"></div></body></html>"
    ))
}

fn sign_in_page(base: &str, state: &mut State, error: &str, ctx: &str) -> ResponseBox {
    let ft = state.token("", "login");
    converged(json!({
        "pgid": "ConvergedSignIn", "sFT": ft, "sCtx": ctx, "urlPost": format!("/{TENANT}/login"),
        "urlGetCredentialType": format!("{base}/common/GetCredentialType?mkt=en-US"),
        "apiCanary": API_CANARY, "hpgact": 1900, "hpgid": 1104, "sErrorCode": error,
    }))
}

fn kmsi_page(state: &mut State, user: &str, ctx: &str) -> ResponseBox {
    let ft = state.token(user, "kmsi");
    converged(json!({
        "pgid": "KmsiInterrupt", "sFT": ft, "sCtx": ctx, "urlPost": "/kmsi", "sErrorCode": "50058",
    }))
}

fn tfa_page(base: &str, state: &mut State, user: &str, ctx: &str) -> ResponseBox {
    let ft = state.token(user, "tfa");
    let proofs = if user == "sam" {
        json!([{"authMethodId": "PhoneAppNotification", "data": "PhoneAppNotification", "display": "+X XXXXXXXX34", "isDefault": false},
               {"authMethodId": "OneWaySMS", "data": "OneWaySMS", "display": "+X XXXXXXXX34", "isDefault": true}])
    } else if user == "erin" {
        json!([{"authMethodId": "PhoneAppOTP", "data": "PhoneAppOTP", "display": "+X XXXXXXXX12", "isDefault": true},
               {"authMethodId": "OneWaySMS", "data": "OneWaySMS", "display": "+X XXXXXXXX12", "isDefault": false}])
    } else {
        json!([{"authMethodId": "PhoneAppNotification", "data": "PhoneAppNotification", "display": "+X XXXXXXXX12", "isDefault": true},
               {"authMethodId": "TwoWayVoiceMobile", "data": "TwoWayVoiceMobile", "display": "+X XXXXXXXX12", "isDefault": false}])
    };
    converged(json!({
        "pgid": "ConvergedTFA", "sFT": ft, "sCtx": ctx, "arrUserProofs": proofs,
        "urlBeginAuth": format!("{base}/common/SAS/BeginAuth"),
        "urlEndAuth": format!("{base}/common/SAS/EndAuth"),
        "urlPost": "/common/SAS/ProcessAuth",
        "oPerAuthPollingInterval": {"PhoneAppNotification": if user == "judy" { 120.0 } else { 0.5 }, "OneWaySMS": 1},
    }))
}

fn adfs_login(error: &str, wctx: &str) -> ResponseBox {
    html(format!(
        "<html><body>{error}<form method=\"post\" id=\"loginForm\" autocomplete=\"off\" action=\"/adfs/ls/?wa=wsignin1.0&amp;wctx={wctx}\">\
         <input id=\"userNameInput\" name=\"UserName\" type=\"email\" value=\"\" />\
         <input id=\"passwordInput\" name=\"Password\" type=\"password\" />\
         <input id=\"kmsiInput\" type=\"checkbox\" name=\"Kmsi\" value=\"true\" />\
         <input id=\"optionForms\" type=\"hidden\" name=\"AuthMethod\" value=\"FormsAuthentication\" />\
         <span id=\"submitButton\" role=\"button\">Sign in</span></form></body></html>"
    ))
}

fn mfa_reply(
    success: bool,
    result: &str,
    retry: bool,
    err: i64,
    ft: &str,
    session: &str,
    ctx: &str,
) -> Value {
    json!({"Success": success, "ResultValue": result, "Message": null, "AuthMethodId": "",
           "ErrCode": err, "Retry": retry, "FlowToken": ft, "Ctx": ctx, "SessionId": session,
           "CorrelationId": "corr-1", "Timestamp": "2026-01-01T00:00:00Z", "Entropy": 0})
}

fn respond(base: &str, state: &mut State, request: &Request, body: &str) -> ResponseBox {
    state.requests += 1;
    if *request.method() == Method::Head {
        return html(String::new());
    }
    let cookie = |name: &str| {
        request
            .headers()
            .iter()
            .filter(|h| h.field.equiv("Cookie"))
            .flat_map(|h| {
                h.value
                    .as_str()
                    .split(';')
                    .map(str::trim)
                    .map(str::to_owned)
            })
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    let session_user = cookie("ESTSAUTH").and_then(|s| state.sessions.get(&s).cloned());
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let body_json: Value = serde_json::from_str(body).unwrap_or_default();
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    match path {
        "/signin/AWS/app-1" => match session_user {
            // The app's page with a live session: its script starts the SAML sign-in.
            Some(_) => html(format!(
                "<html><head><script>window.location = '{}\\/{TENANT}\\/saml2?SAMLRequest=fZJNT8Mw\\u0026RelayState=app-1';</script></head></html>",
                base.replace('/', "\\/")
            )),
            None => redirect(&format!(
                "/{TENANT}/oauth2/authorize?client_id=myapps&response_mode=form_post&state=st-app"
            )),
        },
        p if p == format!("/{TENANT}/oauth2/authorize") => sign_in_page(base, state, "", CTX),
        p if p == format!("/{TENANT}/v2.0/.well-known/openid-configuration") => json_reply(
            200,
            json!({"issuer": format!("{base}/{TENANT}/v2.0"),
                   "authorization_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/authorize"),
                   "token_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/token"),
                   "device_authorization_endpoint": format!("{base}/{TENANT}/oauth2/v2.0/devicecode"),
                   "response_modes_supported": ["query", "fragment", "form_post"],
                   "code_challenge_methods_supported": ["S256"]}),
        ),
        p if p == format!("/{TENANT}/oauth2/v2.0/authorize") => {
            oidc_authorize(base, state, query, session_user)
        }
        p if p == format!("/{TENANT}/oauth2/v2.0/token") => oidc_token(base, state, &form),
        "/common/GetCredentialType" => {
            let canary = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("canary"))
                .map(|h| h.value.as_str().to_owned());
            if canary.as_deref() != Some(API_CANARY) {
                return json_reply(400, json!({"error": "bad canary"}));
            }
            let user = body_json["username"].as_str().unwrap_or_default().to_owned();
            let Some(_) = state.take(body_json["flowToken"].as_str().unwrap_or_default(), "login")
            else {
                return json_reply(400, json!({"error": "bad flow token"}));
            };
            let ft = state.token(&user, "login");
            let federated = user.ends_with("@corp.example");
            json_reply(
                200,
                json!({"Username": user, "Display": user,
                       "IfExistsResult": if federated || USERS.contains(&user.as_str()) { 0 } else { 1 },
                       "ThrottleStatus": 0,
                       "Credentials": {"PrefCredential": 1, "HasPassword": !federated,
                                       "FederationRedirectUrl": if federated { format!("{base}/adfs/ls/?wa=wsignin1.0&wctx={}&username={}", body_json["originalRequest"].as_str().unwrap_or_default(), user.replace('@', "%40")) } else { String::new() }},
                       "FlowToken": ft, "apiCanary": API_CANARY}),
            )
        }
        p if p == format!("/{TENANT}/login") => {
            let user = field("login");
            let ctx = field("ctx");
            if field("canary") != CANARY || !state.known(&ctx) || field("loginfmt") != user {
                return html("<p>Bad request</p>".into());
            }
            let issued = state.take(&field("flowToken"), "login");
            if issued.as_deref() != Some(user.as_str()) {
                return html("<p>Your session has timed out.</p>".into());
            }
            state.password_posts += 1;
            if user == "ivan" {
                return sign_in_page(base, state, "50053", &ctx);
            }
            if field("passwd") != format!("{user}-password") || !USERS.contains(&user.as_str()) {
                return sign_in_page(base, state, "50126", &ctx);
            }
            match user.as_str() {
                "alice" | "oscar" => kmsi_page(state, &user, &ctx),
                "pat" => error_page("50105"),
                _ => tfa_page(base, state, &user, &ctx),
            }
        }
        "/common/SAS/BeginAuth" => {
            let method = body_json["AuthMethodId"].as_str().unwrap_or_default().to_owned();
            let ft = body_json["FlowToken"].as_str().unwrap_or_default();
            let ctx = body_json["Ctx"].as_str().unwrap_or_default().to_owned();
            if body_json["Method"] != "BeginAuth" || !state.known(&ctx) {
                return json_reply(400, json!({"error": "bad request"}));
            }
            let Some(user) = state.take(ft, "tfa") else {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", "", &ctx));
            };
            let ft = state.token(&user, "endauth");
            state.next += 1;
            let session = format!("sas-{}", state.next);
            state.mfa.insert(session.clone(), (user, 0, ctx.clone()));
            let mut reply = mfa_reply(true, "Success", false, 0, &ft, &session, &ctx);
            reply["AuthMethodId"] = json!(method);
            if method == "PhoneAppNotification" {
                reply["Entropy"] = json!(42);
            }
            json_reply(200, reply)
        }
        "/common/SAS/EndAuth" => {
            state.end_auth += 1;
            let session = body_json["SessionId"].as_str().unwrap_or_default().to_owned();
            let ft = body_json["FlowToken"].as_str().unwrap_or_default().to_owned();
            let Some((user, polls, ctx)) = state.mfa.get(&session).cloned() else {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", "", CTX));
            };
            if state.take(&ft, "endauth").as_deref() != Some(user.as_str())
                || body_json["Method"] != "EndAuth"
                || body_json["Ctx"] != ctx.as_str()
            {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", "", &ctx));
            }
            state.mfa.insert(session.clone(), (user.clone(), polls + 1, ctx.clone()));
            let method = body_json["AuthMethodId"].as_str().unwrap_or_default();
            let code = body_json["AdditionalAuthData"].as_str();
            let (ok, result, retry, err) = match (user.as_str(), method, code) {
                ("erin", "PhoneAppOTP" | "OneWaySMS", Some("246810")) => (true, "Success", false, 0),
                ("sam", "OneWaySMS", Some("246810")) => (true, "Success", false, 0),
                ("erin", "PhoneAppOTP", _) => (false, "OathCodeIncorrect", true, 0),
                ("erin", "OneWaySMS", _) => (false, "SMSAuthFailedWrongCodeEntered", true, 0),
                ("frank", "PhoneAppNotification", None) if polls >= 2 => (true, "Success", false, 0),
                ("kim", "PhoneAppNotification", None) if state.approved => (true, "Success", false, 0),
                ("frank" | "judy" | "kim", "PhoneAppNotification", None) => {
                    (false, "AuthenticationPending", true, 0)
                }
                ("gus", "PhoneAppNotification", None) => (false, "PhoneAppDenied", false, 500121),
                ("hal", "PhoneAppNotification", None) => {
                    (false, "PhoneAppNoResponse", false, 500121)
                }
                _ => (false, "InvalidProofData", false, 0),
            };
            let next = if ok {
                state.token(&user, "processauth")
            } else if retry {
                state.token(&user, "endauth")
            } else {
                String::new()
            };
            json_reply(200, mfa_reply(ok, result, retry, err, &next, &session, &ctx))
        }
        "/common/SAS/ProcessAuth" => {
            match state.take(&field("flowToken"), "processauth") {
                Some(user) if state.known(&field("request")) && field("login") == user => {
                    kmsi_page(state, &user, &field("request"))
                }
                _ => html("<p>Your session has timed out.</p>".into()),
            }
        }
        "/kmsi" => {
            let Some(user) = state.take(&field("flowToken"), "kmsi") else {
                return html("<p>Your session has timed out.</p>".into());
            };
            let ctx = field("ctx");
            if field("LoginOptions") != "1" || !state.known(&ctx) {
                return html("<p>Bad request</p>".into());
            }
            state.sign_ins += 1;
            state.next += 1;
            let session = format!("estsauth-{}-{user}", state.next);
            state.secrets.push(session.clone());
            state.sessions.insert(session.clone(), user.clone());
            let set_cookie = header(
                "Set-Cookie",
                &format!("ESTSAUTH={session}; path=/; HttpOnly; max-age=86400"),
            );
            if let Some(authorization) = state.authorizations.remove(&ctx) {
                let mut r = authorized(state, authorization, &user);
                r.add_header(set_cookie);
                return r;
            }
            let mut r = html(format!(
                "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{base}/signin/callback\">\
                 <input type=\"hidden\" name=\"code\" value=\"code-{n}\" /><input type=\"hidden\" name=\"id_token\" value=\"eyJ0eXAiOiJKV1Qi.e30.sig\" />\
                 <input type=\"hidden\" name=\"state\" value=\"st-app\" /><input type=\"hidden\" name=\"session_state\" value=\"ss-1\" />\
                 <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form>\
                 <script>window.setTimeout(function(){{document.forms[0].submit()}},0);</script></body></html>",
                n = state.next
            ));
            r.add_header(set_cookie);
            r
        }
        "/adfs/ls/" if *request.method() == Method::Get => {
            let wctx = query_value(query, "wctx");
            adfs_login("", &wctx)
        }
        "/adfs/ls/" => {
            state.password_posts += 1;
            let user = field("UserName");
            let wctx = query_value(query, "wctx");
            if field("AuthMethod") != "FormsAuthentication"
                || !user.ends_with("@corp.example")
                || field("Password") != "fed-password"
            {
                return adfs_login(
                    "<span id=\"errorText\">Incorrect user ID or password.</span>",
                    &wctx,
                );
            }
            html(format!(
                "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{base}/login.srf\">\
                 <input type=\"hidden\" name=\"wa\" value=\"wsignin1.0\" />\
                 <input type=\"hidden\" name=\"wresult\" value=\"&lt;t:RequestSecurityTokenResponse&gt;{user}&lt;/t:RequestSecurityTokenResponse&gt;\" />\
                 <input type=\"hidden\" name=\"wctx\" value=\"{wctx}\" />\
                 <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form></body></html>"
            ))
        }
        "/login.srf" => {
            let token = field("wresult");
            let user = token
                .strip_prefix("<t:RequestSecurityTokenResponse>")
                .and_then(|t| t.strip_suffix("</t:RequestSecurityTokenResponse>"))
                .filter(|u| u.ends_with("@corp.example"));
            match user {
                Some(user) if state.known(&field("wctx")) => kmsi_page(state, user, &field("wctx")),
                _ => html("<p>AADSTS50008: the SAML token is invalid.</p>".into()),
            }
        }
        "/signin/callback" => {
            if field("state") != "st-app" || !field("code").starts_with("code-") {
                return html("<p>Bad request</p>".into());
            }
            redirect(&format!("/signin/AWS/app-1?tenantId={TENANT}"))
        }
        p if p == format!("/{TENANT}/saml2") => match session_user {
            Some(user) if query.starts_with("SAMLRequest=") => super::saml_page(&user),
            _ => redirect(&format!("/{TENANT}/oauth2/authorize?client_id=saml")),
        },
        _ => Response::from_string("not found").with_status_code(404).boxed(),
    }
}

fn query_value(query: &str, key: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// An error page as Azure AD shows one (`AADSTS…`): a `$Config` without a flow token.
fn error_page(code: &str) -> ResponseBox {
    converged(json!({"pgid": "ConvergedError", "sErrorCode": code, "iErrorCode": 0}))
}

/// The authorization request: the client and PKCE checked, then the sign-in pages (or, with a
/// live session, the code at once).
fn oidc_authorize(
    base: &str,
    state: &mut State,
    query: &str,
    session_user: Option<String>,
) -> ResponseBox {
    let q = |k: &str| {
        let v = query_value(query, k);
        (!v.is_empty()).then_some(v)
    };
    if q("client_id").as_deref() != Some(OIDC_CLIENT) {
        return error_page("700016"); // application not found in the directory
    }
    let Some(redirect_uri) = q("redirect_uri") else {
        return error_page("900144");
    };
    let openid = q("scope").is_some_and(|s| s.split(' ').any(|s| s == "openid"));
    if q("response_type").as_deref() != Some("code") || !openid {
        return error_page("900144");
    }
    let (Some(challenge), Some("S256")) =
        (q("code_challenge"), q("code_challenge_method").as_deref())
    else {
        return error_page("9002325"); // PKCE required for public clients
    };
    if let Some(s) = q("state") {
        state.secrets.push(s);
    }
    let authorization = Authorization {
        redirect_uri,
        state: q("state"),
        challenge,
    };
    if let Some(user) = session_user {
        return authorized(state, authorization, &user);
    }
    state.next += 1;
    let ctx = format!("ctx-oidc-{}", state.next);
    state.authorizations.insert(ctx.clone(), authorization);
    sign_in_page(base, state, "", &ctx)
}

/// The end of an authorization: a code for `user`, sent to the redirect URI.
fn authorized(state: &mut State, authorization: Authorization, user: &str) -> ResponseBox {
    let code = state.secret("code-");
    let session_state = state.secret("ss-");
    state.codes.insert(
        code.clone(),
        Grant {
            user: user.to_owned(),
            redirect_uri: authorization.redirect_uri.clone(),
            challenge: authorization.challenge,
        },
    );
    let mut fields = vec![("code", code)];
    if user == "oscar" {
        // An answer to somebody else's request (a mix-up or a forged redirect).
        fields.push(("state", "not-yours".to_owned()));
    } else if let Some(s) = authorization.state {
        fields.push(("state", s));
    }
    fields.push(("session_state", session_state));
    if state.form_post {
        let inputs: String = fields
            .iter()
            .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{v}\" />"))
            .collect();
        return html(format!(
            "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{}\">{inputs}\
             <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form>\
             <script>window.setTimeout(function(){{document.forms[0].submit()}},0);</script></body></html>",
            authorization.redirect_uri
        ));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    redirect(&format!("{}?{query}", authorization.redirect_uri))
}

/// The token endpoint: each code once, for its redirect URI, with the verifier of its challenge.
fn oidc_token(base: &str, state: &mut State, form: &HashMap<String, String>) -> ResponseBox {
    state.token_posts += 1;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "authorization_code" || field("client_id") != OIDC_CLIENT {
        return json_reply(400, json!({"error": "unsupported_grant_type"}));
    }
    let invalid = || {
        json_reply(
            400,
            json!({"error": "invalid_grant",
        "error_description": "AADSTS70008: The provided authorization code or refresh token has expired"}),
        )
    };
    let Some(grant) = state.codes.remove(field("code")) else {
        return invalid();
    };
    let verifier = field("code_verifier");
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge
        || field("redirect_uri") != grant.redirect_uri
    {
        return invalid();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let jti = state.secret("uti-");
    let signature = state.secret("sig-");
    let id_token = format!(
        "{}.{}.{}",
        part(json!({"typ": "JWT", "alg": "RS256", "kid": "aad-key-1"})),
        part(
            json!({"iss": format!("{base}/{TENANT}/v2.0"), "aud": OIDC_CLIENT, "sub": grant.user,
                    "tid": TENANT, "preferred_username": format!("{}@contoso.example", grant.user),
                    "iat": now, "nbf": now, "exp": now + 3600, "uti": jti, "ver": "2.0"})
        ),
        URL_SAFE_NO_PAD.encode(signature)
    );
    state.secrets.push(id_token.clone());
    let access = state.secret("access-");
    json_reply(
        200,
        json!({"token_type": "Bearer", "scope": "openid profile", "expires_in": 3600,
               "ext_expires_in": 3600, "access_token": access, "id_token": id_token}),
    )
}
