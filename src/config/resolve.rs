//! Turning a profile name (or a bare role ARN) into a [`Resolved`] recipe: walking the
//! `source_profile` chain to the keys that start it, one [`RoleHop`] per role on the way, and the
//! settings a role profile inherits from the profiles it builds on.

use std::collections::HashSet;
use std::time::Duration;

use super::files::{Profile, Setting};
use super::{
    environment_keys, is_role_arn, shown_quoted, shown_setting, ConfigError, KeyringKeys, Keys,
    Overrides, Profiles, Resolved, RoleHop, Root, SourceOrigin, DEFAULT_REFRESH_WINDOW,
    DEFAULT_ROLE_DURATION, DEFAULT_SESSION_DURATION,
};
use crate::credentials::Credentials;
use crate::duration;
use crate::environment::Environment;

fn bad_value(profile: &str, key: &'static str, setting: &Setting, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: shown_setting(setting),
        reason: reason.to_owned(),
    }
}

fn role_arn_is_valid(arn: &str) -> bool {
    // arn:PARTITION:iam::ACCOUNT:role/NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty() && !n.contains(char::is_control))
}

const ROLE_ARN_FORMAT: &str = "expected arn:aws:iam::ACCOUNT_ID:role/NAME";

/// A setting used as a plain string: no control characters (a continuation line or a stray byte
/// would otherwise reach a request) and no indented block.
fn plain<'a>(profile: &str, key: &'static str, s: &'a Setting) -> Result<&'a str, ConfigError> {
    if s.nested {
        return Err(bad_value(
            profile,
            key,
            s,
            "it is an indented block, not a value",
        ));
    }
    if s.value.contains(char::is_control) {
        return Err(bad_value(
            profile,
            key,
            s,
            "it holds a line break or another control character",
        ));
    }
    Ok(&s.value)
}

/// Botocore's rule for region names, which also keeps a stray byte out of the signature.
fn region_is_valid(region: &str) -> bool {
    let b = region.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !b.iter().all(u8::is_ascii_digit)
}

fn parse_duration_setting(
    profile: &str,
    key: &'static str,
    s: &Setting,
) -> Result<Duration, ConfigError> {
    duration::parse(&s.value).map_err(|e| bad_value(profile, key, s, e.reason()))
}

/// Profiles from the one asked for toward the root of its chain: aws-runas lets a role profile
/// inherit settings such as `mfa_serial` and `region` from the profiles it builds on.
struct Lineage<'a> {
    profiles: Vec<(&'a str, &'a Profile)>,
}

impl<'a> Lineage<'a> {
    fn find(&self, key: &str) -> Option<(&'a str, &'a Setting)> {
        self.profiles
            .iter()
            .find_map(|(name, p)| p.setting(key).map(|s| (*name, s)))
    }

    fn find_plain(&self, key: &'static str) -> Result<Option<&'a str>, ConfigError> {
        self.find(key).map(|(p, s)| plain(p, key, s)).transpose()
    }

    fn find_duration(&self, key: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.find(key)
            .map(|(p, s)| parse_duration_setting(p, key, s))
            .transpose()
    }
}

/// What walking a profile's chain finds: where it starts, the roles to assume from there, and
/// every profile passed on the way.
struct Walk<'a> {
    root: Root,
    hops: Vec<RoleHop>,
    lineage: Lineage<'a>,
}

/// Where a role profile's source keys come from: found here, or in the profile it names.
enum SourceStep<'a> {
    Root(Box<Root>),
    Profile(&'a str, &'a Setting),
}

/// The settings of a profile no file holds.
static NO_SETTINGS: Profile = Profile {
    settings: std::collections::BTreeMap::new(),
};

