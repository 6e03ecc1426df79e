//! A loopback stand-in of Okta (Classic Engine), written from Okta's API documentation, for
//! both kinds of sign-in aws-runas does there:
//! - the Authn API: `POST /api/v1/authn` `{username, password}` answers `SUCCESS` with a
//!   one-time `sessionToken`, `MFA_REQUIRED` with a `stateToken` and the user's factors (each
//!   with its `_links.verify`), `LOCKED_OUT`, or 401 (`errorSummary`) for a wrong password; a
//!   code factor is verified with `{stateToken, passCode}` (403: a wrong code); a push is
//!   started with `{stateToken}` and polled at `_links.next` while `factorResult` is `WAITING`
//!   (with a number challenge, `correctAnswer`), until `SUCCESS`, `REJECTED` or `TIMEOUT`;
//! - SAML: the AWS app's embed link `/home/amazon_aws/app/1` trades `?sessionToken=` for the
//!   page holding the `SAMLResponse` and a `sid` session cookie, and with that cookie answers
//!   the page directly; without either it sends the browser to the sign-in widget;
//! - web identity: two authorization servers, `/oauth2/default` (with a discovery document)
//!   and the org's `/oauth2` (without one below it), whose `/v1/authorize` takes the
//!   `sessionToken` (good once; without one, the sign-in widget) and whose `/v1/token` is the
//!   shared token endpoint (`idp_server`).
//!
//! HEAD answers carry `x-okta-request-id`, Okta's fingerprint. Users (password
//! `NAME-password`): dave has no MFA; erin a TOTP factor (123456) and a push; erin and paul's
//! pushes are approved at their third poll; rita and rex deny theirs (`REJECTED`), tom's times
//! out (`TIMEOUT`); lou is `LOCKED_OUT` whatever the password; nina's session token is one
//! Okta then ignores; mallory's authorization comes back with another `state` (a mixed-up or
//! forged response); eve's sign-in is refused with a 429 whose `errorSummary` is written to
//! fool a terminal. The SAML page is the including test's `saml_page(user)`.

#![allow(dead_code)]

use serde_json::{json, Value};

use super::idp_server::{authorize, discovery, html, json_reply, redirect, reply, token};
use super::idp_server::{Idp, Req, State};

/// The app's embed link, below the stand-in's base URL.
pub const APP: &str = "/home/amazon_aws/app/1";

pub fn start() -> Idp {
    Idp::start(respond)
}

/// The Authn API's answer that signs `user` in: a one-time session token.
fn success(st: &mut State, user: &str) -> tiny_http::ResponseBox {
    let token = st.secret("okta-session-");
    st.sessions.insert(token.clone(), user.to_owned());
    json_reply(200, json!({"status": "SUCCESS", "sessionToken": token}))
}

