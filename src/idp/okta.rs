//! Okta (Classic Engine Authn API), for the AWS app's embed link
//! (`https://ORG.okta.com/home/amazon_aws/APP_ID/N`).
//!
//! The flow:
//! 1. GET the embed link: with a live Okta session (the `sid` cookie in our jar) the page already
//!    holds the `SAMLResponse`;
//! 2. else POST `/api/v1/authn` `{username, password}`: `SUCCESS` carries a `sessionToken`,
//!    `MFA_REQUIRED` a `stateToken` and the user's factors, 401 means a wrong password;
//! 3. MFA: a code factor (TOTP, HOTP, token) is verified with `{stateToken, passCode}` (403: a
//!    wrong code); a push is started with `{stateToken}` and polled at `_links.next` until
//!    `SUCCESS`, `REJECTED` or `TIMEOUT`, for at most a minute; Duo's iframe flow is not spoken;
//!    `LOCKED_OUT` is a locked account;
//! 4. GET the embed link with `?sessionToken=`: Okta trades it for a session and returns the
//!    page holding the `SAMLResponse`.
//!
//! Web identity (`Goal::Redirect`, the URL an authorization server,
//! `https://ORG.okta.com/oauth2[/SERVER]`) takes steps 2 and 3, then sends the `sessionToken`
//! with the authorization request instead.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{json, Value};
use url::Url;

use super::form::saml_response;
use super::http::{origin, Browser, Page};
use super::{Asks, Goal, Reached, SignIn, SignInError, MAX_STEPS};
use crate::config::signin::MfaType;

const PUSH_LIMIT: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Okta's own words for a failed call: `errorSummary`, else the HTTP status.
fn okta_error(page: &Page, value: &Value) -> anyhow::Error {
    let summary = value["errorSummary"].as_str().unwrap_or("no reason given");
    // The IdP's words, tamed: no control bytes or line breaks reach the terminal.
    anyhow::anyhow!(
        "Okta at {} answered HTTP {}: {}",
        origin(&page.url),
        page.status,
        crate::config::shown(summary)
    )
}

/// The factor to use, as aws-runas v3 picks it: push or a code, as `mfa_type` says.
fn choose_factor(factors: &[Value], mfa: MfaType) -> anyhow::Result<&Value> {
    let kind = |f: &Value| f["factorType"].as_str().unwrap_or_default().to_owned();
    let usable: Vec<&Value> = factors
        .iter()
        .filter(|f| f["provider"].as_str() != Some("DUO"))
        .filter(|f| kind(f) == "push" || kind(f).starts_with("token"))
        .collect();
    let code_order = [
        "token:software:totp",
        "token:hotp",
        "token",
        "token:hardware",
    ];
    let order: Vec<&str> = match mfa {
        MfaType::None => anyhow::bail!("Okta asks for MFA but mfa_type = none"),
        MfaType::Push => vec!["push"],
        MfaType::Code => code_order.to_vec(),
        MfaType::Auto => std::iter::once("push").chain(code_order).collect(),
    };
    order
        .iter()
        .find_map(|want| usable.iter().find(|f| kind(f) == *want).copied())
        .with_context(|| {
            let offered: Vec<String> = factors.iter().map(kind).collect();
            format!(
                "Okta offers no MFA factor aws-runas can use for mfa_type {mfa:?} (offered: {})",
                offered.join(", ")
            )
        })
}

/// Verifies the chosen factor; returns Okta's next reply.
fn verify(
    browser: &mut Browser,
    idp: &str,
    state_token: &str,
    factor: &Value,
    asks: &Asks<'_>,
) -> anyhow::Result<(Page, Value)> {
    let href = factor["_links"]["verify"]["href"]
        .as_str()
        .context("Okta's factor has no verify link")?;
    let href = Url::parse(href).context("Okta's verify link is not a URL")?;
    if factor["factorType"].as_str() == Some("push") {
        (asks.push)()?;
        eprintln!("aws-runas: approve the Okta push on your device");
        let mut page = browser.post_json(href, &json!({ "stateToken": state_token }))?;
        let started = Instant::now();
        let mut shown_answer = false;
        let mut spinner = crate::tty::Spinner::new("waiting for the push to be approved");
        loop {
            let value = page.json("Okta")?;
            if page.status != 200 {
                return Err(okta_error(&page, &value));
            }
            match (value["status"].as_str(), value["factorResult"].as_str()) {
                (Some("MFA_CHALLENGE"), Some("WAITING")) => {}
                (Some("MFA_CHALLENGE"), Some("REJECTED")) => {
                    anyhow::bail!("the Okta push was denied on the device")
                }
                (Some("MFA_CHALLENGE"), Some("TIMEOUT")) => {
                    anyhow::bail!("the Okta push was not answered on the device in time")
                }
                (Some("MFA_CHALLENGE"), Some(result)) => {
                    anyhow::bail!(
                        "the Okta push was not approved ({})",
                        crate::shown::shown(result)
                    )
                }
                _ => return Ok((page, value)),
            }
            let answer = &value["_embedded"]["factor"]["_embedded"]["challenge"]["correctAnswer"];
            if let (false, Some(n)) = (shown_answer, answer.as_u64()) {
                eprintln!("aws-runas: on your device, choose {n}");
                shown_answer = true;
            }
            if started.elapsed() > PUSH_LIMIT {
                anyhow::bail!(
                    "the Okta push was not answered within {}s",
                    PUSH_LIMIT.as_secs()
                );
            }
            spinner.wait(POLL_EVERY);
            let next = value["_links"]["next"]["href"]
                .as_str()
                .and_then(|h| Url::parse(h).ok())
                .context("Okta's waiting push has no poll link")?;
            page = browser.post_json(next, &json!({ "stateToken": state_token }))?;
        }
    }
    let code = (asks.otp)()?;
    let page = browser.post_json(
        href,
        &json!({ "stateToken": state_token, "passCode": code }),
    )?;
    let value = page.json("Okta")?;
    match page.status {
        200 => Ok((page, value)),
        403 => Err(SignInError::WrongCode {
            idp: idp.to_owned(),
        }
        .into()),
        _ => Err(okta_error(&page, &value)),
    }
}

