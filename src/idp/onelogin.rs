//! OneLogin (API v2 and v1), for the aws-runas v3 URL forms: SAML
//! `https://SUB.onelogin.com/trust/saml2/launch/PORTAL?app_id=APP&token=BASE64(ID:SECRET)[&region=us|eu]`,
//! web identity `https://SUB.onelogin.com/oidc/2?token=BASE64(ID:SECRET)`; the token carries the
//! API client credentials the sign-in calls need.
//!
//! The flow, the same for both but for the API each signs in through:
//! 1. POST `/auth/oauth2/v2/token` (`Authorization: Basic <token>`, client credentials) for an
//!    API access token;
//! 2. POST the username and password: for SAML `/api/2/saml_assertion` (with `app_id`), whose
//!    `data` is the SAML response; for web identity v1's `/api/1/login/auth`, whose
//!    `data[0].session_token` is a session token. A `state_token` with `devices` instead means
//!    MFA; 401 a wrong password; a message naming a lock (401 or 400 alike) a locked account;
//! 3. MFA: POST the API's `verify_factor` with the device `mfa_type` picks and an `otp_token`
//!    (401: a wrong code), or, for OneLogin Protect's push, without one, polling while the
//!    answer's message says pending, for at most a minute, the spinner turning meanwhile (401:
//!    denied on the device);
//! 4. web identity only: `/session_via_api_token` at the URL's host turns the session token
//!    into the session cookies the OpenID authorization endpoint reads, and the authorization
//!    request is answered with the redirect.
//!
//! The API lives at `https://api.REGION.onelogin.com` for OneLogin's own hosts; any other host (a
//! stand-in) serves it itself. v2 answers carry their message at the top, v1 answers in their
//! `status`. No cookies for SAML: every SAML sign-in needs the password.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};
use url::Url;

use super::http::{origin, Browser, Page};
use super::{Goal, Reached, SignIn, SignInError};
use crate::config::signin::MfaType;

const PUSH_LIMIT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_secs(1);
const PUSH_DEVICE: &str = "OneLogin Protect";

fn api_error(page: &Page, value: &Value) -> anyhow::Error {
    let reason = match message(value) {
        "" => "no reason given",
        said => said,
    };
    anyhow::anyhow!(
        "OneLogin at {} answered HTTP {}: {}",
        origin(&page.url),
        page.status,
        crate::config::shown(reason)
    )
}

/// The API base for the configured URL.
fn api_base(url: &Url) -> anyhow::Result<Url> {
    let host = url.host_str().unwrap_or_default();
    if host.ends_with(".onelogin.com") {
        let region = url
            .query_pairs()
            .find(|(k, _)| k == "region")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| "us".into());
        Ok(Url::parse(&format!("https://api.{region}.onelogin.com/"))?)
    } else {
        Ok(url.join("/")?)
    }
}

fn query(url: &Url, key: &str) -> anyhow::Result<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .with_context(|| format!("the OneLogin URL {} has no {key}= parameter", origin(url)))
}

/// The device to use: OneLogin Protect's push or a code device, as `mfa_type` says.
fn choose_device(devices: &[Value], mfa: MfaType) -> anyhow::Result<(&Value, bool)> {
    let kind = |d: &Value| d["device_type"].as_str().unwrap_or_default().to_owned();
    let protect = devices.iter().find(|d| kind(d) == PUSH_DEVICE);
    let code = devices
        .iter()
        .find(|d| kind(d) == "Google Authenticator")
        .or(protect)
        .or_else(|| devices.iter().find(|d| kind(d) != "OneLogin Voice"));
    match mfa {
        MfaType::None => anyhow::bail!("OneLogin asks for MFA but mfa_type = none"),
        MfaType::Push | MfaType::Auto if protect.is_some() => Ok((protect.expect("some"), true)),
        MfaType::Push => anyhow::bail!("OneLogin offers no {PUSH_DEVICE} device for a push"),
        MfaType::Code | MfaType::Auto => code
            .map(|d| (d, false))
            .context("OneLogin offers no MFA device aws-runas can use"),
    }
}

/// OneLogin's API as the URL's client credentials open it: where it is, the account's
/// subdomain, and the bearer token of the API client.
struct Access {
    base: Url,
    subdomain: String,
    bearer: String,
}

fn api_access(browser: &mut Browser, url: &Url) -> anyhow::Result<Access> {
    let client = query(url, "token")?;
    let subdomain = url
        .host_str()
        .and_then(|h| h.split('.').next())
        .unwrap_or_default()
        .to_owned();
    let base = api_base(url)?;
    let page = browser.post_json_authorized(
        base.join("auth/oauth2/v2/token")?,
        &json!({ "grant_type": "client_credentials" }),
        Some(&format!("Basic {client}")),
    )?;
    let value = page.json("OneLogin")?;
    match (page.status, value["access_token"].as_str()) {
        (200, Some(t)) => Ok(Access {
            base,
            subdomain,
            bearer: format!("bearer {t}"),
        }),
        _ => Err(api_error(&page, &value).context("the API credentials in the URL's token")),
    }
}

