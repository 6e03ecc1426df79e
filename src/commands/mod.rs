//! One module per command. This file holds what they share: picking the command from the
//! parsed command line, resolving the profile the user named, and fetching its credentials.

pub mod completions;
pub mod console;
pub mod credentials;
pub mod diagnose;
pub mod exec;
pub mod expiration;
pub mod init;
pub mod keys;
pub mod list;
pub mod man;
pub mod password;
pub mod pick;
pub mod profiles;
pub mod serve;
pub mod shell_export;
pub mod ssm;
pub mod sso;
pub mod update;
pub mod whoami;

use std::ffi::OsString;
use std::io::Write;

use clap::parser::ValueSource;
use clap::Parser;
use std::process::ExitCode;

use crate::cli::{Action, Cli, ExportArgs, ListWhat, Options, Sub};
use crate::config::Overrides;
pub use crate::session::{CredentialRequest, Session};

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

/// A word as a POSIX shell reads it back, quoted only when it must be (`--output=json` stays as
/// typed).
fn quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_=+@%:,./".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        shell_words::quote(word).into_owned()
    }
}

/// A secret option's value as given on the command line.
struct Secret {
    short: Option<char>,
    long: Option<String>,
    value: String,
    /// What stands for it in a message: `<PASSWORD>`.
    name: String,
}

impl Secret {
    /// When `token` (after `previous`) carries the value, what of it is not the value: nothing
    /// (`-P VALUE`), or the option it is glued to (`-PVALUE`, `-sP=VALUE`, `--password=VALUE`).
    fn kept<'a>(&self, token: &'a str, previous: &str) -> Option<&'a str> {
        let cluster = |t: &str| t.starts_with('-') && !t.starts_with("--");
        let ends_short = |t: &str, suffix: &str| {
            cluster(t)
                && self
                    .short
                    .is_some_and(|s| t.ends_with(&format!("{s}{suffix}")))
        };
        let is_long = |t: &str, suffix: &str| {
            self.long
                .as_deref()
                .is_some_and(|l| t == format!("--{l}{suffix}"))
        };
        if token == self.value && (ends_short(previous, "") || is_long(previous, "")) {
            return Some("");
        }
        let head = token.strip_suffix(self.value.as_str())?;
        (ends_short(head, "") || ends_short(head, "=") || is_long(head, "=")).then_some(head)
    }
}

