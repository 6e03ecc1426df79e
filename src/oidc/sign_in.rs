//! The ID token a web identity profile trades for a role: from the cache while it is good for
//! longer than the refresh window (no request to the provider), else renewed with its refresh
//! token, else from a new sign-in, in the flow the profile asks for:
//! - `password`: the authorization code grant with PKCE, driven here as aws-runas v3 does: the
//!   provider's client in `idp` (the one SAML uses) signs in for the authorization request
//!   (username and password as for SAML: keyring, `-P`, terminal) through the login form, the
//!   sign-in pages or the provider's API, following the redirects by hand until one goes to the
//!   redirect URI (never fetched); its `state` is checked and the code traded (with the PKCE
//!   verifier);
//! - `browser`: the same grant in the user's own browser, the code coming back to a loopback
//!   listener at the redirect URI (RFC 8252);
//! - `device`: the device authorization grant (RFC 8628).
//!
//! All of it runs under the lock of the token's cache entry, so N processes needing the token
//! make one sign-in. Nothing here logs a token, code, verifier or password, not even at `-vv`.

use anyhow::Context as _;
use jiff::Timestamp;

use crate::cache::CacheKey;
use crate::config::signin::{Provider, WebFlow, WebSettings};
use crate::context::Context;
use crate::idp::http::{jar_path, origin, Browser};
use crate::idp::{self, Asks, Goal, Person, Reached, SignIn};
use crate::oauth::loopback::Listener;
use crate::oauth::pkce::Pkce;
use crate::oauth::wait::{self, Poll, MAX_DEVICE_WAIT};
use crate::oidc::endpoints;
use crate::oidc::id_token::{self, CachedIdToken};
use crate::oidc::provider::{self, Endpoints};
use crate::tty::{open_browser, Spinner};

