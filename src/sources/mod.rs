//! Where credentials come from, and the one way any of them is obtained.
//!
//! A resolved profile becomes a chain of sources: its root (long-term keys, from the files, the
//! environment or the OS keyring, or a sign-in), then (as the profile asks) an MFA session token
//! over the keys, then one role per hop. Keys in the keyring are read only by a fetch, so a cache
//! hit never opens the keyring. Every source with something to cache goes through [`cached`]:
//! cache → lock → re-check → fetch → atomic write. So however many processes ask at once, one of
//! them fetches (and asks for an MFA code, or signs in) and the rest read its result. A new kind
//! of source is a new file implementing [`Source`]; it never touches that protocol.
//!
//! The STS flows, as aws-runas does them:
//! - no role: `GetSessionToken` (with MFA when the profile has `mfa_serial`), cached 12h;
//! - role with MFA, up to 1h: `GetSessionToken` with MFA, then `AssumeRole` with that session,
//!   so one MFA code serves every role for the session's lifetime;
//! - role with MFA over 1h: `AssumeRole` directly with the long-term keys and the MFA code
//!   (AWS caps roles assumed from session credentials at 1h);
//! - role without MFA: `AssumeRole` directly with the long-term keys;
//! - role chains: each hop assumed with the previous hop's credentials, each hop cached.

mod assume_role;
#[cfg(test)]
pub mod fakes;
pub mod login_session;
pub mod saml;
mod session_token;
mod sso;
mod web_identity;

use std::time::Duration;

use jiff::Timestamp;

use crate::cache::CacheKey;
use crate::config::{KeyringKeys, Keys, Resolved, Root};
use crate::credentials::Credentials;
use crate::duration::human;

pub use crate::context::Context;
use assume_role::AssumeRole;
use saml::Saml;
use session_token::SessionToken;

/// AWS caps a role assumed with temporary credentials (a role chain) at one hour.
pub const CHAINED_ROLE_MAX: Duration = Duration::from_secs(3600);
const MIN_DURATION: Duration = Duration::from_secs(900);

/// One way of obtaining credentials.
pub trait Source {
    /// The cache entry holding this source's credentials; `None` when they are at hand already
    /// (keys from a file or the environment) and caching them would only copy a secret.
    fn cache_key(&self) -> Option<CacheKey>;
    /// Obtains new credentials. Called only on a miss, with the key's lock held.
    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials>;
}

/// The credentials of `source`: from the cache while fresh, else fetched under the cache lock
/// (re-checking the cache once the lock is held, since another process may have just refreshed).
/// `force` skips both cache reads.
pub fn cached(
    source: &dyn Source,
    context: &Context<'_>,
    force: bool,
) -> anyhow::Result<Credentials> {
    let Some(key) = source.cache_key() else {
        return source.fetch(context);
    };
    let fresh = || {
        context
            .cache
            .read_credentials(&key)
            .filter(|c| c.is_fresh(Timestamp::now(), context.refresh_window))
    };
    if !force {
        if let Some(c) = fresh() {
            tracing::debug!("cache hit: {}", key.what);
            return Ok(c);
        }
    }
    let _lock = context.cache.lock(&key)?;
    if !force {
        if let Some(c) = fresh() {
            tracing::debug!("refreshed by another process meanwhile: {}", key.what);
            return Ok(c);
        }
    }
    let mut credentials = source.fetch(context)?;
    // Whatever the source: half an answer is never cached, printed or handed out.
    credentials
        .check_temporary(Timestamp::now())
        .map_err(|what| anyhow::anyhow!("{} came with {what}; nothing was kept", key.what))?;
    credentials.issued.get_or_insert_with(Timestamp::now);
    context.cache.write(&key, &credentials)?;
    Ok(credentials)
}

/// The keys at a chain's root: at hand, or in the OS keyring until a call needs them.
#[derive(Clone, Copy)]
pub enum RootKeys<'a> {
    AtHand(&'a Keys),
    Keyring(&'a KeyringKeys),
}

impl<'a> RootKeys<'a> {
    /// Where the keys are, as messages and cache keys name it.
    pub fn label(self) -> &'a str {
        match self {
            Self::AtHand(k) => k.label(),
            Self::Keyring(k) => &k.profile,
        }
    }

    /// Names the keys in cache keys without reading them: the keyring's by their entry and its
    /// generation, so a cache hit never opens the keyring.
    pub fn id(self) -> String {
        match self {
            Self::AtHand(k) => k.credentials.access_key_id.clone(),
            Self::Keyring(k) => format!("keyring:{}:{}", k.profile, k.generation),
        }
    }

    /// Keyring keys are long-term: `keys add` stores no session token.
    pub fn is_temporary(self) -> bool {
        match self {
            Self::AtHand(k) => k.credentials.is_temporary(),
            Self::Keyring(_) => false,
        }
    }

    pub fn load(self) -> anyhow::Result<Credentials> {
        match self {
            Self::AtHand(k) => Ok(k.credentials.clone()),
            Self::Keyring(k) => keyring_credentials(k),
        }
    }
}

