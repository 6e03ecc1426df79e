//! A loopback stand-in of Azure AD / Entra ID's sign-in pages and of the My Apps portal in front
//! of them, written from the flow in the shared IdP notes (section 5) and what public clients of
//! it send: `$Config` pages (`ConvergedSignIn`, `ConvergedTFA`, `KmsiInterrupt`) with flow tokens
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, ResponseBox, Server};

const TENANT: &str = "t-1234";
const CANARY: &str = "canary-form-1";
const API_CANARY: &str = "canary-api-1";
const CTX: &str = "ctx-request-1";
const USERS: [&str; 9] = [
    "alice", "frank", "gus", "hal", "erin", "ivan", "judy", "kim", "sam",
];

#[derive(Default)]
struct State {
    requests: usize,
    password_posts: usize,
    sign_ins: usize,
    end_auth: usize,
    approved: bool,
    next: usize,
    /// Flow token → (user, the step it was issued for).
    flows: HashMap<String, (String, &'static str)>,
    /// MFA session id → user, and the EndAuth polls it has seen.
    mfa: HashMap<String, (String, usize)>,
    /// ESTSAUTH value → user.
    sessions: HashMap<String, String>,
}

impl State {
    fn token(&mut self, user: &str, step: &'static str) -> String {
        self.next += 1;
        let t = format!("ft-{}-{step}", self.next);
        self.flows.insert(t.clone(), (user.to_owned(), step));
        t
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

fn sign_in_page(base: &str, state: &mut State, error: &str) -> ResponseBox {
    let ft = state.token("", "login");
    converged(json!({
        "pgid": "ConvergedSignIn", "sFT": ft, "sCtx": CTX, "urlPost": format!("/{TENANT}/login"),
        "urlGetCredentialType": format!("{base}/common/GetCredentialType?mkt=en-US"),
        "apiCanary": API_CANARY, "hpgact": 1900, "hpgid": 1104, "sErrorCode": error,
    }))
}

fn kmsi_page(state: &mut State, user: &str) -> ResponseBox {
    let ft = state.token(user, "kmsi");
    converged(json!({
        "pgid": "KmsiInterrupt", "sFT": ft, "sCtx": CTX, "urlPost": "/kmsi", "sErrorCode": "50058",
    }))
}

fn tfa_page(base: &str, state: &mut State, user: &str) -> ResponseBox {
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
        "pgid": "ConvergedTFA", "sFT": ft, "sCtx": CTX, "arrUserProofs": proofs,
        "urlBeginAuth": format!("{base}/common/SAS/BeginAuth"),
        "urlEndAuth": format!("{base}/common/SAS/EndAuth"),
        "urlPost": "/common/SAS/ProcessAuth",
        "oPerAuthPollingInterval": {"PhoneAppNotification": if user == "judy" { 120.0 } else { 0.5 }, "OneWaySMS": 1},
    }))
}

fn adfs_login(error: &str) -> ResponseBox {
    html(format!(
        "<html><body>{error}<form method=\"post\" id=\"loginForm\" autocomplete=\"off\" action=\"/adfs/ls/?wa=wsignin1.0&amp;wctx=ctx-fed\">\
         <input id=\"userNameInput\" name=\"UserName\" type=\"email\" value=\"\" />\
         <input id=\"passwordInput\" name=\"Password\" type=\"password\" />\
         <input id=\"kmsiInput\" type=\"checkbox\" name=\"Kmsi\" value=\"true\" />\
         <input id=\"optionForms\" type=\"hidden\" name=\"AuthMethod\" value=\"FormsAuthentication\" />\
         <span id=\"submitButton\" role=\"button\">Sign in</span></form></body></html>"
    ))
}