#[derive(Debug, thiserror::Error)]
pub enum WebSignInError {
    #[error("profile '{profile}': signing in at {idp} needs a terminal or a browser and none can answer here: run `runas use {profile}` (or `aws-runas {}`) in a terminal", crate::cli::profile_argument(.profile))]
    NeedsSignIn { profile: String, idp: String },
    #[error("profile '{profile}': the sign-in code expired before it was approved: run `runas use {profile}` again")]
    DeviceCodeExpired { profile: String },
    #[error("profile '{profile}': the sign-in was denied at the identity provider")]
    Denied { profile: String },
    #[error("profile '{profile}': the {provider:?} password sign-in is not available for web identity in this build: set web_identity_flow = browser or device")]
    ProviderUnsupported { profile: String, provider: Provider },
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
    let mut browser = Browser::new(
        Some(jar_path(
            context.cache.dir(),
            &s.auth_url,
            s.username.as_deref(),
        )),
        s.ca_bundle.as_ref(),
    )?;
    let endpoints =
        endpoints::find(&mut browser, s).with_context(|| format!("profile '{}'", s.profile))?;
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
                crate::shown::shown(refusal.error.as_deref().unwrap_or("no error code"))
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

/// The password flow: the provider's client signs in for the authorization request, redirects
/// followed to the redirect URI.
fn password_flow(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
    context: &Context<'_>,
) -> anyhow::Result<CachedIdToken> {
    let in_profile = |e: anyhow::Error| e.context(format!("profile '{}'", s.profile));
    let provider = idp::client::provider(s.provider, browser, &endpoints.authorization);
    if provider == Provider::Browser {
        // The SAML browser client posts an assertion to a local ACS; it has no code to give.
        return Err(WebSignInError::ProviderUnsupported {
            profile: s.profile.clone(),
            provider,
        }
        .into());
    }
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
    // Web identity sign-ins happen only where someone asked for credentials: a push is fine.
    let push = || Ok(());
    let asks = Asks {
        username: &username,
        password: &password,
        otp: &otp,
        push: &push,
    };
    let target = s.redirect_url();
    let goal = Goal::Redirect {
        authorize: &url,
        to: &target,
    };
    let reached = person.sign_in(|| {
        let mut at = SignIn {
            browser: &mut *browser,
            idp: &s.auth_url,
            asks: &asks,
            mfa: s.mfa_type,
        };
        idp::client::sign_in(provider, &mut at, goal)
    });
    let Reached::Redirect(redirect) = reached.map_err(in_profile)? else {
        unreachable!("a redirect goal ends at a redirect")
    };
    let code = provider::code_from_redirect(&redirect, &pkce.state, &s.auth_url)
        .map_err(|e| in_profile(e.into()))?;
    exchange(browser, s, endpoints, &code, &s.redirect_uri, &pkce).map_err(in_profile)
}

/// The browser flow: the authorization request opened in the user's browser, the code coming
/// back to a one-shot listener at the (loopback) redirect URI.
fn browser_flow(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
) -> anyhow::Result<CachedIdToken> {
    let in_profile = |e: anyhow::Error| e.context(format!("profile '{}'", s.profile));
    let pkce = Pkce::new()?;
    let configured = s.redirect_url();
    let listener =
        Listener::bind_for(&configured, &pkce.state).map_err(|e| in_profile(e.into()))?;
    // RFC 8252 7.3: without a port in the registered URI, any port is accepted; with one, that
    // port it is.
    let redirect_uri = if configured.port().is_some() {
        s.redirect_uri.clone()
    } else {
        let mut u = configured.clone();
        let _ = u.set_port(Some(listener.port()));
        u.to_string()
    };
    let url = provider::authorize_url(endpoints, &s.client_id, &redirect_uri, &s.scopes, &pkce);
    eprintln!(
        "aws-runas: to sign in at {} for profile '{}', open {url}",
        origin(&s.auth_url),
        s.profile
    );
    open_browser(url.as_str());
    let mut spinner = Spinner::new("waiting for the sign-in in the browser");
    let code = listener.wait_for_code(MAX_DEVICE_WAIT, || spinner.tick());
    spinner.done();
    let code = code.map_err(|e| in_profile(e.into()))?;
    exchange(browser, s, endpoints, &code, &redirect_uri, &pkce).map_err(in_profile)
}

/// The device authorization grant: a code the user confirms at the provider on any device.
fn device_flow(
    browser: &mut Browser,
    s: &WebSettings,
    endpoints: &Endpoints,
) -> anyhow::Result<CachedIdToken> {
    let in_profile = |e: anyhow::Error| e.context(format!("profile '{}'", s.profile));
    let auth =
        provider::device_authorization(browser, endpoints, &s.auth_url, &s.client_id, &s.scopes)
            .map_err(in_profile)?;
    // `device_authorization` has refused what cannot be shown.
    let (url, code) = auth.to_show().unwrap_or_default();
    eprintln!(
        "aws-runas: to sign in at {} for profile '{}', open {url} and confirm the code {code}",
        origin(&s.auth_url),
        s.profile,
    );
    open_browser(url);
    let expired = || {
        WebSignInError::DeviceCodeExpired {
            profile: s.profile.clone(),
        }
        .into()
    };
    let answer = wait::poll_device(
        auth.interval,
        auth.expires_in,
        "waiting for the sign-in to be approved",
        expired,
        || match provider::token(
            browser,
            endpoints,
            &[
                ("grant_type", provider::DEVICE_GRANT),
                ("device_code", &auth.device_code),
                ("client_id", &s.client_id),
            ],
        ) {
            Ok(r) => Poll::Done(r),
            Err(Ok(refusal)) => match refusal.error.as_deref() {
                Some("authorization_pending") => Poll::Pending,
                Some("slow_down") => Poll::SlowDown,
                Some("expired_token") => Poll::Expired,
                Some("access_denied") => Poll::Failed(
                    WebSignInError::Denied {
                        profile: s.profile.clone(),
                    }
                    .into(),
                ),
                _ => Poll::Failed(
                    refusal
                        .into_error(&s.auth_url, "the device code poll")
                        .into(),
                ),
            },
            Err(Err(e)) => Poll::Failed(e),
        },
    )?;
    let id = provider::id_token(&answer, &s.auth_url).map_err(|e| in_profile(e.into()))?;
    Ok(id_token::from_response(
        id,
        answer.refresh_token,
        answer.expires_in,
    ))
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
            mfa_type: crate::config::signin::MfaType::Auto,
            scopes: vec!["openid".into()],
            web_role: "arn:aws:iam::123456789012:role/r".into(),
            target_role: None,
            session_name: None,
            duration: std::time::Duration::from_secs(3600),
            ca_bundle: None,
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
