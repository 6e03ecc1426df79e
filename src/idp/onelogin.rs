//! OneLogin (API v2), for the aws-runas v3 URL form
//! `https://SUB.onelogin.com/trust/saml2/launch/PORTAL?app_id=APP&token=BASE64(ID:SECRET)[&region=us|eu]`,
//! which carries the API client credentials the SAML assertion call needs.
//!
//! The flow:
//! 1. POST `/auth/oauth2/v2/token` (`Authorization: Basic <token>`, client credentials) for an
//!    API access token;
//! 2. POST `/api/2/saml_assertion` `{username_or_email, password, app_id, subdomain}`: `data` is
//!    the SAML response; a `state_token` with `devices` means MFA; 401 a wrong password (a
//!    message naming a lock: a locked account);
//! 3. MFA: POST `/api/2/saml_assertion/verify_factor` with the device and an `otp_token` (401: a
//!    wrong code), or, for OneLogin Protect's push, without one, polling while the answer's
//!    `message` says pending, for at most a minute (401: denied on the device).
//!
//! Web identity (`oidc::api_sign_in`, URL `https://SUB.onelogin.com/oidc/2?token=...`) signs in
//! with the v1 login API instead (`/api/1/login/auth`, `/api/1/login/verify_factor`, the same
//! device choice) for a session token, which `/session_via_api_token` turns into the session
//! cookies the OpenID authorization endpoint reads.
//!
//! The API lives at `https://api.REGION.onelogin.com` for OneLogin's own hosts; any other host (a
//! stand-in) serves it itself. No cookies: every sign-in needs the password.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};
use url::Url;

use super::http::{origin, Browser, Page};
use super::{Asks, SignInError};
use crate::config::signin::MfaType;

const PUSH_LIMIT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_secs(1);
const PUSH_DEVICE: &str = "OneLogin Protect";

