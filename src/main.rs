//! aws-runas: AWS credentials for the role you need, in the shell you are typing in.

mod aws;
mod cache;
mod cli;
mod commands;
mod config;
mod credentials;
mod duration;
mod environment;
mod logging;
mod mfa;
mod output;
mod provider;
mod shell;
mod tty;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            eprintln!(
                "aws-runas: {} (see aws-runas --help)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let env_verbose = environment::Environment::from_process().is_truthy("RUNAS_VERBOSE");
    logging::init(cli.options.verbose.max(u8::from(env_verbose)));
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever the error chain holds.
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("aws-runas: {message}");
            ExitCode::FAILURE
        }
    }
}