/// Signs in at Okta until `goal`: the app's SAML page, or the authorization request's redirect.
pub fn sign_in(s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    let (mut next, authorize) = match goal {
        Goal::SamlResponse => {
            if let Some(response) = saml_response(&s.browser.get(s.idp.clone())?) {
                return Ok(Reached::SamlResponse(response));
            }
            (s.idp.clone(), None)
        }
        Goal::Redirect { authorize, to } => (authorize.clone(), Some(to)),
    };
    let (token, username) = session_token(s)?;
    next.query_pairs_mut().append_pair("sessionToken", &token);
    if let Some(to) = authorize {
        return super::authorization_redirect(s, next, to, &username);
    }
    let page = s.browser.get(next)?;
    saml_response(&page)
        .map(Reached::SamlResponse)
        .ok_or_else(|| {
            SignInError::NoForm {
                page: origin(&page.url),
                status: page.status,
            }
            .into()
        })
}

/// Okta's Authn API at the org of the configured URL: username and password, then the factor
/// `s.mfa` picks, ending in the one-time `sessionToken` that the app link (SAML) or
/// `/v1/authorize?sessionToken=` (web identity) trades for a session; and who signed in.
fn session_token(s: &mut SignIn<'_>) -> anyhow::Result<(String, String)> {
    let (browser, asks, mfa) = (&mut *s.browser, s.asks, s.mfa);
    let idp = origin(s.idp);
    let username = (asks.username)()?;
    let password = (asks.password)(&username)?;
    tracing::info!("signing in at {idp} (Okta) as '{username}'");
    let authn = s.idp.join("/api/v1/authn").context("the Okta URL")?;
    let mut page = browser.post_json(
        authn,
        &json!({ "username": username, "password": password }),
    )?;
    let mut tried_factor = false;
    for _ in 0..MAX_STEPS {
        let value = page.json("Okta")?;
        match page.status {
            200 => {}
            401 => {
                return Err(SignInError::WrongPassword {
                    idp,
                    username: username.clone(),
                }
                .into())
            }
            _ => return Err(okta_error(&page, &value)),
        }
        match value["status"].as_str().unwrap_or_default() {
            "SUCCESS" => {
                let token = value["sessionToken"]
                    .as_str()
                    .context("Okta's SUCCESS holds no sessionToken")?;
                return Ok((token.to_owned(), username));
            }
            "MFA_REQUIRED" if !tried_factor => {
                let state = value["stateToken"]
                    .as_str()
                    .context("Okta's MFA_REQUIRED holds no stateToken")?;
                let factors = value["_embedded"]["factors"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let factor = choose_factor(factors, mfa)?;
                (page, _) = verify(browser, &idp, state, factor, asks)?;
                tried_factor = true;
            }
            "LOCKED_OUT" => {
                return Err(SignInError::LockedOut {
                    idp,
                    username: username.clone(),
                }
                .into())
            }
            other => anyhow::bail!(
                "Okta at {idp} answered {}: sign-in cannot go on",
                crate::shown::shown(other)
            ),
        }
    }
    Err(SignInError::TooManySteps { idp }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factors() -> Vec<Value> {
        serde_json::from_str(
            r#"[{"id":"sms1","factorType":"sms","provider":"OKTA"},
                {"id":"totp1","factorType":"token:software:totp","provider":"GOOGLE"},
                {"id":"push1","factorType":"push","provider":"OKTA"},
                {"id":"duo1","factorType":"web","provider":"DUO"}]"#,
        )
        .unwrap()
    }

    #[test]
    fn factors_are_chosen_as_mfa_type_says() {
        let f = factors();
        let id = |m| {
            choose_factor(&f, m).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(id(MfaType::Auto), "push1");
        assert_eq!(id(MfaType::Push), "push1");
        assert_eq!(id(MfaType::Code), "totp1");
        assert!(choose_factor(&f, MfaType::None).is_err());
        let sms_only = &f[..1];
        let err = choose_factor(sms_only, MfaType::Auto)
            .unwrap_err()
            .to_string();
        assert!(err.contains("offered: sms"), "{err}");
    }
}
