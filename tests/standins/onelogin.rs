//! A loopback stand-in of OneLogin, written from OneLogin's API documentation, for both kinds
//! of sign-in aws-runas does there (the URL's `token=` carries the API client `id:secret`):
//! - `POST /auth/oauth2/v2/token` (`Authorization: Basic base64(id:secret)`, client
//!   credentials) gives the API token every other API call needs (`bearer TOKEN`, as aws-runas
//!   v3 sends it, or the documentation's `bearer:TOKEN`);
//! - SAML, API v2: `POST /api/2/saml_assertion` `{username_or_email, password, app_id: 777,
//!   subdomain}` answers `data` (the bare base64 SAML response) or, with MFA, a `state_token`
//!   and the user's `devices`; `POST /api/2/saml_assertion/verify_factor` `{app_id, device_id,
//!   state_token, otp_token?, do_not_notify}` answers `data`, or a pending message while a
//!   OneLogin Protect push waits; its documented failure is 401 (a wrong code, a push denied);
//!   messages at the top of the answer;
//! - web identity, API v1: `POST /api/1/login/auth` and `/api/1/login/verify_factor` (the same
//!   fields, no app) answer `data[0].session_token`, or `data[0]` with the MFA state; messages in
//!   the answer's `status`; `POST /session_via_api_token` trades a session token (once) for the
//!   `sub_session_onelogin.com` cookie, which `/oidc/2/auth` reads; `/oidc/2/token` is the shared
//!   token endpoint (`idp_server`). No discovery document: the client falls back to v3's `/auth`
//!   and `/token`.
//!
//! A locked user is refused with a 401 whose message names the lock (its exact words are not
//! documented). HEAD answers carry no fingerprint. Users (password `NAME-password`): frank has
//! no MFA; gina Google Authenticator (device 11, code 123456) and OneLogin Protect (device 12);
//! pia only Protect; gina's and pia's pushes are approved at their third call; rita and hal
//! deny theirs; kim's waits until the test approves it (`Idp::approve_pushes`); lou is locked.
//! The SAML response is the one of the including test's `saml_page(user)`.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::idp_server::{authorize, field, html, json_reply, redirect, reply, token};
use super::idp_server::{Idp, Req, State};

/// The app the SAML URL names.
pub const APP_ID: &str = "777";

pub fn start() -> Idp {
    Idp::start(respond)
}