fn mfa_reply(success: bool, result: &str, retry: bool, err: i64, ft: &str, session: &str) -> Value {
    json!({"Success": success, "ResultValue": result, "Message": null, "AuthMethodId": "",
           "ErrCode": err, "Retry": retry, "FlowToken": ft, "Ctx": CTX, "SessionId": session,
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
        p if p == format!("/{TENANT}/oauth2/authorize") => sign_in_page(base, state, ""),
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
                                       "FederationRedirectUrl": if federated { format!("{base}/adfs/ls/?wa=wsignin1.0&wctx=ctx-fed&username={}", user.replace('@', "%40")) } else { String::new() }},
                       "FlowToken": ft, "apiCanary": API_CANARY}),
            )
        }
        p if p == format!("/{TENANT}/login") => {
            let user = field("login");
            if field("canary") != CANARY || field("ctx") != CTX || field("loginfmt") != user {
                return html("<p>Bad request</p>".into());
            }
            let issued = state.take(&field("flowToken"), "login");
            if issued.as_deref() != Some(user.as_str()) {
                return html("<p>Your session has timed out.</p>".into());
            }
            state.password_posts += 1;
            if user == "ivan" {
                return sign_in_page(base, state, "50053");
            }
            if field("passwd") != format!("{user}-password") || !USERS.contains(&user.as_str()) {
                return sign_in_page(base, state, "50126");
            }
            match user.as_str() {
                "alice" => kmsi_page(state, &user),
                _ => tfa_page(base, state, &user),
            }
        }
        "/common/SAS/BeginAuth" => {
            let method = body_json["AuthMethodId"].as_str().unwrap_or_default().to_owned();
            let ft = body_json["FlowToken"].as_str().unwrap_or_default();
            if body_json["Method"] != "BeginAuth" || body_json["Ctx"] != CTX {
                return json_reply(400, json!({"error": "bad request"}));
            }
            let Some(user) = state.take(ft, "tfa") else {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", ""));
            };
            let ft = state.token(&user, "endauth");
            state.next += 1;
            let session = format!("sas-{}", state.next);
            state.mfa.insert(session.clone(), (user, 0));
            let mut reply = mfa_reply(true, "Success", false, 0, &ft, &session);
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
            let Some((user, polls)) = state.mfa.get(&session).cloned() else {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", ""));
            };
            if state.take(&ft, "endauth").as_deref() != Some(user.as_str())
                || body_json["Method"] != "EndAuth"
            {
                return json_reply(200, mfa_reply(false, "InvalidSession", false, 0, "", ""));
            }
            state.mfa.insert(session.clone(), (user.clone(), polls + 1));
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
            json_reply(200, mfa_reply(ok, result, retry, err, &next, &session))
        }
        "/common/SAS/ProcessAuth" => {
            match state.take(&field("flowToken"), "processauth") {
                Some(user) if field("request") == CTX && field("login") == user => {
                    kmsi_page(state, &user)
                }
                _ => html("<p>Your session has timed out.</p>".into()),
            }
        }
        "/kmsi" => {
            let Some(user) = state.take(&field("flowToken"), "kmsi") else {
                return html("<p>Your session has timed out.</p>".into());
            };
            if field("LoginOptions") != "1" || field("ctx") != CTX {
                return html("<p>Bad request</p>".into());
            }
            state.sign_ins += 1;
            state.next += 1;
            let session = format!("estsauth-{}-{user}", state.next);
            state.sessions.insert(session.clone(), user);
            let mut r = html(format!(
                "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{base}/signin/callback\">\
                 <input type=\"hidden\" name=\"code\" value=\"code-{n}\" /><input type=\"hidden\" name=\"id_token\" value=\"eyJ0eXAiOiJKV1Qi.e30.sig\" />\
                 <input type=\"hidden\" name=\"state\" value=\"st-app\" /><input type=\"hidden\" name=\"session_state\" value=\"ss-1\" />\
                 <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form>\
                 <script>window.setTimeout(function(){{document.forms[0].submit()}},0);</script></body></html>",
                n = state.next
            ));
            r.add_header(header(
                "Set-Cookie",
                &format!("ESTSAUTH={session}; path=/; HttpOnly; max-age=86400"),
            ));
            r
        }
        "/adfs/ls/" if *request.method() == Method::Get => adfs_login(""),
        "/adfs/ls/" => {
            state.password_posts += 1;
            let user = field("UserName");
            if field("AuthMethod") != "FormsAuthentication"
                || !user.ends_with("@corp.example")
                || field("Password") != "fed-password"
            {
                return adfs_login("<span id=\"errorText\">Incorrect user ID or password.</span>");
            }
            html(format!(
                "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"{base}/login.srf\">\
                 <input type=\"hidden\" name=\"wa\" value=\"wsignin1.0\" />\
                 <input type=\"hidden\" name=\"wresult\" value=\"&lt;t:RequestSecurityTokenResponse&gt;{user}&lt;/t:RequestSecurityTokenResponse&gt;\" />\
                 <input type=\"hidden\" name=\"wctx\" value=\"ctx-fed\" />\
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
                Some(user) if field("wctx") == "ctx-fed" => kmsi_page(state, user),
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
