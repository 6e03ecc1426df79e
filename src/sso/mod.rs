//! IAM Identity Center sign-in: the access token every SSO profile of one session shares, kept in
//! the AWS CLI v2's token cache (`token`), refreshed with its refresh token before it expires, and
//! obtained when there is none by the OAuth device authorization grant (RFC 8628) through SSO
//! OIDC: RegisterClient (reused until its secret expires), StartDeviceAuthorization, then
//! CreateToken polled at the server's interval (`authorization_pending`: keep polling,
//! `slow_down`: 5 s more, `expired_token`: give up). The user is shown the URL and code on
//! stderr — only as the service sent them, and only if a terminal shows them so — and the
//! browser is opened when there is a display. Where a browser can be opened here, the sign-in
//! is instead the authorization code grant with PKCE and a loopback redirect, as the AWS CLI v2
//! does by default. A command that was not asked to sign in starts one only where someone can
//! answer it (`Login::when_someone_can_answer`).
//!
//! The token file is written under the cache's lock of that file, so N processes that need a
//! token at once cause one sign-in, and the others read its result.

pub mod client;
pub mod profiles;
pub mod token;

use jiff::{SignedDuration, Timestamp};

use crate::cache::{Cache, CacheKey};
use crate::config::SsoSession;
use crate::oauth::loopback::Listener;
use crate::oauth::pkce::Pkce;
use crate::oauth::wait::{self, Poll, MAX_DEVICE_WAIT};
use crate::tty::{browser_available, open_browser, Spinner};
use client::{Grant, RedirectClient, SsoApi};
use token::CachedToken;

/// Botocore refreshes a token this long before it expires; so do we.
const REFRESH_WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// A token closer to its end than this is treated as expired: a call made with it could fail.
const USABLE_MARGIN: SignedDuration = SignedDuration::from_mins(1);

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("profile '{profile}': no valid IAM Identity Center sign-in for {start_url}: run `aws-runas sso login {profile}`")]
    NeedsLogin { profile: String, start_url: String },
    #[error("profile '{profile}': the sign-in code expired before it was approved: run `aws-runas sso login {profile}` again")]
    DeviceCodeExpired { profile: String },
    #[error("profile '{profile}': the sign-in was denied")]
    Denied { profile: String },
    #[error("profile '{profile}': IAM Identity Center ({region}) answered a sign-in code or URL that cannot be shown on a terminal: not signing in")]
    Unshowable { profile: String, region: String },
}

/// Whether `error` is, somewhere in its chain, a sign-in nobody could be asked for.
pub fn needs_login(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<SsoError>(),
            Some(SsoError::NeedsLogin { .. })
        )
    })
}

/// What a caller allows to obtain the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// A cached or refreshed token only: nobody is there to sign in.
    Never,
    /// Sign in when there is no usable token.
    WhenNeeded(SignIn),
    /// Sign in whatever the cache holds (`sso login`).
    Always(SignIn),
}

