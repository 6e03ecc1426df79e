//! `sso login [PROFILE]`, `sso logout [PROFILE]`, and `list roles` for IAM Identity Center
//! profiles: what the portal lets the signed-in user into.

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
