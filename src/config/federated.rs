//! The settings of profiles whose credentials start with a sign-in rather than keys, read as
//! botocore reads them: IAM Identity Center (`sso_session` naming an `[sso-session NAME]`
//! section, or the legacy `sso_start_url` / `sso_region` in the profile itself, with
//! `sso_account_id` and `sso_role_name`) and web identity (`web_identity_token_file` with
//! `role_arn`). Only the settings live here; signing in is `sso`'s and `sources`' business.

use std::path::PathBuf;
use std::time::Duration;

use super::files::{Profile, Setting};
use super::{shown_quoted, shown_setting, ConfigError, LoginSessionSettings, Profiles, Root};
use crate::environment::Environment;

/// One Identity Center sign-in: what `sso login` needs, shared by every profile naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSession {
    /// The `[sso-session NAME]`; `None` for the legacy form, whose token is named by its URL.
    pub name: Option<String>,
    pub start_url: String,
    pub region: String,
    pub scopes: Vec<String>,
    pub oidc_endpoint: Option<String>,
    pub portal_endpoint: Option<String>,
}

/// An Identity Center profile: its sign-in, and the account and role it asks for (which a
/// profile used only to sign in, or to list roles, may leave out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSettings {
    pub profile: String,
    pub session: SsoSession,
    pub account_id: Option<String>,
    pub role_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentitySettings {
    pub profile: String,
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: Option<String>,
    pub duration: Duration,
}

fn bad(profile: &str, key: &'static str, s: &Setting, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: shown_setting(s),
        reason: reason.to_owned(),
    }
}

/// A setting as one plain line of text.
fn plain<'a>(
    profile: &str,
    key: &'static str,
    s: Option<&'a Setting>,
) -> Result<Option<&'a str>, ConfigError> {
    match s {
        Some(s) if s.nested || s.value.contains(char::is_control) => Err(bad(
            profile,
            key,
            s,
            "it must be one plain value on one line",
        )),
        Some(s) => Ok(Some(s.value.as_str())),
        None => Ok(None),
    }
}

fn missing(profile: &str, key: &'static str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: "(not set)".into(),
        reason: reason.to_owned(),
    }
}

/// The endpoint of one service, as the AWS CLI picks it: its own variable, then the general one.
fn endpoint(env: &Environment, variable: &str) -> Option<String> {
    if env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        return None;
    }
    env.get(variable).or_else(|| env.get("AWS_ENDPOINT_URL"))
}

fn region_ok(r: &str) -> bool {
    !r.is_empty() && r.len() <= 63 && r.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// A web identity setting: for the profile asked for, its variable first (as botocore, and as
/// EKS and CI runners set them), then the profile's key. Keys in the environment keep their
/// meaning (the source of a keyless profile), so the variables count only without them.
fn web_identity_setting(
    name: &str,
    profile: &Profile,
    env: &Environment,
    leaf: bool,
    key: &'static str,
    variable: &str,
) -> Result<Option<String>, ConfigError> {
    if leaf && env.get("AWS_ACCESS_KEY_ID").is_none() {
        if let Some(v) = env.get(variable) {
            if v.contains(char::is_control) {
                return Err(ConfigError::BadValue {
                    profile: name.to_owned(),
                    key,
                    value: shown_quoted(&v),
                    reason: format!("{variable} holds a control character"),
                });
            }
            return Ok(Some(v));
        }
    }
    Ok(plain(name, key, profile.setting(key))?.map(str::to_owned))
}

/// The sign-in `profile` starts with, if it is one that starts a chain without keys: a profile
/// with keys, `source_profile` or `credential_source` is not. `leaf`: the profile asked for,
/// which the web identity variables apply to.
pub(super) fn read(
    profiles: &Profiles,
    name: &str,
    profile: &Profile,
    env: &Environment,
    leaf: bool,
) -> Result<Option<Root>, ConfigError> {
    let keyed = ["aws_access_key_id", "source_profile", "credential_source"];
    if keyed.iter().any(|k| profile.setting(k).is_some()) {
        return Ok(None);
    }
    let web = |key, variable| web_identity_setting(name, profile, env, leaf, key, variable);
    if let Some(file) = web("web_identity_token_file", "AWS_WEB_IDENTITY_TOKEN_FILE")? {
        let role_arn = web("role_arn", "AWS_ROLE_ARN")?.ok_or_else(|| {
            missing(
                name,
                "role_arn",
                "web_identity_token_file needs the role_arn (or AWS_ROLE_ARN) to assume with the token",
            )
        })?;
        super::signin::check_role_arn(name, "role_arn", &role_arn)?;
        let session_name = web("role_session_name", "AWS_ROLE_SESSION_NAME")?;
        let duration = match profile.setting("duration_seconds") {
            Some(s) => crate::duration::parse(&s.value)
                .map_err(|e| bad(name, "duration_seconds", s, e.reason()))?,
            None => super::DEFAULT_ROLE_DURATION,
        };
        return Ok(Some(Root::WebIdentity(WebIdentitySettings {
            profile: name.to_owned(),
            token_file: env.expand_tilde(&file),
            role_arn,
            session_name,
            duration,
        })));
    }
    if let Some(session) = plain(name, "login_session", profile.setting("login_session"))? {
        return Ok(Some(Root::LoginSession(login_session(
            name, profile, env, session,
        )?)));
    }
    let sso_keys = [
        "sso_session",
        "sso_start_url",
        "sso_account_id",
        "sso_role_name",
    ];
    if !sso_keys.iter().any(|k| profile.setting(k).is_some()) {
        return Ok(None);
    }
    // An SSO profile with role_arn but no source_profile is a half-written chain.
    if profile.setting("role_arn").is_some() {
        return Ok(None);
    }
    let session = sso_session(profiles, name, profile, env)?;
    let account_id = plain(name, "sso_account_id", profile.setting("sso_account_id"))?;
    if let Some(a) = account_id {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            let s = profile.setting("sso_account_id").expect("read above");
            return Err(bad(name, "sso_account_id", s, "an account id is 12 digits"));
        }
    }
    let role_name = plain(name, "sso_role_name", profile.setting("sso_role_name"))?;
    Ok(Some(Root::Sso(SsoSettings {
        profile: name.to_owned(),
        session,
        account_id: account_id.map(str::to_owned),
        role_name: role_name.map(str::to_owned),
    })))
}

