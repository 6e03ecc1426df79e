//! `diagnose` / `-D`: checks a profile's configuration and environment and says what to fix,
//! one line a finding, after the resolved profile (secrets redacted). Exits 1 if any finding is
//! an error.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use jiff::Timestamp;

use super::print;
use crate::aws::sts::SdkSts;
use crate::cache::Cache;
use crate::cli::Options;
use crate::config::signin::{Provider, SamlSettings, WebSettings};
use crate::config::{
    default_profile_name, Keys, Profiles, Resolved, Root, SourceOrigin, SsoSettings,
    WebIdentitySettings,
};
use crate::credentials::redact_key_id;
use crate::duration::human;
use crate::environment::Environment;
use crate::idp::detect_from_headers;
use crate::secrets::SecretError;
use crate::sources::saml::{Saml, WouldAsk};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Info,
    Warn,
    Error,
}

struct Report {
    lines: Vec<(Level, String)>,
}

impl Report {
    fn add(&mut self, level: Level, text: impl Into<String>) {
        self.lines.push((level, text.into()));
    }

    fn render(&self) -> String {
        self.lines
            .iter()
            .map(|(level, text)| {
                let tag = match level {
                    Level::Ok => "ok",
                    Level::Info => "info",
                    Level::Warn => "warn",
                    Level::Error => "error",
                };
                format!("{tag:<5} {text}\n")
            })
            .collect()
    }
}

