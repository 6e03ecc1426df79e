//! `aws-runas password PROFILE`: stores the password of the profile's identity-provider user in
//! the OS keyring, read from the terminal without echo, or from stdin when that is not one.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::Options;
use crate::config::signin;
use crate::config::{default_profile_name, Profiles};
use crate::environment::Environment;
use crate::idp::http::origin;
use crate::{secrets, tty};

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    let name = match profile {
        Some(name) => name.to_owned(),
        None => default_profile_name(&env)?,
    };
    let profiles = Profiles::load(&env)?;
    let flags = super::saml_flags(options);
    // The IdP (SAML, else OpenID) whose login form the password is for.
    let (auth_url, username, username_key) = match signin::resolve(
        &profiles, &name, &flags, None, &env,
    )? {
        Some(saml) => (saml.auth_url, saml.username, "saml_username"),
        None => {
            let web = signin::resolve_web(&profiles, &name, &flags, None, &env)?
                    .with_context(|| {
                        format!("profile '{name}' signs in at no identity provider: set saml_auth_url or web_identity_auth_url, or pass -S or -W")
                    })?;
            (web.auth_url, web.username, "web_identity_username")
        }
    };
    let idp = origin(&auth_url);
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let username = match username {
        Some(u) => u,
        None if interactive => tty::ask(&format!("Username for {idp}: "))?,
        None => anyhow::bail!(
            "profile '{name}' has no username for {idp}: set {username_key}, or pass -U"
        ),
    };
    let password = if interactive {
        tty::ask_secret(&format!("Password for {username} at {idp}: "))?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("no password given: nothing stored");
    }
    secrets::store_idp_password(&auth_url, &username, &password)?;
    eprintln!("aws-runas: stored the password of '{username}' at {idp} in the OS keyring");
    Ok(ExitCode::SUCCESS)
}
