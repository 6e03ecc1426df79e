//! The whole command line, in one place: aws-runas v3's flags (with their short letters and
//! environment variables) and subcommands.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::FalseyValueParser;
use clap::{ArgAction, CommandFactory, Parser, Subcommand};

use crate::output::Format;
use crate::shell::ShellKind;

fn duration(s: &str) -> Result<Duration, String> {
    crate::duration::parse(s).map_err(|e| e.to_string())
}

#[derive(Parser, Debug)]
#[command(
    name = "aws-runas",
    version,
    about = "Create an environment for interacting with the AWS API using an assumed role",
    override_usage = "aws-runas [OPTIONS] [PROFILE] [COMMAND]...\n       aws-runas <SUBCOMMAND>",
    after_help = "PROFILE is a profile name or a role ARN; without one, $AWS_PROFILE, $AWS_DEFAULT_PROFILE or 'default'.\n\
                  With COMMAND, runs it with the credentials in its environment; without, prints them for eval."
)]
pub struct Cli {
    #[command(subcommand)]
    pub subcommand: Option<Sub>,

    #[command(flatten)]
    pub options: Options,

    /// Profile name or role ARN
    pub profile: Option<String>,

    /// Command (and its arguments) to run with the credentials
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Every word that starts a subcommand, aliases and clap's `help` included: a profile may have
/// any of these names, and then needs `--` before it on the command line.
pub fn subcommand_words() -> Vec<String> {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.get_subcommands()
        .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_all_aliases()))
        .map(str::to_owned)
        .collect()
}

/// `profile` as a command line names it in PROFILE's place: past `--` when a subcommand has its
/// name.
pub fn profile_argument(profile: &str) -> String {
    if subcommand_words().iter().any(|w| w == profile) {
        format!("-- {profile}")
    } else {
        profile.to_owned()
    }
}

/// An empty variable is an unset one, as the AWS tools have it (`export SAML_USERNAME=` clears
/// it). clap would take the empty value: an error for a duration or a URL, and an empty username
/// hiding the flag's next variable.
fn without_empty_variable(arg: clap::Arg) -> clap::Arg {
    let empty = arg
        .get_env()
        .is_some_and(|name| std::env::var_os(name).is_some_and(|v| v.is_empty()));
    if empty {
        arg.env(None::<&'static str>)
    } else {
        arg
    }
}

/// The command line as this process reads it (help, completions and man pages are made from
/// `Cli::command()` itself).
fn command() -> clap::Command {
    Cli::command().mut_args(without_empty_variable)
}

/// Parses the public command line: a cache hit's line without clap ([`parse_plain`]), any
/// other with it.
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    parse_plain(args, false).map_or_else(|| parse_with_clap(args), Ok)
}

fn parse_with_clap(args: &[OsString]) -> Result<Cli, clap::Error> {
    let mut cmd = command();
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches)
        .map_err(|e| e.format(&mut cmd));
    // The tree is read once and the process soon ends: taking it apart cost about 5% of a
    // cache hit's instructions, and the kernel takes the memory back anyway.
    std::mem::forget(cmd);
    cli
}

/// Every word that starts a subcommand, as [`subcommand_words`] lists them, without building
/// the command tree (a unit test keeps the two the same).
const SUBCOMMAND_WORDS: &[&str] = &[
    "list",
    "ls",
    "diagnose",
    "diag",
    "serve",
    "srv",
    "ssm",
    "console",
    "init",
    "completions",
    "man",
    "password",
    "passwd",
    "pw",
    "sso",
    "keys",
    "pick",
    "help",
];

