//! The default command: print the credentials for `eval`, or as credential_process JSON.

use std::process::ExitCode;

use super::{open, print};
use crate::cli::Options;
use crate::output::{credential_process_json, shell_statements};

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let (session, mut request) = open(options, profile)?;
    request.credential_process = options.output.shell().is_none();
    let creds = session.credentials(&request)?;
    if options.write_credentials {
        // The file is the output: keep secrets off the terminal.
        session.write_credentials_file(&creds)?;
        return Ok(ExitCode::SUCCESS);
    }
    let resolved = &session.resolved;
    let text = match options.output.shell() {
        Some(shell) => shell_statements(shell, &creds, resolved.region.as_deref(), &resolved.name),
        None => credential_process_json(&creds),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
