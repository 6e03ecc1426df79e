//! `AssumeRoleWithWebIdentity` with a token read from `web_identity_token_file` (as on EKS and CI
//! runners, where the platform rotates the file): the cache key holds a digest of the token, so
//! a rotated token is used at once and never mixed up with the credentials of the old one.

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use super::{check_duration, Context, Source};
use crate::cache::CacheKey;
use crate::config::WebIdentitySettings;
use crate::credentials::Credentials;
use crate::duration::human;
use crate::private_file::read_bounded;

/// Tokens are a few kilobytes; a file far larger is not one.
const MAX_TOKEN_FILE: u64 = 64 * 1024;
const MAX_ROLE_DURATION: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

pub struct WebIdentity<'a> {
    settings: &'a WebIdentitySettings,
    token: String,
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
        let bytes = read_bounded(file, MAX_TOKEN_FILE)
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
        Ok(Self { settings, token })
    }

    fn digest(&self) -> String {
        Sha256::digest(self.token.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Source for WebIdentity<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        Some(CacheKey::role(
            &self.settings.profile,
            &self.settings.role_arn,
            None,
            self.settings.session_name.as_deref(),
            &format!("web-identity|{}", self.digest()),
        ))
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let s = self.settings;
        check_duration("role", &s.profile, s.duration, MAX_ROLE_DURATION)?;
        let session_name = s
            .session_name
            .clone()
            .unwrap_or_else(|| format!("aws-runas-{}", jiff::Timestamp::now().as_second()));
        tracing::info!(
            "AssumeRoleWithWebIdentity {} for '{}' as '{session_name}' ({})",
            s.role_arn,
            s.profile,
            human(s.duration)
        );
        context
            .sts
            .assume_role_with_web_identity(&s.role_arn, &session_name, &self.token, s.duration)
            .with_context(|| format!("profile '{}'", s.profile))
    }
}
