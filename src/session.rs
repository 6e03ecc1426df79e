//! What a caller asks for (a [`CredentialRequest`]: profile, overrides, whether anybody can be
//! asked for a code) and the wiring that answers it: the profile resolved against files and
//! environment, the cache, the STS client and the MFA prompt handed to the credential sources.
//! Commands, the prompt hook's refresh and the local endpoints all come through here.

use anyhow::Context as _;

use crate::aws::sts::SdkSts;
use crate::cache::{Cache, CacheKey};
use crate::config::{default_profile_name, Overrides, Profiles, Resolved, Root};
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::mfa::TerminalMfa;
use crate::sources;

/// Built once from the command line; the endpoints derive per-request variants from it.
#[derive(Clone, Debug, Default)]
pub struct CredentialRequest {
    /// A profile name or role ARN; `None` for `$AWS_PROFILE`, `$AWS_DEFAULT_PROFILE`, `default`.
    pub profile: Option<String>,
    pub overrides: Overrides,
    /// An MFA code given up front (`-o`, `MFA_CODE`, the profile page).
    pub otp: Option<String>,
    /// The session token's credentials rather than the role's (`-s`).
    pub session_only: bool,
    /// New credentials whatever the cache holds (`-r`).
    pub force_refresh: bool,
    /// Whether an MFA code may be asked for on the terminal. False where nobody can answer
    /// (prompt hooks, background refreshes, servers without `-H`).
    pub interactive: bool,
    /// The output goes to an SDK as `credential_process`: no sign-in is started, since nobody
    /// sees its prompt; the error says to run `aws-runas sso login` instead.
    pub credential_process: bool,
    /// `-S -U -P -R -J` and their variables.
    pub saml: crate::config::signin::SamlFlags,
}

impl CredentialRequest {
    pub fn for_profile(&self, profile: &str) -> Self {
        Self {
            profile: Some(profile.to_owned()),
            ..self.clone()
        }
    }
}

/// `name` resolved as `request` asks: the files' recipe, with a SAML sign-in (`-S` or a profile's
/// `saml_auth_url`) standing where keys would. Everything that resolves a profile comes here,
/// so `diagnose` sees what the other commands use.
pub fn resolve(
    profiles: &Profiles,
    name: &str,
    request: &CredentialRequest,
    env: &Environment,
) -> anyhow::Result<Resolved> {
    // `-S` counts as the variable would: the resolver's keyless-profile hook looks there.
    let env = match &request.saml.auth_url {
        Some(url) => env
            .clone()
            .with_var(crate::config::signin::AUTH_URL_VARIABLE, url),
        // The process environment, read on demand: nothing is copied.
        None => env.clone(),
    };
    let env = match &request.saml.web_auth_url {
        Some(url) => env.with_var(crate::config::signin::WEB_AUTH_URL_VARIABLE, url),
        None => env,
    };
    let mut resolved = profiles.resolve(name, &request.overrides, &env)?;
    resolved.ca_bundle = crate::config::signin::ca_bundle(profiles, name, &env);
    crate::config::signin::apply(
        profiles,
        &request.saml,
        &request.overrides,
        &env,
        &mut resolved,
    )?;
    Ok(resolved)
}

/// Names a keyring root's keys in cache keys by what the cache records of them, so that a cache
/// hit never opens the keyring.
fn note_keyring_generation(resolved: &mut Resolved, cache: &Cache) {
    if let Root::Keyring(k) = &mut resolved.root {
        k.generation = cache
            .read::<String>(&CacheKey::keyring_generation(&k.profile))
            .unwrap_or_default();
    }
}