impl Profiles {
    /// Resolves `target` (a profile name or a role ARN) into a full credential recipe.
    pub fn resolve(
        &self,
        target: &str,
        overrides: &Overrides,
        env: &Environment,
    ) -> Result<Resolved, ConfigError> {
        let Walk {
            root,
            mut hops,
            lineage,
        } = if is_role_arn(target) {
            self.walk_arn(target, overrides, env)?
        } else {
            self.walk(target, overrides, env)?
        };
        if let (Some(leaf), Some(external_id)) = (hops.last_mut(), &overrides.external_id) {
            leaf.external_id = Some(external_id.clone());
        }

        let session_duration = match overrides.session_duration {
            Some(d) => d,
            None => lineage
                .find_duration("session_token_duration")?
                .unwrap_or(DEFAULT_SESSION_DURATION),
        };
        let refresh_window = match env.get("RUNAS_REFRESH_WINDOW") {
            Some(v) => duration::parse(&v).map_err(|e| ConfigError::BadValue {
                profile: target.to_owned(),
                key: "RUNAS_REFRESH_WINDOW",
                value: shown_quoted(&v),
                reason: e.reason().to_owned(),
            })?,
            None => lineage
                .find_duration("refresh_window")?
                .unwrap_or(DEFAULT_REFRESH_WINDOW),
        };
        let mfa_serial = match &overrides.mfa_serial {
            Some(m) => Some(m.clone()),
            None => lineage.find_plain("mfa_serial")?.map(str::to_owned),
        };
        let region = self.region(target, &lineage, env)?;
        let sts_endpoint = endpoint(target, &lineage, env, "AWS_ENDPOINT_URL_STS")?;
        let iam_endpoint = endpoint(target, &lineage, env, "AWS_ENDPOINT_URL_IAM")?;

        Ok(Resolved {
            name: target.to_owned(),
            root,
            hops,
            mfa_serial,
            region,
            session_duration,
            refresh_window,
            sts_endpoint,
            iam_endpoint,
            ca_bundle: None,
        })
    }

