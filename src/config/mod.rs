//! The AWS config and credentials files, read with botocore's rules (`files`), and the resolution
//! of a profile name (or a bare role ARN) into everything needed to obtain its credentials: the
//! long-term source keys, the chain of roles to assume, MFA device, durations, region, endpoint
//! (`resolve`). This module is the public surface and owns the errors, which name file, line,
//! profile and key but never a value from the credentials file nor any secret.
//!
//! Environment beats files; command-line flags beat both.

mod federated;
mod files;
mod resolve;
pub mod signin;

pub use federated::{SsoSession, SsoSettings, WebIdentitySettings};

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::credentials::Credentials;
// Re-exported: config errors were their first users, and callers still name them here.
use crate::environment::Environment;
use crate::shown::shown_path;
pub use crate::shown::{shown, shown_quoted};

use files::Profile;

pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(12 * 3600);
pub const DEFAULT_ROLE_DURATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not `#[source]`: the reason is said here, and a chain would say it again.
    #[error("cannot read {}{}: {reason}", shown_path(path), named_by(*variable))]
    Read {
        path: PathBuf,
        /// The variable that named the file, if one did.
        variable: Option<&'static str>,
        reason: String,
    },
    #[error("malformed {}, line {line}: {message}", shown_path(path))]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("profile {} not found in {searched}{hint}", shown_quoted(name))]
    UnknownProfile {
        name: String,
        searched: String,
        hint: String,
    },
    #[error(
        "profile {} has source_profile {source_profile}, which is not in {searched}",
        shown_quoted(profile)
    )]
    MissingSourceProfile {
        profile: String,
        /// Already rendered for display (see `shown_setting`).
        source_profile: String,
        searched: String,
    },
    #[error("source_profile cycle: {}", cycle_shown(chain))]
    Cycle { chain: Vec<String> },
    #[error("profile {} has no credentials: add aws_access_key_id and aws_secret_access_key to [{}] in {}, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", shown_quoted(profile), shown(profile), file_shown(credentials_file, CREDENTIALS_VARIABLE, "credentials"))]
    NoCredentials {
        profile: String,
        credentials_file: PathBuf,
    },
    #[error(
        "profile {} in {}: {present} is set but {missing} is missing{}",
        shown_quoted(profile),
        shown_path(file),
        in_the_other_file(missing, other_file.as_deref())
    )]
    IncompleteKeys {
        profile: String,
        file: PathBuf,
        present: &'static str,
        missing: &'static str,
        /// The other file, when the missing key is there: botocore takes both keys from one.
        other_file: Option<PathBuf>,
    },
    #[error("{variable} is set but empty: name a profile, or unset it for 'default'")]
    EmptyProfileVariable { variable: &'static str },
    #[error(
        "profile {}: {key} = {value} is invalid: {reason}",
        shown_quoted(profile)
    )]
    BadValue {
        profile: String,
        key: &'static str,
        /// Already rendered for display (see `shown_setting`): quoted and cut, or withheld.
        value: String,
        reason: String,
    },
    #[error("{origin} is not a valid {what}: {reason}")]
    BadKey {
        /// Where the key is: `profile 'x' in FILE, line N: KEY`, or the environment variable.
        origin: String,
        key: &'static str,
        what: &'static str,
        reason: &'static str,
    },
}

fn named_by(variable: Option<&str>) -> String {
    variable
        .map(|v| format!(" (named by {v})"))
        .unwrap_or_default()
}

fn in_the_other_file(missing: &str, other: Option<&Path>) -> String {
    other
        .map(|o| {
            format!(
                " ({missing} is in {}, but botocore and aws-runas take both keys from one file)",
                shown_path(o)
            )
        })
        .unwrap_or_default()
}

/// A file for a message; the empty path stands for none, which a variable set to nothing asks for.
fn file_shown(path: &Path, variable: &str, what: &str) -> String {
    if path.as_os_str().is_empty() {
        format!("a {what} file ({variable} is empty: none is read)")
    } else {
        shown_path(path)
    }
}

/// A long cycle is shortened to its first few profiles and its last.
fn cycle_shown(chain: &[String]) -> String {
    const HEAD: usize = 4;
    if chain.len() <= HEAD + 2 {
        return chain
            .iter()
            .map(|p| shown(p))
            .collect::<Vec<_>>()
            .join(" -> ");
    }
    let mut parts: Vec<String> = chain[..HEAD].iter().map(|p| shown(p)).collect();
    parts.push(format!("... ({} more)", chain.len() - HEAD - 1));
    parts.push(shown(&chain[chain.len() - 1]));
    parts.join(" -> ")
}