/// The cache entry that [`Session::credentials`] would answer `request` for `name` from, known
/// from files, environment and the cache directory alone: no keyring, network, lock or prompt,
/// so a list of every profile can show what is cached. `None` where the credentials are not
/// cached by aws-runas (keys at hand, an `aws login` session's own file); an error where the
/// profile does not resolve, as `Session::open` would fail for it.
pub fn cache_key(
    profiles: &Profiles,
    name: &str,
    request: &CredentialRequest,
    env: &Environment,
    cache: &Cache,
) -> anyhow::Result<Option<CacheKey>> {
    let mut resolved = resolve(profiles, name, request, env)?;
    note_keyring_generation(&mut resolved, cache);
    let key = sources::chain(&resolved, request.session_only)?.cache_key();
    Ok(key)
}

/// A profile resolved against files and environment, with the cache it uses.
pub struct Session {
    pub profiles: Profiles,
    pub resolved: Resolved,
    pub cache: Cache,
}

impl Session {
    pub fn open(request: &CredentialRequest) -> anyhow::Result<Self> {
        let env = Environment::from_process();
        let name = match &request.profile {
            Some(name) => name.clone(),
            None => default_profile_name(&env)?,
        };
        let profiles = Profiles::load(&env)?;
        let mut resolved = resolve(&profiles, &name, request, &env)?;
        let cache = Cache::from_env(&env)?;
        note_keyring_generation(&mut resolved, &cache);
        Ok(Self {
            profiles,
            resolved,
            cache,
        })
    }

    pub fn sts(&self) -> SdkSts {
        SdkSts::new(
            self.resolved.region.as_deref(),
            self.resolved.sts_endpoint.as_deref(),
            self.resolved.ca_bundle.as_ref(),
        )
    }

    /// `f` with what the credential sources use, answering `request`.
    fn in_context<T>(
        &self,
        request: &CredentialRequest,
        f: impl FnOnce(&sources::Context<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let sts = self.sts();
        let mfa = TerminalMfa {
            preset: request.otp.clone(),
            interactive: request.interactive,
        };
        f(&sources::Context {
            cache: &self.cache,
            sts: &sts,
            mfa: &mfa,
            refresh_window: self.resolved.refresh_window,
            interactive: request.interactive,
            sign_in: request.interactive && !request.credential_process,
        })
    }

    /// The credentials `request` asks for, from the cache or their source.
    pub fn credentials(&self, request: &CredentialRequest) -> anyhow::Result<Credentials> {
        self.in_context(request, |context| {
            sources::credentials(
                &self.resolved,
                context,
                request.session_only,
                request.force_refresh,
            )
        })
    }

    /// For a profile that signs in at an IdP: the roles its assertion grants (a fresh sign-in,
    /// or the IdP session's), `None` for other profiles.
    pub fn saml_roles(&self, request: &CredentialRequest) -> anyhow::Result<Option<Vec<String>>> {
        let Root::Saml(settings) = &self.resolved.root else {
            return Ok(None);
        };
        self.in_context(request, |context| {
            sources::saml::Saml::new(settings).offered_roles(context)
        })
        .map(Some)
    }

    /// `-c`: the credentials also go to a `[PROFILE-awsrunas]` section of the credentials file.
    pub fn write_credentials_file(&self, creds: &Credentials) -> anyhow::Result<()> {
        let env = Environment::from_process();
        let path = crate::config::credentials_file_path(&env).with_context(|| {
            format!(
                "no credentials file to write to: {} is empty",
                crate::config::CREDENTIALS_VARIABLE
            )
        })?;
        let tightened =
            crate::credentials_file::write(&path, &self.resolved.name, creds, &self.cache)?;
        if let Some(t) = tightened {
            let open_to = if t.was & 0o044 != 0 {
                "readable"
            } else {
                "writable"
            };
            eprintln!(
                "aws-runas: {} was {open_to} by others ({:04o}): now {:04o}",
                path.display(),
                t.was,
                t.now
            );
        }
        eprintln!(
            "aws-runas: wrote [{}] to {}",
            crate::credentials_file::section_name(&self.resolved.name),
            path.display()
        );
        Ok(())
    }
}