/// The sign-in settings of the `[sso-session NAME]` section itself, for signing in to it with no
/// profile (`sso login --sso-session NAME`, as the AWS CLI v2 has it).
pub(super) fn named_sso_session(
    profiles: &Profiles,
    name: &str,
    env: &Environment,
) -> Result<SsoSession, ConfigError> {
    let mut profile = Profile::default();
    profile.settings.insert(
        "sso_session".into(),
        Setting {
            value: name.to_owned(),
            nested: false,
            file: profiles.config_file.clone(),
            line: 0,
            secret_file: false,
        },
    );
    sso_session(profiles, name, &profile, env)
}

/// The sign-in settings of an SSO profile: its `[sso-session]` section, or its own legacy keys.
fn sso_session(
    profiles: &Profiles,
    name: &str,
    profile: &Profile,
    env: &Environment,
) -> Result<SsoSession, ConfigError> {
    let own_url = plain(name, "sso_start_url", profile.setting("sso_start_url"))?;
    let own_region = plain(name, "sso_region", profile.setting("sso_region"))?;
    let oidc_endpoint = endpoint(env, "AWS_ENDPOINT_URL_SSO_OIDC");
    let portal_endpoint = endpoint(env, "AWS_ENDPOINT_URL_SSO");
    let (session_name, start_url, region, scopes) = match profile.setting("sso_session") {
        Some(s) => {
            let session_name = plain(name, "sso_session", Some(s))?.unwrap_or_default();
            let section = profiles.sso_sessions.get(session_name).ok_or_else(|| {
                bad(
                    name,
                    "sso_session",
                    s,
                    &format!(
                        "there is no [sso-session {}] section in {}",
                        super::shown(session_name),
                        profiles.config_file.display()
                    ),
                )
            })?;
            let at = |key: &'static str| {
                let v = plain(name, key, section.setting(key))?;
                v.ok_or_else(|| {
                    missing(
                        name,
                        key,
                        &format!(
                            "[sso-session {}] must set {key}",
                            super::shown(session_name)
                        ),
                    )
                })
            };
            let url = at("sso_start_url")?;
            let region = at("sso_region")?;
            // Botocore refuses a profile whose own values contradict its session's.
            for (key, own, theirs) in [
                ("sso_start_url", own_url, url),
                ("sso_region", own_region, region),
            ] {
                if own.is_some_and(|o| o != theirs) {
                    return Err(ConfigError::BadValue {
                        profile: name.to_owned(),
                        key: if key == "sso_region" {
                            "sso_region"
                        } else {
                            "sso_start_url"
                        },
                        value: shown_quoted(own.unwrap_or_default()),
                        reason: format!(
                            "it differs from [sso-session {}]'s",
                            super::shown(session_name)
                        ),
                    });
                }
            }
            let scopes = plain(
                name,
                "sso_registration_scopes",
                section.setting("sso_registration_scopes"),
            )?
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
            (Some(session_name.to_owned()), url, region, scopes)
        }
        None => {
            const LEGACY: &str = "an SSO profile sets sso_session, or sso_start_url and sso_region";
            let url = own_url.ok_or_else(|| missing(name, "sso_start_url", LEGACY))?;
            let region = own_region.ok_or_else(|| missing(name, "sso_region", LEGACY))?;
            (None, url, region, Vec::new())
        }
    };
    if !region_ok(region) {
        return Err(missing(
            name,
            "sso_region",
            "a region name is letters, digits and '-', as in eu-west-1",
        ));
    }
    if !(start_url.starts_with("https://") || start_url.starts_with("http://")) {
        return Err(ConfigError::BadValue {
            profile: name.to_owned(),
            key: "sso_start_url",
            value: shown_quoted(start_url),
            reason: "expected the portal's https:// URL".into(),
        });
    }
    Ok(SsoSession {
        name: session_name,
        start_url: start_url.to_owned(),
        region: region.to_owned(),
        scopes,
        oidc_endpoint,
        portal_endpoint,
    })
}