/// How a setting's value appears in a message: quoted and cut when it is from the config file,
/// withheld when it is from the credentials file.
fn shown_setting(s: &files::Setting) -> String {
    if s.secret_file {
        format!(
            "(value on line {} of {} not shown)",
            s.line,
            shown_path(&s.file)
        )
    } else {
        shown_quoted(&s.value)
    }
}

/// The profiles of both files, merged.
#[derive(Debug)]
pub struct Profiles {
    profiles: BTreeMap<String, Profile>,
    config_file: PathBuf,
    credentials_file: PathBuf,
    /// `[NAME]` sections of the config file: not profiles to botocore, but a likely typo.
    unprefixed_config_sections: Vec<String>,
    sso_sessions: BTreeMap<String, Profile>,
    /// Per profile, the config file's settings that the credentials file's replaced: botocore
    /// still reads a profile's keys from the config file alone when the credentials file's
    /// section has no access key id.
    shadowed: BTreeMap<String, BTreeMap<String, files::Setting>>,
}

/// Where exec mode keeps the real path of a file it hides from its command's SDKs, so that an
/// aws-runas run inside that command still reads it.
pub const REAL_CONFIG_FILE: &str = "AWSRUNAS_CONFIG_FILE";
pub const REAL_CREDENTIALS_FILE: &str = "AWSRUNAS_SHARED_CREDENTIALS_FILE";

pub const CONFIG_VARIABLE: &str = "AWS_CONFIG_FILE";
pub const CREDENTIALS_VARIABLE: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// Where one of the two files is, and what named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLocation {
    /// `None`: no file at all. Botocore reads a variable set to nothing as a file that does not
    /// exist, and so does aws-runas: falling back to the default file would read the very
    /// profiles the variable was emptied to hide.
    pub path: Option<PathBuf>,
    /// The variable that named it; `None` for the default under the home directory.
    pub variable: Option<&'static str>,
}

/// As botocore finds a file: the variable's value with `$VAR` and `~` expanded as Python
/// expands them (`expandvars`, then `expanduser`), else `~/.aws/NAME`. Exec mode's own variable
/// comes first and holds a path expanded already.
fn locate(env: &Environment, ours: &str, variable: &'static str, name: &str) -> FileLocation {
    if let Some(path) = env.get(ours) {
        return FileLocation {
            path: Some(path.into()),
            variable: None,
        };
    }
    // One that `runas use` set would be aws-runas's own output, never configuration.
    match env.exact(variable).filter(|_| !env.set_by_runas(variable)) {
        Some(value) if value.is_empty() => FileLocation {
            path: None,
            variable: Some(variable),
        },
        Some(value) => FileLocation {
            path: Some(env.expand_path(&value)),
            variable: Some(variable),
        },
        None => FileLocation {
            path: Some(env.expand_path("~").join(".aws").join(name)),
            variable: None,
        },
    }
}

pub fn config_file(env: &Environment) -> FileLocation {
    locate(env, REAL_CONFIG_FILE, CONFIG_VARIABLE, "config")
}

pub fn credentials_file(env: &Environment) -> FileLocation {
    locate(
        env,
        REAL_CREDENTIALS_FILE,
        CREDENTIALS_VARIABLE,
        "credentials",
    )
}

/// The config file's path; `None` when its variable is set to nothing.
pub fn config_file_path(env: &Environment) -> Option<PathBuf> {
    config_file(env).path
}

/// The credentials file's path; `None` when its variable is set to nothing.
pub fn credentials_file_path(env: &Environment) -> Option<PathBuf> {
    credentials_file(env).path
}

impl Profiles {
    pub fn load(env: &Environment) -> Result<Self, ConfigError> {
        let config_file = config_file(env);
        let credentials_file = credentials_file(env);
        let config = files::read(&config_file)?;
        let credentials = files::read(&credentials_file)?;
        // The empty path stands for no file in messages (`file_shown`).
        Ok(Self::from_files(
            config.as_ref(),
            &config_file.path.unwrap_or_default(),
            credentials.as_ref(),
            &credentials_file.path.unwrap_or_default(),
        ))
    }

