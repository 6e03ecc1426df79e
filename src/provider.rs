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

use anyhow::Context;
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
#[error("STS {operation} failed: {message}")]
pub struct StsError {
    pub operation: &'static str,
    pub message: String,
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
        let mut creds = self
            .sts
            .get_session_token(source, duration, mfa)
            .with_context(|| format!("profile '{}'", self.source_label()))?;
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
                let i = self
                    .sts
                    .caller_identity(source)
                    .with_context(|| format!("profile '{}'", self.source_label()))?;
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
        let session_name = self.session_name(index)?;
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
        let mut creds = self
            .sts
            .assume_role(&with, &request)
            .with_context(|| format!("profile '{}'", hop.profile))?;
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::config::{RoleHop, Source};

    /// Records every call and hands out numbered credentials that expire in an hour.
    #[derive(Default)]
    struct FakeSts {
        calls: RefCell<Vec<String>>,
    }

    impl FakeSts {
        fn issue(&self, call: String) -> Credentials {
            let mut calls = self.calls.borrow_mut();
            calls.push(call);
            let mut c = Credentials::long_term(format!("ASIAFAKE{:04}", calls.len()), "s".into());
            c.session_token = Some("t".into());
            c.expiration = Some(Timestamp::now() + jiff::SignedDuration::from_hours(1));
            c
        }
        fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl Sts for FakeSts {
        fn get_session_token(
            &self,
            with: &Credentials,
            duration: Duration,
            mfa: Option<MfaToken<'_>>,
        ) -> Result<Credentials, StsError> {
            Ok(self.issue(format!(
                "GetSessionToken {} {}s mfa={}",
                with.access_key_id,
                duration.as_secs(),
                mfa.map(|m| m.code).unwrap_or("-")
            )))
        }
        fn assume_role(
            &self,
            with: &Credentials,
            r: &AssumeRoleRequest<'_>,
        ) -> Result<Credentials, StsError> {
            Ok(self.issue(format!(
                "AssumeRole {} with {} as {} {}s mfa={} ext={}",
                r.role_arn,
                with.access_key_id,
                r.session_name,
                r.duration.as_secs(),
                r.mfa.as_ref().map(|m| m.code).unwrap_or("-"),
                r.external_id.unwrap_or("-")
            )))
        }
        fn caller_identity(&self, with: &Credentials) -> Result<Identity, StsError> {
            self.calls
                .borrow_mut()
                .push(format!("GetCallerIdentity {}", with.access_key_id));
            Ok(Identity {
                user_id: "AIDA".into(),
                arn: "arn:aws:iam::123456789012:user/alice".into(),
                account: "123456789012".into(),
            })
        }
    }

    struct CountingMfa(RefCell<u32>);
    impl MfaPrompt for CountingMfa {
        fn code(&self, _: &str, _: &str) -> anyhow::Result<String> {
            *self.0.borrow_mut() += 1;
            Ok("123456".into())
        }
    }

    fn hop(name: &str, hours: u64) -> RoleHop {
        RoleHop {
            profile: name.into(),
            role_arn: format!("arn:aws:iam::123456789012:role/{name}"),
            external_id: None,
            session_name: None,
            duration: Duration::from_secs(hours * 3600),
        }
    }

    fn resolved(hops: Vec<RoleHop>, mfa: bool) -> Resolved {
        Resolved {
            name: hops
                .last()
                .map(|h| h.profile.clone())
                .unwrap_or("user".into()),
            source: Source {
                origin: SourceOrigin::Profile("user".into()),
                credentials: Credentials::long_term("AKIAUSER".into(), "s".into()),
            },
            hops,
            mfa_serial: mfa.then(|| "arn:aws:iam::123456789012:mfa/alice".into()),
            region: None,
            session_duration: Duration::from_secs(12 * 3600),
            refresh_window: Duration::from_secs(900),
            sts_endpoint: None,
            iam_endpoint: None,
        }
    }

    fn run(
        r: &Resolved,
        cache: &Cache,
        sts: &FakeSts,
        mfa: &CountingMfa,
        session_only: bool,
    ) -> Credentials {
        Provider {
            resolved: r,
            cache,
            sts,
            mfa,
            force_refresh: false,
        }
        .credentials(session_only)
        .unwrap()
    }