/// AWS rejects requests signed more than five minutes off its clock.
const MAX_SKEW: Duration = Duration::from_secs(300);

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    let name = match profile {
        Some(name) => Ok(name.to_owned()),
        None => default_profile_name(&env),
    };
    let mut report = Report { lines: Vec::new() };
    let mut summary = String::new();

    check_environment(&env, &mut report);
    match name.and_then(|name| Ok((name, Profiles::load(&env)?))) {
        Err(e) => report.add(Level::Error, e.to_string()),
        Ok((name, profiles)) => {
            check_shadowed(&profiles, &mut report);
            let request = super::request(options, Some(&name));
            match crate::session::resolve(&profiles, &name, &request, &env) {
                Err(e) => report.add(Level::Error, format!("{e}")),
                Ok(resolved) => {
                    summary = describe(&resolved);
                    check_resolved(&env, &profiles, &resolved, &mut report);
                    report.add(Level::Info, super::console::describe(&resolved));
                }
            }
        }
    }
    check_cache(&env, &mut report);
    check_shell(&env, &mut report);

    let worst = report
        .lines
        .iter()
        .map(|(l, _)| *l)
        .max()
        .unwrap_or(Level::Ok);
    print(&format!("{summary}\n{}", report.render()))?;
    Ok(if worst == Level::Error {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The resolved profile, as a person checks it against their config: no secret in it.
fn describe(r: &Resolved) -> String {
    let mut out = format!("profile: {}\n", r.name);
    let _ = match &r.root {
        Root::Saml(saml) => writeln!(
            out,
            "source: SAML sign-in at {} as {} ({:?} provider)\nassume with SAML: {} ({})",
            crate::idp::http::origin(&saml.auth_url),
            saml.username.as_deref().unwrap_or("(asked)"),
            saml.provider,
            saml.saml_role
                .as_deref()
                .unwrap_or("the role the identity provider offers"),
            human(saml.duration)
        ),
        Root::Sso(s) => writeln!(
            out,
            "source: IAM Identity Center {} ({}), account {}, role {} (profile '{}')",
            s.session.start_url,
            s.session.region,
            s.account_id.as_deref().unwrap_or("(not set)"),
            s.role_name.as_deref().unwrap_or("(not set)"),
            s.profile
        ),
        Root::WebSignIn(w) => writeln!(
            out,
            "source: web identity sign-in at {} (client {}, redirect URI {}, {:?} provider, {:?} flow) as {}\nassume with the ID token: {} ({})",
            crate::idp::http::origin(&w.auth_url),
            w.client_id,
            w.redirect_uri,
            w.provider,
            w.flow,
            w.username.as_deref().unwrap_or("(asked)"),
            w.web_role,
            human(w.duration)
        ),
        Root::WebIdentity(w) => writeln!(
            out,
            "source: web identity token {} for {} (profile '{}')",
            w.token_file.display(),
            w.role_arn,
            w.profile
        ),
        Root::LoginSession(l) => writeln!(
            out,
            "source: `aws login` session '{}' in {} (profile '{}')",
            l.session,
            l.cache_file.display(),
            l.profile
        ),
        Root::Keyring(k) => writeln!(
            out,
            "source: keys of profile '{}' in the OS keyring (if it holds them)",
            k.profile
        ),
        Root::Keys(keys) => {
            let key = redact_key_id(&keys.credentials.access_key_id);
            match &keys.origin {
                SourceOrigin::Profile(p) => writeln!(out, "source: keys {key} of profile '{p}'"),
                SourceOrigin::Environment => {
                    writeln!(out, "source: keys {key} from the environment")
                }
            }
        }
    };
    for hop in &r.hops {
        let _ = write!(
            out,
            "assume: {} (profile '{}', {}",
            hop.role_arn,
            hop.profile,
            human(hop.duration)
        );
        if hop.external_id.is_some() {
            out.push_str(", external id set");
        }
        if let Some(session) = &hop.session_name {
            let _ = write!(out, ", session name {session}");
        }
        out.push_str(")\n");
    }
    let none = || "none".to_owned();
    let _ = writeln!(
        out,
        "mfa_serial: {}",
        r.mfa_serial.clone().unwrap_or_else(none)
    );
    let _ = writeln!(out, "region: {}", r.region.clone().unwrap_or_else(none));
    let _ = writeln!(out, "session token duration: {}", human(r.session_duration));
    let _ = writeln!(out, "refresh window: {}", human(r.refresh_window));
    if let Some(endpoint) = &r.sts_endpoint {
        let _ = writeln!(out, "sts endpoint: {endpoint}");
    }
    out
}

fn check_environment(env: &Environment, report: &mut Report) {
    let key = env.get("AWS_ACCESS_KEY_ID");
    let token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"));
    if let (Some(key), Some(_)) = (&key, &token) {
        if key.starts_with("AKIA") {
            report.add(
                Level::Error,
                format!("the environment pairs a long-term key ({}) with a session token: AWS rejects it; unset AWS_SESSION_TOKEN or set the matching temporary key", redact_key_id(key)),
            );
        }
    }
    if let (Some(key), None) = (&key, &token) {
        if key.starts_with("ASIA") {
            report.add(
                Level::Error,
                format!("the environment has a temporary key ({}) without AWS_SESSION_TOKEN: set it, or unset AWS_ACCESS_KEY_ID", redact_key_id(key)),
            );
        }
    }
    if key.is_some() && env.get("AWS_SECRET_ACCESS_KEY").is_none() {
        report.add(
            Level::Error,
            "AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY: set both or neither",
        );
    }
}

/// A profile named like a subcommand is reached only past `--`.
fn check_shadowed(profiles: &Profiles, report: &mut Report) {
    let words = crate::cli::subcommand_words();
    for name in profiles.names().filter(|n| words.iter().any(|w| w == n)) {
        report.add(
            Level::Warn,
            format!("profile '{name}' has the name of a subcommand: `aws-runas {name} ...` runs the subcommand; for the profile, run aws-runas {} (`runas use {name}` means the profile)", crate::cli::profile_argument(name)),
        );
    }
}

/// The checks of a resolved profile, by where its chain starts: one arm a kind of root.
fn check_resolved(env: &Environment, profiles: &Profiles, r: &Resolved, report: &mut Report) {
    match &r.root {
        Root::Keys(keys) => {
            check_keys(env, profiles, keys, report);
            check_not_in_keyring_too(profiles, keys, report);
            check_profile(profiles, r, report);
            if r.hops.is_empty() && r.mfa_serial.is_none() {
                report.add(
                    Level::Info,
                    format!(
                        "profile '{}' assumes no role: aws-runas gives session-token credentials for it",
                        r.name
                    ),
                );
            }
            check_aws(r, keys, report);
        }
        Root::Keyring(k) => match crate::sources::keyring_credentials(k) {
            Ok(credentials) => {
                report.add(
                    Level::Ok,
                    format!("profile '{}' has keys in the OS keyring", k.profile),
                );
                check_profile(profiles, r, report);
                let keys = Keys {
                    origin: SourceOrigin::Profile(k.profile.clone()),
                    credentials,
                };
                check_aws(r, &keys, report);
            }
            Err(e) => report.add(Level::Error, format!("{e:#}")),
        },
        Root::Saml(s) => {
            check_profile(profiles, r, report);
            check_saml(env, s, report);
        }
        Root::Sso(s) => check_sso(s, report),
        Root::WebIdentity(w) => check_token_file(w, report),
        Root::WebSignIn(w) => check_web_sign_in(r, w, report),
        Root::LoginSession(l) => check_login_session(r, l, report),
    }
}

/// The `aws login` entry: when its keys expire, and whether aws-runas can renew them then.
fn check_login_session(r: &Resolved, l: &crate::config::LoginSessionSettings, report: &mut Report) {
    let session = crate::sources::login_session::LoginSession::new(
        l,
        r.region.as_deref(),
        r.ca_bundle.as_ref(),
    );
    match session.status() {
        Ok(status) => {
            let expiry = if status.expires > jiff::Timestamp::now() {
                format!("expire at {}", status.expires)
            } else {
                format!("expired at {}", status.expires)
            };
            let renew = if status.renewable {
                "renewable with its refresh token and DPoP key"
            } else {
                "not renewable (no refresh token, client id or usable DPoP key): run `aws login` again when they expire"
            };
            report.add(
                if status.renewable {
                    Level::Ok
                } else {
                    Level::Warn
                },
                format!(
                    "login session '{}' of profile '{}': its keys {expiry}, {renew}",
                    l.session, l.profile
                ),
            );
        }
        Err(e) => report.add(Level::Error, format!("{e:#}")),
    }
}

/// Keys in the files and in the keyring for one profile: the files' win, which nobody meant.
fn check_not_in_keyring_too(profiles: &Profiles, keys: &Keys, report: &mut Report) {
    let SourceOrigin::Profile(p) = &keys.origin else {
        return;
    };
    let Some((_, file)) = profiles.setting(p, "aws_access_key_id") else {
        return;
    };
    if let Ok(Some(_)) = crate::secrets::profile_keys(p) {
        report.add(
            Level::Error,
            format!("profile '{p}' has keys in {} and in the OS keyring: the file's are used; remove one (`aws-runas keys remove {p}` for the keyring's)", file.display()),
        );
    }
}

/// Keys from a profile: shadowed by the environment's, or a mismatched pair.
fn check_keys(env: &Environment, profiles: &Profiles, keys: &Keys, report: &mut Report) {
    let SourceOrigin::Profile(source) = &keys.origin else {
        return;
    };
    // Static keys in the environment shadow the file's in every AWS SDK.
    if env.get("AWS_ACCESS_KEY_ID").is_some() {
        if let Some((_, file)) = profiles.setting(source, "aws_access_key_id") {
            report.add(
                Level::Warn,
                format!("AWS_ACCESS_KEY_ID is set in the environment and profile '{source}' has keys in {}: the AWS CLI and SDKs use the environment's; unset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY unless that is what you want", file.display()),
            );
        }
    }
    let creds = &keys.credentials;
    let file = profiles
        .setting(source, "aws_access_key_id")
        .map(|(_, f)| f.display().to_string())
        .unwrap_or_default();
    if creds.access_key_id.starts_with("AKIA") && creds.is_temporary() {
        report.add(Level::Error, format!("profile '{source}' in {file} pairs a long-term key with aws_session_token: remove aws_session_token"));
    }
    if creds.access_key_id.starts_with("ASIA") && !creds.is_temporary() {
        report.add(Level::Error, format!("profile '{source}' in {file} has a temporary key (ASIA…) without aws_session_token"));
    }
}

/// Region, the roles' profiles and the MFA device: what keys and a SAML sign-in share.
fn check_profile(profiles: &Profiles, r: &Resolved, report: &mut Report) {
    match &r.region {
        Some(region) => report.add(Level::Ok, format!("region {region}")),
        None => report.add(
            Level::Warn,
            format!(
                "no region: add region = ... to [profile {}] or set AWS_REGION",
                r.name
            ),
        ),
    }
    for hop in &r.hops {
        let has_keys = profiles
            .setting(&hop.profile, "aws_access_key_id")
            .is_some();
        let self_sourced = profiles
            .setting(&hop.profile, "source_profile")
            .map(|(v, _)| v)
            == Some(hop.profile.as_str());
        if has_keys && !self_sourced {
            report.add(
                Level::Info,
                format!("profile '{}' has keys that are not used: it assumes its role with its source profile's", hop.profile),
            );
        }
    }
    if let Some(serial) = &r.mfa_serial {
        let arn_like = serial.starts_with("arn:aws") && serial.contains(":mfa/");
        let hardware =
            (9..=32).contains(&serial.len()) && serial.chars().all(|c| c.is_ascii_alphanumeric());
        if arn_like || hardware {
            report.add(Level::Ok, format!("mfa_serial {serial}"));
        } else {
            report.add(Level::Warn, format!("mfa_serial '{serial}' is neither an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME) nor a hardware serial"));
        }
    }
}

/// An Identity Center root: is there a sign-in (no call is made, nothing signs in)?
fn check_sso(s: &SsoSettings, report: &mut Report) {
    let token = crate::sso::token::path(&s.session)
        .ok()
        .and_then(|p| Some((crate::sso::token::read(&p)?, p)));
    match token {
        Some((t, path)) => {
            let expires = t.expires().expect("read() checks it");
            if expires > Timestamp::now() {
                report.add(
                    Level::Ok,
                    format!(
                        "signed in to {} until {} ({})",
                        s.session.start_url,
                        crate::credentials::rfc3339(expires),
                        path.display()
                    ),
                );
            } else if t.refresh_token.is_some() {
                report.add(Level::Info, format!("the sign-in to {} expired at {}; its refresh token renews it at the next use", s.session.start_url, crate::credentials::rfc3339(expires)));
            } else {
                report.add(
                    Level::Warn,
                    format!(
                        "the sign-in to {} expired: run `aws-runas sso login {}`",
                        s.session.start_url, s.profile
                    ),
                );
            }
        }
        None => report.add(
            Level::Warn,
            format!(
                "not signed in to {}: run `aws-runas sso login {}`",
                s.session.start_url, s.profile
            ),
        ),
    }
    if s.account_id.is_none() || s.role_name.is_none() {
        report.add(
            Level::Error,
            format!(
                "profile '{}' needs sso_account_id and sso_role_name for credentials",
                s.profile
            ),
        );
    }
}

/// A web identity token file root: is the file there?
fn check_token_file(w: &WebIdentitySettings, report: &mut Report) {
    match std::fs::metadata(&w.token_file) {
        Ok(m) if m.is_file() && m.len() > 0 => report.add(
            Level::Ok,
            format!("web identity token file {}", w.token_file.display()),
        ),
        Ok(_) => report.add(
            Level::Error,
            format!(
                "web identity token file {} is empty or not a file",
                w.token_file.display()
            ),
        ),
        Err(e) => report.add(
            Level::Error,
            format!("web identity token file {}: {e}", w.token_file.display()),
        ),
    }
}

/// A web identity sign-in root: nothing to check without signing in, which diagnose never
/// does.
fn check_web_sign_in(r: &Resolved, w: &WebSettings, report: &mut Report) {
    report.add(
        Level::Info,
        format!(
            "profile '{}' signs in at {} ({:?} flow): run `aws-runas {}` to try it",
            r.name,
            crate::idp::http::origin(&w.auth_url),
            w.flow,
            crate::cli::profile_argument(&r.name)
        ),
    );
}

/// One STS call with the source keys: do they work, and is our clock right?
fn check_aws(r: &Resolved, keys: &Keys, report: &mut Report) {
    let sts = SdkSts::new(
        r.region.as_deref(),
        r.sts_endpoint.as_deref(),
        r.ca_bundle.as_ref(),
    );
    let sent = Timestamp::now();
    match sts.identity_and_server_time(&keys.credentials) {
        Err(e) => report.add(Level::Error, format!("the source keys do not work: {e}")),
        Ok((identity, server)) => {
            report.add(Level::Ok, format!("source keys belong to {}", identity.arn));
            let Some(server) = server else {
                report.add(
                    Level::Info,
                    "STS sent no Date header: clock drift not checked",
                );
                return;
            };
            check_drift(sent, server, "AWS's", report);
        }
    }
}

/// Our clock beside a server's `Date` (taken halfway through the request that brought it).
fn check_drift(sent: Timestamp, server: Timestamp, whose: &str, report: &mut Report) {
    let local = sent + Timestamp::now().duration_since(sent) / 2;
    let drift = Duration::try_from(local.duration_since(server).abs()).unwrap_or_default();
    // The header has whole seconds; within two is as good as it gets.
    if drift > MAX_SKEW {
        report.add(Level::Error, format!("this clock is {} off {whose}: AWS rejects requests and SAML assertions beyond 5m; sync the system clock", human(drift)));
    } else if drift > Duration::from_secs(60) {
        report.add(
            Level::Warn,
            format!(
                "this clock is {} off {whose} (AWS allows 5m): sync the system clock",
                human(drift)
            ),
        );
    } else {
        report.add(
            Level::Ok,
            format!(
                "clock within {} of {whose}",
                human(drift.max(Duration::from_secs(1)))
            ),
        );
    }
}

/// How long `diagnose` waits for the identity provider's first answer.
const IDP_PROBE_LIMIT: Duration = Duration::from_secs(5);

/// A profile that signs in at an IdP: is the IdP there, which client speaks to it, is a password
/// stored, is its clock ours, and (when that needs nobody to answer anything) does the
/// assertion grant the configured role.
fn check_saml(env: &Environment, s: &SamlSettings, report: &mut Report) {
    let idp = crate::idp::http::origin(&s.auth_url);
    let sent = Timestamp::now();
    let probe = crate::idp::http::Browser::new(None, s.ca_bundle.as_ref())
        .and_then(|mut browser| browser.probe(&s.auth_url, IDP_PROBE_LIMIT));
    let reached = match probe {
        Ok((status, headers)) => {
            report.add(
                Level::Ok,
                format!("the identity provider at {idp} answers (HTTP {status})"),
            );
            Some(headers)
        }
        Err(e) => {
            report.add(
                Level::Error,
                format!("cannot reach the identity provider: {e:#}"),
            );
            None
        }
    };

    match (s.provider, &reached) {
        (Provider::Auto, Some(headers)) => report.add(
            Level::Ok,
            format!(
                "provider {:?}, detected from the identity provider's answer",
                detect_from_headers(headers)
            ),
        ),
        (Provider::Auto, None) => {}
        (p, _) if p == crate::config::signin::detect(&s.auth_url) => {
            report.add(Level::Ok, format!("provider {p:?}, told by the URL"));
        }
        (p, _) => report.add(
            Level::Ok,
            format!("provider {p:?}, as saml_provider (or -R) names it"),
        ),
    }

    match &s.username {
        None => report.add(
            Level::Info,
            "no saml_username (or -U): the username is asked at sign-in, so the OS keyring is not checked",
        ),
        // Read only to learn whether it is there: never shown.
        Some(user) => match crate::secrets::idp_password(&s.auth_url, user) {
            Ok(Some(_)) => report.add(
                Level::Ok,
                format!("the OS keyring holds a password for {user} at {idp}"),
            ),
            Ok(None) => report.add(
                Level::Info,
                format!(
                    "no password for {user} at {idp} in the OS keyring: store one with `aws-runas password {}`, or pass -P / SAML_PASSWORD",
                    s.profile
                ),
            ),
            Err(e @ SecretError::Unavailable(_)) => report.add(Level::Info, e.to_string()),
            Err(e) => report.add(Level::Warn, e.to_string()),
        },
    }

    let Some(headers) = reached else {
        return;
    };
    match headers
        .iter()
        .find(|(k, _)| k == "date")
        .and_then(|(_, v)| crate::aws::sts::http_date(v))
    {
        Some(server) => check_drift(sent, server, "the identity provider's", report),
        None => report.add(
            Level::Info,
            "the identity provider sent no readable Date header: clock drift not checked",
        ),
    }

    check_saml_roles(env, s, report);
}

/// Signs in (a live IdP session, or a password at hand: never a prompt or a push) and looks for
/// the configured role among the assertion's.
fn check_saml_roles(env: &Environment, s: &SamlSettings, report: &mut Report) {
    let cache = match Cache::from_env(env) {
        Ok(c) => c,
        Err(_) => return, // check_cache says why
    };
    let sts = SdkSts::new(None, None, s.ca_bundle.as_ref());
    let mfa = crate::mfa::TerminalMfa {
        preset: None,
        interactive: false,
    };
    let context = crate::sources::Context {
        cache: &cache,
        sts: &sts,
        mfa: &mfa,
        refresh_window: Duration::ZERO,
        interactive: false,
        sign_in: false,
    };
    let roles = match Saml::checking(s).offered_roles(&context) {
        Ok(roles) => roles,
        Err(e) => {
            match e.chain().find_map(|c| c.downcast_ref::<WouldAsk>()) {
                Some(why) => report.add(
                    Level::Info,
                    format!(
                        "roles not checked: {why}; `aws-runas {}` signs in and shows them",
                        crate::cli::profile_argument(&s.profile)
                    ),
                ),
                None => report.add(Level::Error, format!("signing in failed: {e:#}")),
            }
            return;
        }
    };
    let offered = roles.join(", ");
    let (key, wanted) = match (&s.saml_role, &s.target_role) {
        (Some(jump), Some(_)) => ("jump_role_arn", jump),
        (Some(role), None) => ("role_arn", role),
        (None, _) => {
            return report.add(
                Level::Info,
                format!("no role_arn: the assertion grants {offered}"),
            )
        }
    };
    if roles.contains(wanted) {
        report.add(Level::Ok, format!("the assertion grants {key} {wanted}"));
    } else {
        report.add(
            Level::Error,
            format!("the assertion does not grant {key} {wanted}; it grants {offered}"),
        );
    }
}

fn check_cache(env: &Environment, report: &mut Report) {
    let cache = match Cache::from_env(env) {
        Ok(c) => c,
        Err(e) => return report.add(Level::Error, e.to_string()),
    };
    let dir = cache.dir();
    if !dir.exists() {
        return report.add(
            Level::Ok,
            format!("cache {} (not created yet)", dir.display()),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        let dir_mode = mode(dir);
        if dir_mode & 0o077 != 0 {
            report.add(
                Level::Warn,
                format!(
                    "cache {} is mode {dir_mode:o}, readable by others: chmod 700 {}",
                    dir.display(),
                    dir.display()
                ),
            );
        }
        let loose: Vec<String> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && mode(p) & 0o077 != 0)
                    .map(|p| p.display().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if loose.is_empty() && dir_mode & 0o077 == 0 {
            report.add(Level::Ok, format!("cache {} is private", dir.display()));
        } else if !loose.is_empty() {
            report.add(
                Level::Warn,
                format!(
                    "cache files readable by others: chmod 600 {}",
                    loose.join(" ")
                ),
            );
        }
    }
}

fn check_shell(env: &Environment, report: &mut Report) {
    match env.raw("AWSRUNAS_SHELL") {
        Some(shell) => report.add(Level::Ok, format!("shell integration loaded ({shell})")),
        None => {
            let shell = env
                .raw("SHELL")
                .and_then(|s| s.rsplit('/').next().map(str::to_owned))
                .unwrap_or_default();
            let line = match shell.as_str() {
                "zsh" => "eval \"$(aws-runas init zsh)\" to ~/.zshrc",
                "fish" => "aws-runas init fish | source to ~/.config/fish/config.fish",
                _ => "eval \"$(aws-runas init bash)\" to ~/.bashrc",
            };
            report.add(
                Level::Info,
                format!("shell integration not loaded in this shell: add {line}"),
            );
        }
    }
}
