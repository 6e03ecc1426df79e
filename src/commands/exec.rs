//! `aws-runas PROFILE COMMAND...`: run a command with the profile's credentials.
//!
//! By default the command gets a local ECS-style credential endpoint (a random port and token
//! per run) instead of static keys, so an SDK in a long-running command keeps getting fresh
//! credentials past the role's lifetime; aws-runas stays as its parent, passing its exit status
//! back and forwarding the signals that are meant for it. With `-E` the command gets the
//! credentials as variables, and on Unix replaces this process.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;

use super::{open, Session};
use crate::cli::Options;
use crate::config::{
    config_file_path, credentials_file_path, REAL_CONFIG_FILE, REAL_CREDENTIALS_FILE,
};
use crate::environment::Environment;
use crate::output::{environment, EXPORTED_VARIABLES};
use crate::server::broker::Broker;
use crate::server::ecs::Ecs;
use crate::server::{local_hosts, random_token, start};

/// Variables that would make the child use other credentials than the ones we hand it.
const SHADOWING_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    // SDKs try a web identity before the container endpoint.
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
];

/// The identity provider password is for aws-runas, never for the command it runs.
const SECRET_VARIABLES: &[&str] = &["RUNAS_PASSWORD", "SAML_PASSWORD", "WEB_PASSWORD"];

/// Shells whose `-i -c` runs a command line with the user's aliases and functions.
const KNOWN_SHELLS: &[&str] = &["bash", "zsh", "fish", "ksh", "sh", "dash"];

#[cfg(unix)]
const NULL_DEVICE: &str = "/dev/null";
#[cfg(not(unix))]
const NULL_DEVICE: &str = "NUL";

pub fn run(
    options: &Options,
    profile: Option<&str>,
    command: &[String],
) -> anyhow::Result<ExitCode> {
    let (session, request) = open(options, profile)?;
    // Before the command starts: an MFA prompt here, and errors before anything runs.
    let creds = session.credentials(&request)?;
    if options.write_credentials {
        session.write_credentials_file(&creds)?;
    }
    let resolved = &session.resolved;
    let mut child = command_for(command);
    for name in SHADOWING_VARIABLES
        .iter()
        .chain(EXPORTED_VARIABLES)
        .chain(SECRET_VARIABLES)
    {
        child.env_remove(name);
    }
    if options.env_credentials {
        for (name, value) in environment(&creds, resolved.region.as_deref(), &resolved.name) {
            if let Some(value) = value {
                child.env(name, value);
            }
        }
        tracing::debug!(
            "running {:?} with credentials in its environment",
            command[0]
        );
        return Ok(replace_process(child, &command[0]));
    }

    let broker = Arc::new(Broker::new(request, &resolved.name));
    let token = random_token()?;
    let endpoint_token = token.clone();
    let running = start("127.0.0.1:0", move |bound| {
        let ecs = Ecs {
            broker,
            token: endpoint_token,
            hosts: local_hosts(bound),
            page: None,
        };
        Ok(Arc::new(move |r: &_| ecs.handle(r)))
    })?;
    let url = format!("http://127.0.0.1:{}/credentials", running.addr.port());
    child
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", &token)
        .env("AWSRUNAS_PROFILE", &resolved.name);
    if let Some(region) = &resolved.region {
        child
            .env("AWS_REGION", region)
            .env("AWS_DEFAULT_REGION", region);
    }
    // SDKs read a profile's file credentials before the container endpoint, so the command's
    // SDKs must not see them; an aws-runas inside the command still finds them.
    let env = Environment::from_process();
    if let Some(real) = credentials_file_path(&env) {
        child.env(REAL_CREDENTIALS_FILE, real);
    }
    child.env("AWS_SHARED_CREDENTIALS_FILE", NULL_DEVICE);
    if default_profile_has_credentials(&session) {
        if let Some(real) = config_file_path(&env) {
            child.env(REAL_CONFIG_FILE, real);
        }
        child.env("AWS_CONFIG_FILE", NULL_DEVICE);
    }
    tracing::debug!("running {:?} with the endpoint {url}", command[0]);
    let code = supervise(child, &command[0]);
    running.stop();
    Ok(code)
}

/// The config file's `[default]` profile would hand the SDK credentials of its own before the
/// endpoint's: such a config file is hidden from the command.
fn default_profile_has_credentials(session: &Session) -> bool {
    [
        "aws_access_key_id",
        "role_arn",
        "credential_process",
        "sso_start_url",
        "sso_session",
        "web_identity_token_file",
    ]
    .iter()
    .any(|key| session.profiles.setting("default", key).is_some())
}

/// The command itself, or — when it is not a program on PATH but maybe an alias or function of
/// the user's shell — that shell running it interactively.
fn command_for(command: &[String]) -> Command {
    let program = &command[0];
    let shell = std::env::var("SHELL").ok().filter(|s| {
        let name = Path::new(s)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        KNOWN_SHELLS.contains(&name)
    });
    match shell {
        Some(shell) if !on_path(program) => {
            let mut c = Command::new(shell);
            c.arg("-i").arg("-c").arg(shell_words::join(command));
            c
        }
        _ => {
            let mut c = Command::new(program);
            c.args(&command[1..]);
            c
        }
    }
}

fn on_path(program: &str) -> bool {
    if program.contains(std::path::MAIN_SEPARATOR) || program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let candidate = dir.join(program);
            candidate.is_file() || (cfg!(windows) && candidate.with_extension("exe").is_file())
        })
    })
}

fn report(program: &str, err: &std::io::Error) -> ExitCode {
    eprintln!("aws-runas: cannot run '{program}': {err}");
    // The shells' convention: 127 not found, 126 found but not runnable.
    ExitCode::from(if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    })
}

#[cfg(unix)]
fn replace_process(mut child: Command, program: &str) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let err = child.exec();
    report(program, &err)
}

#[cfg(not(unix))]
fn replace_process(child: Command, program: &str) -> ExitCode {
    supervise(child, program)
}

/// Runs the command as our child. Ctrl-C and Ctrl-\\ from the terminal reach it directly (it is
/// in our process group), so here they are only kept from ending us first; TERM and HUP sent to
/// us are meant for it and passed on. Its exit status is ours; death by a signal is 128 + signal.
#[cfg(unix)]
fn supervise(mut child: Command, program: &str) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;

    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

    let signals = signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP]);
    let mut process = match child.spawn() {
        Ok(p) => p,
        Err(e) => return report(program, &e),
    };
    let pid = process.id() as libc::pid_t;
    let forwarder = signals.ok().map(|mut signals| {
        let handle = signals.handle();
        let thread = std::thread::spawn(move || {
            for signal in signals.forever() {
                if signal == SIGTERM || signal == SIGHUP {
                    // SAFETY: kill(2) on our own child's pid.
                    unsafe { libc::kill(pid, signal) };
                }
            }
        });
        (handle, thread)
    });
    let status = process.wait();
    if let Some((handle, thread)) = forwarder {
        handle.close();
        let _ = thread.join();
    }
    match status {
        Ok(status) => {
            let code = status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(e) => report(program, &e),
    }
}

#[cfg(not(unix))]
fn supervise(mut child: Command, program: &str) -> ExitCode {
    match child.status() {
        // Exit codes above 255 exist here and ExitCode cannot carry them.
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => report(program, &err),
    }
}
