//! The settings of profiles whose credentials start with a sign-in rather than keys, read as
//! botocore reads them: IAM Identity Center (`sso_session` naming an `[sso-session NAME]`
//! section, or the legacy `sso_start_url` / `sso_region` in the profile itself, with
//! `sso_account_id` and `sso_role_name`) and web identity (`web_identity_token_file` with
//! `role_arn`). Only the settings live here; signing in is `sso`'s and `sources`' business.

use std::path::PathBuf;
use std::time::Duration;

use super::files::{Profile, Setting};
use super::{expand_tilde, shown_quoted, ConfigError, Profiles, Shown};
use crate::environment::Environment;

/// Where a chain without keys starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Federated {
    Sso(SsoSettings),
    WebIdentity(WebIdentitySettings),
}

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
        value: Shown::setting(s),
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

/// The sign-in `profile` starts with, if it is one that starts a chain without keys: a profile
/// with keys, `source_profile` or `credential_source` is not.
pub(super) fn read(
    profiles: &Profiles,
    name: &str,
    profile: &Profile,
    env: &Environment,
) -> Result<Option<Federated>, ConfigError> {
    let keyed = ["aws_access_key_id", "source_profile", "credential_source"];
    if keyed.iter().any(|k| profile.setting(k).is_some()) {
        return Ok(None);
    }
    if let Some(file) = profile.setting("web_identity_token_file") {
        let file = plain(name, "web_identity_token_file", Some(file))?.unwrap_or_default();
        let role_arn = plain(name, "role_arn", profile.setting("role_arn"))?.ok_or_else(|| {
            missing(
                name,
                "role_arn",
                "web_identity_token_file needs the role_arn to assume with the token",
            )
        })?;
        if !(role_arn.starts_with("arn:") && role_arn.contains(":role/")) {
            let s = profile.setting("role_arn").expect("read above");
            return Err(bad(
                name,
                "role_arn",
                s,
                "expected arn:aws:iam::ACCOUNT_ID:role/NAME",
            ));
        }
        let session_name = plain(
            name,
            "role_session_name",
            profile.setting("role_session_name"),
        )?;
        let duration = match profile.setting("duration_seconds") {
            Some(s) => crate::duration::parse(&s.value)
                .map_err(|e| bad(name, "duration_seconds", s, e.reason()))?,
            None => super::DEFAULT_ROLE_DURATION,
        };
        return Ok(Some(Federated::WebIdentity(WebIdentitySettings {
            profile: name.to_owned(),
            token_file: expand_tilde(file),
            role_arn: role_arn.to_owned(),
            session_name: session_name.map(str::to_owned),
            duration,
        })));
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
    Ok(Some(Federated::Sso(SsoSettings {
        profile: name.to_owned(),
        session,
        account_id: account_id.map(str::to_owned),
        role_name: role_name.map(str::to_owned),
    })))
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