/// The line for a command line that failed to parse because its first word in PROFILE's place
/// names a subcommand and also a profile of the user's: the person most likely meant the
/// profile, which `--` reaches. `None` when that is not what happened.
pub fn shadowed_profile(args: &[OsString]) -> Option<String> {
    let flat = crate::cli::profile_only_command();
    let matches = flat.clone().try_get_matches_from(args).ok()?;
    let as_profile = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).ok()?;
    let word = as_profile.profile.as_deref()?;
    if !crate::cli::subcommand_words().iter().any(|w| w == word) {
        return None;
    }
    let profiles =
        crate::config::Profiles::load(&crate::environment::Environment::from_process()).ok()?;
    if !profiles.names().any(|n| n == word) {
        return None;
    }
    // `--` before the word's first occurrence that then parses as that profile (an earlier one
    // may be an option's value, `-U sso sso`).
    let at = (1..args.len()).filter(|&i| args[i] == *word).find(|&i| {
        let mut tried = args.to_vec();
        tried.insert(i, "--".into());
        crate::cli::parse(&tried).is_ok_and(|cli| {
            cli.subcommand.is_none()
                && cli.profile.as_deref() == Some(word)
                && cli.command == as_profile.command
        })
    })?;
    // The user typed them, but an error line may end up in a log: secret values (the options
    // whose variables' values help hides) are shown by their names.
    let secrets: Vec<Secret> = flat
        .get_arguments()
        .filter(|a| a.is_hide_env_values_set())
        .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .filter_map(|a| {
            let value = matches
                .get_raw(a.get_id().as_str())?
                .next_back()?
                .to_str()?;
            Some(Secret {
                short: a.get_short(),
                long: a.get_long().map(str::to_owned),
                value: value.to_owned(),
                name: format!("<{}>", a.get_value_names()?.first()?),
            })
        })
        .filter(|secret| !secret.value.is_empty())
        .collect();
    let shown = |i: usize, token: &OsString| {
        let token = token.to_string_lossy();
        let previous = args[i - 1].to_string_lossy();
        let redacted = secrets.iter().filter(|_| i < at).find_map(|secret| {
            let kept = match secret.kept(&token, &previous)? {
                "" => String::new(),
                option => quoted(option),
            };
            Some(format!("{kept}{}", secret.name))
        });
        redacted.unwrap_or_else(|| quoted(&token))
    };
    let mut line = vec!["aws-runas".to_owned()];
    for (i, token) in args.iter().enumerate().skip(1) {
        if i == at {
            line.push("--".into());
        }
        line.push(shown(i, token));
    }
    Some(format!(
        "'{word}' is a subcommand and also a profile: for the profile, run {}; for the subcommand, see aws-runas {word} --help",
        line.join(" ")
    ))
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
        Some(Sub::Console(args)) => return console::run(&options, &args),
        Some(Sub::Init { shell }) => return init::run(shell),
        Some(Sub::Completions { shell }) => return completions::run(shell),
        Some(Sub::Man { dir }) => return man::run(&dir),
        Some(Sub::Sso(what)) => return sso::run(&options, what),
        Some(Sub::Password { profile }) => return password::run(&options, profile.as_deref()),
        Some(Sub::Keys(what)) => return keys::run(&options, what),
        Some(Sub::Pick) => return pick::run(&options),
        None => {}
    }
    let profile = profile.as_deref();
    match options.action() {
        Some(Action::Update) => update::run(),
        Some(Action::ListRoles) => list::roles(&options, profile),
        Some(Action::ListMfa) => list::mfa(&options, profile),
        Some(Action::Diagnose) => diagnose::run(&options, profile),
        Some(Action::Whoami) => whoami::run(&options, profile),
        Some(Action::Expiration) => expiration::run(&options, profile),
        None if !command.is_empty() => exec::run(&options, profile, &command),
        None => credentials::run(&options, profile),
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

/// The credentials the command line asks for. Commands run where a person may be typing, so an
/// MFA code may be asked for; callers without a terminal clear `interactive`.
pub fn request(options: &Options, profile: Option<&str>) -> CredentialRequest {
    CredentialRequest {
        profile: profile.map(str::to_owned),
        overrides: overrides(options),
        otp: options.otp.clone(),
        session_only: options.session,
        force_refresh: options.refresh,
        interactive: true,
        credential_process: false,
        saml: saml_flags(options),
    }
}

/// `-S -W -C -T -U -P -R -J`, each with its v3 variables (clap reads only the first of several).
pub fn saml_flags(options: &Options) -> crate::config::signin::SamlFlags {
    let env = crate::environment::Environment::from_process();
    crate::config::signin::SamlFlags {
        auth_url: options.saml_url.clone(),
        username: options
            .username
            .clone()
            .or_else(|| env.get("SAML_USERNAME"))
            .or_else(|| env.get("WEB_USERNAME")),
        password: options
            .password
            .clone()
            .or_else(|| env.get("SAML_PASSWORD"))
            .or_else(|| env.get("WEB_PASSWORD")),
        provider: options
            .provider
            .clone()
            .or_else(|| env.get("SAML_PROVIDER"))
            .or_else(|| env.get("WEB_PROVIDER")),
        jump_role_arn: options.jump_role.clone(),
        web_auth_url: options.web_url.clone(),
        web_client_id: options.web_client.clone(),
        web_redirect_uri: options.web_redirect.clone(),
    }
}

/// The profile the command line names, resolved, with the request the command line makes.
pub fn open(
    options: &Options,
    profile: Option<&str>,
) -> anyhow::Result<(Session, CredentialRequest)> {
    let request = request(options, profile);
    Ok((Session::open(&request)?, request))
}

/// Writes to stdout; a reader that went away (`| head`) is not an error worth a message.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