    fn region(
        &self,
        target: &str,
        lineage: &Lineage<'_>,
        env: &Environment,
    ) -> Result<Option<String>, ConfigError> {
        const REASON: &str = "a region name is letters, digits and '-', as in eu-west-1";
        for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let Some(region) = env.get(variable) {
                if !region_is_valid(&region) {
                    return Err(ConfigError::BadValue {
                        profile: target.to_owned(),
                        key: if variable == "AWS_REGION" {
                            "AWS_REGION"
                        } else {
                            "AWS_DEFAULT_REGION"
                        },
                        value: shown_quoted(&region),
                        reason: REASON.into(),
                    });
                }
                return Ok(Some(region));
            }
        }
        match lineage.find("region") {
            Some((p, s)) if !region_is_valid(&s.value) => Err(bad_value(p, "region", s, REASON)),
            found => Ok(found.map(|(_, s)| s.value.clone())),
        }
    }

    /// The role of one profile on the chain. Its duration is decided here and nowhere else: the
    /// flag, then (for the role asked for) `credentials_duration`, then `duration_seconds`.
    fn hop(
        &self,
        name: &str,
        profile: &Profile,
        leaf: bool,
        overrides: &Overrides,
    ) -> Result<RoleHop, ConfigError> {
        let role_arn = profile
            .setting("role_arn")
            .map_or(Ok(""), |s| plain(name, "role_arn", s))?;
        let session_name = profile
            .setting("role_session_name")
            .map(|s| {
                let ok = (2..=64).contains(&s.value.len())
                    && s.value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
                if ok {
                    Ok(s.value.clone())
                } else {
                    Err(bad_value(
                        name,
                        "role_session_name",
                        s,
                        "use 2 to 64 of the characters A-Z a-z 0-9 _+=,.@-",
                    ))
                }
            })
            .transpose()?;
        let external_id = profile
            .setting("external_id")
            .map(|s| plain(name, "external_id", s).map(str::to_owned))
            .transpose()?;
        Ok(RoleHop {
            profile: name.to_owned(),
            role_arn: role_arn.to_owned(),
            external_id,
            session_name,
            duration: role_duration(name, Some(profile), leaf, overrides)?,
        })
    }

    /// A bare role ARN: its source keys come from the environment or the `default` profile, which
    /// also lends it its settings.
    fn walk_arn<'a>(
        &'a self,
        arn: &str,
        overrides: &Overrides,
        env: &Environment,
    ) -> Result<Walk<'a>, ConfigError> {
        if !role_arn_is_valid(arn) {
            return Err(ConfigError::BadValue {
                profile: arn.to_owned(),
                key: "role_arn",
                value: shown_quoted(arn),
                reason: ROLE_ARN_FORMAT.into(),
            });
        }
        let default = self.profiles.get_key_value("default");
        // As v3's `aws-runas -S URL ROLE_ARN`: the sign-in stands where the default keys would,
        // and the assertion's role of that ARN is the one assumed (`signin::apply` puts it there).
        let signs_in = crate::config::signin::signs_in(self, "default", env);
        let root = match environment_keys(env)? {
            _ if signs_in => signing_in("default"),
            Some(credentials) => Root::Keys(Keys {
                origin: SourceOrigin::Environment,
                credentials,
            }),
            None => {
                let keys = match default {
                    Some((_, p)) => self.static_keys("default", p)?,
                    None => None,
                };
                match keys {
                    Some(credentials) => Root::Keys(Keys {
                        origin: SourceOrigin::Profile("default".into()),
                        credentials,
                    }),
                    None => self.in_keyring("default"),
                }
            }
        };
        let hop = RoleHop {
            profile: arn.to_owned(),
            role_arn: arn.to_owned(),
            external_id: None,
            session_name: None,
            duration: role_duration("default", default.map(|(_, p)| p), true, overrides)?,
        };
        let lineage = Lineage {
            profiles: default.map(|(k, p)| (k.as_str(), p)).into_iter().collect(),
        };
        Ok(Walk {
            root,
            hops: vec![hop],
            lineage,
        })
    }

    /// Follows `source_profile` from `name` to the keys that start the chain.
    fn walk<'a>(
        &'a self,
        name: &str,
        overrides: &Overrides,
        env: &Environment,
    ) -> Result<Walk<'a>, ConfigError> {
        let mut lineage = Lineage { profiles: vec![] };
        let mut roles = Vec::new();
        let mut seen = HashSet::new();
        let mut chain = vec![name.to_owned()];
        let (mut current, mut profile) = match self.profile(name) {
            // As botocore: on a pod or runner with no AWS files, the platform's web identity
            // variables are the default profile.
            Err(ConfigError::UnknownProfile { .. })
                if name == "default"
                    && env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
                    && env.get("AWS_ACCESS_KEY_ID").is_none() =>
            {
                ("default", &NO_SETTINGS)
            }
            found => found?,
        };
        let root = loop {
            seen.insert(current);
            lineage.profiles.push((current, profile));
            let leaf = lineage.profiles.len() == 1;
            // A profile reached through source_profile that has keys of its own starts the chain:
            // its keys sign the next hop and its own role is not assumed (botocore and the SDKs).
            if !leaf {
                if let Some(credentials) = self.static_keys(current, profile)? {
                    break Root::Keys(Keys {
                        origin: SourceOrigin::Profile(current.to_owned()),
                        credentials,
                    });
                }
            }
            // Only the profile asked for is checked: its lineage holds every later one's.
            if leaf && crate::config::signin::signs_in(self, current, env) {
                // A SAML or OpenID sign-in stands where keys would. The profiles this one builds
                // on still lend it region, endpoint and the like.
                for name in self.lineage(current).into_iter().skip(1) {
                    if let Some((key, p)) = self.profiles.get_key_value(name) {
                        lineage.profiles.push((key.as_str(), p));
                    }
                }
                break signing_in(current);
            }
            // A keyless profile that signs in (Identity Center, a web identity token) starts the chain.
            if let Some(root) = super::federated::read(self, current, profile, env, leaf)? {
                break root;
            }
            let Some(role_arn) = profile.setting("role_arn") else {
                break self.plain_source(current, profile, env)?;
            };
            if !role_arn_is_valid(&role_arn.value) {
                return Err(bad_value(current, "role_arn", role_arn, ROLE_ARN_FORMAT));
            }
            roles.push((current, profile));
            match self.source_step(current, profile, role_arn, env)? {
                SourceStep::Root(root) => break *root,
                SourceStep::Profile(next, setting) => {
                    chain.push(next.to_owned());
                    if seen.contains(next) {
                        return Err(ConfigError::Cycle { chain });
                    }
                    let (key, p) = self.profiles.get_key_value(next).ok_or_else(|| {
                        ConfigError::MissingSourceProfile {
                            profile: current.to_owned(),
                            source_profile: shown_setting(setting),
                            searched: self.searched(),
                        }
                    })?;
                    current = key;
                    profile = p;
                }
            }
        };
        // Roles were met from the one asked for toward the root; they are assumed the other way.
        let hops = roles
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (name, profile))| self.hop(name, profile, i == 0, overrides))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Walk {
            root,
            hops,
            lineage,
        })
    }

    /// A profile without a role: its own keys, keys from the environment, else (maybe) keys in
    /// the OS keyring.
    fn plain_source(
        &self,
        name: &str,
        profile: &Profile,
        env: &Environment,
    ) -> Result<Root, ConfigError> {
        if let Some(credentials) = self.static_keys(name, profile)? {
            return Ok(Root::Keys(Keys {
                origin: SourceOrigin::Profile(name.to_owned()),
                credentials,
            }));
        }
        Ok(match environment_keys(env)? {
            Some(credentials) => Root::Keys(Keys {
                origin: SourceOrigin::Environment,
                credentials,
            }),
            None => self.in_keyring(name),
        })
    }

    /// The keys of a profile that has none in the files: the keyring's, if it holds any, which
    /// only fetching finds out.
    fn in_keyring(&self, name: &str) -> Root {
        Root::Keyring(KeyringKeys {
            profile: name.to_owned(),
            credentials_file: self.credentials_file.clone(),
            generation: String::new(),
        })
    }

    fn source_step<'a>(
        &self,
        name: &str,
        profile: &'a Profile,
        role_arn: &Setting,
        env: &Environment,
    ) -> Result<SourceStep<'a>, ConfigError> {
        let source_profile = profile.setting("source_profile");
        let credential_source = profile.setting("credential_source");
        match (source_profile, credential_source) {
            (Some(_), Some(cs)) => Err(bad_value(
                name,
                "credential_source",
                cs,
                "a profile sets either source_profile or credential_source, not both",
            )),
            (None, Some(cs)) if cs.value.eq_ignore_ascii_case("Environment") => {
                let credentials = environment_keys(env)?.ok_or_else(|| {
                    bad_value(
                        name,
                        "credential_source",
                        cs,
                        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                    )
                })?;
                Ok(SourceStep::Root(Box::new(Root::Keys(Keys {
                    origin: SourceOrigin::Environment,
                    credentials,
                }))))
            }
            (None, Some(cs)) => Err(bad_value(
                name,
                "credential_source",
                cs,
                "aws-runas supports only credential_source = Environment",
            )),
            (None, None) => Err(bad_value(
                name,
                "role_arn",
                role_arn,
                "the profile also needs source_profile (or credential_source)",
            )),
            (Some(src), None) if src.value == name => {
                // Botocore: a profile may name itself as source to assume a role with its own keys.
                Ok(SourceStep::Root(Box::new(
                    match self.static_keys(name, profile)? {
                        Some(credentials) => Root::Keys(Keys {
                            origin: SourceOrigin::Profile(name.to_owned()),
                            credentials,
                        }),
                        None => self.in_keyring(name),
                    },
                )))
            }
            (Some(src), None) => Ok(SourceStep::Profile(&src.value, src)),
        }
    }
}