fn respond(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    if req.method == "HEAD" {
        // Okta's fingerprint, for provider detection.
        return reply(200, String::new(), &[("x-okta-request-id", "req-1")]);
    }
    for server in ["/oauth2/default", "/oauth2"] {
        if let Some(rest) = req.path.strip_prefix(server) {
            return authorization_server(&format!("{base}{server}"), server, rest, st, req);
        }
    }
    if req.path == APP {
        return app(st, req);
    }
    let factor = |id: &str, kind: &str| {
        json!({"id": id, "factorType": kind, "provider": "OKTA",
               "_links": {"verify": {"href": format!("{base}/api/v1/authn/factors/{id}/verify")}}})
    };
    let body = req.json();
    let mfa_user = |st: &State| {
        st.session(body["stateToken"].as_str())
            .and_then(|u| u.strip_prefix("mfa:").map(str::to_owned))
    };
    match req.path.as_str() {
        "/api/v1/authn" => {
            st.password_posts += 1;
            let mfa = |st: &mut State, user: &str, factors: Vec<Value>| {
                let state = st.secret("okta-state-");
                st.sessions.insert(state.clone(), format!("mfa:{user}"));
                json_reply(
                    200,
                    json!({"status": "MFA_REQUIRED", "stateToken": state,
                           "_embedded": {"factors": factors}}),
                )
            };
            let user = body["username"].as_str().unwrap_or_default();
            let right = body["password"].as_str() == Some(&format!("{user}-password"));
            match user {
                "lou" => json_reply(
                    200,
                    json!({"status": "LOCKED_OUT",
                           "_links": {"unlock": {"href": format!("{base}/api/v1/authn/recovery/unlock")}}}),
                ),
                "dave" | "mallory" if right => success(st, user),
                "erin" if right => mfa(
                    st,
                    user,
                    vec![
                        factor("totp1", "token:software:totp"),
                        factor("push1", "push"),
                    ],
                ),
                "paul" | "rita" | "rex" | "tom" if right => {
                    mfa(st, user, vec![factor("push1", "push")])
                }
                "nina" if right => {
                    // A session token this Okta then does not know.
                    let token = st.secret("okta-session-");
                    json_reply(200, json!({"status": "SUCCESS", "sessionToken": token}))
                }
                "eve" if right => json_reply(
                    429,
                    json!({"errorCode": "E0000047",
                           "errorSummary": "API call exceeded rate limit\u{1b}[2J\naws-runas: all good"}),
                ),
                _ => json_reply(
                    401,
                    json!({"errorCode": "E0000004", "errorSummary": "Authentication failed",
                           "errorCauses": []}),
                ),
            }
        }
        "/api/v1/authn/factors/totp1/verify" => match (mfa_user(st), body["passCode"].as_str()) {
            (Some(user), Some("123456")) => success(st, &user),
            _ => json_reply(
                403,
                json!({"errorCode": "E0000068", "errorSummary": "Invalid Passcode/Answer"}),
            ),
        },
        p @ "/api/v1/authn/factors/push1/verify" => {
            let Some(user) = mfa_user(st) else {
                return json_reply(
                    403,
                    json!({"errorCode": "E0000011", "errorSummary": "Invalid token provided"}),
                );
            };
            let polls = st.poll(&user);
            let challenge = |result: &str| {
                json!({"status": "MFA_CHALLENGE", "factorResult": result,
                       "stateToken": body["stateToken"],
                       "_links": {"prev": {"href": format!("{base}/api/v1/authn/previous")}}})
            };
            match user.as_str() {
                "rita" | "rex" => json_reply(200, challenge("REJECTED")),
                "tom" => json_reply(200, challenge("TIMEOUT")),
                _ if polls >= 3 => success(st, &user),
                _ => {
                    let mut waiting = challenge("WAITING");
                    waiting["_links"]["next"] =
                        json!({"name": "poll", "href": format!("{base}{p}")});
                    waiting["_embedded"] =
                        json!({"factor": {"_embedded": {"challenge": {"correctAnswer": 42}}}});
                    json_reply(200, waiting)
                }
            }
        }
        "/login/login.htm" => html("<html><script>/* the Okta sign-in widget */</script></html>"),
        _ => json_reply(404, json!({"errorCode": "E0000022"})),
    }
}

/// The SAML app: a session token (good once) or the `sid` cookie gives the SAML page.
fn app(st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    let traded = req
        .query("sessionToken")
        .and_then(|t| st.sessions.remove(t))
        .filter(|u| !u.contains(':'));
    if let Some(user) = traded {
        let sid = st.secret("okta-sid-");
        st.sessions.insert(sid.clone(), format!("sid:{user}"));
        let mut page = super::saml_page(&user);
        page.add_header(
            tiny_http::Header::from_bytes("Set-Cookie", format!("sid={sid}; Path=/; HttpOnly"))
                .unwrap(),
        );
        return page;
    }
    let session = st
        .session(req.cookie("sid").as_deref())
        .and_then(|u| u.strip_prefix("sid:").map(str::to_owned));
    match session {
        Some(user) => super::saml_page(&user),
        None => redirect("/login/login.htm?fromURI=%2Fhome%2Famazon_aws%2Fapp%2F1"),
    }
}

/// An authorization server (`server`, at `issuer`): discovery for the default one, authorize
/// with a session token, the token endpoint.
fn authorization_server(
    issuer: &str,
    server: &str,
    rest: &str,
    st: &mut State,
    req: &Req,
) -> tiny_http::ResponseBox {
    match rest {
        "/.well-known/openid-configuration" if server == "/oauth2/default" => {
            discovery(issuer, "/v1/authorize", "/v1/token")
        }
        // A session token is good once; without one, Okta's sign-in page.
        "/v1/authorize" => match req
            .query("sessionToken")
            .and_then(|t| st.sessions.remove(t))
            .filter(|u| !u.contains(':'))
        {
            Some(user) if user == "mallory" => {
                redirect("app:/callback?code=forged-code&state=not-yours")
            }
            Some(user) => authorize(st, &req.query, &user, &[]),
            None => redirect("/login/login.htm?fromURI=%2Foauth2%2Fv1%2Fauthorize"),
        },
        "/v1/token" => token(issuer, st, req),
        _ => json_reply(404, json!({"errorCode": "E0000022"})),
    }
}