/// The variables of [`Options`] that hold a plain string, each with the field it fills.
type StringOption = (&'static str, fn(&mut Options) -> &mut Option<String>);
const STRING_VARIABLES: &[StringOption] = &[
    ("MFA_CODE", |o| &mut o.otp),
    ("MFA_SERIAL", |o| &mut o.mfa_serial),
    ("EXTERNAL_ID", |o| &mut o.external_id),
    ("SAML_AUTH_URL", |o| &mut o.saml_url),
    ("WEB_AUTH_URL", |o| &mut o.web_url),
    ("WEB_CLIENT_ID", |o| &mut o.web_client),
    ("WEB_REDIRECT_URI", |o| &mut o.web_redirect),
    ("RUNAS_USERNAME", |o| &mut o.username),
    ("RUNAS_PASSWORD", |o| &mut o.password),
    ("RUNAS_PROVIDER", |o| &mut o.provider),
    ("JUMP_ROLE_ARN", |o| &mut o.jump_role),
];
/// The variables of [`Options`] read some other way: set, they leave the line to clap.
const OTHER_VARIABLES: &[&str] = &[
    "SESSION_TOKEN_DURATION",
    "CREDENTIALS_DURATION",
    "RUNAS_ENV_CREDENTIALS",
    "RUNAS_SESSION_CREDENTIALS",
    "RUNAS_WRITE_CREDENTIALS",
];
const OUTPUT_VARIABLE: &str = "RUNAS_OUTPUT_FORMAT";

/// The command line of a cache hit, `[-O FORMAT | --output FORMAT | --output=FORMAT] PROFILE`,
/// read without clap: building clap's tree of ~40 arguments was most of what a cache hit did
/// before it answered (stack, heap and code pages touched once, at every `credential_process`
/// call). Anything else (another flag, a subcommand's word, `--`, a variable read other than
/// as a string) gives `None`, and clap reads the line as ever; a unit test holds the two to
/// the same result. `profile_only`: as [`parse_profile_only`], where every word is a profile.
fn parse_plain(args: &[OsString], profile_only: bool) -> Option<Cli> {
    parse_plain_with(args, profile_only, |name| std::env::var_os(name))
}

fn parse_plain_with(
    args: &[OsString],
    profile_only: bool,
    var: impl Fn(&str) -> Option<OsString>,
) -> Option<Cli> {
    use clap::ValueEnum;
    // An empty variable is an unset one (see `without_empty_variable`).
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    let format = |value: &str| Format::from_str(value, true).ok();
    let mut options = Options::default();
    let mut output = None;
    let mut profile = None;
    let mut words = args.get(1..)?.iter();
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        let value = match word {
            "-O" | "--output" => Some(words.next()?.to_str()?),
            _ => word.strip_prefix("--output="),
        };
        match value {
            Some(value) if output.is_none() && !value.starts_with('-') => {
                output = Some(format(value)?)
            }
            Some(_) => return None,
            None if profile.is_none()
                && !word.is_empty()
                && !word.starts_with('-')
                && (profile_only || !SUBCOMMAND_WORDS.contains(&word)) =>
            {
                profile = Some(word.to_owned())
            }
            None => return None,
        }
    }
    if OTHER_VARIABLES.iter().any(|name| set(name).is_some()) {
        return None;
    }
    for (name, field) in STRING_VARIABLES {
        if let Some(value) = set(name) {
            *field(&mut options) = Some(value.into_string().ok()?);
        }
    }
    // Unset, it is the options' default.
    if let Some(given) = output {
        options.output = given;
    } else if let Some(value) = set(OUTPUT_VARIABLE) {
        options.output = format(value.to_str()?)?;
    }
    Some(Cli {
        subcommand: None,
        options,
        profile: Some(profile?),
        command: Vec::new(),
    })
}

/// `aws-runas --version` (or `-V`) as clap prints it, without building its tree.
pub fn plain_version(args: &[OsString]) -> Option<String> {
    match args.get(1..)? {
        [flag] if flag == "--version" || flag == "-V" => Some(format!(
            "{} {}\n",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION")
        )),
        _ => None,
    }
}

/// The command line with no subcommands: whatever word stands in PROFILE's place is the
/// profile. `runas use` takes only a profile, and a word that is both is told apart with it.
pub fn profile_only_command() -> clap::Command {
    let full = command();
    let mut cmd = clap::Command::new(full.get_name().to_owned())
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned());
    if let Some(version) = full.get_version() {
        cmd = cmd.version(version.to_owned());
    }
    cmd
}

/// `args` read as [`profile_only_command`] reads them.
pub fn parse_profile_only(args: &[OsString]) -> Result<Cli, clap::Error> {
    parse_plain(args, true).map_or_else(|| parse_profile_only_with_clap(args), Ok)
}

