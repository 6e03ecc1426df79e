//! A profile's SAML settings, read as aws-runas v3 reads them: `saml_auth_url`, `saml_username`,
//! `saml_provider`, `role_arn`, `jump_role_arn`, `federated_username`, `mfa_type` and the role
//! duration, from the profile or (each setting on its own) the profiles it names as
//! `source_profile`; the command line (`-S -U -P -R -J` and their variables) beats both.
//! A profile is a SAML profile when it (or its lineage, or the command line) has an auth URL.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::config::{ConfigError, Overrides, Profiles, Resolved, RoleHop, DEFAULT_ROLE_DURATION};
use crate::environment::Environment;

/// The variable that makes every profile sign in at an IdP, as v3's `-S`.
pub const AUTH_URL_VARIABLE: &str = "SAML_AUTH_URL";

/// What the command line says about SAML (clap has merged each flag with its variables).
#[derive(Clone, Default)]
pub struct SamlFlags {
    pub auth_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub provider: Option<String>,
    pub jump_role_arn: Option<String>,
}

impl fmt::Debug for SamlFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlFlags")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("jump_role_arn", &self.jump_role_arn)
            .finish()
    }
}

/// How the IdP's second factor is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaType {
    Auto,
    None,
    Code,
    Push,
}

/// The sign-in clients this build has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// HTML login forms: Keycloak, SimpleSAMLphp, LemonLDAP::NG and the like.
    Form,
    /// Okta's Authn API, then the app's embed link.
    Okta,
    /// OneLogin's API v2 (client credentials in the URL).
    OneLogin,
    /// ForgeRock AM / PingAM's authenticate REST API.
    ForgeRock,
    /// Not named and not told by the URL: the IdP's answer to a HEAD decides at sign-in.
    Auto,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SamlSettings {
    /// The profile the settings were asked for (cache keys, messages, keyring hints).
    pub profile: String,
    pub auth_url: Url,
    pub username: Option<String>,
    /// Only from `-P` or the environment: never from a file.
    pub password: Option<String>,
    pub provider: Provider,
    /// The role to assume with the assertion: `jump_role_arn` when set, else `role_arn`; `None`
    /// lets the assertion's roles decide (one, or a choice on the terminal).
    pub saml_role: Option<String>,
    /// With a jump role, the role then assumed from it.
    pub target_role: Option<String>,
    pub federated_username: Option<String>,
    pub mfa_type: MfaType,
    pub duration: Duration,
    /// `AWS_CA_BUNDLE` or `ca_bundle`: a private CA the IdP's certificate may be signed by.
    pub ca_bundle: Option<crate::tls::Bundle>,
}

impl fmt::Debug for SamlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlSettings")
            .field("profile", &self.profile)
            .field("auth_url", &crate::idp::http::origin(&self.auth_url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("saml_role", &self.saml_role)
            .field("target_role", &self.target_role)
            .field("mfa_type", &self.mfa_type)
            .field("duration", &self.duration)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

fn bad(profile: &str, key: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: crate::config::shown_quoted(value),
        reason: reason.to_owned(),
    }
}

/// Whether `profile` signs in at an IdP (it or a profile it builds on has an auth URL, or the
/// environment names one): the hook `Profiles::resolve` calls before looking for keys.
pub fn signs_in(profiles: &Profiles, profile: &str, env: &Environment) -> bool {
    env.get(AUTH_URL_VARIABLE).is_some()
        || profiles
            .lineage(profile)
            .iter()
            .any(|p| profiles.setting(p, "saml_auth_url").is_some())
}

/// The provider the auth URL itself names (its host, or AM's API path), as v3 detects them;
/// `Auto` leaves it to the IdP's answer at sign-in.
pub fn detect(url: &Url) -> Provider {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host.ends_with(".okta.com") || host.ends_with(".oktapreview.com") {
        Provider::Okta
    } else if host.ends_with(".onelogin.com") {
        Provider::OneLogin
    } else if url.path().contains("/json/") && url.path().ends_with("/authenticate") {
        Provider::ForgeRock
    } else {
        Provider::Auto
    }
}

/// The provider an IdP's response headers betray (v3's fingerprints); HTML forms otherwise.
pub fn detect_from_headers(headers: &[(String, String)]) -> Provider {
    let get = |name: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("access-control-allow-headers")
        .any(|v| v.contains("X-OpenAM-") || v.contains("MFA-FR-Token"))
    {
        Provider::ForgeRock
    } else if get("x-okta-request-id").next().is_some() {
        Provider::Okta
    } else if get("set-cookie").any(|c| {
        c.split('=')
            .next()
            .is_some_and(|name| name.contains("_onelogin.com"))
    }) {
        Provider::OneLogin
    } else {
        // Keycloak (its KC_RESTART cookie) and everything else: HTML forms.
        Provider::Form
    }
}

fn check_role_arn(profile: &str, key: &'static str, arn: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else {
        Err(bad(
            profile,
            key,
            arn,
            "expected arn:aws:iam::ACCOUNT_ID:role/NAME",
        ))
    }
}

