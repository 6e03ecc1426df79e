//! ForgeRock AM / PingAM (the authenticate REST API), for the URL
//! `https://HOST/am/json/realms/root/realms/REALM/authenticate` (nested realms kept whole).
//!
//! The flow:
//! 1. GET `BASE/idpssoinit?metaAlias=/REALM/saml-idp&spEntityID=urn:amazon:webservices`: with a
//!    live AM session (its SSO cookie in our jar) the page already holds the `SAMLResponse`;
//! 2. else POST the authenticate URL with the credentials in `X-OpenAM-Username` and
//!    `X-OpenAM-Password` (RFC 2047, for UTF-8): `tokenId` means signed in (its SSO cookie set,
//!    or set from `tokenId`), 401 a wrong password, `callbacks` another step. `mfa_type = code`
//!    and `push` name aws-runas v3's services (`mfa_oath_authentication`,
//!    `mfa_push_authentication`); `auto` lets the realm's default tree decide;
//! 3. a step's `PasswordCallback` (or an input named like a code) gets the one-time code (401: a
//!    wrong code); a `PollingWaitCallback` is a push: the step is posted back as it is until
//!    `tokenId`, for at most a minute;
//! 4. GET the `idpssoinit` URL again, now signed in.
//!
//! Web identity (`Goal::Redirect`) configures the realm's OAuth2 URL
//! (`BASE/oauth2/realms/...`): steps 2 and 3 at the same realm's authenticate URL, then its
//! `authorize` with the SSO cookie.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{json, Value};
use url::Url;

use super::form::saml_response;
use super::http::{origin, Page};
use super::{Goal, Reached, SignIn, SignInError, MAX_STEPS};
use crate::config::signin::MfaType;

const PUSH_LIMIT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_secs(1);
const API_VERSION: &str = "resource=2.0, protocol=1.0";
const SSO_COOKIE: &str = "iPlanetDirectoryPro";

/// The AM base (before `/json/`) and the realm path (`root/realms/a/realms/b` -> `a/b`).
fn base_and_realm(url: &Url) -> anyhow::Result<(Url, String)> {
    let path = url.path();
    let (before, after) = path
        .split_once("/json/")
        .with_context(|| format!("{} is not an AM authenticate URL (no /json/)", origin(url)))?;
    let mut base = url.clone();
    base.set_path(&format!("{before}/"));
    base.set_query(None);
    let realm: Vec<&str> = after
        .trim_end_matches("/authenticate")
        .split('/')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter_map(|pair| match pair {
            ["realms", name] if *name != "root" => Some(*name),
            _ => None,
        })
        .collect();
    Ok((base, realm.join("/")))
}