fn parse_profile_only_with_clap(args: &[OsString]) -> Result<Cli, clap::Error> {
    let matches = profile_only_command().try_get_matches_from(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Sub {
    /// Show the IAM roles you may assume, or your MFA devices
    #[command(visible_alias = "ls", subcommand)]
    List(ListWhat),
    /// Check a profile's configuration and environment, and say what to fix
    #[command(visible_alias = "diag")]
    Diagnose { profile: Option<String> },
    /// Serve credentials from a local endpoint: ECS-container or EC2-metadata style
    #[command(visible_alias = "srv")]
    Serve(ServeArgs),
    /// Shortcuts for SSM sessions: shell, port forwarding, ssh
    #[command(subcommand)]
    Ssm(SsmWhat),
    /// Sign in to the AWS console in the browser with a profile's credentials
    Console(ConsoleArgs),
    /// Print the shell integration to load from your shell's rc file
    #[command(after_help = "bash:  eval \"$(aws-runas init bash)\"\n\
                            zsh:   eval \"$(aws-runas init zsh)\"\n\
                            fish:  aws-runas init fish | source\n\
                            pwsh:  Invoke-Expression (& aws-runas init powershell | Out-String)")]
    Init { shell: ShellKind },
    /// Print a completion script (profile names included)
    Completions { shell: ShellKind },
    /// Write the man pages into a directory
    Man { dir: PathBuf },
    /// Set or update the stored password for an external identity provider (in the OS keyring)
    #[command(visible_aliases = ["passwd", "pw"])]
    Password { profile: Option<String> },
    /// Sign in to IAM Identity Center (the token is shared with the AWS CLI v2 and the SDKs)
    #[command(subcommand)]
    Sso(SsoWhat),
    /// Keep a profile's access keys in the OS keyring instead of the credentials file
    #[command(subcommand)]
    Keys(KeysWhat),
    /// Choose a profile from a fuzzy list on the terminal and print its name
    Pick,
}

