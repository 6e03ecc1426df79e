//! The AWS config and credentials files, read with botocore's rules, and the resolution of a
//! profile name (or a bare role ARN) into everything needed to obtain its credentials: the
//! long-term source keys, the chain of roles to assume, MFA device, durations, region, endpoint.
//!
//! Botocore's rules kept here: in the config file a profile is `[profile NAME]` or `[default]`
//! (`[profile default]` wins over `[default]`), other sections are not profiles; in the
//! credentials file every `[NAME]` is a profile, and its values win over the config file's.
//! Environment beats files; command-line flags beat both.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ini::{Ini, ParseOption};

use crate::credentials::Credentials;
use crate::duration;
use crate::environment::Environment;

pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(12 * 3600);
pub const DEFAULT_ROLE_DURATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed {}, line {line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("profile '{name}' not found in {searched}{hint}")]
    UnknownProfile {
        name: String,
        searched: String,
        hint: String,
    },
    #[error(
        "profile '{profile}' has source_profile '{source_profile}', which is not in {searched}"
    )]
    MissingSourceProfile {
        profile: String,
        source_profile: String,
        searched: String,
    },
    #[error("source_profile cycle: {}", chain.join(" -> "))]
    Cycle { chain: Vec<String> },
    #[error("profile '{profile}' has no credentials: add aws_access_key_id and aws_secret_access_key to [{profile}] in {}, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", credentials_file.display())]
    NoCredentials {
        profile: String,
        credentials_file: PathBuf,
    },
    #[error("profile '{profile}' in {}: {present} is set but {missing} is missing", file.display())]
    IncompleteKeys {
        profile: String,
        file: PathBuf,
        present: &'static str,
        missing: &'static str,
    },
    #[error("profile '{profile}': {key} = '{value}' is invalid: {reason}")]
    BadValue {
        profile: String,
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// One `key = value` with the file it came from, so errors can point at it.
#[derive(Clone, Debug)]
struct Setting {
    value: String,
    file: PathBuf,
}

#[derive(Clone, Debug, Default)]
struct Profile {
    settings: BTreeMap<String, Setting>,
}

impl Profile {
    fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(|s| s.value.as_str())
            .filter(|v| !v.is_empty())
    }

    fn merge(&mut self, props: &ini::Properties, file: &Path) {
        for (k, v) in props.iter() {
            self.settings.insert(
                k.trim().to_owned(),
                Setting {
                    value: v.trim().to_owned(),
                    file: file.to_owned(),
                },
            );
        }
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
}

/// Where exec mode keeps the real path of a file it hides from its command's SDKs, so that an
/// aws-runas run inside that command still reads it.
pub const REAL_CONFIG_FILE: &str = "AWSRUNAS_CONFIG_FILE";
pub const REAL_CREDENTIALS_FILE: &str = "AWSRUNAS_SHARED_CREDENTIALS_FILE";

pub fn config_file_path(env: &Environment) -> Option<PathBuf> {
    env.get(REAL_CONFIG_FILE)
        .or_else(|| env.get("AWS_CONFIG_FILE"))
        .as_deref()
        .map(expand_tilde)
        .or_else(|| Some(dirs::home_dir()?.join(".aws").join("config")))
}

pub fn credentials_file_path(env: &Environment) -> Option<PathBuf> {
    env.get(REAL_CREDENTIALS_FILE)
        .or_else(|| env.get("AWS_SHARED_CREDENTIALS_FILE"))
        .as_deref()
        .map(expand_tilde)
        .or_else(|| Some(dirs::home_dir()?.join(".aws").join("credentials")))
}

fn expand_tilde(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

/// A missing file is an empty one, as in botocore; any other read failure is an error.
fn read_ini(path: &Path) -> Result<Option<Ini>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let text = check_syntax(&text).map_err(|(line, message)| ConfigError::Parse {
        path: path.to_owned(),
        line,
        message,
    })?;
    // Botocore does not unquote or unescape values: `C:\keys` and `"x"` stay as written.
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        enabled_indented_mutiline_value: true,
        enabled_preserve_key_leading_whitespace: false,
    };
    Ini::load_from_str_opt(&text, options)
        .map(Some)
        .map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.line + 1,
            message: e.msg.to_string(),
        })
}