/// The SAML settings of `target` (a profile name or role ARN), or `None` when it does not sign
/// in at an IdP. `role_duration` is `-a`.
pub fn resolve(
    profiles: &Profiles,
    target: &str,
    flags: &SamlFlags,
    role_duration: Option<Duration>,
    env: &Environment,
) -> Result<Option<SamlSettings>, ConfigError> {
    let is_arn = target.starts_with("arn:");
    let lineage: Vec<&str> = if is_arn {
        vec!["default"]
    } else {
        profiles.lineage(target)
    };
    // First in the lineage wins: the profile's own setting, then its source profile's, and so on.
    let find = |key: &str| {
        lineage.iter().find_map(|p| {
            profiles
                .setting(p, key)
                .map(|(v, _)| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (*p, v.to_owned()))
        })
    };
    let Some((url_from, raw_url)) = flags
        .auth_url
        .clone()
        .map(|u| (target, u))
        .or_else(|| env.get(AUTH_URL_VARIABLE).map(|u| (target, u)))
        .or_else(|| find("saml_auth_url"))
    else {
        return Ok(None);
    };
    let auth_url = Url::parse(&raw_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            bad(
                url_from,
                "saml_auth_url",
                &raw_url,
                "expected an http(s) URL",
            )
        })?;

    let provider = match flags
        .provider
        .clone()
        .map(|p| (target, p))
        .or_else(|| find("saml_provider"))
    {
        None => detect(&auth_url),
        Some((p, name)) => match name.to_ascii_lowercase().as_str() {
            "auto" => detect(&auth_url),
            "form" | "keycloak" | "simplesamlphp" | "lemonldap" | "lemonldap-ng" => Provider::Form,
            "okta" => Provider::Okta,
            "onelogin" => Provider::OneLogin,
            "forgerock" | "pingam" => Provider::ForgeRock,
            "azuread" | "browser" | "browserne" => {
                return Err(bad(
                    p,
                    "saml_provider",
                    &name,
                    "not supported by this build yet; 'form' covers HTML login pages",
                ))
            }
            _ => {
                return Err(bad(
                    p,
                    "saml_provider",
                    &name,
                    "expected auto, form, keycloak, simplesamlphp, lemonldap, okta, onelogin or forgerock",
                ))
            }
        },
    };

    let role_arn = if is_arn {
        Some((target, target.to_owned()))
    } else {
        find("role_arn")
    };
    let jump = flags
        .jump_role_arn
        .clone()
        .map(|j| (target, j))
        .or_else(|| find("jump_role_arn"));
    if let Some((p, arn)) = &role_arn {
        check_role_arn(p, "role_arn", arn)?;
    }
    if let Some((p, arn)) = &jump {
        check_role_arn(p, "jump_role_arn", arn)?;
    }
    let (saml_role, target_role) = match (jump, role_arn) {
        (Some((_, j)), r) => (Some(j), r.map(|(_, r)| r)),
        (None, r) => (r.map(|(_, r)| r), None),
    };

    let mfa_type = match find("mfa_type") {
        None => MfaType::Auto,
        Some((p, v)) => match v.to_ascii_lowercase().as_str() {
            "auto" => MfaType::Auto,
            "none" => MfaType::None,
            "code" => MfaType::Code,
            "push" => MfaType::Push,
            _ => return Err(bad(p, "mfa_type", &v, "expected auto, none, code or push")),
        },
    };
    // As for role profiles: the profile's own duration setting, not an inherited one.
    let leaf = lineage.first().copied().unwrap_or(target);
    let own = |key: &str| {
        profiles
            .setting(leaf, key)
            .map(|(v, _)| v.trim().to_owned())
    };
    let duration = match role_duration {
        Some(d) => d,
        None => match (own("credentials_duration"), own("duration_seconds")) {
            (Some(v), _) => parse_duration(leaf, "credentials_duration", &v)?,
            (None, Some(v)) => parse_duration(leaf, "duration_seconds", &v)?,
            (None, None) => DEFAULT_ROLE_DURATION,
        },
    };
    let federated_username = find("federated_username").map(|(_, v)| v);
    if let Some(n) = &federated_username {
        let ok = (2..=64).contains(&n.len())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !ok {
            return Err(bad(
                leaf,
                "federated_username",
                n,
                "use 2 to 64 of the characters A-Z a-z 0-9 _+=,.@-",
            ));
        }
    }
    Ok(Some(SamlSettings {
        profile: target.to_owned(),
        auth_url,
        username: flags
            .username
            .clone()
            .or_else(|| find("saml_username").map(|(_, v)| v)),
        password: flags.password.clone(),
        provider,
        saml_role,
        target_role,
        federated_username,
        mfa_type,
        duration,
        ca_bundle: crate::tls::Bundle::find(env, find("ca_bundle")),
    }))
}