    #[test]
    fn mfa_role_goes_through_a_cached_session_and_asks_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let a = resolved(vec![hop("a", 1)], true);
        let b = resolved(vec![hop("b", 1)], true);
        let first = run(&a, &cache, &sts, &mfa, false);
        assert_eq!(
            run(&a, &cache, &sts, &mfa, false),
            first,
            "second call from cache"
        );
        run(&b, &cache, &sts, &mfa, false);
        assert_eq!(
            sts.calls(),
            [
                "GetSessionToken AKIAUSER 43200s mfa=123456",
                "GetCallerIdentity AKIAUSER",
                "AssumeRole arn:aws:iam::123456789012:role/a with ASIAFAKE0001 as alice 3600s mfa=- ext=-",
                "AssumeRole arn:aws:iam::123456789012:role/b with ASIAFAKE0001 as alice 3600s mfa=- ext=-",
            ]
        );
        assert_eq!(*mfa.0.borrow(), 1, "one MFA code serves both roles");
    }

    #[test]
    fn long_mfa_role_is_assumed_directly_with_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        run(
            &resolved(vec![hop("long", 4)], true),
            &cache,
            &sts,
            &mfa,
            false,
        );
        assert_eq!(
            sts.calls()[1],
            "AssumeRole arn:aws:iam::123456789012:role/long with AKIAUSER as alice 14400s mfa=123456 ext=-"
        );
    }

    #[test]
    fn chains_cap_later_hops_at_one_hour_and_cache_each_hop() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let mut hops = vec![hop("mid", 1), hop("leaf", 3)];
        hops[1].session_name = Some("me".into());
        hops[1].external_id = Some("x".into());
        run(&resolved(hops, false), &cache, &sts, &mfa, false);
        assert_eq!(
            sts.calls(),
            [
                "GetCallerIdentity AKIAUSER",
                "AssumeRole arn:aws:iam::123456789012:role/mid with AKIAUSER as alice 3600s mfa=- ext=-",
                "AssumeRole arn:aws:iam::123456789012:role/leaf with ASIAFAKE0002 as me 3600s mfa=- ext=x",
            ]
        );
        // The intermediate hop is cached: another profile on top of it reuses it.
        let mut other = vec![hop("mid", 1), hop("other", 1)];
        other[1].session_name = Some("me".into());
        run(&resolved(other, false), &cache, &sts, &mfa, false);
        assert_eq!(sts.calls().len(), 4);
    }

    #[test]
    fn session_only_and_plain_user_profiles_get_a_session_token() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let session = run(
            &resolved(vec![hop("a", 1)], false),
            &cache,
            &sts,
            &mfa,
            true,
        );
        let plain = run(&resolved(vec![], false), &cache, &sts, &mfa, false);
        assert_eq!(
            session, plain,
            "both are the session of the same source keys"
        );
        assert_eq!(sts.calls(), ["GetSessionToken AKIAUSER 43200s mfa=-"]);
    }

    #[test]
    fn durations_outside_aws_limits_fail_before_any_call() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let mut r = resolved(vec![hop("a", 1)], false);
        r.hops[0].duration = Duration::from_secs(60);
        let err = Provider {
            resolved: &r,
            cache: &cache,
            sts: &sts,
            mfa: &mfa,
            force_refresh: false,
        }
        .credentials(false)
        .unwrap_err()
        .to_string();
        assert!(err.contains("role duration 1m for 'a'"), "{err}");
        assert!(sts.calls().is_empty());
    }

    #[test]
    fn session_names_come_from_the_caller_arn() {
        assert_eq!(
            session_name_from_arn("arn:aws:iam::1:user/path/bob.smith"),
            "bob.smith"
        );
        assert_eq!(
            session_name_from_arn("arn:aws:sts::1:assumed-role/r/sess"),
            "sess"
        );
        assert_eq!(session_name_from_arn("arn:aws:iam::1:root"), "root");
        assert_eq!(session_name_from_arn(""), "aws-runas");
    }
}
