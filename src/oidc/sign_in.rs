//! The ID token a web identity profile trades for a role: from the cache while it is good for
//! longer than the refresh window (no request to the provider), else renewed with its refresh
//! token, else from a new sign-in, in the flow the profile asks for:
//! - `password`: the authorization code grant with PKCE, driven here as aws-runas v3 does: GET
//!   the authorization URL, fill in the provider's login form (username and password as for
//!   SAML: keyring, `-P`, terminal), follow the redirects by hand until one goes to the redirect
//!   URI (never fetched), check its `state`, and trade the code (with the PKCE verifier);
//! - `browser`: the same grant in the user's own browser, the code coming back to a loopback
//!   listener at the redirect URI (RFC 8252);
//! - `device`: the device authorization grant (RFC 8628).
//!
//! All of it runs under the lock of the token's cache entry, so N processes needing the token
//! make one sign-in. Nothing here logs a token, code, verifier or password, not even at `-vv`.

use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;

use crate::cache::CacheKey;
use crate::idp::form::{self, Goal, Reached};
use crate::idp::http::{jar_path, origin, Browser};
use crate::idp::settings::{detect_from_headers, Provider, WebFlow, WebSettings};
use crate::idp::{Asks, Person};
use crate::oidc::api_sign_in;
use crate::oidc::id_token::{self, CachedIdToken};
use crate::oidc::pkce::Pkce;
use crate::oidc::provider::{self, Endpoints};
use crate::sources::Context;

/// How long provider detection waits for the IdP's headers.
const DETECT_LIMIT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum WebSignInError {
    #[error("profile '{profile}': signing in at {idp} needs a terminal or a browser and none can answer here: run `runas use {profile}` (or `aws-runas {profile}`) in a terminal")]
    NeedsSignIn { profile: String, idp: String },
}

/// Whether `error` is, somewhere in its chain, a sign-in nobody could answer.
pub fn needs_sign_in(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<WebSignInError>(),
            Some(WebSignInError::NeedsSignIn { .. })
        ) || matches!(
            e.downcast_ref::<crate::idp::SignInError>(),
            Some(crate::idp::SignInError::NoTerminal { .. })
        )
    })
}

fn key(s: &WebSettings) -> CacheKey {
    CacheKey::id_token(
        origin(&s.auth_url).trim_end_matches('/'),
        &s.client_id,
        s.username.as_deref().unwrap_or(""),
    )
}

/// The profile's ID token: cached, refreshed, or signed in for.
pub fn id_token(s: &WebSettings, context: &Context<'_>) -> anyhow::Result<String> {
    let key = key(s);
    let fresh = |t: &CachedIdToken| t.fresh(Timestamp::now(), context.refresh_window);
    let read = || context.cache.read::<CachedIdToken>(&key);
    if let Some(t) = read().filter(fresh) {
        tracing::debug!("ID token from the cache ({})", key.what);
        return Ok(t.id_token);
    }
    let _lock = context.cache.lock(&key)?;
    let cached = read();
    if let Some(t) = cached.as_ref().filter(|t| fresh(t)) {
        tracing::debug!("ID token signed in for by another process meanwhile");
        return Ok(t.id_token.clone());
    }
    let mut browser = Browser::new(Some(jar_path(
        context.cache.dir(),
        &s.auth_url,
        s.username.as_deref(),
    )));
    let endpoints = api_sign_in::endpoints(&mut browser, s)
        .with_context(|| format!("profile '{}'", s.profile))?;
    if let Some(refresh_token) = cached.and_then(|t| t.refresh_token) {
        if let Some(t) = refresh(&mut browser, s, &endpoints, &refresh_token)? {
            context.cache.write(&key, &t)?;
            return Ok(t.id_token);
        }
    }
    let started = std::time::Instant::now();
    let new = match s.flow {
        WebFlow::Password => password_flow(&mut browser, s, &endpoints, context)?,
        WebFlow::Browser | WebFlow::Device if !context.sign_in => {
            return Err(WebSignInError::NeedsSignIn {
                profile: s.profile.clone(),
                idp: origin(&s.auth_url),
            }
            .into())
        }
        WebFlow::Browser => browser_flow(&mut browser, s, &endpoints)?,
        WebFlow::Device => device_flow(&mut browser, s, &endpoints)?,
    };
    tracing::debug!(
        "web identity sign-in took {} HTTP requests, {} ms",
        browser.requests,
        started.elapsed().as_millis()
    );
    browser.save()?;
    context.cache.write(&key, &new)?;
    Ok(new.id_token)
}

/// The token renewed with the refresh token; `None` when the provider refuses it (the caller
/// then signs in).
fn refresh(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
    refresh_token: &str,
) -> anyhow::Result<Option<CachedIdToken>> {
    tracing::info!(
        "renewing the ID token from {} with its refresh token",
        origin(&s.auth_url)
    );
    let answer = provider::token(
        browser,
        endpoints,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &s.client_id),
        ],
    );
    match answer {
        Ok(r) => match r.id_token.clone().filter(|t| !t.is_empty()) {
            Some(id) => Ok(Some(id_token::from_response(
                id,
                r.refresh_token.or_else(|| Some(refresh_token.to_owned())),
                r.expires_in,
            ))),
            None => {
                tracing::info!("the refresh gave no ID token: signing in again");
                Ok(None)
            }
        },
        Err(Ok(refusal)) => {
            tracing::info!(
                "the refresh was refused ({}): signing in again",
                refusal.error.as_deref().unwrap_or("no error code")
            );
            Ok(None)
        }
        Err(Err(e)) => Err(e.context(format!("profile '{}'", s.profile))),
    }
}