    fn from_files(
        config: Option<&files::IniFile>,
        config_file: &Path,
        credentials: Option<&files::IniFile>,
        credentials_file: &Path,
    ) -> Self {
        let merged = files::merge(config, config_file, credentials, credentials_file);
        Self {
            profiles: merged.profiles,
            shadowed: merged.shadowed,
            config_file: config_file.to_owned(),
            credentials_file: credentials_file.to_owned(),
            unprefixed_config_sections: merged.unprefixed_config_sections,
            sso_sessions: merged.sso_sessions,
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// A profile's setting as written, and the file it is in.
    pub fn setting(&self, profile: &str, key: &str) -> Option<(&str, &Path)> {
        let setting = self.profiles.get(profile)?.settings.get(key)?;
        Some((setting.value.as_str(), setting.file.as_path()))
    }

    /// `name`, then the profiles it names as `source_profile`, toward the root (stopping at a
    /// missing profile or a cycle): where inherited settings are looked up.
    pub fn lineage<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        let mut names: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        let mut current = self.profiles.get_key_value(name);
        while let Some((n, p)) = current {
            if !seen.insert(n.as_str()) {
                break;
            }
            names.push(n);
            current = p
                .get("source_profile")
                .and_then(|s| self.profiles.get_key_value(s));
        }
        names
    }

    /// The `[sso-session NAME]` section's sign-in settings, without a profile naming it.
    pub fn sso_session(&self, name: &str, env: &Environment) -> Result<SsoSession, ConfigError> {
        federated::named_sso_session(self, name, env)
    }

    /// The profiles whose `role_arn` is `arn`.
    pub fn with_role(&self, arn: &str) -> Vec<&str> {
        self.profiles
            .iter()
            .filter(|(_, p)| p.get("role_arn") == Some(arn))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The files a profile was looked for in, for "not found in ...".
    fn searched(&self) -> String {
        let none = |p: &Path| p.as_os_str().is_empty();
        match (none(&self.config_file), none(&self.credentials_file)) {
            (false, false) => format!(
                "{} or {}",
                shown_path(&self.config_file),
                shown_path(&self.credentials_file)
            ),
            (true, false) => format!(
                "{} ({CONFIG_VARIABLE} is empty: no config file is read)",
                shown_path(&self.credentials_file)
            ),
            (false, true) => format!(
                "{} ({CREDENTIALS_VARIABLE} is empty: no credentials file is read)",
                shown_path(&self.config_file)
            ),
            (true, true) => {
                format!("any file ({CONFIG_VARIABLE} and {CREDENTIALS_VARIABLE} are empty)")
            }
        }
    }

    fn profile(&self, name: &str) -> Result<(&str, &Profile), ConfigError> {
        self.profiles
            .get_key_value(name)
            .map(|(k, p)| (k.as_str(), p))
            .ok_or_else(|| {
                let hint = if self.unprefixed_config_sections.iter().any(|s| s == name) {
                    let name = shown(name);
                    format!(
                        " (in {} it must be written [profile {name}], not [{name}])",
                        shown_path(&self.config_file)
                    )
                } else {
                    String::new()
                };
                ConfigError::UnknownProfile {
                    name: name.to_owned(),
                    searched: self.searched(),
                    hint,
                }
            })
    }

    /// Long-term keys written in a profile, if any, checked before anything signs with them.
    ///
    /// As botocore: both keys (and the token) come from one file, the credentials file's
    /// section when it has an access key id, else the config file's profile. A key id in one
    /// file and its secret in the other is an error, never a pair, and a credentials file's
    /// lone secret never completes the config file's key id.
    fn static_keys(
        &self,
        name: &str,
        profile: &Profile,
    ) -> Result<Option<Credentials>, ConfigError> {
        const ID: &str = "aws_access_key_id";
        const SECRET: &str = "aws_secret_access_key";
        let shadowed = self.shadowed.get(name);
        let from_credentials = |key: &str| profile.settings.get(key).filter(|s| s.secret_file);
        let from_config = |key: &str| match profile.settings.get(key) {
            Some(s) if !s.secret_file => Some(s),
            _ => shadowed.and_then(|m| m.get(key)),
        };
        let in_credentials = from_credentials(ID).is_some();
        let one_file = |key: &str| {
            if in_credentials {
                from_credentials(key)
            } else {
                from_config(key)
            }
        };
        let other_file = |key: &str| {
            let setting = if in_credentials {
                from_config(key)
            } else {
                from_credentials(key)
            };
            setting.map(|s| s.file.clone())
        };
        let (id, secret) = match (one_file(ID), one_file(SECRET)) {
            (Some(id), Some(secret)) => (id, secret),
            (None, None) => {
                // No key id anywhere: a secret in either file is half a pair all the same.
                return match from_credentials(SECRET).or_else(|| from_config(SECRET)) {
                    None => Ok(None),
                    Some(s) => Err(ConfigError::IncompleteKeys {
                        profile: name.to_owned(),
                        file: s.file.clone(),
                        present: SECRET,
                        missing: ID,
                        other_file: None,
                    }),
                };
            }
            (Some(s), None) | (None, Some(s)) => {
                let (present, missing) = if one_file(ID).is_some() {
                    (ID, SECRET)
                } else {
                    (SECRET, ID)
                };
                return Err(ConfigError::IncompleteKeys {
                    profile: name.to_owned(),
                    file: s.file.clone(),
                    present,
                    missing,
                    other_file: other_file(missing),
                });
            }
        };
        // Botocore's order, and the first one present wins even when it is empty.
        let token = ["aws_security_token", "aws_session_token"]
            .into_iter()
            .find_map(&one_file)
            .filter(|t| !t.value.is_empty());
        check_keys(
            &id.value,
            &secret.value,
            token.map(|t| t.value.as_str()),
            |key| {
                let at = one_file(key).unwrap_or(id);
                format!(
                    "profile {} in {}, line {}: {key}",
                    shown_quoted(name),
                    shown_path(&at.file),
                    at.line
                )
            },
        )?;
        let mut creds = Credentials::long_term(id.value.clone(), secret.value.clone());
        creds.session_token = token.map(|t| t.value.clone());
        Ok(Some(creds))
    }
}

/// Checks a key set where it is read, so that no malformed key reaches the signer. `origin`
/// says where a key is (profile, file and line, or the variable), never what it is.
fn check_keys(
    id: &str,
    secret: &str,
    token: Option<&str>,
    origin: impl Fn(&'static str) -> String,
) -> Result<(), ConfigError> {
    use crate::credentials::{check_access_key_id, check_secret};
    let bad = |key, what, reason| ConfigError::BadKey {
        origin: origin(key),
        key,
        what,
        reason,
    };
    check_access_key_id(id).map_err(|r| bad("aws_access_key_id", "access key id", r))?;
    check_secret(secret).map_err(|r| bad("aws_secret_access_key", "secret access key", r))?;
    if let Some(token) = token {
        check_secret(token).map_err(|r| bad("aws_session_token", "session token", r))?;
    }
    Ok(())
}

/// What the command line says, which beats environment and files. Clap has already merged each
/// flag with its environment variable.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub mfa_serial: Option<String>,
    pub external_id: Option<String>,
    pub session_duration: Option<Duration>,
    pub role_duration: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceOrigin {
    Profile(String),
    Environment,
}

/// Keys at hand at the root of a chain: long-term, or temporary ones provided from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub origin: SourceOrigin,
    pub credentials: Credentials,
}

impl Keys {
    /// Where the keys are, as messages and cache keys name it.
    pub fn label(&self) -> &str {
        match &self.origin {
            SourceOrigin::Profile(p) => p,
            SourceOrigin::Environment => "environment",
        }
    }
}

/// Where a chain starts: keys, or a sign-in whose credentials the roles (if any) are assumed
/// with. Every concern that depends on the kind (the credential sources' start, the role
/// session name, `diagnose`'s description and checks, `list`'s IAM user) matches on it once,
/// one arm a kind, with no catch-all arm: a new kind of root is one arm in each of those
/// matches, and the compiler lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Root {
    /// Keys from a profile or the environment.
    Keys(Keys),
    /// Keys in the OS keyring (`aws-runas keys add`) for a profile with none in the files or
    /// the environment: read only when an STS call needs them, so a cache hit never touches it.
    Keyring(KeyringKeys),
    /// A sign-in at a SAML identity provider (`saml_auth_url`, `-S`), set by
    /// `signin::apply`.
    Saml(signin::SamlSettings),
    /// A sign-in at an OpenID provider whose ID token is traded for a role
    /// (`web_identity_auth_url`, `-W`), set by `signin::apply`.
    WebSignIn(signin::WebSettings),
    /// A web identity token file (`web_identity_token_file`, as on EKS and CI runners).
    WebIdentity(WebIdentitySettings),
    /// IAM Identity Center (`sso_session`, or the legacy `sso_start_url`).
    Sso(SsoSettings),
    /// A console sign-in kept by `aws login` (`login_session`), in its own cache file.
    LoginSession(LoginSessionSettings),
}

/// A profile's `login_session`: the entry `aws login` keeps under the login cache directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginSessionSettings {
    pub profile: String,
    pub session: String,
    /// `<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<sha256 hex of session>.json`.
    pub cache_file: PathBuf,
    /// `AWS_ENDPOINT_URL_SIGNIN`: where renewals go instead of the region's sign-in host.
    pub endpoint: Option<String>,
}