#[derive(clap::Args, Debug)]
pub struct ConsoleArgs {
    /// Profile name or role ARN
    pub profile: Option<String>,
    /// Print the sign-in URL instead of opening a browser
    #[arg(long)]
    pub print: bool,
    /// Open this service's console page (s3, ec2, iam...) instead of the home page
    #[arg(long, value_name = "NAME", conflicts_with = "destination")]
    pub service: Option<String>,
    /// Open this console URL (https) after signing in
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum KeysWhat {
    /// Store a profile's keys in the OS keyring: from AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY when both are set, else asked for on the terminal
    Add { profile: String },
    /// Move a profile's keys from the credentials file into the OS keyring
    Import { profile: String },
    /// List the profiles with keys in the OS keyring, and their key ids
    #[command(visible_alias = "ls")]
    List,
    /// Remove a profile's keys from the OS keyring
    #[command(visible_alias = "rm")]
    Remove { profile: String },
    /// Replace a profile's access key (in the keyring or the credentials file) with a new one,
    /// then delete the old one
    Rotate { profile: String },
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum SsoWhat {
    /// Sign in for an SSO profile's session, whatever the token cache holds: in the browser
    /// (PKCE) where one can be opened, else with a code to confirm on any device
    Login {
        profile: Option<String>,
        /// Sign in to this [sso-session NAME] section, whatever profile uses it
        #[arg(long, value_name = "NAME", conflicts_with = "profile")]
        sso_session: Option<String>,
        /// Sign in with a code confirmed on any device, instead of a browser here
        #[arg(long)]
        use_device_code: bool,
        /// Print the sign-in URL without opening a browser
        #[arg(long)]
        no_browser: bool,
    },
    /// Remove the session's cached token (signing out of aws-runas, the AWS CLI and the SDKs)
    Logout { profile: Option<String> },
    /// Write one profile per account and role the session is assigned into the config file,
    /// in a block of its own that each run replaces
    Profiles {
        /// The [sso-session NAME] section to sign in with
        session: String,
        /// Profile name template: {account_name}, {account_id}, {role_name}, {session}
        #[arg(long, value_name = "TEMPLATE")]
        name: Option<String>,
        /// Region of the profiles (default: the session's sso_region)
        #[arg(long)]
        region: Option<String>,
        /// Print the change to the config file as a diff, writing nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// ecs: a container credential endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI);
    /// ec2: an instance metadata endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT)
    pub kind: ServeKind,
    /// Profile to serve first; the profile page switches it
    pub profile: Option<String>,
    /// Port to listen on (default: a free one; 80 with --metadata-ip)
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Ask for MFA codes on this terminal instead of on the profile page
    #[arg(short = 'H', long)]
    pub headless: bool,
    /// ec2: also answer requests without an IMDSv2 token
    #[arg(long)]
    pub imdsv1: bool,
    /// ec2: listen on 169.254.169.254, as the real service (the address must first be added to
    /// an interface, and port 80 needs privileges)
    #[arg(long)]
    pub metadata_ip: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ServeKind {
    Ecs,
    Ec2,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum SsmWhat {
    /// Start an SSM shell session on TARGET (an instance id, TAG_KEY:VALUE, an instance's IP
    /// address or DNS name, or a DNS name whose TXT record holds an instance id)
    #[command(
        visible_alias = "sh",
        override_usage = "aws-runas ssm shell [OPTIONS] [PROFILE] <TARGET>"
    )]
    Shell {
        /// [PROFILE] TARGET; without PROFILE, $AWS_PROFILE or 'default'
        #[arg(num_args = 1..=2, required = true, value_names = ["PROFILE", "TARGET"])]
        args: Vec<String>,
        /// Use AWS's session-manager-plugin instead of the built-in client
        #[arg(short = 'P', long = "plugin")]
        plugin: bool,
    },
    /// Forward a local port to TARGET:PORT through an SSM session
    #[command(
        visible_alias = "fwd",
        override_usage = "aws-runas ssm forward [OPTIONS] [PROFILE] <TARGET:PORT>"
    )]
    Forward {
        /// [PROFILE] TARGET:PORT; without PROFILE, $AWS_PROFILE or 'default'
        #[arg(num_args = 1..=2, required = true, value_names = ["PROFILE", "TARGET:PORT"])]
        args: Vec<String>,
        /// The local port to listen on (default: a free one)
        #[arg(short = 'p', long = "port", default_value_t = 0)]
        port: u16,
        /// Use AWS's session-manager-plugin instead of the built-in client
        #[arg(short = 'P', long = "plugin")]
        plugin: bool,
    },
    /// SSH over an SSM session, for ssh's config:
    /// ProxyCommand aws-runas ssm ssh PROFILE %r@%h:%p
    #[command(override_usage = "aws-runas ssm ssh [OPTIONS] [PROFILE] <[USER@]TARGET[:PORT]>")]
    Ssh {
        /// [PROFILE] [USER@]TARGET[:PORT] (port 22 by default); without PROFILE, $AWS_PROFILE or 'default'
        #[arg(num_args = 1..=2, required = true, value_names = ["PROFILE", "[USER@]TARGET[:PORT]"])]
        args: Vec<String>,
        /// Push your SSH public key to the instance with EC2 Instance Connect first (for USER,
        /// ec2-user by default)
        #[arg(long = "ec2ic")]
        ec2ic: bool,
        /// Use AWS's session-manager-plugin instead of the built-in client
        #[arg(short = 'P', long = "plugin")]
        plugin: bool,
    },
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ListWhat {
    /// Role ARNs your IAM user may assume (its and its groups' policies); -v adds profiles to paste
    Roles { profile: Option<String> },
    /// The MFA devices of your IAM user
    Mfa { profile: Option<String> },
}

/// `aws-runas __export`: not part of the public command line (see `commands::internal`).
#[derive(Parser, Debug)]
#[command(name = "aws-runas __export")]
pub struct ExportArgs {
    pub shell: ShellKind,
    /// Refresh without a terminal, writing the statements to this file
    #[arg(long)]
    pub refresh: Option<PathBuf>,
    /// With --refresh: first sleep until this Unix time (fish, which has no clock builtin,
    /// leaves the waiting to this process instead of reading the clock at every prompt)
    #[arg(long, requires = "refresh", value_name = "EPOCH")]
    pub at: Option<i64>,
    /// With --at: give up if this process (the shell) is gone
    #[arg(long, requires = "at", value_name = "PID")]
    pub shell_pid: Option<u32>,
    /// What `runas use` was given: flags and a profile
    #[arg(last = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// What a run does besides printing credentials: v3's mode flags, at most one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Update,
    ListRoles,
    ListMfa,
    Diagnose,
    Whoami,
    Expiration,
}

#[derive(clap::Args, Debug, Clone, Default)]
#[command(group = clap::ArgGroup::new("action").multiple(false))]
#[group(skip)]
pub struct Options {
    /// Duration of the session token credentials (default 12h)
    #[arg(short = 'd', long = "duration", env = "SESSION_TOKEN_DURATION", value_name = "DURATION", value_parser = duration)]
    pub session_duration: Option<Duration>,

    /// Duration of the assume-role credentials (default 1h)
    #[arg(short = 'a', long = "role-duration", env = "CREDENTIALS_DURATION", value_name = "DURATION", value_parser = duration)]
    pub role_duration: Option<Duration>,

    /// MFA token code
    #[arg(
        short = 'o',
        long = "otp",
        env = "MFA_CODE",
        value_name = "CODE",
        hide_env_values = true
    )]
    pub otp: Option<String>,

