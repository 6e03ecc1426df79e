//! Credential providers: turns a resolved profile into credentials, from the cache when they are
//! fresh, else from STS under the cache lock — so however many processes ask at once, one of
//! them calls STS (and asks for an MFA code) and the rest read its result.
//!
//! The flows, as aws-runas does them:
//! - no role: `GetSessionToken` (with MFA when the profile has `mfa_serial`), cached 12h;
//! - role with MFA, up to 1h: `GetSessionToken` with MFA, then `AssumeRole` with that session,
//!   so one MFA code serves every role for the session's lifetime;
//! - role with MFA over 1h: `AssumeRole` directly with the long-term keys and the MFA code
//!   (AWS caps roles assumed from session credentials at 1h);
//! - role without MFA: `AssumeRole` directly with the long-term keys;
//! - role chains: each hop assumed with the previous hop's credentials, each hop cached.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, CacheKey};
use crate::config::{Resolved, SourceOrigin};
use crate::credentials::Credentials;
use crate::duration::human;

/// AWS caps a role assumed with temporary credentials (a role chain) at one hour.
pub const CHAINED_ROLE_MAX: Duration = Duration::from_secs(3600);
const MIN_DURATION: Duration = Duration::from_secs(900);
const MAX_ROLE_DURATION: Duration = Duration::from_secs(12 * 3600);
const MAX_SESSION_DURATION: Duration = Duration::from_secs(36 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("STS {operation} failed: {code}: {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("STS {operation} failed: {message}")]
    Transport {
        operation: &'static str,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Identity {
    pub user_id: String,
    pub arn: String,
    pub account: String,
}

pub struct MfaToken<'a> {
    pub serial: &'a str,
    pub code: &'a str,
}

pub struct AssumeRoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub external_id: Option<&'a str>,
    pub duration: Duration,
    pub mfa: Option<MfaToken<'a>>,
}

/// The STS operations we need, so the flows can be tested against a fake.
pub trait Sts {
    fn get_session_token(
        &self,
        with: &Credentials,
        duration: Duration,
        mfa: Option<MfaToken<'_>>,
    ) -> Result<Credentials, StsError>;
    fn assume_role(
        &self,
        with: &Credentials,
        request: &AssumeRoleRequest<'_>,
    ) -> Result<Credentials, StsError>;
    fn caller_identity(&self, with: &Credentials) -> Result<Identity, StsError>;
}

pub trait MfaPrompt {
    /// A current code of the `serial` device, for `profile`.
    fn code(&self, profile: &str, serial: &str) -> anyhow::Result<String>;
}

pub struct Provider<'a> {
    pub resolved: &'a Resolved,
    pub cache: &'a Cache,
    pub sts: &'a dyn Sts,
    pub mfa: &'a dyn MfaPrompt,
    pub force_refresh: bool,
}

fn check_duration(what: &str, profile: &str, d: Duration, max: Duration) -> anyhow::Result<()> {
    if d < MIN_DURATION || d > max {
        anyhow::bail!(
            "{what} duration {} for '{profile}' is outside what AWS allows ({} to {})",
            human(d),
            human(MIN_DURATION),
            human(max)
        );
    }
    Ok(())
}

/// The last path element of the caller's ARN: the IAM user name, or the session name of an
/// assumed role — what aws-runas uses as the role session name.
fn session_name_from_arn(arn: &str) -> String {
    let tail = arn.rsplit(['/', ':']).next().unwrap_or_default();
    let name: String = tail
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(64)
        .collect();
    if name.len() >= 2 {
        name
    } else {
        "aws-runas".into()
    }
}

