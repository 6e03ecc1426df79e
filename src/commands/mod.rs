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
pub mod profiles;
pub mod serve;
pub mod shell_export;
pub mod ssm;
pub mod update;
pub mod whoami;

use std::ffi::OsString;
use std::io::Write;

use anyhow::Context;
use clap::Parser;
use std::process::ExitCode;

use crate::aws::sts::SdkSts;
use crate::cache::Cache;
use crate::cli::{Cli, ExportArgs, ListWhat, Options, Sub};
use crate::config::{default_profile_name, Overrides, Profiles, Resolved};
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::mfa::TerminalMfa;
use crate::provider::Provider;

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
        None => {}
    }
    let profile = profile.as_deref();
    if options.update {
        update::run()
    } else if options.list_roles {
        list::roles(&options, profile)
    } else if options.list_mfa {
        list::mfa(&options, profile)
    } else if options.diagnose {
        diagnose::run(&options, profile)
    } else if options.whoami {
        whoami::run(&options, profile)
    } else if options.expiration {
        expiration::run(&options, profile)
    } else if !command.is_empty() {
        exec::run(&options, profile, &command)
    } else {
        credentials::run(&options, profile)
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

/// A profile resolved against files and environment, with the cache it uses.
pub struct Session {
    pub profiles: Profiles,
    pub resolved: Resolved,
    pub cache: Cache,
}

impl Session {
    pub fn new(options: &Options, profile: Option<&str>) -> anyhow::Result<Self> {
        let env = Environment::from_process();
        let name = profile
            .map(str::to_owned)
            .unwrap_or_else(|| default_profile_name(&env));
        let profiles = Profiles::load(&env)?;
        let resolved = profiles.resolve(&name, &overrides(options), &env)?;
        let cache = Cache::from_env(&env)?;
        Ok(Self {
            profiles,
            resolved,
            cache,
        })
    }

    pub fn sts(&self) -> SdkSts {
        SdkSts::new(
            self.resolved.region.as_deref(),
            self.resolved.sts_endpoint.as_deref(),
        )
    }

    /// The credentials the options ask for, from the cache or STS.
    pub fn credentials(&self, options: &Options) -> anyhow::Result<Credentials> {
        self.credentials_with_prompt(options, true)
    }

    /// Like `credentials`; without `interactive` an MFA code is never asked for.
    pub fn credentials_with_prompt(
        &self,
        options: &Options,
        interactive: bool,
    ) -> anyhow::Result<Credentials> {
        let sts = self.sts();
        let mfa = TerminalMfa {
            preset: options.otp.clone(),
            interactive,
        };
        Provider {
            resolved: &self.resolved,
            cache: &self.cache,
            sts: &sts,
            mfa: &mfa,
            force_refresh: options.refresh,
        }
        .credentials(options.session)
    }
}

impl Session {
    /// `-c`: the credentials also go to a `[PROFILE-awsrunas]` section of the credentials file.
    pub fn write_credentials_file(&self, creds: &Credentials) -> anyhow::Result<()> {
        let env = Environment::from_process();
        let path = crate::config::credentials_file_path(&env)
            .context("no credentials file: set HOME or AWS_SHARED_CREDENTIALS_FILE")?;
        crate::credentials_file::write(&path, &self.resolved.name, creds, &self.cache)?;
        eprintln!(
            "aws-runas: wrote [{}] to {}",
            crate::credentials_file::section_name(&self.resolved.name),
            path.display()
        );
        Ok(())
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a message.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
