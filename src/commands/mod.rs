//! One module per command. This file holds what they share: picking the command from the
//! parsed command line, resolving the profile the user named, and fetching its credentials.

pub mod completions;
pub mod credentials;
pub mod diagnose;
pub mod exec;
pub mod expiration;
pub mod init;
pub mod list;
pub mod man;
pub mod password;
pub mod profiles;
pub mod serve;
pub mod shell_export;
pub mod ssm;
pub mod sso;
pub mod update;
pub mod whoami;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;
use std::process::ExitCode;

use crate::cli::{Action, Cli, ExportArgs, ListWhat, Options, Sub};
use crate::config::Overrides;
pub use crate::session::{CredentialRequest, Session};

/// The internals the shell integration calls. They are dispatched before the public command
/// line is parsed, so help, completions and man pages never show them.
pub fn internal(args: &[OsString]) -> Option<anyhow::Result<ExitCode>> {
    match args.get(1)?.to_str()? {
        "__profiles" => Some(profiles::run()),
        "__export" => Some(match ExportArgs::try_parse_from(args.iter().skip(1)) {
            Ok(a) => shell_export::run(a),
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.exit(),
            Err(e) => Err(anyhow::anyhow!(first_line(&e))),
        }),
        _ => None,
    }
}

/// A clap error as one line, without the usage block.
pub fn first_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    format!(
        "{} (see aws-runas --help)",
        first.trim_start_matches("error: ")
    )
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli {
        subcommand,
        options,
        profile,
        command,
    } = cli;
    match subcommand {
        Some(Sub::List(ListWhat::Roles { profile })) => {
            return list::roles(&options, profile.as_deref())
        }
        Some(Sub::List(ListWhat::Mfa { profile })) => {
            return list::mfa(&options, profile.as_deref())
        }
        Some(Sub::Diagnose { profile }) => return diagnose::run(&options, profile.as_deref()),
        Some(Sub::Serve(args)) => return serve::run(&options, &args),
        Some(Sub::Ssm(what)) => return ssm::run(&options, &what),
        Some(Sub::Init { shell }) => return init::run(shell),
        Some(Sub::Completions { shell }) => return completions::run(shell),
        Some(Sub::Man { dir }) => return man::run(&dir),
        Some(Sub::Sso(what)) => return sso::run(&options, what),
        Some(Sub::Password { profile }) => return password::run(&options, profile.as_deref()),
        None => {}
    }
    let profile = profile.as_deref();
    match options.action() {
        Some(Action::Update) => update::run(),
        Some(Action::ListRoles) => list::roles(&options, profile),
        Some(Action::ListMfa) => list::mfa(&options, profile),
        Some(Action::Diagnose) => diagnose::run(&options, profile),
        Some(Action::Whoami) => whoami::run(&options, profile),
        Some(Action::Expiration) => expiration::run(&options, profile),
        None if !command.is_empty() => exec::run(&options, profile, &command),
        None => credentials::run(&options, profile),
    }
}

/// What the command line says about resolution, beating environment and files.
pub fn overrides(options: &Options) -> Overrides {
    Overrides {
        mfa_serial: options.mfa_serial.clone(),
        external_id: options.external_id.clone(),
        session_duration: options.session_duration,
        role_duration: options.role_duration,
    }
}

/// The credentials the command line asks for. Commands run where a person may be typing, so an
/// MFA code may be asked for; callers without a terminal clear `interactive`.
pub fn request(options: &Options, profile: Option<&str>) -> CredentialRequest {
    CredentialRequest {
        profile: profile.map(str::to_owned),
        overrides: overrides(options),
        otp: options.otp.clone(),
        session_only: options.session,
        force_refresh: options.refresh,
        interactive: true,
        credential_process: false,
        saml: saml_flags(options),
    }
}

/// `-S -W -C -T -U -P -R -J`, each with its v3 variables (clap reads only the first of several).
pub fn saml_flags(options: &Options) -> crate::config::signin::SamlFlags {
    let env = crate::environment::Environment::from_process();
    crate::config::signin::SamlFlags {
        auth_url: options.saml_url.clone(),
        username: options
            .username
            .clone()
            .or_else(|| env.get("SAML_USERNAME"))
            .or_else(|| env.get("WEB_USERNAME")),
        password: options
            .password
            .clone()
            .or_else(|| env.get("SAML_PASSWORD"))
            .or_else(|| env.get("WEB_PASSWORD")),
        provider: options
            .provider
            .clone()
            .or_else(|| env.get("SAML_PROVIDER"))
            .or_else(|| env.get("WEB_PROVIDER")),
        jump_role_arn: options.jump_role.clone(),
        web_auth_url: options.web_url.clone(),
        web_client_id: options.web_client.clone(),
        web_redirect_uri: options.web_redirect.clone(),
    }
}

/// The profile the command line names, resolved, with the request the command line makes.
pub fn open(
    options: &Options,
    profile: Option<&str>,
) -> anyhow::Result<(Session, CredentialRequest)> {
    let request = request(options, profile);
    Ok((Session::open(&request)?, request))
}

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a message.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
