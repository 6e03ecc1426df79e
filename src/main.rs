//! aws-runas: AWS credentials for the role you need, in the shell you are typing in.

// On Linux with glibc the process starts in `start`, without the runtime's stack-guard probe.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

mod aws;
mod cache;
mod cli;
mod commands;
mod config;
mod context;
mod credentials;
mod credentials_file;
mod digest;
mod duration;
mod environment;
mod http_server;
mod idp;
mod logging;
mod mfa;
mod oauth;
mod oidc;
mod output;
mod policy;
mod private_file;
mod secrets;
mod server;
mod session;
mod shell;
mod shown;
mod sources;
mod ssm;
mod sso;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod start;
mod tls;
mod tty;

use std::process::ExitCode;

use clap::error::ErrorKind;

#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    start::run_process(run)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(test))))]
fn main() -> ExitCode {
    run()
}

fn run() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = match commands::internal(&args) {
        Some(result) => result,
        None => {
            if let Some(version) = cli::plain_version(&args) {
                // As clap's own `--version`: a closed stdout is not an error worth a line.
                let _ = std::io::Write::write_all(&mut std::io::stdout(), version.as_bytes());
                return ExitCode::SUCCESS;
            }
            let cli = match cli::parse(&args) {
                Ok(cli) => cli,
                Err(e)
                    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) =>
                {
                    e.exit()
                }
                Err(e) => {
                    let line = commands::shadowed_profile(&args)
                        .unwrap_or_else(|| commands::first_line(&e));
                    eprintln!("aws-runas: {}", shown::one_line(&line));
                    return ExitCode::from(2);
                }
            };
            let env_verbose = environment::Environment::from_process().is_truthy("RUNAS_VERBOSE");
            logging::init(cli.options.verbose.max(u8::from(env_verbose)));
            commands::dispatch(cli)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever the error chain holds.
            let message = shown::one_line(&format!("{e:#}"));
            eprintln!("aws-runas: {message}");
            ExitCode::FAILURE
        }
    }
}
