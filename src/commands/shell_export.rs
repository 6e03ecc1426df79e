//! `__export SHELL [--refresh FILE] -- ARGS...`: what `runas use` and the prompt hook apply.
//!
//! Prints shell statements that set the credentials (the variables of `-O env`, plus
//! `AWSRUNAS_VARS` naming them) and the snippet's own state: when they expire, when they stop
//! being fresh, and the arguments to refresh them with. With `--refresh FILE` it runs as the
//! hook's background refresh: it never asks for an MFA code, and writes its statements to FILE
//! for the next prompt to apply — a failure included, as a notice and when to try again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use jiff::Timestamp;

use super::{first_line, print, CredentialRequest, Session};
use crate::cli::{ExportArgs, Options};
use crate::credentials::Credentials;
use crate::environment::{Environment, OURS};
use crate::output::environment;
use crate::private_file::write_private;
use crate::shell::Shell;

/// How long a failed background refresh waits before the hook tries again.
const RETRY: i64 = 60;
/// Leftover state files of shells long gone are removed after this.
const STALE_STATE: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn run(export: ExportArgs) -> anyhow::Result<ExitCode> {
    let ExportArgs {
        shell: kind,
        refresh,
        at,
        shell_pid,
        args,
    } = export;
    let refresh = refresh.as_deref();
    if let (Some(at), Some(file)) = (at, refresh) {
        if !wait_until(at, shell_pid, file) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    // A newer `runas use` or `runas off` retired this state file: nobody wants the result.
    if refresh.is_some_and(|file| !file.exists()) {
        return Ok(ExitCode::SUCCESS);
    }
    let shell = kind.shell();
    let env = Environment::from_process();
    let argv: Vec<OsString> = std::iter::once(OsString::from("aws-runas"))
        .chain(args.iter().map(OsString::from))
        .collect();
    // Read with no subcommands: `runas use sso` means the profile `sso`, never the subcommand.
    let cli = crate::cli::parse_profile_only(&argv).map_err(|e| anyhow::anyhow!(first_line(&e)))?;
    if cli.subcommand.is_some() || !cli.command.is_empty() {
        anyhow::bail!("runas use takes a profile and aws-runas flags, not a command");
    }
    let request = CredentialRequest {
        interactive: refresh.is_none(),
        ..super::request(&cli.options, cli.profile.as_deref())
    };
    let outcome = Session::open(&request).and_then(|session| {
        let creds = session.credentials(&request)?;
        Ok((session, creds))
    });
    match (outcome, refresh) {
        (Ok((session, creds)), None) => {
            let state = new_state_file(&session, &env)?;
            print(&statements(
                shell,
                &env,
                &session,
                &creds,
                &cli.options,
                &state,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        (Ok((session, creds)), Some(file)) => {
            let text = statements(shell, &env, &session, &creds, &cli.options, file);
            write_private(file, text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        (Err(e), None) => Err(e),
        (Err(e), Some(file)) => {
            let profile = cli
                .profile
                .or_else(|| crate::config::default_profile_name(&env).ok())
                .unwrap_or_default();
            write_private(file, failure(shell, &env, &profile, &e).as_bytes())?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Sleeps until `at` (Unix seconds). False when the wait became pointless: the shell exited or
/// its state file was retired.
fn wait_until(at: i64, shell_pid: Option<u32>, state: &Path) -> bool {
    loop {
        let left = at - Timestamp::now().as_second();
        if left <= 0 {
            return true;
        }
        if !state.exists() || shell_pid.is_some_and(|pid| !process_alive(pid)) {
            return false;
        }
        // Wake up now and then to notice a shell that went away.
        std::thread::sleep(Duration::from_secs(left.clamp(1, 10) as u64));
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks for existence without signalling; EPERM means it exists.
    // SAFETY: kill(2) with signal 0 has no effect on the target.
    let delivered = unsafe { libc::kill(pid, 0) } == 0;
    delivered || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// A fresh, private file for this `runas use`: a background refresh started for an earlier one
/// can never land in it. The previous one of this shell, and any abandoned long ago, go.
fn new_state_file(session: &Session, env: &Environment) -> anyhow::Result<PathBuf> {
    let dir = session.cache.shell_state_dir()?;
    if let Some(previous) = env.raw("__RUNAS_STATE").map(PathBuf::from) {
        if previous.parent() == Some(dir.as_path()) {
            let _ = std::fs::remove_file(previous);
        }
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_STATE);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let (_, path) = tempfile::Builder::new()
        .prefix("shell-")
        .tempfile_in(&dir)
        .and_then(|f| f.keep().map_err(|e| e.error))
        .with_context(|| format!("cannot create a state file in {}", dir.display()))?;
    Ok(path)
}

/// The arguments that reproduce these credentials: the identity-shaping flags, never a one-time
/// MFA code or a forced refresh.
fn refresh_args(options: &Options, profile: &str) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(d) = options.session_duration {
        args.extend(["-d".into(), format!("{}s", d.as_secs())]);
    }
    if let Some(d) = options.role_duration {
        args.extend(["-a".into(), format!("{}s", d.as_secs())]);
    }
    if let Some(serial) = &options.mfa_serial {
        args.extend(["-M".into(), serial.clone()]);
    }
    if let Some(id) = &options.external_id {
        args.extend(["-X".into(), id.clone()]);
    }
    if options.session {
        args.push("-s".into());
    }
    args.push(profile.to_owned());
    args
}

fn statements(
    shell: &dyn Shell,
    env: &Environment,
    session: &Session,
    creds: &Credentials,
    options: &Options,
    state: &Path,
) -> String {
    let resolved = &session.resolved;
    let mut lines = Vec::new();
    let mut ours = Vec::new();
    for (name, value) in environment(creds, resolved.region.as_deref(), &resolved.name) {
        let users_own = matches!(name, "AWS_REGION" | "AWS_DEFAULT_REGION")
            && env.raw(name).is_some()
            && !env.set_by_runas(name);
        match value {
            _ if users_own => {}
            Some(value) => {
                lines.push(shell.export(name, &value));
                ours.push(name);
            }
            None => lines.push(shell.unset(name)),
        }
    }
    lines.push(shell.export(OURS, &ours.join(" ")));
    match (creds.expiration, creds.refresh_at(resolved.refresh_window)) {
        (Some(expires), Some(refresh_at)) => {
            lines.push(shell.set("__RUNAS_EXPIRES", &expires.as_second().to_string()));
            lines.push(shell.set("__RUNAS_REFRESH_AT", &refresh_at.as_second().to_string()));
        }
        _ => {
            // Long-term keys: nothing for the hook to do.
            lines.push(shell.unset_global("__RUNAS_EXPIRES"));
            lines.push(shell.unset_global("__RUNAS_REFRESH_AT"));
        }
    }
    lines.push(shell.set("__RUNAS_STATE", &state.to_string_lossy()));
    lines.push(shell.set_list("__RUNAS_ARGS", &refresh_args(options, &resolved.name)));
    lines.push(shell.unset_global("__RUNAS_PENDING"));
    lines.push(shell.unset_global("__RUNAS_EXPIRED"));
    lines.join("\n") + "\n"
}

/// A background refresh that failed: say so when it matters, and when to try again.
fn failure(shell: &dyn Shell, env: &Environment, profile: &str, error: &anyhow::Error) -> String {
    let now = Timestamp::now().as_second();
    let expires = env
        .raw("AWS_CREDENTIAL_EXPIRATION")
        .and_then(|e| e.parse::<Timestamp>().ok())
        .map(|t| t.as_second());
    // All need the user: an MFA code, an Identity Center or web identity sign-in (never started
    // from a hook).
    let needs_login = crate::sso::needs_login(error);
    let needs_web_sign_in = crate::oidc::sign_in::needs_sign_in(error);
    let needs_mfa = crate::mfa::needs_code(error) || needs_login || needs_web_sign_in;
    let mut lines = Vec::new();
    if expires.is_some_and(|e| e <= now) {
        // Past expiry: make sure they are gone (a no-op where the hook already removed them).
        lines.push(shell.call("__runas_expire", ""));
    }
    let retry_at = match expires {
        Some(expires) if expires > now && needs_mfa => {
            let left = crate::duration::human(Duration::from_secs((expires - now) as u64));
            let fix = if needs_login {
                format!(
                    "an IAM Identity Center sign-in to refresh; run: aws-runas sso login {profile}"
                )
            } else if needs_web_sign_in {
                format!("a sign-in at the identity provider to refresh; run: runas use {profile}")
            } else {
                format!("an MFA code to refresh; run: runas use {profile}")
            };
            lines.push(shell.call(
                "__runas_notice",
                &format!("credentials of {profile} expire in {left} and need {fix}"),
            ));
            // Try again once they have expired; the hook removes them first.
            Some(expires)
        }
        _ if needs_mfa => None,
        // A passing fault (network, throttling): quietly try again soon. Expiry, if it comes
        // first, is announced by the hook itself.
        _ => Some(now + RETRY),
    };
    lines.push(match retry_at {
        Some(at) => shell.set("__RUNAS_REFRESH_AT", &at.to_string()),
        None => shell.unset_global("__RUNAS_REFRESH_AT"),
    });
    lines.push(shell.unset_global("__RUNAS_PENDING"));
    lines.join("\n") + "\n"
}
