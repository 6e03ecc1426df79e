//! One module per command. This file holds what they share: picking the command from the
//! parsed command line, resolving the profile the user named, and fetching its credentials.

pub mod credentials;
pub mod exec;
pub mod expiration;
pub mod whoami;

use std::io::Write;
use std::process::ExitCode;

use crate::aws::sts::SdkSts;
use crate::cache::Cache;
use crate::cli::{Cli, Options};
use crate::config::{default_profile_name, Overrides, Profiles, Resolved};
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::mfa::TerminalMfa;
use crate::provider::Provider;

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let Cli {
        options,
        profile,
        command,
    } = cli;
    let profile = profile.as_deref();
    if options.whoami {
        whoami::run(&options, profile)
    } else if options.expiration {
        expiration::run(&options, profile)
    } else if !command.is_empty() {
        exec::run(&options, profile, &command)
    } else {
        credentials::run(&options, profile)
    }
}

/// A profile resolved against files and environment, with the cache it uses.
pub struct Session {
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
        let overrides = Overrides {
            mfa_serial: options.mfa_serial.clone(),
            external_id: options.external_id.clone(),
            session_duration: options.session_duration,
            role_duration: options.role_duration,
        };
        let resolved = profiles.resolve(&name, &overrides, &env)?;
        let cache = Cache::from_env(&env)?;
        Ok(Self { resolved, cache })
    }

    pub fn sts(&self) -> SdkSts {
        SdkSts::new(
            self.resolved.region.as_deref(),
            self.resolved.sts_endpoint.as_deref(),
        )
    }

    /// The credentials the options ask for, from the cache or STS.
    pub fn credentials(&self, options: &Options) -> anyhow::Result<Credentials> {
        let sts = self.sts();
        let mfa = TerminalMfa {
            preset: options.otp.clone(),
            interactive: true,
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

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a message.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