/// Checks the line structure the way Python's configparser (botocore's parser) does, so errors
/// point at the line at fault, and blanks out comment lines (which configparser allows indented).
fn check_syntax(text: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut in_section = false;
    let mut in_value = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        let indented = raw.starts_with([' ', '\t']);
        if line.is_empty() || line.starts_with(['#', ';']) {
            out.push('\n');
            continue;
        }
        if line.starts_with('[') {
            if !line.ends_with(']') {
                return Err((line_no, format!("section header {line} is missing ']'")));
            }
            in_section = true;
            in_value = false;
        } else if indented && in_value {
            // A continuation line of the value above (nested settings such as `s3 =`).
        } else if !line.contains(['=', ':']) {
            return Err((
                line_no,
                format!("expected 'key = value' or '[section]', found '{line}'"),
            ));
        } else if !in_section {
            return Err((line_no, "a setting before any [section] header".into()));
        } else {
            in_value = true;
        }
        out.push_str(raw);
        out.push('\n');
    }
    Ok(out)
}

impl Profiles {
    pub fn load(env: &Environment) -> Result<Self, ConfigError> {
        let config_file = config_file_path(env).unwrap_or_else(|| PathBuf::from(".aws/config"));
        let credentials_file =
            credentials_file_path(env).unwrap_or_else(|| PathBuf::from(".aws/credentials"));
        let config = read_ini(&config_file)?;
        let credentials = read_ini(&credentials_file)?;
        Ok(Self::from_ini(
            config.as_ref(),
            &config_file,
            credentials.as_ref(),
            &credentials_file,
        ))
    }