impl Login {
    /// For a command that needs a token but was not asked to sign in: a sign-in when needed
    /// only where someone can answer it — the caller allows one (`allowed`: not
    /// credential_process, not a prompt hook) and there is a terminal to show its code on, as
    /// for a SAML browser sign-in. Elsewhere a device code would be printed to nobody and
    /// waited on for up to its expiry; failing at once says to run `aws-runas sso login`.
    pub fn when_someone_can_answer(allowed: bool) -> Self {
        if allowed && crate::tty::present() {
            Login::WhenNeeded(SignIn::from_env(false, false))
        } else {
            Login::Never
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// The device authorization grant: the code can be confirmed on any device.
    Device,
    /// The authorization code grant with PKCE: a browser on this machine.
    Pkce,
}

/// How a sign-in goes, when one is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignIn {
    pub flow: Flow,
    /// Open the URL in a browser (else it is only printed).
    pub browser: bool,
}

impl SignIn {
    /// As the AWS CLI v2: PKCE where a browser can be opened here (`$BROWSER`, or a display), the
    /// device grant elsewhere (SSH sessions, containers). `RUNAS_SSO_FLOW=device|pkce` chooses,
    /// `RUNAS_NO_BROWSER` keeps the browser closed.
    pub fn from_env(use_device_code: bool, no_browser: bool) -> Self {
        let browser = !no_browser && browser_available();
        let flow = match std::env::var("RUNAS_SSO_FLOW").ok().as_deref() {
            _ if use_device_code => Flow::Device,
            Some("device") => Flow::Device,
            Some("pkce") => Flow::Pkce,
            _ if browser => Flow::Pkce,
            _ => Flow::Device,
        };
        Self { flow, browser }
    }
}

/// A token of another portal (the session's URL was edited) is no token for this one: neither
/// used, nor refreshed, nor its registration reused.
fn read_for(path: &std::path::Path, session: &SsoSession) -> Option<CachedToken> {
    token::read(path).filter(|t| {
        t.start_url
            .as_deref()
            .is_none_or(|u| u == session.start_url)
    })
}

fn fresh(t: &CachedToken, now: Timestamp, margin: SignedDuration) -> bool {
    t.expires().is_some_and(|e| e > now + margin)
}

/// The session's access token: cached, refreshed, or (as `login` allows) from a new sign-in.
pub fn access_token(
    api: &dyn SsoApi,
    session: &SsoSession,
    profile: &str,
    cache: &Cache,
    login: Login,
) -> anyhow::Result<String> {
    access_token_at(&token::path(session)?, api, session, profile, cache, login)
}

fn access_token_at(
    path: &std::path::Path,
    api: &dyn SsoApi,
    session: &SsoSession,
    profile: &str,
    cache: &Cache,
    login: Login,
) -> anyhow::Result<String> {
    let forced = matches!(login, Login::Always(_));
    if !forced {
        if let Some(t) = read_for(path, session) {
            if fresh(&t, Timestamp::now(), REFRESH_WINDOW) {
                tracing::debug!("SSO token from {}", path.display());
                return Ok(t.access_token);
            }
        }
    }
    let _lock = cache.lock(&CacheKey::file(path))?;
    let existing = read_for(path, session);
    let now = Timestamp::now();
    if !forced {
        if let Some(t) = existing.as_ref() {
            if fresh(t, now, REFRESH_WINDOW) {
                tracing::debug!("SSO token refreshed by another process meanwhile");
                return Ok(t.access_token.clone());
            }
            if let Some(refreshed) = refresh(api, session, t, now) {
                token::write(path, &refreshed)?;
                return Ok(refreshed.access_token);
            }
            if fresh(t, now, USABLE_MARGIN) {
                return Ok(t.access_token.clone());
            }
        }
    }
    let how = match login {
        Login::Never => {
            return Err(SsoError::NeedsLogin {
                profile: profile.to_owned(),
                start_url: session.start_url.clone(),
            }
            .into())
        }
        Login::WhenNeeded(how) | Login::Always(how) => how,
    };
    let new = match how.flow {
        Flow::Device => device_sign_in(api, session, profile, existing.as_ref(), how)?,
        Flow::Pkce => pkce_sign_in(api, session, profile, existing.as_ref(), how)?,
    };
    token::write(path, &new)?;
    Ok(new.access_token)
}

/// The token renewed with its refresh token, when it has one and a valid registration; `None`
/// when it cannot be (the caller then signs in).
fn refresh(
    api: &dyn SsoApi,
    session: &SsoSession,
    t: &CachedToken,
    now: Timestamp,
) -> Option<CachedToken> {
    let refresh_token = t.refresh_token.as_deref()?;
    let registration = t.registration(now)?;
    tracing::info!(
        "refreshing the IAM Identity Center token for {}",
        session.start_url
    );
    match api.create_token(
        &registration.client_id,
        &registration.client_secret,
        Grant::RefreshToken(refresh_token),
    ) {
        Ok(new) => {
            let mut out = t.clone();
            out.access_token = new.access_token;
            out.expires_at = token::format_time(now + secs(new.expires_in));
            if new.refresh_token.is_some() {
                out.refresh_token = new.refresh_token;
            }
            Some(out)
        }
        Err(e) => {
            tracing::info!(
                "the refresh was refused ({}): signing in again",
                crate::shown::shown(e.code.as_deref().unwrap_or("no code"))
            );
            None
        }
    }
}

fn secs(n: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(n).unwrap_or(i64::MAX / 2))
}

fn scopes(session: &SsoSession) -> Vec<String> {
    // The AWS CLI asks for this scope when a session names none (it is what refresh needs).
    if session.scopes.is_empty() && session.name.is_some() {
        vec!["sso:account:access".to_owned()]
    } else {
        session.scopes.clone()
    }
}

fn new_registration(c: client::NewClient, now: Timestamp) -> token::Registration {
    token::Registration {
        client_id: c.client_id,
        client_secret: c.client_secret,
        expires_at: Timestamp::from_second(c.secret_expires_at)
            .ok()
            .filter(|t| *t > now)
            .unwrap_or(now + SignedDuration::from_hours(24 * 90)),
    }
}

/// The token file's content after a sign-in: the new token with its client registration
/// (which refreshing needs), keeping what other tools wrote.
fn signed_in(
    session: &SsoSession,
    existing: Option<&CachedToken>,
    registration: token::Registration,
    new: client::NewToken,
) -> CachedToken {
    let now = Timestamp::now();
    let mut out = existing.cloned().unwrap_or_default();
    out.start_url = Some(session.start_url.clone());
    out.region = Some(session.region.clone());
    out.access_token = new.access_token;
    out.expires_at = token::format_time(now + secs(new.expires_in));
    out.client_id = Some(registration.client_id);
    out.client_secret = Some(registration.client_secret);
    out.registration_expires_at = Some(token::format_time(registration.expires_at));
    out.refresh_token = new.refresh_token;
    eprintln!("aws-runas: signed in to {}", session.start_url);
    out
}