fn rfc2047(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

fn am_error(page: &Page, value: &Value) -> anyhow::Error {
    let message = value["message"].as_str().unwrap_or("no reason given");
    anyhow::anyhow!(
        "AM at {} answered HTTP {}: {}",
        origin(&page.url),
        page.status,
        crate::config::shown(message)
    )
}

fn has_callback(step: &Value, kind: &str) -> bool {
    step["callbacks"]
        .as_array()
        .is_some_and(|c| c.iter().any(|cb| cb["type"].as_str() == Some(kind)))
}

/// Puts `code` into the step's code input: its `PasswordCallback`, else the first input of a
/// `NameCallback` or `ValidatedCreatePasswordCallback` (trees name them differently).
fn fill_code(step: &mut Value, code: &str) -> bool {
    let Some(callbacks) = step["callbacks"].as_array_mut() else {
        return false;
    };
    for kind in [
        "PasswordCallback",
        "NameCallback",
        "ValidatedCreatePasswordCallback",
    ] {
        if let Some(cb) = callbacks
            .iter_mut()
            .find(|cb| cb["type"].as_str() == Some(kind))
        {
            if let Some(input) = cb["input"].get_mut(0) {
                input["value"] = Value::String(code.to_owned());
                return true;
            }
        }
    }
    false
}

/// Signs in at AM until `goal`: the SAML response of the realm's IdP (the configured URL its
/// authenticate URL), or the authorization request's redirect (the configured URL its OAuth2
/// realm URL).
pub fn sign_in(s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    match goal {
        Goal::SamlResponse => saml(s).map(Reached::SamlResponse),
        Goal::Redirect { authorize, to } => {
            let username = session(s, &authenticate_url(s.idp)?)?;
            super::authorization_redirect(s, authorize.clone(), to, &username)
        }
    }
}

/// The base64 SAML response of the AM realm whose authenticate URL is configured.
fn saml(s: &mut SignIn<'_>) -> anyhow::Result<String> {
    let url = s.idp;
    let (base, realm) = base_and_realm(url)?;
    let mut sso = base.join("idpssoinit")?;
    let alias = if realm.is_empty() {
        "/saml-idp".to_owned()
    } else {
        format!("/{realm}/saml-idp")
    };
    sso.query_pairs_mut()
        .append_pair("metaAlias", &alias)
        .append_pair("spEntityID", "urn:amazon:webservices");
    if let Some(response) = saml_response(&s.browser.get(sso.clone())?) {
        return Ok(response);
    }

    session(s, url)?;
    let page = s.browser.get(sso)?;
    saml_response(&page).ok_or_else(|| {
        SignInError::NoForm {
            page: origin(&page.url),
            status: page.status,
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_realms_are_kept() {
        let u = |s: &str| Url::parse(s).unwrap();
        let (base, realm) = base_and_realm(&u(
            "https://am.example.org/am/json/realms/root/realms/alpha/realms/eu/authenticate",
        ))
        .unwrap();
        assert_eq!(base.as_str(), "https://am.example.org/am/");
        assert_eq!(realm, "alpha/eu");
        let (_, realm) = base_and_realm(&u("https://h/am/json/realms/root/authenticate")).unwrap();
        assert_eq!(realm, "");
        let (_, realm) = base_and_realm(&u("https://h/am/json/realms/corp/authenticate")).unwrap();
        assert_eq!(realm, "corp", "v3's single-realm form");
        assert!(base_and_realm(&u("https://h/am/XUI/")).is_err());
        assert_eq!(rfc2047("jürgen"), "=?UTF-8?B?asO8cmdlbg==?=");
    }

    #[test]
    fn codes_go_into_the_password_callback() {
        let mut step = json!({"authId": "x", "callbacks": [
            {"type": "TextOutputCallback", "output": [{"name": "message", "value": "Enter code"}]},
            {"type": "PasswordCallback", "input": [{"name": "IDToken2", "value": ""}]}]});
        assert!(fill_code(&mut step, "123456"));
        assert_eq!(step["callbacks"][1]["input"][0]["value"], "123456");
        assert_eq!(step["authId"], "x", "the rest is sent back as it came");
    }
}

/// The authenticate URL of AM's OAuth2 realm URL (`BASE/oauth2/realms/root/realms/REALM`, or
/// v3's `BASE/oauth2/realms/REALM`): the same realm path under `json/`.
fn authenticate_url(oauth2: &Url) -> anyhow::Result<Url> {
    let path = oauth2.path().trim_end_matches('/');
    let (before, after) = match path.split_once("/oauth2") {
        Some((before, after)) if after.is_empty() || after.starts_with('/') => (before, after),
        _ => anyhow::bail!(
            "{} is not an AM OAuth2 URL (no /oauth2/realms/...)",
            origin(oauth2)
        ),
    };
    let realms = after.trim_start_matches('/');
    let realms = if realms.is_empty() {
        "realms/root"
    } else {
        realms
    };
    let mut url = oauth2.clone();
    url.set_query(None);
    url.set_path(&format!("{before}/json/{realms}/authenticate"));
    Ok(url)
}

/// Signs in at the AM authenticate `url`: credentials in headers, then the tree's code or push
/// callbacks (`s.mfa` naming v3's services); the `tokenId` is set as the SSO cookie for the AM
/// base, where SAML's `idpssoinit` and OpenID's `authorize` read it. Returns who signed in.
fn session(s: &mut SignIn<'_>, url: &Url) -> anyhow::Result<String> {
    let (browser, asks, mfa) = (&mut *s.browser, s.asks, s.mfa);
    let idp = origin(url);
    let (base, _) = base_and_realm(url)?;
    let username = (asks.username)()?;
    let password = (asks.password)(&username)?;
    if matches!(mfa, MfaType::Push | MfaType::Auto) {
        // AM's tree sends the push as soon as the password is accepted, before we hear of it.
        (asks.push)()?;
    }
    tracing::info!("signing in at {idp} (ForgeRock AM) as '{username}'");
    let mut authenticate = url.clone();
    let service = match mfa {
        MfaType::Code => Some("mfa_oath_authentication"),
        MfaType::Push => Some("mfa_push_authentication"),
        MfaType::Auto | MfaType::None => None,
    };
    if let Some(service) = service {
        authenticate
            .query_pairs_mut()
            .append_pair("authIndexType", "service")
            .append_pair("authIndexValue", service);
    }
    let version = ("accept-api-version", API_VERSION.to_owned());
    let mut page = browser.post_json_with(
        authenticate.clone(),
        &json!({}),
        &[
            version.clone(),
            ("x-openam-username", rfc2047(&username)),
            ("x-openam-password", rfc2047(&password)),
        ],
    )?;
    let mut sent_code = false;
    let mut pushed = false;
    let started = Instant::now();
    let mut spinner = crate::tty::Spinner::new("waiting for the push to be approved");
    for _ in 0..MAX_STEPS * 60 {
        let mut step = page.json("AM")?;
        let message = step["message"].as_str().unwrap_or_default();
        match page.status {
            200 => {}
            // AM's lockout message, whichever step it comes at.
            401 if message.to_ascii_lowercase().contains("locked") => {
                return Err(SignInError::LockedOut {
                    idp,
                    username: username.clone(),
                }
                .into())
            }
            // AM's push trees end in the same failure whether denied or expired.
            401 if pushed => anyhow::bail!("the AM push was denied or expired on the device"),
            401 if sent_code => return Err(SignInError::WrongCode { idp }.into()),
            401 => {
                return Err(SignInError::WrongPassword {
                    idp,
                    username: username.clone(),
                }
                .into())
            }
            _ => return Err(am_error(&page, &step)),
        }
        if let Some(token) = step["tokenId"].as_str() {
            browser.set_cookie(&base, SSO_COOKIE, token);
            return Ok(username);
        }
        if has_callback(&step, "PollingWaitCallback") {
            if started.elapsed() > PUSH_LIMIT {
                anyhow::bail!(
                    "the AM push was not answered within {}s",
                    PUSH_LIMIT.as_secs()
                );
            }
            if !pushed {
                eprintln!("aws-runas: approve the sign-in on your device");
                pushed = true;
            }
            spinner.wait(POLL_EVERY);
        } else if !sent_code && step["callbacks"].is_array() {
            if mfa == MfaType::None {
                anyhow::bail!("AM at {idp} asks for another step but mfa_type = none");
            }
            let code = (asks.otp)()?;
            if !fill_code(&mut step, &code) {
                anyhow::bail!("AM at {idp} asks for a step aws-runas cannot answer");
            }
            sent_code = true;
        } else {
            anyhow::bail!("AM at {idp} asks for a step aws-runas cannot answer");
        }
        page =
            browser.post_json_with(authenticate.clone(), &step, std::slice::from_ref(&version))?;
    }
    Err(SignInError::TooManySteps { idp }.into())
}

#[cfg(test)]
mod oidc_tests {
    use super::*;

    #[test]
    fn the_oauth2_realm_url_gives_its_authenticate_url() {
        let a = |s: &str| authenticate_url(&Url::parse(s).unwrap()).map(|u| u.to_string());
        assert_eq!(
            a("https://am.example.org/am/oauth2/realms/root/realms/alpha").unwrap(),
            "https://am.example.org/am/json/realms/root/realms/alpha/authenticate"
        );
        assert_eq!(
            a("https://h/am/oauth2/realms/corp/").unwrap(),
            "https://h/am/json/realms/corp/authenticate"
        );
        assert_eq!(
            a("https://h/am/oauth2").unwrap(),
            "https://h/am/json/realms/root/authenticate"
        );
        assert!(a("https://h/am/oauth2x/realms/a").is_err());
        assert!(a("https://h/am/json/realms/a/authenticate").is_err());
    }
}
