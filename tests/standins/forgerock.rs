//! A loopback stand-in of ForgeRock AM / PingAM in realm alpha, written from AM's REST API
//! documentation, for both kinds of sign-in aws-runas does there:
//! - the authenticate API, `POST /am/json/realms/root/realms/alpha/authenticate` (an
//!   `Accept-API-Version` header required): the credentials in `X-OpenAM-Username` and
//!   `X-OpenAM-Password`, RFC 2047-encoded (`=?UTF-8?B?…?=`), answer the `tokenId` (the SSO
//!   token, only in the body) or the next step (`authId` and `callbacks`), or 401; a step is
//!   posted back with its callbacks filled in. `authIndexType=service` picks the tree:
//!   `mfa_oath_authentication` asks for a code in a `PasswordCallback`,
//!   `mfa_push_authentication` answers `PollingWaitCallback` while the push waits; a failed push
//!   is AM's 401, the same for denied and expired; a locked account is a 401 whose message
//!   names the lock;
//! - SAML: `/am/idpssoinit?metaAlias=/alpha/saml-idp&spEntityID=…` with the SSO token as the
//!   `iPlanetDirectoryPro` cookie answers the page holding the `SAMLResponse`; without it, the
//!   login UI;
//! - web identity: the realm's OAuth2 endpoints at `/am/oauth2/realms/root/realms/alpha`
//!   (discovery, `authorize` reading the same cookie, `access_token` the shared token endpoint
//!   of `idp_server`).
//!
//! HEAD answers carry AM's CORS headers (`X-OpenAM-…`), its fingerprint. Users (password
//! `NAME-password`): hank has no MFA and a non-ASCII password, `hänk-pässword`; ivy's code
//! service wants 123456; ivy's and ida's push services approve at their third poll; rita's and
//! ivan's pushes fail; lou is locked out whatever the password. The SAML page is the including
//! test's `saml_page(user)`.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::idp_server::{authorize, discovery, html, json_reply, redirect, reply, token};
use super::idp_server::{Idp, Req, State};

/// The realm's authenticate URL (SAML's configured URL), below the stand-in's base URL.
pub const AUTHENTICATE: &str = "/am/json/realms/root/realms/alpha/authenticate";
/// The realm's OAuth2 URL (web identity's configured URL), below the stand-in's base URL.
pub const OAUTH2: &str = "/am/oauth2/realms/root/realms/alpha";

pub fn start() -> Idp {
    Idp::start(respond)
}

fn respond(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
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
    let issuer = format!("{base}{OAUTH2}");
    let signed_in_as = |st: &State| {
        st.session(req.cookie("iPlanetDirectoryPro").as_deref())
            .filter(|u| !u.contains(':'))
    };
    match req.path.strip_prefix(OAUTH2).unwrap_or(&req.path) {
        "/.well-known/openid-configuration" => discovery(&issuer, "/authorize", "/access_token"),
        "/authorize" => match signed_in_as(st) {
            Some(user) => authorize(st, &req.query, &user, &[]),
            None => redirect("/am/XUI/?realm=/alpha"),
        },
        "/access_token" => token(&issuer, st, req),
        AUTHENTICATE => authenticate(st, req),
        "/am/idpssoinit" => {
            if req.query("metaAlias") != Some("/alpha/saml-idp") {
                return json_reply(400, json!({"message": "no such metaAlias"}));
            }
            match signed_in_as(st) {
                Some(user) => super::saml_page(&user),
                None => redirect("/am/XUI/?realm=/alpha"),
            }
        }
        "/am/XUI/" => html("<html><script>/* the AM login UI */</script></html>"),
        _ => json_reply(404, json!({"code": 404, "message": "Not Found"})),
    }
}

fn authenticate(st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    if req.header("accept-api-version").is_none() {
        return json_reply(400, json!({"message": "no API version"}));
    }
    let decoded = |name: &str| {
        let raw = req.header(name)?;
        let b64 = raw.strip_prefix("=?UTF-8?B?")?.strip_suffix("?=")?;
        String::from_utf8(STANDARD.decode(b64).ok()?).ok()
    };
    let unauthorized = |message: &str| {
        json_reply(
            401,
            json!({"code": 401, "reason": "Unauthorized", "message": message}),
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
    let Some(auth_id) = body["authId"].as_str() else {
        st.password_posts += 1;
        let service = req.query("authIndexValue").unwrap_or_default();
        let user = decoded("X-OpenAM-Username").unwrap_or_default();
        let password = decoded("X-OpenAM-Password");
        let right = password == Some(format!("{user}-password"));
        return match (user.as_str(), service) {
            ("lou", _) => unauthorized("Your account has been locked."),
            ("hank", _) if password.as_deref() == Some("hänk-pässword") => signed_in(st, "hank"),
            ("ivy", "mfa_oath_authentication") if right => step(
                st,
                &user,
                json!([{"type": "TextOutputCallback", "output": [{"name": "message", "value": "Code"}]},
                       {"type": "PasswordCallback", "input": [{"name": "IDToken2", "value": ""}]}]),
            ),
            ("ivy" | "ida" | "rita" | "ivan", "mfa_push_authentication") if right => {
                step(st, &user, polling)
            }
            _ => unauthorized("Authentication Failed"),
        };
    };
    let user = st
        .session(Some(auth_id))
        .and_then(|u| u.strip_prefix("step:").map(str::to_owned));
    let pushing = body["callbacks"][0]["type"] == "PollingWaitCallback";
    match user.as_deref() {
        Some("ivy") if !pushing && body["callbacks"][1]["input"][0]["value"] == "123456" => {
            signed_in(st, "ivy")
        }
        Some(u @ ("ivy" | "ida" | "rita" | "ivan")) if pushing => {
            let polls = st.poll(u);
            match u {
                "rita" | "ivan" => unauthorized("Authentication Failed"),
                _ if polls >= 3 => signed_in(st, u),
                _ => json_reply(200, json!({"authId": auth_id, "callbacks": polling})),
            }
        }
        _ => unauthorized("Authentication Failed"),
    }
}