/// The base64 SAML response of `saml_page(user)`, bare, as the v2 API returns it.
fn assertion(user: &str) -> String {
    let page = super::saml_page(user);
    let mut html = String::new();
    std::io::Read::read_to_string(&mut page.into_reader(), &mut html).unwrap();
    let b64 = html
        .split("value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    b64.replace("&#x3D;", "=").replace("&#x2b;", "+")
}

/// The API version an answer speaks: v2 (SAML) keeps its message at the top, v1 (login) in
/// `status`, its data in `data[0]`.
#[derive(Clone, Copy, PartialEq)]
enum V {
    Two,
    One,
}

fn answer(v: V, status: u16, message: &str, data: Value) -> tiny_http::ResponseBox {
    match v {
        V::Two => {
            let mut body = json!({"message": message});
            if let Value::Object(fields) = data {
                body.as_object_mut().unwrap().extend(fields);
            }
            if status != 200 {
                body["statusCode"] = json!(status);
                body["name"] = json!("Unauthorized");
            }
            json_reply(status, body)
        }
        V::One => json_reply(
            status,
            json!({"status": {"error": status != 200, "code": status,
                              "type": if status == 200 { "Success" } else { "Unauthorized" },
                              "message": message},
                   "data": if data.is_null() { Value::Null } else { json!([data]) }}),
        ),
    }
}

/// The answer that signs `user` in: v2's SAML response, v1's session token.
fn signed_in(v: V, st: &mut State, user: &str) -> tiny_http::ResponseBox {
    match v {
        V::Two => answer(v, 200, "Success", json!({"data": assertion(user)})),
        V::One => {
            let token = st.secret("ol-session-");
            st.sessions.insert(token.clone(), user.to_owned());
            answer(
                v,
                200,
                "Success",
                json!({"status": "Authenticated", "session_token": token, "user": {"username": user}}),
            )
        }
    }
}

fn respond(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    let issuer = format!("{base}/oidc/2");
    let authorization = req.header("authorization").unwrap_or_default().to_owned();
    // The API token, as `bearer <token>` (aws-runas v3) or `bearer:<token>` (the docs).
    let api_client = authorization
        .strip_prefix("bearer ")
        .or_else(|| authorization.strip_prefix("bearer:"))
        .is_some_and(|t| st.sessions.get(t).map(String::as_str) == Some("api"));
    let body = req.json();
    let v = if req.path.starts_with("/api/2/") {
        V::Two
    } else {
        V::One
    };
    match req.path.as_str() {
        "/auth/oauth2/v2/token" => {
            if authorization != format!("Basic {}", STANDARD.encode("id:secret")) {
                return answer(V::One, 401, "Authentication Failure", Value::Null);
            }
            let token = st.secret("ol-api-");
            st.sessions.insert(token.clone(), "api".into());
            json_reply(
                200,
                json!({"access_token": token, "token_type": "bearer", "expires_in": 36000}),
            )
        }
        p if p.starts_with("/api/") && !api_client => answer(v, 401, "Unauthorized", Value::Null),
        "/api/2/saml_assertion" | "/api/1/login/auth" => {
            st.password_posts += 1;
            let user = body["username_or_email"].as_str().unwrap_or_default();
            let right = body["password"].as_str() == Some(&format!("{user}-password"))
                && (v == V::One || body["app_id"] == APP_ID);
            let mfa = |st: &mut State, devices: Value| {
                let state = st.secret("ol-state-");
                st.sessions.insert(state.clone(), format!("mfa:{user}"));
                let verify = match v {
                    V::Two => "/api/2/saml_assertion/verify_factor",
                    V::One => "/api/1/login/verify_factor",
                };
                answer(
                    v,
                    200,
                    "MFA is required for this user",
                    json!({"state_token": state, "devices": devices,
                           "callback_url": format!("{base}{verify}"), "user": {"username": user}}),
                )
            };
            let protect = json!({"device_id": 12, "device_type": "OneLogin Protect"});
            match user {
                "lou" => answer(v, 401, "Authentication Failed: User is locked", Value::Null),
                "frank" if right => signed_in(v, st, user),
                "gina" if right => mfa(
                    st,
                    json!([{"device_id": 11, "device_type": "Google Authenticator"}, protect]),
                ),
                "pia" | "rita" | "hal" | "kim" if right => mfa(st, json!([protect])),
                _ => answer(
                    v,
                    401,
                    "Authentication Failed: Invalid user credentials",
                    Value::Null,
                ),
            }
        }
        "/api/2/saml_assertion/verify_factor" | "/api/1/login/verify_factor" => {
            let user = st
                .session(body["state_token"].as_str())
                .and_then(|u| u.strip_prefix("mfa:").map(str::to_owned));
            let Some(user) = user else {
                return answer(v, 400, "Invalid state_token", Value::Null);
            };
            let failed = |v| {
                answer(
                    v,
                    401,
                    "Failed authentication with this factor",
                    Value::Null,
                )
            };
            match (body["device_id"].as_str(), body["otp_token"].as_str()) {
                (Some("11"), Some("123456")) => signed_in(v, st, &user),
                (Some("11"), _) => failed(v),
                (Some("12"), None) => {
                    let polls = st.poll(&user);
                    let pending =
                        || answer(v, 200, "Authentication pending on OL Protect", Value::Null);
                    match user.as_str() {
                        "rita" | "hal" => failed(v),
                        "kim" if st.approved => signed_in(v, st, &user),
                        "kim" => pending(),
                        _ if polls >= 3 => signed_in(v, st, &user),
                        _ => pending(),
                    }
                }
                _ => answer(v, 400, "bad request", Value::Null),
            }
        }
        "/session_via_api_token" if req.method == "POST" => {
            let user = field(&req.form(), "session_token")
                .and_then(|t| st.sessions.remove(t))
                .filter(|u| !u.contains(':') && u != "api");
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
            let user = st
                .session(req.cookie("sub_session_onelogin.com").as_deref())
                .and_then(|u| u.strip_prefix("web:").map(str::to_owned));
            match user {
                Some(user) => authorize(st, &req.query, &user, &[]),
                None => redirect("/login"),
            }
        }
        "/oidc/2/token" => token(&issuer, st, req),
        "/login" => html("<html><form><input name=username></form></html>"),
        // No discovery document: the client falls back to v3's `/auth` and `/token`.
        _ => answer(V::One, 404, "Not Found", Value::Null),
    }
}