/// The keyring's keys for a profile with none in the files; when it holds none (or there is no
/// keyring), the error resolving gave before keys could be there, and how to add them.
pub fn keyring_credentials(k: &KeyringKeys) -> anyhow::Result<Credentials> {
    use crate::secrets::KeysError;
    let add = format!(
        "or store them in the OS keyring with `aws-runas keys add {}`",
        k.profile
    );
    match crate::secrets::profile_keys(&k.profile) {
        Ok(Some(c)) => {
            tracing::debug!("keys of '{}' read from the OS keyring", k.profile);
            Ok(c)
        }
        Ok(None) => anyhow::bail!("{}, {add}", k.none_error()),
        Err(KeysError::Unavailable(why)) => anyhow::bail!(
            "{} (no OS keyring is available to hold them: {why})",
            k.none_error()
        ),
        Err(e @ KeysError::Malformed { .. }) => Err(e.into()),
        Err(e) => anyhow::bail!("profile '{}': {e}", k.profile),
    }
}

/// Root keys as a source: at hand (from a profile or the environment, long-term or temporary),
/// or read from the keyring only when fetched.
struct KeysSource<'a>(RootKeys<'a>);

impl Source for KeysSource<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        None
    }

    fn fetch(&self, _: &Context<'_>) -> anyhow::Result<Credentials> {
        self.0.load()
    }
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

/// The source of the session token over the root keys: nothing to fetch when those keys are
/// temporary already (STS refuses GetSessionToken with them).
fn session_source<'a>(resolved: &'a Resolved, keys: RootKeys<'a>) -> Box<dyn Source + 'a> {
    if keys.is_temporary() {
        Box::new(KeysSource(keys))
    } else {
        Box::new(SessionToken::new(resolved, keys))
    }
}

/// How a chain starts, by its root.
enum Start<'a> {
    /// Keys: alone they give a session token; the first role is assumed with them directly or
    /// through their MFA session (`AssumeRole::first`).
    Keys(RootKeys<'a>),
    /// A sign-in: its source gives temporary credentials, the first role is assumed over them.
    SignIn(Box<dyn Source + 'a>),
}

/// The start of `resolved`'s chain: one arm a kind of root.
fn start(resolved: &Resolved) -> anyhow::Result<Start<'_>> {
    Ok(match &resolved.root {
        Root::Keys(keys) => Start::Keys(RootKeys::AtHand(keys)),
        Root::Keyring(k) => Start::Keys(RootKeys::Keyring(k)),
        Root::Saml(s) => Start::SignIn(Box::new(Saml::new(s))),
        Root::WebSignIn(w) => Start::SignIn(Box::new(web_identity::WebIdentity::signing_in(w))),
        Root::WebIdentity(w) => Start::SignIn(Box::new(web_identity::WebIdentity::new(w)?)),
        Root::Sso(s) => Start::SignIn(Box::new(sso::Sso::new(s, resolved.ca_bundle.as_ref())?)),
        Root::LoginSession(l) => Start::SignIn(Box::new(login_session::LoginSession::new(
            l,
            resolved.region.as_deref(),
            resolved.ca_bundle.as_ref(),
        ))),
    })
}

/// The chain of sources `resolved` describes, ending at the credentials the user asked for: the
/// role's, or with `session_only` the root's (for keys, their session token's).
pub fn chain(resolved: &Resolved, session_only: bool) -> anyhow::Result<Box<dyn Source + '_>> {
    let roles = !(resolved.hops.is_empty() || session_only);
    let mut top = match start(resolved)? {
        Start::Keys(keys) if !roles => return Ok(session_source(resolved, keys)),
        Start::Keys(keys) => AssumeRole::first(resolved, keys)?,
        Start::SignIn(root) if !roles => return Ok(root),
        Start::SignIn(root) => AssumeRole::over(resolved, root)?,
    };
    for index in 1..resolved.hops.len() {
        top = AssumeRole::next(resolved, index, top)?;
    }
    Ok(Box::new(top))
}