impl Provider<'_> {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    /// The credentials the user asked for: the role's, or with `session_only` the session
    /// token's.
    pub fn credentials(&self, session_only: bool) -> anyhow::Result<Credentials> {
        match self.resolved.hops.len() {
            0 => self.session(self.force_refresh),
            _ if session_only => self.session(self.force_refresh),
            n => self.role(n - 1, self.force_refresh),
        }
    }

    fn source_label(&self) -> &str {
        match &self.resolved.source.origin {
            SourceOrigin::Profile(p) => p,
            SourceOrigin::Environment => "environment",
        }
    }

    fn session_key(&self) -> CacheKey {
        CacheKey::session(
            self.source_label(),
            &self.resolved.source.credentials.access_key_id,
            self.resolved.mfa_serial.as_deref(),
        )
    }

    fn fresh(&self, cached: Option<Credentials>) -> Option<Credentials> {
        cached.filter(|c| c.is_fresh(self.now(), self.resolved.refresh_window))
    }

    fn session(&self, force: bool) -> anyhow::Result<Credentials> {
        let source = &self.resolved.source.credentials;
        if source.is_temporary() {
            // STS refuses GetSessionToken with temporary keys; they are already what we'd get.
            return Ok(source.clone());
        }
        let key = self.session_key();
        if !force {
            if let Some(c) = self.fresh(self.cache.read_credentials(&key)) {
                tracing::debug!("cache hit: {}", key.what);
                return Ok(c);
            }
        }
        let _lock = self.cache.lock(&key)?;
        if !force {
            if let Some(c) = self.fresh(self.cache.read_credentials(&key)) {
                tracing::debug!("refreshed by another process meanwhile: {}", key.what);
                return Ok(c);
            }
        }
        let duration = self.resolved.session_duration;
        check_duration(
            "session token",
            &self.resolved.name,
            duration,
            MAX_SESSION_DURATION,
        )?;
        let code;
        let mfa = match self.resolved.mfa_serial.as_deref() {
            Some(serial) => {
                code = self.mfa.code(&self.resolved.name, serial)?;
                Some(MfaToken {
                    serial,
                    code: &code,
                })
            }
            None => None,
        };
        tracing::info!(
            "GetSessionToken for '{}' ({}, MFA {})",
            self.source_label(),
            human(duration),
            if mfa.is_some() { "yes" } else { "no" }
        );
        let mut creds = self.sts.get_session_token(source, duration, mfa)?;
        creds.issued.get_or_insert(self.now());
        self.cache.write(&key, &creds)?;
        Ok(creds)
    }

    /// The role session name of hop `index`: configured, or the caller's own name.
    fn session_name(&self, index: usize) -> anyhow::Result<String> {
        if let Some(n) = &self.resolved.hops[index].session_name {
            return Ok(n.clone());
        }
        let source = &self.resolved.source.credentials;
        let key = CacheKey::identity(&source.access_key_id);
        let identity = match self.cache.read::<Identity>(&key) {
            Some(i) => i,
            None => {
                let i = self.sts.caller_identity(source)?;
                // An identity never changes for a key, so it is cached for good.
                self.cache.write(&key, &i)?;
                i
            }
        };
        Ok(session_name_from_arn(&identity.arn))
    }

    /// How hop `index` is obtained, and the cache key naming its credentials (which is also
    /// the upstream identity of the next hop).
    fn plan(&self, index: usize) -> HopPlan {
        let hop = &self.resolved.hops[index];
        let source = &self.resolved.source.credentials;
        let mfa_serial = self.resolved.mfa_serial.as_deref();
        let via_session = index == 0
            && mfa_serial.is_some()
            && !source.is_temporary()
            && hop.duration <= CHAINED_ROLE_MAX;
        let chained = index > 0 || source.is_temporary() || via_session;
        let duration = if chained {
            hop.duration.min(CHAINED_ROLE_MAX)
        } else {
            hop.duration
        };
        let upstream = if index == 0 {
            let mode = if via_session { "session" } else { "direct" };
            format!(
                "{}|{}|{mode}",
                source.access_key_id,
                mfa_serial.unwrap_or("")
            )
        } else {
            self.plan(index - 1).key.id().to_owned()
        };
        let key = CacheKey::role(
            &hop.profile,
            &hop.role_arn,
            hop.external_id.as_deref(),
            hop.session_name.as_deref(),
            &upstream,
        );
        HopPlan {
            via_session,
            duration,
            key,
        }
    }

    /// Credentials of role hop `index`.
    fn role(&self, index: usize, force: bool) -> anyhow::Result<Credentials> {
        let hop = &self.resolved.hops[index];
        let HopPlan {
            via_session,
            duration,
            key,
        } = self.plan(index);
        if duration < hop.duration {
            tracing::info!(
                "'{}' is assumed through a role chain: duration capped at 1h",
                hop.profile
            );
        }
        check_duration("role", &hop.profile, duration, MAX_ROLE_DURATION)?;
        if !force {
            if let Some(c) = self.fresh(self.cache.read_credentials(&key)) {
                tracing::debug!("cache hit: {}", key.what);
                return Ok(c);
            }
        }
        let _lock = self.cache.lock(&key)?;
        if !force {
            if let Some(c) = self.fresh(self.cache.read_credentials(&key)) {
                tracing::debug!("refreshed by another process meanwhile: {}", key.what);
                return Ok(c);
            }
        }

        let session_name = self.session_name(index)?;
        let source = &self.resolved.source.credentials;
        let code;
        let (with, mfa) = if index > 0 {
            (self.role(index - 1, false)?, None)
        } else if via_session {
            (self.session(false)?, None)
        } else if let Some(serial) = self.resolved.mfa_serial.as_deref() {
            code = self.mfa.code(&self.resolved.name, serial)?;
            (
                source.clone(),
                Some(MfaToken {
                    serial,
                    code: &code,
                }),
            )
        } else {
            (source.clone(), None)
        };
        tracing::info!(
            "AssumeRole {} for '{}' as '{session_name}' ({})",
            hop.role_arn,
            hop.profile,
            human(duration)
        );
        let request = AssumeRoleRequest {
            role_arn: &hop.role_arn,
            session_name: &session_name,
            external_id: hop.external_id.as_deref(),
            duration,
            mfa,
        };
        let mut creds = self.sts.assume_role(&with, &request)?;
        creds.issued.get_or_insert(self.now());
        self.cache.write(&key, &creds)?;
        Ok(creds)
    }
}

struct HopPlan {
    via_session: bool,
    duration: Duration,
    key: CacheKey,
}
