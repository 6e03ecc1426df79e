//! `aws-runas PROFILE COMMAND...`: run a command with the credentials in its environment.
//! On Unix the command replaces this process, so its exit status and every signal are its own.

use std::process::{Command, ExitCode};

use super::Session;
use crate::cli::Options;
use crate::output::{environment, EXPORTED_VARIABLES};

/// Variables that would make the child use other credentials than the ones we hand it.
const SHADOWING_VARIABLES: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

pub fn run(
    options: &Options,
    profile: Option<&str>,
    command: &[String],
) -> anyhow::Result<ExitCode> {
    let session = Session::new(options, profile)?;
    let creds = session.credentials(options)?;
    if options.write_credentials {
        session.write_credentials_file(&creds)?;
    }
    let resolved = &session.resolved;

    let mut child = Command::new(&command[0]);
    child.args(&command[1..]);
    for name in SHADOWING_VARIABLES.iter().chain(EXPORTED_VARIABLES) {
        child.env_remove(name);
    }
    for (name, value) in environment(&creds, resolved.region.as_deref(), &resolved.name) {
        if let Some(value) = value {
            child.env(name, value);
        }
    }
    tracing::debug!("running {:?}", command[0]);
    Ok(replace_process(child, &command[0]))
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
fn replace_process(mut child: Command, program: &str) -> ExitCode {
    match child.status() {
        // Exit codes above 255 exist here and ExitCode cannot carry them.
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => report(program, &err),
    }
}