/// Where `aws login` keeps `session`'s entry, as botocore finds it
/// (`get_login_token_cache_directory`, `generate_login_cache_key`).
fn login_session(
    name: &str,
    profile: &Profile,
    env: &Environment,
    session: &str,
) -> Result<LoginSessionSettings, ConfigError> {
    if session.is_empty() {
        let s = profile.setting("login_session").expect("read above");
        return Err(bad(name, "login_session", s, "a login session has a name"));
    }
    let dir = match env.get("AWS_LOGIN_CACHE_DIRECTORY") {
        Some(d) if !d.is_empty() => env.expand_tilde(&d),
        _ => env.expand_tilde("~/.aws/login/cache"),
    };
    let hex = crate::digest::hex(&crate::digest::sha256(session.as_bytes()));
    Ok(LoginSessionSettings {
        profile: name.to_owned(),
        session: session.to_owned(),
        cache_file: dir.join(format!("{hex}.json")),
        endpoint: (!env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
            .then(|| env.get("AWS_ENDPOINT_URL_SIGNIN"))
            .flatten()
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{files, Overrides};
    use super::*;

    fn profiles(config: &str) -> Profiles {
        let c = files::parse(config).unwrap();
        Profiles::from_files(
            Some(&c),
            Path::new("/home/u/.aws/config"),
            None,
            Path::new("/home/u/.aws/credentials"),
        )
    }

    fn env() -> Environment {
        Environment::from([("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")])
    }

    fn resolve(config: &str, name: &str) -> Result<super::super::Resolved, ConfigError> {
        profiles(config).resolve(name, &Overrides::default(), &env())
    }

    #[test]
    fn login_session_names_botocores_cache_file() {
        let config = "[profile c]\nlogin_session = s1\n\n[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = c\n";
        let env = Environment::from([
            ("AWS_LOGIN_CACHE_DIRECTORY", "/l/cache"),
            ("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:9/"),
        ]);
        let r = profiles(config)
            .resolve("r", &Overrides::default(), &env)
            .unwrap();
        let Root::LoginSession(l) = &r.root else {
            panic!("{:?}", r.root)
        };
        assert_eq!(l.profile, "c");
        // sha256("s1"), as botocore's generate_login_cache_key.
        assert_eq!(
            l.cache_file,
            Path::new(
                "/l/cache/e8bc163c82eee18733288c7d4ac636db3a6deb013ef2d37b68322be20edc45cc.json"
            )
        );
        assert_eq!(l.endpoint.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn web_identity_variables_beat_the_profile_asked_for_only() {
        let config = "[profile ci]\nregion = eu-west-1\n\n\
                      [profile w]\nweb_identity_token_file = /t\nrole_arn = arn:aws:iam::123456789012:role/w\n\n\
                      [profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = w\n";
        let env = Environment::from([
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/eks/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/pod"),
            ("AWS_ROLE_SESSION_NAME", "pod-1"),
        ]);
        let p = profiles(config);
        let r = p.resolve("ci", &Overrides::default(), &env).unwrap();
        let Root::WebIdentity(w) = r.root else {
            panic!("not web identity")
        };
        assert_eq!(
            (
                w.token_file.to_str(),
                w.role_arn.as_str(),
                w.session_name.as_deref()
            ),
            (
                Some("/var/run/eks/token"),
                "arn:aws:iam::123456789012:role/pod",
                Some("pod-1")
            )
        );
        // A source profile keeps its own settings.
        let r = p.resolve("top", &Overrides::default(), &env).unwrap();
        let Root::WebIdentity(w) = r.root else {
            panic!("not web identity")
        };
        assert_eq!(w.role_arn, "arn:aws:iam::123456789012:role/w");
    }

    const SESSION: &str = "[sso-session 'my corp']\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access, extra\n\n";

    #[test]
    fn sso_session_sections_are_read_as_botocore_splits_them() {
        let r = resolve(
            &format!("{SESSION}[profile a]\nsso_session = my corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n"),
            "a",
        )
        .unwrap();
        let Root::Sso(s) = r.root else {
            panic!("not SSO: {:?}", r.root)
        };
        assert_eq!(s.session.name.as_deref(), Some("my corp"));
        assert_eq!(s.session.start_url, "https://d-1.awsapps.com/start");
        assert_eq!(s.session.scopes, ["sso:account:access", "extra"]);
        assert_eq!(
            s.session.portal_endpoint.as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            s.session.oidc_endpoint, None,
            "the general variable is not set"
        );
        assert_eq!(
            (s.account_id.as_deref(), s.role_name.as_deref()),
            (Some("123456789012"), Some("Admin"))
        );
        assert!(r.hops.is_empty());
    }

    #[test]
    fn legacy_profiles_and_roles_on_top_of_them() {
        let config = "[profile l]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = R\n\n\
                      [profile top]\nrole_arn = arn:aws:iam::123456789012:role/top\nsource_profile = l\n";
        let r = resolve(config, "top").unwrap();
        let Root::Sso(s) = &r.root else {
            panic!("not SSO")
        };
        assert_eq!(s.profile, "l");
        assert_eq!(s.session.name, None);
        assert_eq!(r.hops.len(), 1);
        assert_eq!(r.hops[0].role_arn, "arn:aws:iam::123456789012:role/top");
    }

    #[test]
    fn web_identity_profiles() {
        let r = resolve(
            "[profile w]\nweb_identity_token_file = /var/run/token\nrole_arn = arn:aws:iam::123456789012:role/w\nrole_session_name = ci\nduration_seconds = 7200\n",
            "w",
        )
        .unwrap();
        assert_eq!(
            r.root,
            Root::WebIdentity(WebIdentitySettings {
                profile: "w".into(),
                token_file: "/var/run/token".into(),
                role_arn: "arn:aws:iam::123456789012:role/w".into(),
                session_name: Some("ci".into()),
                duration: Duration::from_secs(7200),
            })
        );
        assert!(r.hops.is_empty(), "the token's role is the root, not a hop");
    }

    #[test]
    fn mistakes_name_the_profile_and_key() {
        let cases = [
            ("[profile x]\nsso_session = nope\n", "sso-session nope"),
            (
                "[sso-session s]\nsso_region = eu-west-1\n\n[profile x]\nsso_session = s\n",
                "must set sso_start_url",
            ),
            (
                &format!("{SESSION}[profile x]\nsso_session = my corp\nsso_region = us-east-1\n"),
                "differs from",
            ),
            ("[profile x]\nsso_start_url = https://a\nsso_account_id = 1\n", "sso_region"),
            (
                "[profile x]\nsso_start_url = https://a\nsso_region = eu-west-1\nsso_account_id = 12\n",
                "12 digits",
            ),
            ("[profile x]\nweb_identity_token_file = /t\n", "role_arn"),
            ("[profile x]\nsso_start_url = ftp://a\nsso_region = eu-west-1\n", "https://"),
        ];
        for (config, expected) in cases {
            let e = resolve(config, "x").unwrap_err().to_string();
            assert!(e.contains("'x'") && e.contains(expected), "{config:?}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn profiles_with_keys_are_not_federated() {
        let config = "[profile k]\nsso_start_url = https://a\nsso_region = eu-west-1\n";
        let keys = "[k]\naws_access_key_id = AKIAUSER00000001\naws_secret_access_key = s\n";
        let merged = Profiles::from_files(
            Some(&files::parse(config).unwrap()),
            Path::new("/c"),
            Some(&files::parse(keys).unwrap()),
            Path::new("/k"),
        );
        let r = merged.resolve("k", &Overrides::default(), &env()).unwrap();
        let Root::Keys(keys) = &r.root else {
            panic!("not keys: {:?}", r.root)
        };
        assert_eq!(keys.credentials.access_key_id, "AKIAUSER00000001");
    }
}