/// The device authorization grant, start to finish.
fn device_sign_in(
    api: &dyn SsoApi,
    session: &SsoSession,
    profile: &str,
    existing: Option<&CachedToken>,
    how: SignIn,
) -> anyhow::Result<CachedToken> {
    let now = Timestamp::now();
    let register = || -> anyhow::Result<token::Registration> {
        tracing::info!(
            "registering aws-runas with IAM Identity Center ({})",
            session.region
        );
        Ok(new_registration(
            api.register_client("aws-runas", &scopes(session), None)?,
            now,
        ))
    };
    let start = |r: &token::Registration| {
        api.start_device_authorization(&r.client_id, &r.client_secret, &session.start_url)
    };
    let (registration, auth) = match existing.and_then(|t| t.registration(now)) {
        Some(cached) => match start(&cached) {
            Ok(auth) => (cached, auth),
            // The cached client may be one registered for another grant (PKCE): register anew.
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("InvalidClientException" | "UnauthorizedClientException")
                ) =>
            {
                let r = register()?;
                let auth = start(&r)?;
                (r, auth)
            }
            Err(e) => return Err(e.into()),
        },
        None => {
            let r = register()?;
            let auth = start(&r)?;
            (r, auth)
        }
    };
    let (url, code) = auth.to_show().ok_or_else(|| SsoError::Unshowable {
        profile: profile.to_owned(),
        region: session.region.clone(),
    })?;
    eprintln!(
        "aws-runas: to sign in to {} for profile '{profile}', open {url} and confirm the code {code}",
        session.start_url
    );
    if how.browser {
        open_browser(url);
    }
    let expired = || {
        SsoError::DeviceCodeExpired {
            profile: profile.to_owned(),
        }
        .into()
    };
    let new = wait::poll_device(
        auth.interval,
        auth.expires_in,
        "waiting for the sign-in to be approved",
        expired,
        || match api.create_token(
            &registration.client_id,
            &registration.client_secret,
            Grant::DeviceCode(&auth.device_code),
        ) {
            Ok(t) => Poll::Done(t),
            Err(e) => match e.code.as_deref() {
                Some("AuthorizationPendingException") => Poll::Pending,
                Some("SlowDownException") => Poll::SlowDown,
                Some("ExpiredTokenException") => Poll::Expired,
                Some("AccessDeniedException") => Poll::Failed(
                    SsoError::Denied {
                        profile: profile.to_owned(),
                    }
                    .into(),
                ),
                _ => Poll::Failed(e.into()),
            },
        },
    )?;
    Ok(signed_in(session, existing, registration, new))
}

/// SSO OIDC's authorization endpoint, where the browser is sent for the PKCE flow.
fn authorize_url(
    session: &SsoSession,
    client_id: &str,
    redirect_uri: &str,
    pkce: &Pkce,
    scopes: &[String],
) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let base = session
        .oidc_endpoint
        .clone()
        .unwrap_or_else(|| format!("https://oidc.{}.amazonaws.com", session.region));
    let scopes = scopes.join(",");
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", &pkce.state),
        ("code_challenge_method", "S256"),
        ("scopes", &scopes),
        ("code_challenge", &pkce.challenge),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
    .collect::<Vec<_>>()
    .join("&");
    format!("{}/authorize?{query}", base.trim_end_matches('/'))
}

/// The authorization code grant with PKCE and a loopback redirect (RFC 7636, RFC 8252), as the
/// AWS CLI v2 signs in by default. A client is registered for each sign-in, since its redirect
/// URI names the port the kernel gave this one.
fn pkce_sign_in(
    api: &dyn SsoApi,
    session: &SsoSession,
    profile: &str,
    existing: Option<&CachedToken>,
    how: SignIn,
) -> anyhow::Result<CachedToken> {
    let pkce = Pkce::new()?;
    let listener = Listener::bind(&pkce.state)?;
    let redirect_uri = listener.redirect_uri();
    let scopes = scopes(session);
    tracing::info!(
        "registering aws-runas with IAM Identity Center ({}) for a browser sign-in",
        session.region
    );
    let client = api.register_client(
        "aws-runas",
        &scopes,
        Some(RedirectClient {
            redirect_uri: &redirect_uri,
            issuer_url: &session.start_url,
        }),
    )?;
    let registration = new_registration(client, Timestamp::now());
    let url = authorize_url(
        session,
        &registration.client_id,
        &redirect_uri,
        &pkce,
        &scopes,
    );
    eprintln!(
        "aws-runas: to sign in to {} for profile '{profile}', open {url}",
        session.start_url
    );
    if how.browser {
        open_browser(&url);
    }
    let mut spinner = Spinner::new("waiting for the sign-in in the browser");
    let code = listener.wait_for_code(MAX_DEVICE_WAIT, || spinner.tick());
    spinner.done();
    let code = code.map_err(|e| anyhow::anyhow!("profile '{profile}': {e}"))?;
    let new = api.create_token(
        &registration.client_id,
        &registration.client_secret,
        Grant::AuthorizationCode {
            code: &code,
            redirect_uri: &redirect_uri,
            verifier: &pkce.verifier,
        },
    )?;
    Ok(signed_in(session, existing, registration, new))
}

#[cfg(test)]
mod tests;
