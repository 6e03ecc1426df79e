//! `sso login [PROFILE]`, `sso logout [PROFILE]`, `sso profiles SESSION`, and `list roles` for
//! IAM Identity Center profiles: what the portal lets the signed-in user into.

use std::process::ExitCode;

use anyhow::Context as _;

use super::{open, print};
use crate::cache::Cache;
use crate::cli::{Options, SsoWhat};
use crate::config::{Profiles, Root, SsoSettings};
use crate::environment::Environment;
use crate::sso::client::{SdkSso, SsoApi};
use crate::sso::{self, token, Login, SignIn};
use crate::tls::Bundle;

pub fn run(options: &Options, what: SsoWhat) -> anyhow::Result<ExitCode> {
    match what {
        SsoWhat::Login {
            sso_session: Some(name),
            use_device_code,
            no_browser,
            ..
        } => login_session(&name, SignIn::from_env(use_device_code, no_browser)),
        SsoWhat::Login {
            profile,
            use_device_code,
            no_browser,
            ..
        } => login(
            options,
            profile.as_deref(),
            SignIn::from_env(use_device_code, no_browser),
        ),
        SsoWhat::Logout { profile } => logout(options, profile.as_deref()),
        SsoWhat::Profiles {
            session,
            name,
            region,
            dry_run,
        } => profiles(&session, name.as_deref(), region.as_deref(), dry_run),
    }
}

/// The Identity Center settings the profile's chain starts from.
fn settings(
    options: &Options,
    profile: Option<&str>,
) -> anyhow::Result<(super::Session, SsoSettings)> {
    let (session, _) = open(options, profile)?;
    match &session.resolved.root {
        Root::Sso(s) => {
            let s = s.clone();
            Ok((session, s))
        }
        _ => anyhow::bail!(
            "profile '{}' does not sign in with IAM Identity Center (it sets no sso_session or sso_start_url)",
            session.resolved.name
        ),
    }
}

