//! `AssumeRole` from another source's credentials: the first hop of a profile from its root keys
//! (or from their MFA session), each later hop of a `source_profile` chain from the hop before.

use std::time::Duration;

use anyhow::Context as _;

use super::{
    cached, check_duration, session_source, Context, KeysSource, RootKeys, Source, CHAINED_ROLE_MAX,
};
use crate::aws::sts::{AssumeRoleRequest, Identity, MfaToken};
use crate::cache::CacheKey;
use crate::config::{Resolved, RoleHop, Root};
use crate::credentials::Credentials;
use crate::duration::human;

const MAX_ROLE_DURATION: Duration = Duration::from_secs(12 * 3600);

pub struct AssumeRole<'a> {
    resolved: &'a Resolved,
    hop: &'a RoleHop,
    upstream: Box<dyn Source + 'a>,
    /// Names the upstream credentials in this hop's cache key, so a changed source key, MFA
    /// device or path through a session never reuses a stale entry.
    upstream_id: String,
    /// The MFA code goes with this call itself (long roles assumed straight from the root keys).
    mfa_direct: bool,
    duration: Duration,
}

impl<'a> AssumeRole<'a> {
    /// The role the root `keys` assume: through the MFA session when the profile has a device
    /// and the role fits in a session's one-hour cap, else directly.
    pub fn first(resolved: &'a Resolved, keys: RootKeys<'a>) -> anyhow::Result<Self> {
        let hop = &resolved.hops[0];
        let mfa_serial = resolved.mfa_serial.as_deref();
        let via_session =
            mfa_serial.is_some() && !keys.is_temporary() && hop.duration <= CHAINED_ROLE_MAX;
        let upstream: Box<dyn Source + 'a> = if via_session {
            session_source(resolved, keys)
        } else {
            Box::new(KeysSource(keys))
        };
        let upstream_id = format!(
            "{}|{}|{}",
            keys.id(),
            mfa_serial.unwrap_or(""),
            if via_session { "session" } else { "direct" }
        );
        let chained = keys.is_temporary() || via_session;
        Self::build(
            resolved,
            hop,
            upstream,
            upstream_id,
            mfa_serial.is_some() && !via_session,
            chained,
        )
    }

    /// The first role of a chain whose root is another source (an Identity Center role, a web
    /// identity, a SAML sign-in's role before a jump): its credentials are temporary, so the
    /// role is capped as a chained one.
    pub fn over(resolved: &'a Resolved, root: Box<dyn Source + 'a>) -> anyhow::Result<Self> {
        let upstream_id = root
            .cache_key()
            .map(|k| k.id().to_owned())
            .unwrap_or_default();
        Self::build(resolved, &resolved.hops[0], root, upstream_id, false, true)
    }

    /// Hop `index` of a chain, assumed with the credentials of `previous`.
    pub fn next(resolved: &'a Resolved, index: usize, previous: Self) -> anyhow::Result<Self> {
        let upstream_id = previous.key().id().to_owned();
        Self::build(
            resolved,
            &resolved.hops[index],
            Box::new(previous),
            upstream_id,
            false,
            true,
        )
    }

    fn build(
        resolved: &'a Resolved,
        hop: &'a RoleHop,
        upstream: Box<dyn Source + 'a>,
        upstream_id: String,
        mfa_direct: bool,
        chained: bool,
    ) -> anyhow::Result<Self> {
        let duration = if chained {
            hop.duration.min(CHAINED_ROLE_MAX)
        } else {
            hop.duration
        };
        if duration < hop.duration {
            tracing::info!(
                "'{}' is assumed through a role chain: duration capped at 1h",
                hop.profile
            );
        }
        check_duration("role", &hop.profile, duration, MAX_ROLE_DURATION)?;
        Ok(Self {
            resolved,
            hop,
            upstream,
            upstream_id,
            mfa_direct,
            duration,
        })
    }

    fn key(&self) -> CacheKey {
        CacheKey::role(
            &self.hop.profile,
            &self.hop.role_arn,
            self.hop.external_id.as_deref(),
            self.hop.session_name.as_deref(),
            &self.upstream_id,
        )
    }

    /// The configured role session name, else the one aws-runas v3 gives: over keys, the
    /// caller's own name (the IAM user's); over a sign-in, the name of the session it signed in
    /// to (a jump role's carries on), as its settings say or else as `with`'s identity says.
    fn session_name(&self, context: &Context<'_>, with: &Credentials) -> anyhow::Result<String> {
        if let Some(n) = &self.hop.session_name {
            return Ok(n.clone());
        }
        let (profile, signed_in_as) = match &self.resolved.root {
            Root::Keys(keys) => return keys_session_name(context, RootKeys::AtHand(keys)),
            Root::Keyring(k) => return keys_session_name(context, RootKeys::Keyring(k)),
            Root::Saml(s) => (&s.profile, &s.federated_username),
            Root::WebSignIn(w) => (&w.profile, &w.session_name),
            Root::WebIdentity(w) => (&w.profile, &w.session_name),
            Root::Sso(s) => (&s.profile, &None),
            Root::LoginSession(l) => (&l.profile, &None),
        };
        if let Some(n) = signed_in_as {
            return Ok(n.clone());
        }
        let i = context
            .sts
            .caller_identity(with)
            .with_context(|| format!("profile '{profile}'"))?;
        Ok(session_name_from_arn(&i.arn))
    }
}

impl Source for AssumeRole<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        Some(self.key())
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let with = cached(&*self.upstream, context, false)?;
        let code;
        let mfa = match self.resolved.mfa_serial.as_deref() {
            Some(serial) if self.mfa_direct => {
                code = context.mfa.code(&self.resolved.name, serial)?;
                Some(MfaToken {
                    serial,
                    code: &code,
                })
            }
            _ => None,
        };
        let session_name = self.session_name(context, &with)?;
        tracing::info!(
            "AssumeRole {} for '{}' as '{session_name}' ({})",
            self.hop.role_arn,
            self.hop.profile,
            human(self.duration)
        );
        let request = AssumeRoleRequest {
            role_arn: &self.hop.role_arn,
            session_name: &session_name,
            external_id: self.hop.external_id.as_deref(),
            duration: self.duration,
            mfa,
        };
        context
            .sts
            .assume_role(&with, &request)
            .with_context(|| format!("profile '{}'", self.hop.profile))
    }
}

/// The name of the IAM user (or role session) `keys` belong to, looked up once: an identity
/// never changes for a key, so it is cached for good.
fn keys_session_name(context: &Context<'_>, keys: RootKeys<'_>) -> anyhow::Result<String> {
    let key = CacheKey::identity(&keys.id());
    let identity = match context.cache.read::<Identity>(&key) {
        Some(i) => i,
        None => {
            let i = context
                .sts
                .caller_identity(&keys.load()?)
                .with_context(|| format!("profile '{}'", keys.label()))?;
            context.cache.write(&key, &i)?;
            i
        }
    };
    Ok(session_name_from_arn(&identity.arn))
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

#[cfg(test)]
mod tests {
    use super::session_name_from_arn;

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