/// Fills in `resolved.saml` when the profile signs in at an IdP, and replaces its role hops by
/// what SAML needs: none, or with a jump role the one role assumed from it.
pub fn apply(
    profiles: &Profiles,
    flags: &SamlFlags,
    overrides: &Overrides,
    env: &Environment,
    resolved: &mut Resolved,
) -> Result<(), ConfigError> {
    let Some(mut settings) = resolve(
        profiles,
        &resolved.name,
        flags,
        overrides.role_duration,
        env,
    )?
    else {
        return Ok(());
    };
    let own = |key: &str| {
        profiles
            .setting(&resolved.name, key)
            .map(|(v, _)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    resolved.hops = match &settings.target_role {
        Some(role) => {
            let hop = RoleHop {
                profile: resolved.name.clone(),
                role_arn: role.clone(),
                external_id: overrides.external_id.clone().or_else(|| own("external_id")),
                session_name: own("role_session_name"),
                duration: settings.duration,
            };
            // The configured duration is the target role's; the jump role gets the default.
            settings.duration = DEFAULT_ROLE_DURATION;
            vec![hop]
        }
        None => Vec::new(),
    };
    resolved.saml = Some(settings);
    Ok(())
}

fn parse_duration(profile: &str, key: &'static str, v: &str) -> Result<Duration, ConfigError> {
    crate::duration::parse(v).map_err(|e| bad(profile, key, v, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(config: &str) -> (tempfile::TempDir, Profiles) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, config).unwrap();
        let env = Environment::from([
            ("AWS_CONFIG_FILE", path.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]);
        let p = Profiles::load(&env).unwrap();
        (dir, p)
    }

    const CONFIG: &str = "[profile idp]\nsaml_auth_url = https://idp.example.org/sso\nsaml_username = alice\nregion = eu-west-1\n\
        [profile admin]\nsource_profile = idp\nrole_arn = arn:aws:iam::123456789012:role/Admin\nduration_seconds = 2h\n\
        [profile jumped]\nsource_profile = admin\njump_role_arn = arn:aws:iam::123456789012:role/Jump\nrole_arn = arn:aws:iam::210987654321:role/Target\nmfa_type = code\n\
        [profile plain]\nregion = x\n";

    #[test]
    fn settings_are_inherited_and_flags_win() {
        let (_d, p) = profiles(CONFIG);
        let none = Environment::default();
        let s = resolve(&p, "admin", &SamlFlags::default(), None, &none)
            .unwrap()
            .unwrap();
        assert_eq!(s.auth_url.as_str(), "https://idp.example.org/sso");
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(
            s.saml_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/Admin")
        );
        assert_eq!(s.target_role, None);
        assert_eq!(s.duration, Duration::from_secs(7200));
        assert_eq!(s.mfa_type, MfaType::Auto);

        let s = resolve(&p, "jumped", &SamlFlags::default(), None, &none)
            .unwrap()
            .unwrap();
        assert_eq!(
            s.saml_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/Jump")
        );
        assert_eq!(
            s.target_role.as_deref(),
            Some("arn:aws:iam::210987654321:role/Target")
        );
        assert_eq!(s.mfa_type, MfaType::Code);
        assert_eq!(
            s.duration, DEFAULT_ROLE_DURATION,
            "durations are not inherited"
        );

        let flags = SamlFlags {
            username: Some("bob".into()),
            password: Some("pw".into()),
            ..Default::default()
        };
        let s = resolve(&p, "admin", &flags, Some(Duration::from_secs(900)), &none)
            .unwrap()
            .unwrap();
        assert_eq!(s.username.as_deref(), Some("bob"));
        assert_eq!(s.duration, Duration::from_secs(900));
        assert!(
            !format!("{s:?} {flags:?}").contains("pw\""),
            "passwords are redacted"
        );

        assert!(resolve(&p, "plain", &SamlFlags::default(), None, &none)
            .unwrap()
            .is_none());
        assert!(!signs_in(&p, "plain", &none));
        assert!(signs_in(&p, "idp", &none));
        assert!(signs_in(&p, "jumped", &none), "through its source profiles");
        // Resolution takes a SAML profile without keys, and its lineage still lends the region.
        let mut r = p.resolve("jumped", &Overrides::default(), &none).unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        apply(
            &p,
            &SamlFlags::default(),
            &Overrides::default(),
            &none,
            &mut r,
        )
        .unwrap();
        let hops: Vec<_> = r.hops.iter().map(|h| h.role_arn.as_str()).collect();
        assert_eq!(
            hops,
            ["arn:aws:iam::210987654321:role/Target"],
            "only the jump's target"
        );
        assert!(r.saml.is_some());
        let env = Environment::from([("SAML_AUTH_URL", "http://127.0.0.1:1/x")]);
        assert!(signs_in(&p, "plain", &env));
    }

    #[test]
    fn bad_values_name_profile_and_key() {
        let (_d, p) = profiles(
            "[profile u]\nsaml_auth_url = ftp://x/y\n[profile r]\nsaml_auth_url = https://x/\nrole_arn = arn:aws:iam::1:role/x\n\
             [profile m]\nsaml_auth_url = https://x/\nmfa_type = sms\n[profile o]\nsaml_auth_url = https://x/\nsaml_provider = azuread\n\
             [profile k]\nsaml_auth_url = https://corp.okta.com/home/amazon_aws/0oa1/272\n",
        );
        let err = |n: &str| {
            resolve(&p, n, &SamlFlags::default(), None, &Environment::default())
                .unwrap_err()
                .to_string()
        };
        assert!(err("u").starts_with("profile 'u': saml_auth_url = 'ftp://x/y' is invalid"));
        assert!(err("r").starts_with("profile 'r': role_arn"));
        assert!(err("m").contains("mfa_type = 'sms'"));
        assert!(err("o").contains("saml_provider = 'azuread' is invalid: not supported"));
        let okta = resolve(
            &p,
            "k",
            &SamlFlags::default(),
            None,
            &Environment::default(),
        );
        assert_eq!(
            okta.unwrap().unwrap().provider,
            Provider::Okta,
            "detected by host"
        );
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            detect_from_headers(&h("x-okta-request-id", "abc")),
            Provider::Okta
        );
        assert_eq!(
            detect_from_headers(&h(
                "access-control-allow-headers",
                "X-OpenAM-Username, X-Requested-With"
            )),
            Provider::ForgeRock
        );
        assert_eq!(
            detect_from_headers(&h("set-cookie", "sub_session_onelogin.com=x; Path=/")),
            Provider::OneLogin
        );
        assert_eq!(
            detect_from_headers(&h("set-cookie", "KC_RESTART=x")),
            Provider::Form
        );
    }
}
