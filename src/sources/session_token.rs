//! `GetSessionToken` over the profile's long-term keys, with the MFA code when the profile has a
//! device: the session that MFA-protected roles are assumed from.

use std::time::Duration;

use anyhow::Context as _;

use super::{check_duration, Context, RootKeys, Source};
use crate::aws::sts::MfaToken;
use crate::cache::CacheKey;
use crate::config::Resolved;
use crate::credentials::Credentials;
use crate::duration::human;

const MAX_SESSION_DURATION: Duration = Duration::from_secs(36 * 3600);

pub struct SessionToken<'a> {
    resolved: &'a Resolved,
    /// The root keys of `resolved`.
    keys: RootKeys<'a>,
}

impl<'a> SessionToken<'a> {
    pub fn new(resolved: &'a Resolved, keys: RootKeys<'a>) -> Self {
        Self { resolved, keys }
    }
}

impl Source for SessionToken<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        Some(CacheKey::session(
            self.keys.label(),
            &self.keys.id(),
            self.resolved.mfa_serial.as_deref(),
        ))
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let resolved = self.resolved;
        let duration = resolved.session_duration;
        check_duration(
            "session token",
            &resolved.name,
            duration,
            MAX_SESSION_DURATION,
        )?;
        // Before the MFA code: a code typed for keys the keyring then fails to give is wasted.
        let keys = self.keys.load()?;
        let code;
        let mfa = match resolved.mfa_serial.as_deref() {
            Some(serial) => {
                code = context.mfa.code(&resolved.name, serial)?;
                Some(MfaToken {
                    serial,
                    code: &code,
                })
            }
            None => None,
        };
        let label = self.keys.label();
        tracing::info!(
            "GetSessionToken for '{label}' ({}, MFA {})",
            human(duration),
            if mfa.is_some() { "yes" } else { "no" }
        );
        context
            .sts
            .get_session_token(&keys, duration, mfa)
            .with_context(|| format!("profile '{label}'"))
    }
}