/// Trades an authorization code (with the PKCE verifier) for the tokens.
fn exchange(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
    code: &str,
    redirect_uri: &str,
    pkce: &Pkce,
) -> anyhow::Result<CachedIdToken> {
    let answer = provider::token(
        browser,
        endpoints,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", &s.client_id),
            ("code_verifier", &pkce.verifier),
        ],
    );
    let r = match answer {
        Ok(r) => r,
        Err(Ok(refusal)) => {
            return Err(refusal.into_error(&s.auth_url, "the code exchange").into())
        }
        Err(Err(e)) => return Err(e),
    };
    let id = provider::id_token(&r, &s.auth_url)?;
    Ok(id_token::from_response(id, r.refresh_token, r.expires_in))
}

/// The password flow: the provider's login form filled in here, redirects followed to the
/// redirect URI.
fn password_flow(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
    context: &Context<'_>,
) -> anyhow::Result<CachedIdToken> {
    let in_profile = |e: anyhow::Error| e.context(format!("profile '{}'", s.profile));
    let provider = match s.provider {
        Provider::Auto => {
            // Any answer tells something; no answer leaves the form client to say why.
            let headers = browser
                .head(&endpoints.authorization, DETECT_LIMIT)
                .unwrap_or_default();
            let found = detect_from_headers(&headers);
            tracing::info!("identity provider detected: {found:?}");
            found
        }
        p => p,
    };
    let pkce = Pkce::new()?;
    let url = provider::authorize_url(endpoints, &s.client_id, &s.redirect_uri, &s.scopes, &pkce);
    // Prompts only where someone can answer: never from a prompt hook or credential_process.
    let mut person = Person::new(
        &s.profile,
        &s.auth_url,
        context.interactive && context.sign_in,
    );
    person.username = s.username.as_deref();
    person.password = s.password.as_deref();
    person.username_key = "web_identity_username";
    person.password_variable = "WEB_PASSWORD";
    person.no_terminal_hint = Some(format!("run `runas use {}` in a terminal", s.profile));
    let username = || person.username();
    let password = |user: &str| person.password(user);
    let otp = || context.mfa.code(&s.profile, &origin(&s.auth_url));
    let asks = Asks {
        username: &username,
        password: &password,
        otp: &otp,
    };
    let redirect = if api_sign_in::speaks(provider) {
        api_sign_in::redirect(browser, s, provider, &url, &asks)
    } else {
        let target = s.redirect_url();
        form::sign_in_to(browser, &url, &asks, Goal::Redirect(&target)).map(|reached| {
            let Reached::Redirect(redirect) = reached else {
                unreachable!("a redirect goal ends at a redirect")
            };
            redirect
        })
    }
    .map_err(|e| in_profile(person.explain(e)))?;
    let code = provider::code_from_redirect(&redirect, &pkce.state, &s.auth_url)
        .map_err(|e| in_profile(e.into()))?;
    exchange(browser, s, endpoints, &code, &s.redirect_uri, &pkce).map_err(in_profile)
}

fn browser_flow(
    _browser: &mut Browser,
    s: &WebSettings,
    _endpoints: &Endpoints,
) -> anyhow::Result<CachedIdToken> {
    anyhow::bail!(
        "profile '{}': web_identity_flow = browser is not built yet: use password",
        s.profile
    )
}

fn device_flow(
    _browser: &mut Browser,
    s: &WebSettings,
    _endpoints: &Endpoints,
) -> anyhow::Result<CachedIdToken> {
    anyhow::bail!(
        "profile '{}': web_identity_flow = device is not built yet: use password",
        s.profile
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_cache_is_per_provider_client_and_person() {
        let s = |url: &str, client: &str, user: Option<&str>| WebSettings {
            profile: "p".into(),
            auth_url: url::Url::parse(url).unwrap(),
            client_id: client.into(),
            redirect_uri: "app:/callback".into(),
            username: user.map(str::to_owned),
            password: None,
            provider: Provider::Form,
            flow: WebFlow::Password,
            mfa_type: crate::idp::settings::MfaType::Auto,
            scopes: vec!["openid".into()],
            web_role: "arn:aws:iam::123456789012:role/r".into(),
            target_role: None,
            session_name: None,
            duration: Duration::from_secs(3600),
        };
        let a = key(&s("https://idp.example.org/", "c", Some("alice")));
        assert_eq!(
            a.id(),
            key(&s("https://idp.example.org", "c", Some("alice"))).id()
        );
        for other in [
            s("https://idp.example.org/realms/other", "c", Some("alice")),
            s("https://idp2.example.org/", "c", Some("alice")),
            s("https://idp.example.org/", "d", Some("alice")),
            s("https://idp.example.org/", "c", Some("bob")),
        ] {
            assert_ne!(a.id(), key(&other).id());
        }
    }
}