/// As the AWS CLI: the service's own variable, then the general one, then the profile. Checked
/// here, since the SDK's own complaint about a malformed endpoint quotes the whole signed request.
fn endpoint(
    target: &str,
    lineage: &Lineage<'_>,
    env: &Environment,
    service_variable: &'static str,
) -> Result<Option<String>, ConfigError> {
    const REASON: &str = "expected an http:// or https:// URL without spaces or control characters";
    if env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        return Ok(None);
    }
    for variable in [service_variable, "AWS_ENDPOINT_URL"] {
        if let Some(url) = env.get(variable) {
            if !endpoint_is_valid(&url) {
                return Err(ConfigError::BadValue {
                    profile: target.to_owned(),
                    key: variable,
                    value: shown_quoted(&url),
                    reason: REASON.into(),
                });
            }
            return Ok(Some(url));
        }
    }
    match lineage.find("endpoint_url") {
        Some((p, s)) if !endpoint_is_valid(&s.value) => {
            Err(bad_value(p, "endpoint_url", s, REASON))
        }
        found => Ok(found.map(|(_, s)| s.value.clone())),
    }
}

fn endpoint_is_valid(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty())
        && url.len() <= 2048
        && !url.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// Where a profile that signs in at an IdP (SAML or OpenID) starts until `signin::apply`,
/// which the session runs next, puts the sign-in there: the profile, without keys.
fn signing_in(profile: &str) -> Root {
    Root::Keys(Keys {
        origin: SourceOrigin::Profile(profile.to_owned()),
        credentials: Credentials::long_term(String::new(), String::new()),
    })
}

/// A role's lifetime: the flag (for the role asked for), then the profile's
/// `credentials_duration` (role asked for only) or `duration_seconds`, then the default.
fn role_duration(
    name: &str,
    profile: Option<&Profile>,
    leaf: bool,
    overrides: &Overrides,
) -> Result<Duration, ConfigError> {
    if let (true, Some(d)) = (leaf, overrides.role_duration) {
        return Ok(d);
    }
    let keys: &[&'static str] = if leaf {
        &["credentials_duration", "duration_seconds"]
    } else {
        &["duration_seconds"]
    };
    for key in keys {
        if let Some(s) = profile.and_then(|p| p.setting(key)) {
            return parse_duration_setting(name, key, s);
        }
    }
    Ok(DEFAULT_ROLE_DURATION)
}
