//! IAM Identity Center sign-in: the access token every SSO profile of one session shares, kept in
//! the AWS CLI v2's token cache (`token`), refreshed with its refresh token before it expires, and
//! obtained when there is none by the OAuth device authorization grant (RFC 8628) through SSO
//! OIDC: RegisterClient (reused until its secret expires), StartDeviceAuthorization, then
//! CreateToken polled at the server's interval (`authorization_pending`: keep polling,
//! `slow_down`: 5 s more, `expired_token`: give up). The user is shown the URL and code on
//! stderr, and the browser is opened when there is a display.
//!
//! The token file is written under the cache's lock of that file, so N processes that need a
//! token at once cause one sign-in, and the others read its result.

pub mod client;
pub mod token;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::cache::{Cache, CacheKey};
use crate::config::SsoSession;
use client::{Grant, SsoApi};
use token::CachedToken;

/// Botocore refreshes a token this long before it expires; so do we.
const REFRESH_WINDOW: SignedDuration = SignedDuration::from_mins(15);
/// A token closer to its end than this is treated as expired: a call made with it could fail.
const USABLE_MARGIN: SignedDuration = SignedDuration::from_mins(1);
/// However long the server says a device code lives, nobody waits longer than this.
const MAX_DEVICE_WAIT: Duration = Duration::from_secs(30 * 60);
const SLOW_DOWN_STEP: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("profile '{profile}': no valid IAM Identity Center sign-in for {start_url}: run `aws-runas sso login {profile}`")]
    NeedsLogin { profile: String, start_url: String },
    #[error("profile '{profile}': the sign-in code expired before it was approved: run `aws-runas sso login {profile}` again")]
    DeviceCodeExpired { profile: String },
    #[error("profile '{profile}': the sign-in was denied")]
    Denied { profile: String },
}

/// What a caller allows to obtain the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Login {
    /// A cached or refreshed token only: nobody is there to sign in.
    Never,
    /// Sign in when there is no usable token.
    WhenNeeded,
    /// Sign in whatever the cache holds (`sso login`).
    Always,
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
    if login != Login::Always {
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
    if login != Login::Always {
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
    if login == Login::Never {
        return Err(SsoError::NeedsLogin {
            profile: profile.to_owned(),
            start_url: session.start_url.clone(),
        }
        .into());
    }
    let new = device_sign_in(api, session, profile, existing.as_ref())?;
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
                e.code.as_deref().unwrap_or("no code")
            );
            None
        }
    }
}

fn secs(n: u64) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(n).unwrap_or(i64::MAX / 2))
}

/// The device authorization grant, start to finish.
fn device_sign_in(
    api: &dyn SsoApi,
    session: &SsoSession,
    profile: &str,
    existing: Option<&CachedToken>,
) -> anyhow::Result<CachedToken> {
    let now = Timestamp::now();
    let registration = match existing.and_then(|t| t.registration(now)) {
        Some(r) => r,
        None => {
            let scopes = if session.scopes.is_empty() && session.name.is_some() {
                vec!["sso:account:access".to_owned()]
            } else {
                session.scopes.clone()
            };
            tracing::info!(
                "registering aws-runas with IAM Identity Center ({})",
                session.region
            );
            let c = api.register_client("aws-runas", &scopes)?;
            token::Registration {
                client_id: c.client_id,
                client_secret: c.client_secret,
                expires_at: Timestamp::from_second(c.secret_expires_at)
                    .unwrap_or(now + SignedDuration::from_hours(24 * 90)),
            }
        }
    };
    let auth = api.start_device_authorization(
        &registration.client_id,
        &registration.client_secret,
        &session.start_url,
    )?;
    let url = auth
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| auth.verification_uri.clone());
    eprintln!(
        "aws-runas: to sign in to {} for profile '{profile}', open {url} and confirm the code {}",
        session.start_url, auth.user_code
    );
    open_browser(&url);
    let deadline =
        std::time::Instant::now() + Duration::from_secs(auth.expires_in).min(MAX_DEVICE_WAIT);
    let mut interval = auth.interval;
    let mut spinner = Spinner::new();
    let new = loop {
        spinner.wait(Duration::from_secs(interval));
        if std::time::Instant::now() > deadline {
            spinner.done();
            return Err(SsoError::DeviceCodeExpired {
                profile: profile.to_owned(),
            }
            .into());
        }
        match api.create_token(
            &registration.client_id,
            &registration.client_secret,
            Grant::DeviceCode(&auth.device_code),
        ) {
            Ok(t) => break t,
            Err(e) => match e.code.as_deref() {
                Some("AuthorizationPendingException") => {}
                Some("SlowDownException") => interval += SLOW_DOWN_STEP,
                Some("ExpiredTokenException") => {
                    spinner.done();
                    return Err(SsoError::DeviceCodeExpired {
                        profile: profile.to_owned(),
                    }
                    .into());
                }
                Some("AccessDeniedException") => {
                    spinner.done();
                    return Err(SsoError::Denied {
                        profile: profile.to_owned(),
                    }
                    .into());
                }
                _ => {
                    spinner.done();
                    return Err(e.into());
                }
            },
        }
    };
    spinner.done();
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
    Ok(out)
}

/// Opens `url` in the user's browser where there is one to open; the URL is printed anyway.
fn open_browser(url: &str) {
    if std::env::var_os("AWS_RUNAS_NO_BROWSER").is_some() {
        return;
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    let command = (std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some())
    .then(|| std::process::Command::new("xdg-open"));
    #[cfg(target_os = "macos")]
    let command = Some(std::process::Command::new("open"));
    #[cfg(windows)]
    let command = Some(std::process::Command::new("explorer"));
    #[cfg(not(any(unix, windows)))]
    let command: Option<std::process::Command> = None;
    if let Some(mut command) = command {
        let _ = command
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// A spinner on stderr while waiting, when stderr is a terminal; plain waiting otherwise.
struct Spinner {
    tty: bool,
    frame: usize,
}

impl Spinner {
    fn new() -> Self {
        use std::io::IsTerminal;
        Self {
            tty: std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn wait(&mut self, d: Duration) {
        if !self.tty {
            std::thread::sleep(d);
            return;
        }
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        const STEP: Duration = Duration::from_millis(125);
        let end = std::time::Instant::now() + d;
        while std::time::Instant::now() < end {
            self.frame = (self.frame + 1) % FRAMES.len();
            eprint!(
                "\r{} waiting for the sign-in to be approved",
                FRAMES[self.frame]
            );
            std::thread::sleep(STEP.min(end.saturating_duration_since(std::time::Instant::now())));
        }
    }

    fn done(&mut self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests;