fn login(options: &Options, profile: Option<&str>, how: SignIn) -> anyhow::Result<ExitCode> {
    let (session, s) = settings(options, profile)?;
    sso::access_token(
        &SdkSso::new(&s.session, session.resolved.ca_bundle.as_ref()),
        &s.session,
        &s.profile,
        &session.cache,
        Login::Always(how),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `sso login --sso-session NAME`: the session's own section, no profile needed.
fn login_session(name: &str, how: SignIn) -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    let session = Profiles::load(&env)?.sso_session(name, &env)?;
    let cache = Cache::from_env(&env)?;
    sso::access_token(
        &SdkSso::new(&session, Bundle::find(&env, None).as_ref()),
        &session,
        name,
        &cache,
        Login::Always(how),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn logout(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let (session, s) = settings(options, profile)?;
    let path = token::path(&s.session)?;
    // Ends the portal session too, as the AWS CLI does; the local token goes whatever it says.
    if let Some(t) = token::read(&path) {
        let api = SdkSso::new(&s.session, session.resolved.ca_bundle.as_ref());
        if let Err(e) = api.logout(&t.access_token) {
            // The service's words: one escaped line, as every error is shown.
            tracing::info!(
                "the portal did not confirm the sign-out: {}",
                crate::shown::one_line(&e.to_string())
            );
        }
    }
    if token::remove(&path)? {
        eprintln!(
            "aws-runas: signed out of {} (removed {})",
            s.session.start_url,
            path.display()
        );
    } else {
        eprintln!("aws-runas: no cached sign-in for {}", s.session.start_url);
    }
    Ok(ExitCode::SUCCESS)
}

/// `list roles` for an Identity Center profile: every account and role the portal offers, one
/// `ACCOUNT_ID ROLE_NAME ACCOUNT_NAME` line each. `None` when the profile is not one.
pub fn list_roles(options: &Options, profile: Option<&str>) -> anyhow::Result<Option<ExitCode>> {
    let (session, request) = open(options, profile)?;
    let Root::Sso(s) = &session.resolved.root else {
        return Ok(None);
    };
    let api = SdkSso::new(&s.session, session.resolved.ca_bundle.as_ref());
    let login = Login::when_someone_can_answer(request.interactive);
    let token = sso::access_token(&api, &s.session, &s.profile, &session.cache, login)?;
    let context = || format!("profile '{}'", s.profile);
    let mut text = String::new();
    for account in api.accounts(&token).with_context(context)? {
        let mut roles = api
            .account_roles(&token, &account.id)
            .with_context(context)?;
        roles.sort();
        for role in roles {
            text.push_str(&format!(
                "{} {} {}\n",
                crate::config::shown(&account.id),
                crate::config::shown(&role),
                crate::config::shown(&account.name)
            ));
        }
    }
    print(&text)?;
    Ok(Some(ExitCode::SUCCESS))
}

/// The config file is the user's: one this large is no config file.
const CONFIG_LIMIT: u64 = 16 << 20;

/// `sso profiles SESSION`: a profile per assignment in the session's block of the config file.
fn profiles(
    name: &str,
    template: Option<&str>,
    region: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    use crate::sso::profiles as p;
    let env = Environment::from_process();
    let session = Profiles::load(&env)?.sso_session(name, &env)?;
    let template = template.unwrap_or(p::DEFAULT_TEMPLATE);
    let region = region.unwrap_or(&session.region);
    // The value lands in the file as it is: a line break or `#` would write other settings.
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        anyhow::bail!(
            "sso-session '{name}': region '{}' is no AWS region name",
            crate::config::shown(region)
        );
    }
    let path = crate::config::config_file_path(&env).ok_or_else(|| {
        anyhow::anyhow!("AWS_CONFIG_FILE is set to nothing: there is no config file to write")
    })?;
    // A config file linked from a dotfiles repository stays a link: the file it names is written.
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let cache = Cache::from_env(&env)?;
    let api = SdkSso::new(&session, Bundle::find(&env, None).as_ref());
    let token = match sso::access_token(
        &api,
        &session,
        name,
        &cache,
        Login::when_someone_can_answer(true),
    ) {
        Ok(t) => t,
        Err(e) if sso::needs_login(&e) => anyhow::bail!(
            "sso-session '{name}': no valid IAM Identity Center sign-in for {}: run `aws-runas sso login --sso-session {name}`",
            session.start_url
        ),
        Err(e) => return Err(e),
    };
    let context = || format!("sso-session '{name}'");
    let mut assignments = Vec::new();
    for account in api.accounts(&token).with_context(context)? {
        if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!(
                "sso-session '{name}': the portal listed account id '{}', which is no AWS account id",
                crate::config::shown(&account.id)
            );
        }
        for role in api
            .account_roles(&token, &account.id)
            .with_context(context)?
        {
            // IAM's own role name characters: nothing that could end an INI value or line.
            if role.is_empty()
                || !role
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
            {
                anyhow::bail!(
                    "sso-session '{name}': the portal listed role '{}' in account {}, which is no IAM role name",
                    crate::config::shown(&role),
                    account.id
                );
            }
            assignments.push(p::Assignment {
                account_id: account.id.clone(),
                account_name: account.name.clone(),
                role_name: role,
            });
        }
    }
    let named = p::named(template, name, &assignments).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(credentials) = crate::config::credentials_file_path(&env) {
        if let Some(bytes) = crate::private_file::read_user_file(&credentials, CONFIG_LIMIT)? {
            if let Some(taken) = p::taken_in_credentials(&String::from_utf8_lossy(&bytes), &named) {
                anyhow::bail!(
                    "{}: profile '{taken}' is defined there already: rename it, or choose a --name that avoids it",
                    credentials.display()
                );
            }
        }
    }

    let _lock = (!dry_run)
        .then(|| cache.lock(&crate::cache::CacheKey::file(&path)))
        .transpose()?;
    let old = match crate::private_file::read_user_file(&path, CONFIG_LIMIT)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!("{} is not UTF-8 text: not rewriting it", path.display())
        })?,
        None => String::new(),
    };
    let block = p::block(name, region, &named, p::line_ending(&old));
    let new = p::splice(&old, name, &block, &named)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if dry_run {
        print(&p::diff(&path.display().to_string(), &old, &new))?;
        return Ok(ExitCode::SUCCESS);
    }
    if new != old {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        crate::private_file::write_atomic(&path, new.as_bytes(), file_mode(&path))?;
    }
    eprintln!(
        "aws-runas: {} profiles of sso-session '{name}' in {}{}",
        named.len(),
        path.display(),
        if new == old { " (unchanged)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

/// The file's own mode, kept; 0600 for a new one.
#[cfg(unix)]
fn file_mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600)
}

#[cfg(not(unix))]
fn file_mode(_path: &std::path::Path) -> u32 {
    0o600
}