/// The API a sign-in goes through: v2's SAML assertion for SAML, v1's login for web identity.
/// The steps are the same; paths, fields and where the answers keep things differ.
#[derive(Clone, Copy)]
enum Api<'a> {
    /// `/api/2/saml_assertion`, for the app `app_id`: its token is the SAML response.
    Assertion { app_id: &'a str },
    /// `/api/1/login/auth`: its token is a session token.
    Login,
}

impl Api<'_> {
    fn auth_path(self) -> &'static str {
        match self {
            Api::Assertion { .. } => "api/2/saml_assertion",
            Api::Login => "api/1/login/auth",
        }
    }

    fn verify_path(self) -> &'static str {
        match self {
            Api::Assertion { .. } => "api/2/saml_assertion/verify_factor",
            Api::Login => "api/1/login/verify_factor",
        }
    }

    /// What a successful answer holds, for messages.
    fn token_name(self) -> &'static str {
        match self {
            Api::Assertion { .. } => "an assertion",
            Api::Login => "a session",
        }
    }

    /// A request `body`, with the app for v2.
    fn body(self, mut body: Value) -> Value {
        if let Api::Assertion { app_id } = self {
            body["app_id"] = Value::String(app_id.to_owned());
        }
        body
    }

    /// Where an answer keeps its token and MFA state: v2 at its top, v1 in `data[0]`.
    fn data(self, value: &Value) -> &Value {
        match self {
            Api::Assertion { .. } => value,
            Api::Login => &value["data"][0],
        }
    }

    /// The token of a successful answer, if this one is: the SAML response, or the session
    /// token.
    fn token(self, value: &Value) -> Option<String> {
        let data = self.data(value);
        match self {
            Api::Assertion { .. } => data["data"].as_str(),
            Api::Login => data["session_token"].as_str(),
        }
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
    }
}

/// An answer's message: at its top (v2) or in its `status` (v1).
fn message(value: &Value) -> &str {
    value["message"]
        .as_str()
        .or_else(|| value["status"]["message"].as_str())
        .unwrap_or_default()
}

/// Signs in at OneLogin until `goal`: the SAML response of the app the URL names, or the
/// authorization request's redirect.
pub fn sign_in(s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    match goal {
        Goal::SamlResponse => {
            let app_id = query(s.idp, "app_id")?;
            let (response, _) = authenticate(s, Api::Assertion { app_id: &app_id })?;
            Ok(Reached::SamlResponse(response))
        }
        Goal::Redirect { authorize, to } => {
            let (token, username) = authenticate(s, Api::Login)?;
            let idp = origin(s.idp);
            let page = s.browser.post_form(
                s.idp.join("/session_via_api_token")?,
                &[("session_token".to_owned(), token)],
            )?;
            if page.status != 200 {
                anyhow::bail!(
                    "OneLogin at {idp} answered HTTP {} when turning the API session into a web session",
                    page.status
                );
            }
            super::authorization_redirect(s, authorize.clone(), to, &username)
        }
    }
}

/// Username and password through `api`, then the device `s.mfa` picks: the answer's token (see
/// [`Api::token`]), and who signed in.
fn authenticate(s: &mut SignIn<'_>, api: Api<'_>) -> anyhow::Result<(String, String)> {
    let idp = origin(s.idp);
    let Access {
        base,
        subdomain,
        bearer,
    } = api_access(s.browser, s.idp)?;

    let username = (s.asks.username)()?;
    let password = (s.asks.password)(&username)?;
    tracing::info!("signing in at {idp} (OneLogin) as '{username}'");
    let page = s.browser.post_json_authorized(
        base.join(api.auth_path())?,
        &api.body(json!({ "username_or_email": username, "password": password,
                          "subdomain": subdomain })),
        Some(&bearer),
    )?;
    let value = page.json("OneLogin")?;
    match page.status {
        200 => {}
        // OneLogin names a locked user in its message (401 or 400 alike).
        _ if message(&value).to_ascii_lowercase().contains("locked") => {
            return Err(SignInError::LockedOut { idp, username }.into())
        }
        401 => return Err(SignInError::WrongPassword { idp, username }.into()),
        _ => return Err(api_error(&page, &value)),
    }
    if let Some(token) = api.token(&value) {
        return Ok((token, username));
    }
    let data = api.data(&value);
    let state = data["state_token"].as_str().with_context(|| {
        format!(
            "OneLogin at {idp} sent neither {} nor an MFA state",
            api.token_name()
        )
    })?;
    let devices = data["devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (device, push) = choose_device(devices, s.mfa)?;
    let device_id = match &device["device_id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => anyhow::bail!("OneLogin's MFA device has no id"),
    };
    let verify = Verify {
        url: base.join(api.verify_path())?,
        body: api.body(json!({ "device_id": device_id, "state_token": state,
                               "do_not_notify": false })),
        bearer: &bearer,
        api,
        idp: &idp,
    };
    let token = if push {
        verify.push(s)?
    } else {
        verify.code(s)?
    };
    Ok((token, username))
}

/// The MFA step of a sign-in: the API's `verify_factor` for the chosen device.
struct Verify<'a> {
    url: Url,
    body: Value,
    bearer: &'a str,
    api: Api<'a>,
    idp: &'a str,
}