    fn from_ini(
        config: Option<&Ini>,
        config_file: &Path,
        credentials: Option<&Ini>,
        credentials_file: &Path,
    ) -> Self {
        let mut profiles: BTreeMap<String, Profile> = BTreeMap::new();
        let mut unprefixed = Vec::new();
        if let Some(ini) = config {
            // `[default]` first so that `[profile default]` overrides it, as botocore does.
            let sections: Vec<_> = ini.iter().collect();
            let ordered = sections
                .iter()
                .filter(|(name, _)| name.map(str::trim) == Some("default"))
                .chain(
                    sections
                        .iter()
                        .filter(|(name, _)| name.map(str::trim) != Some("default")),
                );
            for (name, props) in ordered {
                let Some(header) = name.map(str::trim) else {
                    continue;
                };
                let profile_name = if header == "default" {
                    Some("default")
                } else {
                    match header.split_once(char::is_whitespace) {
                        Some(("profile", rest)) if !rest.trim().is_empty() => Some(rest.trim()),
                        _ => None,
                    }
                };
                match profile_name {
                    Some(n) => profiles
                        .entry(n.to_owned())
                        .or_default()
                        .merge(props, config_file),
                    None => {
                        if !header.contains(char::is_whitespace) {
                            unprefixed.push(header.to_owned());
                        }
                    }
                }
            }
        }
        if let Some(ini) = credentials {
            for (name, props) in ini.iter() {
                if let Some(n) = name.map(str::trim) {
                    profiles
                        .entry(n.to_owned())
                        .or_default()
                        .merge(props, credentials_file);
                }
            }
        }
        Self {
            profiles,
            config_file: config_file.to_owned(),
            credentials_file: credentials_file.to_owned(),
            unprefixed_config_sections: unprefixed,
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
        let mut current = self.profiles.get_key_value(name);
        while let Some((n, p)) = current {
            if names.contains(&n.as_str()) {
                break;
            }
            names.push(n);
            current = p
                .get("source_profile")
                .and_then(|s| self.profiles.get_key_value(s));
        }
        names
    }

    /// The profiles whose `role_arn` is `arn`.
    pub fn with_role(&self, arn: &str) -> Vec<&str> {
        self.profiles
            .iter()
            .filter(|(_, p)| p.get("role_arn") == Some(arn))
            .map(|(name, _)| name.as_str())
            .collect()
    }

    fn searched(&self) -> String {
        format!(
            "{} or {}",
            self.config_file.display(),
            self.credentials_file.display()
        )
    }

    fn profile(&self, name: &str) -> Result<&Profile, ConfigError> {
        self.profiles.get(name).ok_or_else(|| {
            let hint = if self.unprefixed_config_sections.iter().any(|s| s == name) {
                format!(
                    " (in {} it must be written [profile {name}], not [{name}])",
                    self.config_file.display()
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

    /// Long-term keys written in a profile, if any.
    fn static_keys(
        &self,
        name: &str,
        profile: &Profile,
    ) -> Result<Option<Credentials>, ConfigError> {
        let id = profile.settings.get("aws_access_key_id");
        let secret = profile.settings.get("aws_secret_access_key");
        match (id, secret) {
            (None, None) => Ok(None),
            (Some(id), Some(secret)) => {
                let mut creds = Credentials::long_term(id.value.clone(), secret.value.clone());
                creds.session_token = profile
                    .get("aws_session_token")
                    .or_else(|| profile.get("aws_security_token"))
                    .map(str::to_owned);
                Ok(Some(creds))
            }
            (Some(s), None) | (None, Some(s)) => Err(ConfigError::IncompleteKeys {
                profile: name.to_owned(),
                file: s.file.clone(),
                present: if id.is_some() {
                    "aws_access_key_id"
                } else {
                    "aws_secret_access_key"
                },
                missing: if id.is_some() {
                    "aws_secret_access_key"
                } else {
                    "aws_access_key_id"
                },
            }),
        }
    }
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

/// The long-term (or externally provided) keys at the root of a chain.
#[derive(Clone, Debug)]
pub struct Source {
    pub origin: SourceOrigin,
    pub credentials: Credentials,
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
    pub source: Source,
    /// Roles to assume in order, from the one the source keys assume to the one asked for.
    pub hops: Vec<RoleHop>,
    pub mfa_serial: Option<String>,
    pub region: Option<String>,
    pub session_duration: Duration,
    pub refresh_window: Duration,
    pub sts_endpoint: Option<String>,
    pub iam_endpoint: Option<String>,
    /// Set (by the session) when the profile signs in at an identity provider: then `source`
    /// holds no keys and `hops` at most the role assumed from a jump role.
    pub saml: Option<crate::idp::settings::SamlSettings>,
}

pub fn default_profile_name(env: &Environment) -> String {
    env.get("AWS_PROFILE")
        .or_else(|| env.get("AWS_DEFAULT_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// Static keys in the environment, unless they are ones we exported ourselves: those are role
/// credentials, never a source to assume other roles from.
fn environment_keys(env: &Environment) -> Option<Credentials> {
    if env.get("AWSRUNAS_PROFILE").is_some() {
        return None;
    }
    let mut creds = Credentials::long_term(
        env.get("AWS_ACCESS_KEY_ID")?,
        env.get("AWS_SECRET_ACCESS_KEY")?,
    );
    creds.session_token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"));
    Some(creds)
}

pub fn is_role_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

fn validate_role_arn(profile: &str, arn: &str) -> Result<(), ConfigError> {
    // arn:PARTITION:iam::ACCOUNT:role/NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadValue {
            profile: profile.to_owned(),
            key: "role_arn",
            value: arn.to_owned(),
            reason: "expected arn:aws:iam::ACCOUNT_ID:role/NAME".into(),
        })
    }
}

fn validate_session_name(profile: &str, name: &str) -> Result<(), ConfigError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadValue {
            profile: profile.to_owned(),
            key: "role_session_name",
            value: name.to_owned(),
            reason: "use 2 to 64 of the characters A-Z a-z 0-9 _+=,.@-".into(),
        })
    }
}

fn parse_duration_setting(
    profile: &str,
    key: &'static str,
    value: &str,
) -> Result<Duration, ConfigError> {
    duration::parse(value).map_err(|e| ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

/// Keys of the profile asked for, then of its source profiles toward the root: aws-runas lets a
/// role profile inherit settings such as `mfa_serial` and `region` from the profile it builds on.
struct Lineage<'a> {
    profiles: Vec<(&'a str, &'a Profile)>,
}

impl<'a> Lineage<'a> {
    fn find(&self, key: &str) -> Option<(&'a str, &'a str)> {
        self.profiles
            .iter()
            .find_map(|(name, p)| p.get(key).map(|v| (*name, v)))
    }
}

impl Profiles {
    /// Resolves `target` (a profile name or a role ARN) into a full credential recipe.
    pub fn resolve(
        &self,
        target: &str,
        overrides: &Overrides,
        env: &Environment,
    ) -> Result<Resolved, ConfigError> {
        let (source, mut hops, lineage) = if is_role_arn(target) {
            self.resolve_arn(target, env)?
        } else {
            self.resolve_profile(target, env)?
        };

        if let (Some(leaf), Some(external_id)) = (hops.last_mut(), &overrides.external_id) {
            leaf.external_id = Some(external_id.clone());
        }
        let leaf_name = lineage.profiles.first().map(|(n, _)| *n).unwrap_or(target);
        if let Some(leaf) = hops.last_mut() {
            leaf.duration = match overrides.role_duration {
                Some(d) => d,
                None => match lineage.profiles.first().map(|(_, p)| *p) {
                    Some(p) => match (p.get("credentials_duration"), p.get("duration_seconds")) {
                        (Some(v), _) => {
                            parse_duration_setting(leaf_name, "credentials_duration", v)?
                        }
                        (None, Some(v)) => {
                            parse_duration_setting(leaf_name, "duration_seconds", v)?
                        }
                        (None, None) => DEFAULT_ROLE_DURATION,
                    },
                    None => DEFAULT_ROLE_DURATION,
                },
            };
        }

        let session_duration = match overrides.session_duration {
            Some(d) => d,
            None => match lineage.find("session_token_duration") {
                Some((p, v)) => parse_duration_setting(p, "session_token_duration", v)?,
                None => DEFAULT_SESSION_DURATION,
            },
        };
        let refresh_window = match env.get("RUNAS_REFRESH_WINDOW") {
            Some(v) => duration::parse(&v).map_err(|e| ConfigError::BadValue {
                profile: target.to_owned(),
                key: "RUNAS_REFRESH_WINDOW",
                value: v.clone(),
                reason: e.to_string(),
            })?,
            None => match lineage.find("refresh_window") {
                Some((p, v)) => parse_duration_setting(p, "refresh_window", v)?,
                None => DEFAULT_REFRESH_WINDOW,
            },
        };
        let mfa_serial = overrides
            .mfa_serial
            .clone()
            .or_else(|| lineage.find("mfa_serial").map(|(_, v)| v.to_owned()));
        let region = env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .or_else(|| lineage.find("region").map(|(_, v)| v.to_owned()));
        // As the AWS CLI: the service's own variable, then the general one, then the profile.
        let endpoint = |service_variable: &str| {
            if env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
                return None;
            }
            env.get(service_variable)
                .or_else(|| env.get("AWS_ENDPOINT_URL"))
                .or_else(|| lineage.find("endpoint_url").map(|(_, v)| v.to_owned()))
        };
        let sts_endpoint = endpoint("AWS_ENDPOINT_URL_STS");
        let iam_endpoint = endpoint("AWS_ENDPOINT_URL_IAM");

        Ok(Resolved {
            name: target.to_owned(),
            source,
            hops,
            mfa_serial,
            region,
            session_duration,
            refresh_window,
            sts_endpoint,
            iam_endpoint,
            saml: None,
        })
    }

    /// A bare role ARN: its source keys come from the environment or the `default` profile.
    fn resolve_arn<'a>(
        &'a self,
        arn: &str,
        env: &Environment,
    ) -> Result<(Source, Vec<RoleHop>, Lineage<'a>), ConfigError> {
        validate_role_arn(arn, arn)?;
        let default = self.profiles.get("default");
        let source = match environment_keys(env) {
            Some(credentials) => Source {
                origin: SourceOrigin::Environment,
                credentials,
            },
            None => {
                let keys = match default {
                    Some(p) => self.static_keys("default", p)?,
                    None => None,
                };
                Source {
                    origin: SourceOrigin::Profile("default".into()),
                    credentials: keys.ok_or_else(|| ConfigError::NoCredentials {
                        profile: "default".into(),
                        credentials_file: self.credentials_file.clone(),
                    })?,
                }
            }
        };
        let hop = RoleHop {
            profile: arn.to_owned(),
            role_arn: arn.to_owned(),
            external_id: None,
            session_name: None,
            duration: DEFAULT_ROLE_DURATION,
        };
        let lineage = Lineage {
            profiles: default.map(|p| ("default", p)).into_iter().collect(),
        };
        Ok((source, vec![hop], lineage))
    }

    fn resolve_profile<'a>(
        &'a self,
        name: &str,
        env: &Environment,
    ) -> Result<(Source, Vec<RoleHop>, Lineage<'a>), ConfigError> {
        let mut lineage = Lineage { profiles: vec![] };
        let mut hops_leaf_first = Vec::new();
        let mut seen = HashSet::new();
        let mut chain = vec![name.to_owned()];
        let mut current = name.to_owned();
        let (key_name, profile) = self
            .profiles
            .get_key_value(name)
            .ok_or_else(|| self.profile(name).unwrap_err())?;
        let mut current_profile = profile;
        let mut current_key: &'a str = key_name;

        let source = loop {
            seen.insert(current.clone());
            lineage.profiles.push((current_key, current_profile));
            if crate::idp::settings::signs_in(self, &current, env) {
                // An IdP sign-in stands where keys would: the session fills in `saml`. The
                // profiles this one builds on still lend it region, endpoint and the like.
                for name in self.lineage(&current).into_iter().skip(1) {
                    if let Some(entry) = self.profiles.get_key_value(name) {
                        lineage.profiles.push((entry.0.as_str(), entry.1));
                    }
                }
                break Source {
                    origin: SourceOrigin::Profile(current.clone()),
                    credentials: Credentials::long_term(String::new(), String::new()),
                };
            }
            let role_arn = current_profile.get("role_arn");
            let source_profile = current_profile.get("source_profile");
            let credential_source = current_profile.get("credential_source");

            let Some(role_arn) = role_arn else {
                // A plain IAM-user profile: its own keys, or keys from the environment.
                let keys = match self.static_keys(&current, current_profile)? {
                    Some(k) => Some((SourceOrigin::Profile(current.clone()), k)),
                    None => environment_keys(env).map(|k| (SourceOrigin::Environment, k)),
                };
                let (origin, credentials) = keys.ok_or_else(|| ConfigError::NoCredentials {
                    profile: current.clone(),
                    credentials_file: self.credentials_file.clone(),
                })?;
                break Source {
                    origin,
                    credentials,
                };
            };
            validate_role_arn(&current, role_arn)?;
            let session_name = current_profile.get("role_session_name").map(str::to_owned);
            if let Some(n) = &session_name {
                validate_session_name(&current, n)?;
            }
            let duration = match current_profile.get("duration_seconds") {
                Some(v) => parse_duration_setting(&current, "duration_seconds", v)?,
                None => DEFAULT_ROLE_DURATION,
            };
            hops_leaf_first.push(RoleHop {
                profile: current.clone(),
                role_arn: role_arn.to_owned(),
                external_id: current_profile.get("external_id").map(str::to_owned),
                session_name,
                duration,
            });

            match (source_profile, credential_source) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::BadValue {
                        profile: current.clone(),
                        key: "credential_source",
                        value: credential_source.unwrap_or_default().to_owned(),
                        reason:
                            "a profile sets either source_profile or credential_source, not both"
                                .into(),
                    })
                }
                (None, Some(cs)) if cs.eq_ignore_ascii_case("Environment") => {
                    let credentials =
                        environment_keys(env).ok_or_else(|| ConfigError::BadValue {
                            profile: current.clone(),
                            key: "credential_source",
                            value: cs.to_owned(),
                            reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
                                .into(),
                        })?;
                    break Source {
                        origin: SourceOrigin::Environment,
                        credentials,
                    };
                }
                (None, Some(cs)) => {
                    return Err(ConfigError::BadValue {
                        profile: current.clone(),
                        key: "credential_source",
                        value: cs.to_owned(),
                        reason: "aws-runas supports only credential_source = Environment".into(),
                    })
                }
                (None, None) => {
                    return Err(ConfigError::BadValue {
                        profile: current.clone(),
                        key: "role_arn",
                        value: role_arn.to_owned(),
                        reason: "the profile also needs source_profile (or credential_source)"
                            .into(),
                    })
                }
                (Some(src), None) if src == current => {
                    // Botocore: a profile may name itself as source to assume a role with its own keys.
                    let credentials =
                        self.static_keys(&current, current_profile)?
                            .ok_or_else(|| ConfigError::NoCredentials {
                                profile: current.clone(),
                                credentials_file: self.credentials_file.clone(),
                            })?;
                    break Source {
                        origin: SourceOrigin::Profile(current.clone()),
                        credentials,
                    };
                }
                (Some(src), None) => {
                    chain.push(src.to_owned());
                    if seen.contains(src) {
                        return Err(ConfigError::Cycle { chain });
                    }
                    let (k, p) = self.profiles.get_key_value(src).ok_or_else(|| {
                        ConfigError::MissingSourceProfile {
                            profile: current.clone(),
                            source_profile: src.to_owned(),
                            searched: self.searched(),
                        }
                    })?;
                    current = src.to_owned();
                    current_key = k;
                    current_profile = p;
                }
            }
        };
        hops_leaf_first.reverse();
        Ok((source, hops_leaf_first, lineage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(config: &str, credentials: &str) -> Profiles {
        let opts = || ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            enabled_indented_mutiline_value: true,
            enabled_preserve_key_leading_whitespace: false,
        };
        let c = Ini::load_from_str_opt(config, opts()).unwrap();
        let k = Ini::load_from_str_opt(credentials, opts()).unwrap();
        Profiles::from_ini(
            Some(&c),
            Path::new("/home/u/.aws/config"),
            Some(&k),
            Path::new("/home/u/.aws/credentials"),
        )
    }

    const CREDS: &str = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s1\n\n[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s2\n";

    fn no_env() -> Environment {
        Environment::default()
    }

    #[test]
    fn role_chain_resolves_from_source_to_leaf_with_inherited_settings() {
        let p = profiles(
            "[profile base]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/u\n\n\
             [profile user]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/u\n\n\
             [profile mid]\nrole_arn = arn:aws:iam::222222222222:role/mid\nsource_profile = user\n\n\
             [profile leaf]\nrole_arn = arn:aws:iam::333333333333:role/leaf\nsource_profile = mid\nexternal_id = ext\nduration_seconds = 7200\n",
            CREDS,
        );
        let r = p.resolve("leaf", &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.source.origin, SourceOrigin::Profile("user".into()));
        assert_eq!(r.source.credentials.access_key_id, "AKIAUSER");
        let arns: Vec<_> = r.hops.iter().map(|h| h.role_arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::222222222222:role/mid",
                "arn:aws:iam::333333333333:role/leaf"
            ]
        );
        assert_eq!(r.hops[1].external_id.as_deref(), Some("ext"));
        assert_eq!(r.hops[1].duration, Duration::from_secs(7200));
        assert_eq!(r.hops[0].duration, DEFAULT_ROLE_DURATION);
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.mfa_serial.as_deref(),
            Some("arn:aws:iam::111111111111:mfa/u")
        );
        assert_eq!(r.session_duration, DEFAULT_SESSION_DURATION);
    }