fn api_error(page: &Page, value: &Value) -> anyhow::Error {
    let message = value["message"]
        .as_str()
        .or_else(|| value["status"]["message"].as_str())
        .unwrap_or("no reason given");
    anyhow::anyhow!(
        "OneLogin at {} answered HTTP {}: {}",
        origin(&page.url),
        page.status,
        crate::config::shown(message)
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

/// The data of a successful assertion call, if this reply is one.
fn assertion(value: &Value) -> Option<String> {
    value["data"]
        .as_str()
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
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
struct Api {
    base: Url,
    subdomain: String,
    access: String,
}

fn api_access(browser: &mut Browser, url: &Url) -> anyhow::Result<Api> {
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
        (200, Some(t)) => Ok(Api {
            base,
            subdomain,
            access: format!("bearer {t}"),
        }),
        _ => Err(api_error(&page, &value).context("the API credentials in the URL's token")),
    }
}

/// Signs in at the OneLogin app `url` and returns the base64 SAML response.
pub fn sign_in(
    browser: &mut Browser,
    url: &Url,
    asks: &Asks<'_>,
    mfa: MfaType,
) -> anyhow::Result<String> {
    let idp = origin(url);
    let app_id = query(url, "app_id")?;
    let Api {
        base: api,
        subdomain,
        access,
    } = api_access(browser, url)?;

    let username = (asks.username)()?;
    let password = (asks.password)(&username)?;
    tracing::info!("signing in at {idp} (OneLogin) as '{username}'");
    let page = browser.post_json_authorized(
        api.join("api/2/saml_assertion")?,
        &json!({ "username_or_email": username, "password": password,
                 "app_id": app_id, "subdomain": subdomain }),
        Some(&access),
    )?;
    let value = page.json("OneLogin")?;
    let message = value["message"].as_str().unwrap_or_default();
    match page.status {
        200 => {}
        // OneLogin names a locked user in its message (401 or 400 alike).
        _ if message.to_ascii_lowercase().contains("locked") => {
            return Err(SignInError::LockedOut { idp, username }.into())
        }
        401 => return Err(SignInError::WrongPassword { idp, username }.into()),
        _ => return Err(api_error(&page, &value)),
    }
    if let Some(data) = assertion(&value) {
        return Ok(data);
    }
    let state = value["state_token"]
        .as_str()
        .with_context(|| format!("OneLogin at {idp} sent neither an assertion nor an MFA state"))?;
    let devices = value["devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (device, push) = choose_device(devices, mfa)?;
    let device_id = match &device["device_id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => anyhow::bail!("OneLogin's MFA device has no id"),
    };
    let verify = api.join("api/2/saml_assertion/verify_factor")?;
    let mut body = json!({ "app_id": app_id, "device_id": device_id, "state_token": state,
                           "do_not_notify": false });
    if !push {
        body["otp_token"] = Value::String((asks.otp)()?);
        let page = browser.post_json_authorized(verify, &body, Some(&access))?;
        let value = page.json("OneLogin")?;
        return match (page.status, assertion(&value)) {
            (200, Some(data)) => Ok(data),
            (401, _) => Err(SignInError::WrongCode { idp }.into()),
            _ => Err(api_error(&page, &value)),
        };
    }
    (asks.push)()?;
    eprintln!("aws-runas: approve the OneLogin Protect push on your device");
    let started = Instant::now();
    let mut spinner = crate::tty::Spinner::new("waiting for the push to be approved");
    loop {
        let page = browser.post_json_authorized(verify.clone(), &body, Some(&access))?;
        let value = page.json("OneLogin")?;
        if page.status == 401 {
            // Verify's documented failure: the push was denied (or expired) on the device.
            let message =
                crate::config::shown(value["message"].as_str().unwrap_or("no reason given"));
            anyhow::bail!("the OneLogin Protect push was not approved: {message}");
        }
        if page.status != 200 {
            return Err(api_error(&page, &value));
        }
        if let Some(data) = assertion(&value) {
            return Ok(data);
        }
        let message = value["message"].as_str().unwrap_or_default();
        if !message.to_ascii_lowercase().contains("pending") {
            anyhow::bail!(
                "the OneLogin push was not approved: {}",
                crate::config::shown(message)
            );
        }
        if started.elapsed() > PUSH_LIMIT {
            anyhow::bail!(
                "the OneLogin push was not answered within {}s",
                PUSH_LIMIT.as_secs()
            );
        }
        // Only the first call notifies the device; the rest poll.
        body["do_not_notify"] = Value::Bool(true);
        spinner.wait(POLL_EVERY);
    }
}

/// The v1 API's `data[0]`, where its login answers keep their tokens.
fn v1_data(value: &Value) -> &Value {
    &value["data"][0]
}

/// A OneLogin session for a web identity sign-in at `url` (`https://SUB.onelogin.com/oidc/2`
/// with the API client in `token=`, as aws-runas v3 configures it): an API token, then
/// `/api/1/login/auth` (username and password; MFA verified at `/api/1/login/verify_factor` with
/// the device `mfa` picks, as for SAML) for a session token, which `/session_via_api_token` at
/// the URL's host turns into the session cookies its authorization endpoint reads.
pub fn oidc_session(
    browser: &mut Browser,
    url: &Url,
    asks: &Asks<'_>,
    mfa: MfaType,
) -> anyhow::Result<()> {
    let idp = origin(url);
    let Api {
        base: api,
        subdomain,
        access,
    } = api_access(browser, url)?;

    let username = (asks.username)()?;
    let password = (asks.password)(&username)?;
    tracing::info!("signing in at {idp} (OneLogin) as '{username}'");
    let page = browser.post_json_authorized(
        api.join("api/1/login/auth")?,
        &json!({ "username_or_email": username, "password": password, "subdomain": subdomain }),
        Some(&access),
    )?;
    let value = page.json("OneLogin")?;
    match page.status {
        200 => {}
        401 => return Err(SignInError::WrongPassword { idp, username }.into()),
        _ => return Err(api_error(&page, &value)),
    }
    let session = |value: &Value| {
        v1_data(value)["session_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let token = match session(&value) {
        Some(token) => token,
        None => {
            let data = v1_data(&value);
            let state = data["state_token"].as_str().with_context(|| {
                format!("OneLogin at {idp} sent neither a session nor an MFA state")
            })?;
            let devices = data["devices"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let (device, push) = choose_device(devices, mfa)?;
            let device_id = match &device["device_id"] {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => anyhow::bail!("OneLogin's MFA device has no id"),
            };
            let verify = api.join("api/1/login/verify_factor")?;
            let mut body = json!({ "device_id": device_id, "state_token": state,
                                   "do_not_notify": false });
            if push {
                eprintln!("aws-runas: approve the OneLogin Protect push on your device");
            } else {
                body["otp_token"] = Value::String((asks.otp)()?);
            }
            let started = Instant::now();
            loop {
                let page = browser.post_json_authorized(verify.clone(), &body, Some(&access))?;
                let value = page.json("OneLogin")?;
                match (page.status, session(&value)) {
                    (200, Some(token)) => break token,
                    (401, _) if push => anyhow::bail!("the OneLogin push was not approved"),
                    (401, _) => return Err(SignInError::WrongCode { idp }.into()),
                    (200, None) => {}
                    _ => return Err(api_error(&page, &value)),
                }
                let message = value["status"]["message"]
                    .as_str()
                    .or_else(|| value["message"].as_str())
                    .unwrap_or_default();
                if !push || !message.to_ascii_lowercase().contains("pending") {
                    anyhow::bail!(
                        "OneLogin at {idp} did not accept the MFA: {}",
                        crate::config::shown(message)
                    );
                }
                if started.elapsed() > PUSH_LIMIT {
                    anyhow::bail!(
                        "the OneLogin push was not answered within {}s",
                        PUSH_LIMIT.as_secs()
                    );
                }
                // Only the first call notifies the device; the rest poll.
                body["do_not_notify"] = Value::Bool(true);
                std::thread::sleep(POLL_EVERY);
            }
        }
    };
    let page = browser.post_form(
        url.join("/session_via_api_token")?,
        &[("session_token".to_owned(), token)],
    )?;
    if page.status != 200 {
        anyhow::bail!(
            "OneLogin at {idp} answered HTTP {} when turning the API session into a web session",
            page.status
        );
    }
    Ok(())
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
}