    /// Serial number (or ARN) of the MFA device
    #[arg(
        short = 'M',
        long = "mfa-serial",
        env = "MFA_SERIAL",
        value_name = "SERIAL"
    )]
    pub mfa_serial: Option<String>,

    /// External ID to use with AssumeRole
    #[arg(
        short = 'X',
        long = "external-id",
        env = "EXTERNAL_ID",
        value_name = "ID",
        hide_env_values = true
    )]
    pub external_id: Option<String>,

    /// Pass credentials to the command as environment variables, instead of a local endpoint
    #[arg(short = 'E', long = "env", env = "RUNAS_ENV_CREDENTIALS", action = ArgAction::SetTrue, value_parser = FalseyValueParser::new())]
    pub env_credentials: bool,

    /// Credential output format
    #[arg(
        short = 'O',
        long = "output",
        env = "RUNAS_OUTPUT_FORMAT",
        value_enum,
        default_value = "env",
        ignore_case = true
    )]
    pub output: Format,

    /// Use session token credentials instead of role credentials
    #[arg(short = 's', long = "session", env = "RUNAS_SESSION_CREDENTIALS", action = ArgAction::SetTrue, value_parser = FalseyValueParser::new())]
    pub session: bool,

    /// Force a refresh of the cached credentials
    #[arg(short = 'r', long = "refresh")]
    pub refresh: bool,

    /// Show the credentials' expiration time
    #[arg(
        short = 'e',
        long = "expiration",
        group = "action",
        conflicts_with = "command"
    )]
    pub expiration: bool,

    /// Print the AWS identity of the profile's credentials
    #[arg(
        short = 'w',
        long = "whoami",
        group = "action",
        conflicts_with = "command"
    )]
    pub whoami: bool,

    /// List the role ARNs you are able to assume
    #[arg(
        short = 'l',
        long = "list-roles",
        group = "action",
        conflicts_with = "command"
    )]
    pub list_roles: bool,

    /// List the MFA devices of your IAM user
    #[arg(
        short = 'm',
        long = "list-mfa",
        group = "action",
        conflicts_with = "command"
    )]
    pub list_mfa: bool,

    /// Run diagnostics on the profile's configuration and environment
    #[arg(
        short = 'D',
        long = "diagnose",
        group = "action",
        conflicts_with = "command"
    )]
    pub diagnose: bool,

    /// Also write the credentials to a [PROFILE-awsrunas] section of the credentials file
    #[arg(short = 'c', long = "write-credentials", env = "RUNAS_WRITE_CREDENTIALS", action = ArgAction::SetTrue, value_parser = FalseyValueParser::new())]
    pub write_credentials: bool,

    /// Check whether a newer version is available
    #[arg(
        short = 'u',
        long = "update",
        group = "action",
        conflicts_with = "command"
    )]
    pub update: bool,

    /// URL of the SAML authentication endpoint
    #[arg(
        short = 'S',
        long = "saml-url",
        env = "SAML_AUTH_URL",
        value_name = "URL"
    )]
    pub saml_url: Option<String>,

    /// URL of the OpenID provider (issuer) for web identity sign-in
    #[arg(
        short = 'W',
        long = "web-url",
        env = "WEB_AUTH_URL",
        value_name = "URL"
    )]
    pub web_url: Option<String>,

    /// Client id registered at the OpenID provider
    #[arg(
        short = 'C',
        long = "web-client",
        env = "WEB_CLIENT_ID",
        value_name = "ID"
    )]
    pub web_client: Option<String>,

    /// Redirect URI registered for the OpenID client
    #[arg(
        short = 'T',
        long = "web-redirect",
        env = "WEB_REDIRECT_URI",
        value_name = "URI"
    )]
    pub web_redirect: Option<String>,

    /// Username for SAML or web identity sign-in [env: RUNAS_USERNAME, SAML_USERNAME,
    /// WEB_USERNAME]
    #[arg(
        short = 'U',
        long = "username",
        env = "RUNAS_USERNAME",
        value_name = "USER",
        hide_env = true
    )]
    pub username: Option<String>,

    /// Password for SAML or web identity sign-in [env: RUNAS_PASSWORD, SAML_PASSWORD, WEB_PASSWORD]
    #[arg(
        short = 'P',
        long = "password",
        env = "RUNAS_PASSWORD",
        value_name = "PASSWORD",
        hide_env = true,
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// Identity provider client: auto, form (keycloak, simplesamlphp, lemonldap), okta,
    /// onelogin, forgerock, azuread, browser (SAML only) [env: RUNAS_PROVIDER, SAML_PROVIDER,
    /// WEB_PROVIDER]
    #[arg(
        short = 'R',
        long = "provider",
        env = "RUNAS_PROVIDER",
        value_name = "PROVIDER",
        hide_env = true
    )]
    pub provider: Option<String>,

    /// ARN of the 'jump role' to assume with SAML or the web identity token before the
    /// profile's role
    #[arg(
        short = 'J',
        long = "jump-role",
        env = "JUMP_ROLE_ARN",
        value_name = "ARN"
    )]
    pub jump_role: Option<String>,

    /// Log what happens to stderr (secrets redacted); twice for AWS SDK tracing [env: RUNAS_VERBOSE]
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
}