/// The credentials the user asked for, through the cache.
pub fn credentials(
    resolved: &Resolved,
    context: &Context<'_>,
    session_only: bool,
    force: bool,
) -> anyhow::Result<Credentials> {
    cached(&*chain(resolved, session_only)?, context, force)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::fakes::{CountingMfa, FakeSts};
    use super::*;
    use crate::cache::Cache;
    use crate::config::{RoleHop, SourceOrigin};

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
            root: Root::Keys(Keys {
                origin: SourceOrigin::Profile("user".into()),
                credentials: Credentials::long_term("AKIAUSER".into(), "s".into()),
            }),
            hops,
            mfa_serial: mfa.then(|| "arn:aws:iam::123456789012:mfa/alice".into()),
            region: None,
            session_duration: Duration::from_secs(12 * 3600),
            refresh_window: Duration::from_secs(900),
            sts_endpoint: None,
            iam_endpoint: None,
            ca_bundle: None,
        }
    }

    fn context<'a>(cache: &'a Cache, sts: &'a FakeSts, mfa: &'a CountingMfa) -> Context<'a> {
        Context {
            cache,
            sts,
            mfa,
            refresh_window: Duration::from_secs(900),
            interactive: false,
            sign_in: false,
        }
    }

    fn run(
        r: &Resolved,
        cache: &Cache,
        sts: &FakeSts,
        mfa: &CountingMfa,
        session_only: bool,
    ) -> Credentials {
        credentials(r, &context(cache, sts, mfa), session_only, false).unwrap()
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
                "AssumeRole arn:aws:iam::123456789012:role/a with ASIAFAKE00000001 as alice 3600s mfa=- ext=-",
                "AssumeRole arn:aws:iam::123456789012:role/b with ASIAFAKE00000001 as alice 3600s mfa=- ext=-",
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
                "AssumeRole arn:aws:iam::123456789012:role/leaf with ASIAFAKE00000002 as me 3600s mfa=- ext=x",
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
    fn forcing_refetches_only_the_credentials_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let r = resolved(vec![hop("a", 1)], true);
        let ctx = context(&cache, &sts, &mfa);
        let first = credentials(&r, &ctx, false, false).unwrap();
        let forced = credentials(&r, &ctx, false, true).unwrap();
        assert_ne!(first, forced);
        assert_eq!(
            sts.calls()
                .iter()
                .filter(|c| c.starts_with("GetSessionToken"))
                .count(),
            1,
            "the MFA session below the role is still fresh: {:?}",
            sts.calls()
        );
        assert_eq!(credentials(&r, &ctx, false, false).unwrap(), forced);
    }

    #[test]
    fn temporary_root_keys_are_used_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let mut r = resolved(vec![], false);
        let Root::Keys(keys) = &mut r.root else {
            unreachable!("resolved() starts with keys")
        };
        keys.credentials.session_token = Some("token".into());
        let temporary = keys.credentials.clone();
        let got = run(&r, &cache, &sts, &mfa, false);
        assert_eq!(got, temporary);
        assert!(sts.calls().is_empty());
        assert_eq!(
            std::fs::read_dir(dir.path())
                .map(|d| d.count())
                .unwrap_or(0),
            0,
            "keys at hand are never copied into the cache"
        );
    }

    #[test]
    fn a_role_over_a_sign_in_carries_on_its_session_name() {
        use crate::config::WebIdentitySettings;
        let files = tempfile::tempdir().unwrap();
        let token_file = files.path().join("token");
        std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
        let over_token_file = |session_name: Option<&str>| {
            let mut r = resolved(vec![hop("deploy", 1)], false);
            r.root = Root::WebIdentity(WebIdentitySettings {
                profile: "ci".into(),
                token_file: token_file.clone(),
                role_arn: "arn:aws:iam::123456789012:role/ci".into(),
                session_name: session_name.map(str::to_owned),
                duration: Duration::from_secs(3600),
            });
            let dir = tempfile::tempdir().unwrap();
            let cache = Cache::new(dir.path().to_owned());
            let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
            run(&r, &cache, &sts, &mfa, false);
            sts.calls()
        };
        let calls = over_token_file(Some("pipeline-42"));
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(
            calls[1].contains("with ASIAFAKE00000001 as pipeline-42 "),
            "{calls:?}"
        );
        // Unnamed: the name the sign-in's credentials carry, asked with those credentials.
        let calls = over_token_file(None);
        assert_eq!(calls[1], "GetCallerIdentity ASIAFAKE00000001", "{calls:?}");
        assert!(
            calls[2].contains("with ASIAFAKE00000001 as alice "),
            "{calls:?}"
        );
    }

    #[test]
    fn durations_outside_aws_limits_fail_before_any_call() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let (sts, mfa) = (FakeSts::default(), CountingMfa(RefCell::new(0)));
        let mut r = resolved(vec![hop("a", 1)], false);
        r.hops[0].duration = Duration::from_secs(60);
        let err = credentials(&r, &context(&cache, &sts, &mfa), false, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("role duration 1m for 'a'"), "{err}");
        assert!(sts.calls().is_empty());
    }
}
