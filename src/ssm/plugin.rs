//! `-P`: AWS's session-manager-plugin runs the session instead of our client. We call
//! StartSession (so target resolution and credentials stay ours) and hand the plugin the
//! response through an environment variable, never argv, since it holds the session token.
//! The plugin makes its own ResumeSession/TerminateSession calls, so the credentials and
//! region go into its environment too.

use std::process::{Command, ExitCode};

use anyhow::Context;

use super::{Api, Request};
use crate::credentials::Credentials;

pub const PLUGIN: &str = "session-manager-plugin";
/// The plugin reads the response from a variable whose name starts with this (and unsets it).
const RESPONSE_VARIABLE: &str = "AWS_SSM_START_SESSION_RESPONSE";

pub fn run(api: &Api, request: &Request, credentials: &Credentials) -> anyhow::Result<ExitCode> {
    let program = find_on_path(PLUGIN).with_context(|| {
        format!("-P needs AWS's {PLUGIN} on PATH; without -P the built-in client is used")
    })?;
    let started = crate::aws::block_on(api.start(request))?;
    let response = serde_json::json!({
        "SessionId": started.session_id,
        "TokenValue": started.token,
        "StreamUrl": started.stream_url,
    });
    let mut parameters = serde_json::json!({ "Target": request.target });
    if let Some(document) = request.document {
        parameters["DocumentName"] = document.into();
        parameters["Parameters"] = serde_json::to_value(request.parameters_map())?;
    }
    let mut command = Command::new(&program);
    command
        .arg(RESPONSE_VARIABLE)
        .arg(&api.region)
        .arg("StartSession")
        // No profile: the plugin takes the credentials from its environment.
        .arg("")
        .arg(parameters.to_string())
        .arg(api.endpoint_url())
        .env(RESPONSE_VARIABLE, response.to_string())
        .env("AWS_REGION", &api.region)
        .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE");
    match &credentials.session_token {
        Some(token) => command.env("AWS_SESSION_TOKEN", token),
        None => command.env_remove("AWS_SESSION_TOKEN"),
    };
    tracing::debug!(
        "running {} for session {}",
        program.display(),
        started.session_id
    );
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {}", program.display()))?;
    outlive_keyboard_signals();
    let status = child
        .wait()
        .with_context(|| format!("lost track of {}", program.display()))?;
    Ok(match status.code() {
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// Ctrl-C and Ctrl-\\ reach the whole foreground group: the plugin acts on them (it ends a
/// port session, or passes them to a remote shell), and we wait for it to finish instead of
/// dying first and leaving it behind on the terminal. Set after the spawn, so the plugin
/// keeps the default handling.
#[cfg(unix)]
fn outlive_keyboard_signals() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGQUIT] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::new(AtomicBool::new(false))) {
            tracing::debug!("cannot catch signal {signal}: {e}");
        }
    }
}

/// Windows delivers Ctrl-C to every console process; the plugin handles its own.
#[cfg(not(unix))]
fn outlive_keyboard_signals() {}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        let exe = dir.join(format!("{name}.exe"));
        exe.is_file().then_some(exe)
    })
}