    #[test]
    fn flags_beat_environment_beats_files() {
        let p = profiles(
            "[profile r]\nrole_arn = arn:aws:iam::333333333333:role/r\nsource_profile = user\nregion = us-west-2\ncredentials_duration = 2h\n",
            CREDS,
        );
        let env = Environment::from([("AWS_REGION", "ap-south-1")]);
        let overrides = Overrides {
            role_duration: Some(Duration::from_secs(900)),
            external_id: Some("flag-ext".into()),
            ..Default::default()
        };
        let r = p.resolve("r", &overrides, &env).unwrap();
        assert_eq!(r.region.as_deref(), Some("ap-south-1"));
        assert_eq!(r.hops[0].duration, Duration::from_secs(900));
        assert_eq!(r.hops[0].external_id.as_deref(), Some("flag-ext"));
        let r = p.resolve("r", &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.hops[0].duration, Duration::from_secs(7200));
        assert_eq!(r.region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn botocore_section_rules() {
        let p = profiles(
            "[default]\nregion = a\n\n[profile default]\nregion = b\n\n[dev]\nregion = c\n",
            "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = x\n\
             [default]\naws_access_key_id = AKIADEF\naws_secret_access_key = y\n",
        );
        let r = p
            .resolve("default", &Overrides::default(), &no_env())
            .unwrap();
        assert_eq!(r.region.as_deref(), Some("b"), "[profile default] wins");
        // [dev] in the config file is not a profile: its region is not used.
        let r = p.resolve("dev", &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.region, None);
        assert_eq!(r.source.credentials.access_key_id, "AKIADEV");
    }

    #[test]
    fn unprefixed_config_section_gets_a_hint() {
        let p = profiles(
            "[staging]\nrole_arn = arn:aws:iam::123456789012:role/x\n",
            "",
        );
        let err = p
            .resolve("staging", &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("[profile staging]"), "{err}");
        assert!(err.contains("/home/u/.aws/config"), "{err}");
    }

    #[test]
    fn cycles_are_reported_with_the_profiles_named() {
        let p = profiles(
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = c\n\
             [profile c]\nrole_arn = arn:aws:iam::123456789012:role/c\nsource_profile = a\n",
            "",
        );
        let err = p
            .resolve("a", &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string();
        assert_eq!(err, "source_profile cycle: a -> b -> c -> a");
    }

    #[test]
    fn self_sourced_profile_uses_its_own_keys() {
        let p = profiles(
            "[profile me]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = me\n",
            "[me]\naws_access_key_id = AKIAME\naws_secret_access_key = x\n",
        );
        let r = p.resolve("me", &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.source.credentials.access_key_id, "AKIAME");
        assert_eq!(r.hops.len(), 1);
    }

    #[test]
    fn role_arn_as_profile_takes_env_keys_then_default() {
        let p = profiles("[default]\nregion = eu-north-1\n", CREDS);
        let arn = "arn:aws:iam::123456789012:role/direct";
        let r = p.resolve(arn, &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.source.credentials.access_key_id, "AKIADEFAULT");
        assert_eq!(r.hops[0].role_arn, arn);
        assert_eq!(r.region.as_deref(), Some("eu-north-1"));
        let env = Environment::from([
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "e"),
        ]);
        let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
        assert_eq!(r.source.origin, SourceOrigin::Environment);
        // Keys that aws-runas itself exported are role credentials, never a source.
        let env = Environment::from([
            ("AWS_ACCESS_KEY_ID", "ASIAOURS"),
            ("AWS_SECRET_ACCESS_KEY", "e"),
            ("AWSRUNAS_PROFILE", "other"),
        ]);
        let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
        assert_eq!(r.source.credentials.access_key_id, "AKIADEFAULT");
    }

    #[test]
    fn bad_values_name_the_profile_and_value() {
        let p = profiles(
            "[profile a]\nrole_arn = arn:aws:iam::12:role/x\nsource_profile = user\n\
             [profile b]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = user\nduration_seconds = soon\n\
             [profile c]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = nowhere\n\
             [profile d]\nregion = x\n",
            CREDS.to_owned().as_str(),
        );
        let err = |n: &str| {
            p.resolve(n, &Overrides::default(), &no_env())
                .unwrap_err()
                .to_string()
        };
        assert!(err("a").contains("profile 'a': role_arn = 'arn:aws:iam::12:role/x' is invalid"));
        assert!(err("b").contains("profile 'b': duration_seconds = 'soon'"));
        assert!(err("c").contains("source_profile 'nowhere'"));
        assert!(err("d").starts_with("profile 'd' has no credentials"));
        assert!(err("zzz").starts_with(
            "profile 'zzz' not found in /home/u/.aws/config or /home/u/.aws/credentials"
        ));
        assert!(p
            .resolve("arn:aws:iam::123:role/", &Overrides::default(), &no_env())
            .is_err());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = |t: &str| check_syntax(t).unwrap_err();
        assert_eq!(err("[default]\nregion = x\n[profile dev\n").0, 3);
        assert_eq!(err("[default]\nthis is not a setting\n").0, 2);
        assert_eq!(err("region = x\n[default]\n").0, 1);
        let ok = check_syntax("# top\n[default]\n  ; indented comment\ns3 =\n  max_concurrent_requests = 4\nregion: x\n").unwrap();
        assert!(!ok.contains("comment") && ok.contains("max_concurrent_requests"));
    }

    #[test]
    fn half_written_keys_are_an_error() {
        let p = profiles("", "[k]\naws_access_key_id = AKIAX\n");
        let err = p
            .resolve("k", &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("aws_secret_access_key is missing"), "{err}");
        assert!(err.contains("/home/u/.aws/credentials"), "{err}");
    }

    #[test]
    fn endpoint_url_follows_the_aws_cli_precedence() {
        let p = profiles(
            "[profile e]\nendpoint_url = http://file\n",
            "[e]\naws_access_key_id = A\naws_secret_access_key = B\n",
        );
        let get = |env: Environment| {
            p.resolve("e", &Overrides::default(), &env)
                .unwrap()
                .sts_endpoint
        };
        assert_eq!(get(no_env()).as_deref(), Some("http://file"));
        assert_eq!(
            get(Environment::from([("AWS_ENDPOINT_URL", "http://all")])).as_deref(),
            Some("http://all")
        );
        assert_eq!(
            get(Environment::from([
                ("AWS_ENDPOINT_URL", "http://all"),
                ("AWS_ENDPOINT_URL_STS", "http://sts")
            ]))
            .as_deref(),
            Some("http://sts")
        );
        assert_eq!(
            get(Environment::from([
                ("AWS_ENDPOINT_URL", "http://all"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
            ])),
            None
        );
    }

    #[test]
    fn values_are_taken_verbatim() {
        let p = profiles(
            "",
            "[w]\naws_access_key_id = AKIA\"Q\"\naws_secret_access_key = C:\\keys\\x\n",
        );
        let r = p.resolve("w", &Overrides::default(), &no_env()).unwrap();
        assert_eq!(r.source.credentials.access_key_id, "AKIA\"Q\"");
        assert_eq!(r.source.credentials.secret_access_key, "C:\\keys\\x");
    }
}
