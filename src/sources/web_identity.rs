//! `AssumeRoleWithWebIdentity` with an ID token from one of two origins:
//! - `web_identity_token_file` (as on EKS and CI runners, where the platform rotates the file):
//!   the cache key holds a digest of the token, so a rotated token is used at once and never
//!   mixed up with the credentials of the old one;
//! - a sign-in at an OpenID provider (`web_identity_auth_url`, see `oidc::sign_in`): fetched
//!   only on a cache miss, under the credentials' lock, so N callers cause one sign-in.

use anyhow::Context as _;

use super::{check_duration, Context, Source};
use crate::cache::CacheKey;
use crate::config::signin::WebSettings;
use crate::config::WebIdentitySettings;
use crate::credentials::Credentials;
use crate::duration::human;
use crate::idp::http::origin;
use crate::private_file::read_user_file;

/// Tokens are a few kilobytes; a file far larger is not one.
const MAX_TOKEN_FILE: u64 = 64 * 1024;
const MAX_ROLE_DURATION: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Where the token comes from.
enum Origin<'a> {
    /// Read from the file when the source was made.
    File {
        settings: &'a WebIdentitySettings,
        token: String,
    },
    /// Signed in for when the credentials are fetched.
    SignIn(&'a WebSettings),
}

pub struct WebIdentity<'a> {
    origin: Origin<'a>,
}

impl<'a> WebIdentity<'a> {
    /// Reads the token now: the cache key depends on it.
    pub fn new(settings: &'a WebIdentitySettings) -> anyhow::Result<Self> {
        let file = &settings.token_file;
        let context = || {
            format!(
                "profile '{}': web_identity_token_file {}",
                settings.profile,
                file.display()
            )
        };
        // The platform's file, not our state: its symlinks are followed (see `read_user_file`).
        let bytes = read_user_file(file, MAX_TOKEN_FILE)
            .with_context(context)?
            .ok_or_else(|| anyhow::anyhow!("{}: no such file", context()))?;
        let token = String::from_utf8(bytes)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty() && !t.contains(|c: char| c.is_control() || c == ' '))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: not a token (empty, or not one line of text)",
                    context()
                )
            })?;
        Ok(Self {
            origin: Origin::File { settings, token },
        })
    }

    /// A token from a sign-in at the profile's OpenID provider.
    pub fn signing_in(settings: &'a WebSettings) -> Self {
        Self {
            origin: Origin::SignIn(settings),
        }
    }

    /// Profile, role, session name and duration, whatever the origin.
    fn role(&self) -> (&str, &str, Option<&str>, std::time::Duration) {
        match &self.origin {
            Origin::File { settings: s, .. } => (
                &s.profile,
                &s.role_arn,
                s.session_name.as_deref(),
                s.duration,
            ),
            Origin::SignIn(s) => (
                &s.profile,
                &s.web_role,
                s.session_name.as_deref(),
                s.duration,
            ),
        }
    }
}

fn digest(token: &str) -> String {
    crate::digest::hex(&crate::digest::sha256(token.as_bytes())[..8])
}

impl Source for WebIdentity<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        let (profile, role, session_name, _) = self.role();
        let upstream = match &self.origin {
            Origin::File { token, .. } => format!("web-identity|{}", digest(token)),
            Origin::SignIn(s) => format!(
                "web-sign-in|{}|{}|{}",
                origin(&s.auth_url).trim_end_matches('/'),
                s.client_id,
                s.username.as_deref().unwrap_or("")
            ),
        };
        Some(CacheKey::role(profile, role, None, session_name, &upstream))
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let (profile, role, session_name, duration) = self.role();
        check_duration("role", profile, duration, MAX_ROLE_DURATION)?;
        let signed_in;
        let token = match &self.origin {
            Origin::File { token, .. } => token,
            Origin::SignIn(s) => {
                signed_in = crate::oidc::sign_in::id_token(s, context)?;
                &signed_in
            }
        };
        let session_name = session_name
            .map(str::to_owned)
            .unwrap_or_else(|| format!("aws-runas-{}", jiff::Timestamp::now().as_second()));
        tracing::info!(
            "AssumeRoleWithWebIdentity {role} for '{profile}' as '{session_name}' ({})",
            human(duration)
        );
        context
            .sts
            .assume_role_with_web_identity(role, &session_name, token, duration)
            .with_context(|| format!("profile '{profile}'"))
    }
}