/// Where a profile's keys are when the files and the environment have none: the OS keyring,
/// maybe. Not read here: resolving must not touch the keyring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringKeys {
    pub profile: String,
    /// For the message when the keyring has none either.
    pub credentials_file: PathBuf,
    /// Set by the session from the cache (`CacheKey::keyring_generation`): names the keys in
    /// cache keys without reading them.
    pub generation: String,
}

impl KeyringKeys {
    /// What resolving said before keys could be in the keyring: the profile has none.
    pub fn none_error(&self) -> ConfigError {
        ConfigError::NoCredentials {
            profile: self.profile.clone(),
            credentials_file: self.credentials_file.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleHop {
    /// The profile that names this role, or the ARN itself when given on the command line.
    pub profile: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration: Duration,
}

#[derive(Clone, Debug)]
pub struct Resolved {
    /// What the user asked for: a profile name or a role ARN.
    pub name: String,
    /// Where the chain starts.
    pub root: Root,
    /// Roles to assume in order, from the one the root's credentials assume to the one asked
    /// for (for a SAML or OpenID sign-in: none, or the role assumed from a jump role).
    pub hops: Vec<RoleHop>,
    pub mfa_serial: Option<String>,
    pub region: Option<String>,
    pub session_duration: Duration,
    pub refresh_window: Duration,
    pub sts_endpoint: Option<String>,
    pub iam_endpoint: Option<String>,
    /// Set by the session: the CA bundle this profile's AWS clients trust besides the usual
    /// roots. Carried here, not held by the process, since `serve` switches profiles.
    pub ca_bundle: Option<crate::tls::Bundle>,
}

pub fn is_role_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

/// The profile when none is named: `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, else `default`.
/// Either set to nothing is refused, as botocore refuses it: falling back to `default` could
/// point the command at another account than the one meant.
pub fn default_profile_name(env: &Environment) -> Result<String, ConfigError> {
    const VARIABLES: [&str; 2] = ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];
    for variable in VARIABLES {
        if !env.set_by_runas(variable) && env.exact(variable).is_some_and(|v| v.is_empty()) {
            return Err(ConfigError::EmptyProfileVariable { variable });
        }
    }
    Ok(VARIABLES
        .iter()
        .find_map(|v| env.get(v))
        .unwrap_or_else(|| "default".into()))
}

/// Static keys in the environment, unless they are ones we exported ourselves: those are role
/// credentials, never a source to assume other roles from.
fn environment_keys(env: &Environment) -> Result<Option<Credentials>, ConfigError> {
    if env.get("AWSRUNAS_PROFILE").is_some() {
        return Ok(None);
    }
    let (Some(id), Some(secret)) = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) else {
        return Ok(None);
    };
    let token_variable = if env.get("AWS_SESSION_TOKEN").is_some() {
        "AWS_SESSION_TOKEN"
    } else {
        "AWS_SECURITY_TOKEN"
    };
    let token = env.get(token_variable);
    check_keys(&id, &secret, token.as_deref(), |key| {
        let variable = match key {
            "aws_access_key_id" => "AWS_ACCESS_KEY_ID",
            "aws_secret_access_key" => "AWS_SECRET_ACCESS_KEY",
            _ => token_variable,
        };
        format!("environment variable {variable}")
    })?;
    let mut creds = Credentials::long_term(id, secret);
    creds.session_token = token;
    Ok(Some(creds))
}

#[cfg(test)]
mod tests;