impl Options {
    /// The mode flag given, if any; clap has already refused a combination of them.
    pub fn action(&self) -> Option<Action> {
        [
            (self.update, Action::Update),
            (self.list_roles, Action::ListRoles),
            (self.list_mfa, Action::ListMfa),
            (self.diagnose, Action::Diagnose),
            (self.whoami, Action::Whoami),
            (self.expiration, Action::Expiration),
        ]
        .into_iter()
        .find_map(|(given, action)| given.then_some(action))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(words: &[&str]) -> Vec<OsString> {
        std::iter::once("aws-runas")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn no_variables(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn subcommand_words_are_the_trees() {
        let mut ours: Vec<String> = SUBCOMMAND_WORDS.iter().map(|w| w.to_string()).collect();
        let mut clap = subcommand_words();
        ours.sort();
        clap.sort();
        assert_eq!(ours, clap);
    }

    #[test]
    fn option_variables_are_the_trees() {
        let mut ours: Vec<&str> = STRING_VARIABLES.iter().map(|(name, _)| *name).collect();
        ours.extend(OTHER_VARIABLES);
        ours.push(OUTPUT_VARIABLE);
        ours.sort();
        let cmd = Cli::command();
        let mut clap: Vec<&str> = cmd
            .get_arguments()
            .filter_map(|a| a.get_env()?.to_str())
            .collect();
        clap.sort();
        assert_eq!(ours, clap);
    }

    #[test]
    fn a_cache_hits_line_is_read_without_clap() {
        for words in [
            &["-O", "json", "dev"][..],
            &["dev"],
            &["--output=fish", "dev"],
            &["dev", "--output", "JSON"],
            &["-O", "sh", "arn:aws:iam::123456789012:role/dev"],
        ] {
            let fast = parse_plain_with(&line(words), false, no_variables);
            let fast = fast.unwrap_or_else(|| panic!("{words:?} went to clap"));
            let clap = parse_with_clap(&line(words)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{words:?}");
        }
        let json = parse_plain_with(&line(&["-O", "json", "dev"]), false, no_variables).unwrap();
        assert_eq!(json.options.output, Format::Json);
        assert_eq!(json.profile.as_deref(), Some("dev"));
    }

    #[test]
    fn anything_else_is_left_to_clap() {
        for words in [
            &[][..],
            &["list"],
            &["ls", "roles"],
            &["help"],
            &["dev", "aws", "s3", "ls"],
            &["-v", "dev"],
            &["-r", "dev"],
            &["--", "dev"],
            &["-Ojson", "dev"],
            &["-O", "json", "-O", "fish", "dev"],
            &["-O", "xml", "dev"],
            &["-O", "-v", "dev"],
            &["--output=", "dev"],
            &["-O"],
            &[""],
        ] {
            assert!(
                parse_plain_with(&line(words), false, no_variables).is_none(),
                "{words:?}"
            );
        }
        // Where every word is a profile, a subcommand's word is one too.
        let list = parse_plain_with(&line(&["list"]), true, no_variables).unwrap();
        assert_eq!(list.profile.as_deref(), Some("list"));
    }

    #[test]
    fn variables_are_read_as_clap_reads_them() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let dev = line(&["dev"]);
        let cli = parse_plain_with(&dev, false, with(&[("MFA_CODE", "123456")])).unwrap();
        assert_eq!(cli.options.otp.as_deref(), Some("123456"));
        let cli = parse_plain_with(&dev, false, with(&[("MFA_CODE", "")])).unwrap();
        assert_eq!(cli.options.otp, None, "an empty variable is an unset one");
        let cli = parse_plain_with(&dev, false, with(&[("JUMP_ROLE_ARN", "arn:x")])).unwrap();
        assert_eq!(cli.options.jump_role.as_deref(), Some("arn:x"));
        let cli = parse_plain_with(&dev, false, with(&[(OUTPUT_VARIABLE, "FISH")])).unwrap();
        assert_eq!(cli.options.output, Format::Fish);
        let given = line(&["-O", "json", "dev"]);
        let cli = parse_plain_with(&given, false, with(&[(OUTPUT_VARIABLE, "fish")])).unwrap();
        assert_eq!(
            cli.options.output,
            Format::Json,
            "the flag wins over the variable"
        );
        for name in OTHER_VARIABLES {
            let var = |n: &str| (n == *name).then(|| OsString::from("1h"));
            assert!(parse_plain_with(&dev, false, var).is_none(), "{name}");
        }
        let bad = with(&[(OUTPUT_VARIABLE, "xml")]);
        assert!(parse_plain_with(&dev, false, bad).is_none());
    }

    #[test]
    fn version_is_claps() {
        let clap = Cli::command().render_version().to_string();
        assert_eq!(plain_version(&line(&["--version"])).unwrap(), clap);
        assert_eq!(plain_version(&line(&["-V"])).unwrap(), clap);
        assert!(plain_version(&line(&["--version", "dev"])).is_none());
        assert!(plain_version(&line(&[])).is_none());
    }

    const WORDS: &[&str] = &[
        "-O",
        "--output",
        "--output=json",
        "--output=",
        "json",
        "JSON",
        "Fish",
        "sh",
        "pwsh",
        "powershell",
        "xml",
        "dev",
        "prod",
        "list",
        "ls",
        "help",
        "ssm",
        "pick",
        "-v",
        "--",
        "-",
        "",
        "-Ojson",
        "-r",
        "--refresh",
        "-s",
        "a=b",
        "role/x",
        "aws",
    ];

    proptest! {
        /// Whatever line the fast reading takes, clap reads it the same (with this process's
        /// variables, as both read them).
        #[test]
        fn a_line_read_without_clap_is_read_as_clap_reads_it(
            picks in proptest::collection::vec(0..WORDS.len(), 0..5),
            profile_only in any::<bool>(),
        ) {
            let words: Vec<&str> = picks.iter().map(|&i| WORDS[i]).collect();
            let args = line(&words);
            if let Some(fast) = parse_plain(&args, profile_only) {
                let clap = if profile_only {
                    parse_profile_only_with_clap(&args)
                } else {
                    parse_with_clap(&args)
                };
                let clap = clap.map_err(|e| TestCaseError::fail(format!("{words:?}: {e}")))?;
                prop_assert_eq!(format!("{fast:?}"), format!("{clap:?}"));
            }
        }
    }
}