impl Verify<'_> {
    /// A code device: the code asked for, sent once.
    fn code(mut self, s: &mut SignIn<'_>) -> anyhow::Result<String> {
        self.body["otp_token"] = Value::String((s.asks.otp)()?);
        let page = s
            .browser
            .post_json_authorized(self.url, &self.body, Some(self.bearer))?;
        let value = page.json("OneLogin")?;
        match (page.status, self.api.token(&value)) {
            (200, Some(token)) => Ok(token),
            (401, _) => Err(SignInError::WrongCode {
                idp: self.idp.to_owned(),
            }
            .into()),
            _ => Err(api_error(&page, &value)),
        }
    }

    /// OneLogin Protect's push: sent by the first call, polled while pending, the spinner
    /// turning meanwhile.
    fn push(mut self, s: &mut SignIn<'_>) -> anyhow::Result<String> {
        (s.asks.push)()?;
        eprintln!("aws-runas: approve the OneLogin Protect push on your device");
        let started = Instant::now();
        let mut spinner = crate::tty::Spinner::new("waiting for the push to be approved");
        loop {
            let page =
                s.browser
                    .post_json_authorized(self.url.clone(), &self.body, Some(self.bearer))?;
            let value = page.json("OneLogin")?;
            if page.status == 401 {
                // Verify's documented failure: the push was denied (or expired) on the device.
                let reason = match message(&value) {
                    "" => "no reason given",
                    said => said,
                };
                anyhow::bail!(
                    "the OneLogin Protect push was not approved: {}",
                    crate::config::shown(reason)
                );
            }
            if page.status != 200 {
                return Err(api_error(&page, &value));
            }
            if let Some(token) = self.api.token(&value) {
                return Ok(token);
            }
            let said = message(&value);
            if !said.to_ascii_lowercase().contains("pending") {
                anyhow::bail!(
                    "the OneLogin push was not approved: {}",
                    crate::config::shown(said)
                );
            }
            if started.elapsed() > PUSH_LIMIT {
                anyhow::bail!(
                    "the OneLogin push was not answered within {}s",
                    PUSH_LIMIT.as_secs()
                );
            }
            // Only the first call notifies the device; the rest poll.
            self.body["do_not_notify"] = Value::Bool(true);
            spinner.wait(POLL_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_and_device_choice() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            api_base(&u(
                "https://corp.onelogin.com/trust/saml2/launch/1?app_id=2&token=x&region=eu"
            ))
            .unwrap()
            .as_str(),
            "https://api.eu.onelogin.com/"
        );
        assert_eq!(
            api_base(&u("http://127.0.0.1:9/trust/saml2/launch/1?app_id=2"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/"
        );
        let devices: Vec<Value> = serde_json::from_str(
            r#"[{"device_id":1,"device_type":"OneLogin SMS"},{"device_id":2,"device_type":"Google Authenticator"},
                {"device_id":3,"device_type":"OneLogin Protect"}]"#,
        )
        .unwrap();
        let id = |m| {
            choose_device(&devices, m).map(|(d, push)| (d["device_id"].as_u64().unwrap(), push))
        };
        assert_eq!(id(MfaType::Auto).unwrap(), (3, true));
        assert_eq!(id(MfaType::Code).unwrap(), (2, false));
        assert!(id(MfaType::None).is_err());
        assert!(choose_device(&devices[..2], MfaType::Push).is_err());
    }

    #[test]
    fn both_apis_answers_are_read_where_each_keeps_them() {
        let saml = Api::Assertion { app_id: "7" };
        let v2 = json!({"message": "Success", "data": "PHNhbWxwOlJlc3BvbnNlPg=="});
        assert_eq!(saml.token(&v2).as_deref(), Some("PHNhbWxwOlJlc3BvbnNlPg=="));
        assert_eq!(message(&v2), "Success");
        let v2_mfa = json!({"message": "MFA is required for this user", "state_token": "s",
                            "devices": [{"device_id": 12, "device_type": "OneLogin Protect"}]});
        assert_eq!(saml.token(&v2_mfa), None);
        assert_eq!(saml.data(&v2_mfa)["state_token"], "s");
        assert_eq!(saml.body(json!({}))["app_id"], "7");

        let v1 = json!({"status": {"error": false, "code": 200, "message": "Success"},
                        "data": [{"session_token": "t"}]});
        assert_eq!(Api::Login.token(&v1).as_deref(), Some("t"));
        let v1_locked = json!({"status": {"error": true, "code": 401,
                                          "message": "Authentication Failed: User is locked"},
                               "data": null});
        assert!(message(&v1_locked).contains("locked"));
        assert_eq!(Api::Login.token(&v1_locked), None);
        assert_eq!(Api::Login.body(json!({})).get("app_id"), None);
    }
}
