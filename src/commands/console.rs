//! `aws-runas console PROFILE`: trade the profile's credentials for a sign-in token at AWS's
//! federation endpoint and open (or print) the console URL that signs the browser in with it.
//!
//! The endpoint takes only role or federation-token sessions: an IAM user's keys first go
//! through GetFederationToken (a GetSessionToken session, which other commands use, is refused
//! there). The secret key and session token go only into the token request, never into the URL,
//! argv or a log line; the sign-in token only into the URL.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use jiff::Timestamp;

use crate::aws::sts::Sts;
use crate::cli::{ConsoleArgs, Options};
use crate::config::{Resolved, Root};
use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::sources::RootKeys;

/// The federation endpoint's limits on a console session (and GetFederationToken's duration).
const MIN_SESSION: Duration = Duration::from_secs(900);
const MAX_SESSION: Duration = Duration::from_secs(43_200);

/// As aws-vault: the federation token may do anything the user's own policies allow (the
/// session policy only narrows them, and without one the token could do nothing).
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

const TIMEOUT: Duration = Duration::from_secs(30);

/// What the user signs in with, and whether the endpoint may be told how long the console
/// session lasts.
struct Sign {
    credentials: Credentials,
    /// `SessionDuration`: AWS takes it only for role sessions (AssumeRole*); for
    /// GetFederationToken's the console session lasts as long as the credentials, and the
    /// parameter is an error.
    duration: Option<Duration>,
}

pub fn run(options: &Options, args: &ConsoleArgs) -> anyhow::Result<ExitCode> {
    // Checked before any credential is fetched (or MFA code asked for).
    if let Some(d) = &args.destination {
        check_destination(d)?;
    }
    if let Some(s) = &args.service {
        check_service(s)?;
    }
    let (session, request) = super::open(options, args.profile.as_deref())?;
    let resolved = &session.resolved;
    let region = resolved
        .region
        .as_deref()
        .unwrap_or(crate::aws::FALLBACK_REGION);
    let sign = match federation_keys(resolved, options.session) {
        Some(keys) => {
            let keys = keys.load()?;
            let name = federation_name(&resolved.name);
            let duration = resolved.session_duration.clamp(MIN_SESSION, MAX_SESSION);
            tracing::debug!(
                "console: GetFederationToken as {name} for {}s",
                duration.as_secs()
            );
            let credentials = session
                .sts()
                .get_federation_token(&keys, &name, ALLOW_ALL, duration)
                .map_err(|e| anyhow!("profile '{}': {e}", resolved.name))?;
            Sign {
                credentials,
                duration: None,
            }
        }
        None => {
            let credentials = session.credentials(&request)?;
            if !credentials.is_temporary() {
                bail!(
                    "profile '{}' gives long-term keys the console cannot sign in with",
                    resolved.name
                );
            }
            let duration = role_session_length(resolved, &credentials);
            Sign {
                credentials,
                duration,
            }
        }
    };
    let env = Environment::from_process();
    let base = signin_base(&env, region);
    let at = crate::aws::SIGNIN.at(region, Some(&base));
    let agent = crate::tls::ureq_agent(resolved.ca_bundle.as_ref(), TIMEOUT, false)?;
    let token = signin_token(&agent, &base, &at, &sign)
        .map_err(|e| anyhow!("console sign-in for profile '{}': {e}", resolved.name))?;
    let destination = match (&args.destination, &args.service) {
        (Some(d), _) => d.clone(),
        (None, Some(service)) => format!(
            "https://{}/{service}/home?region={region}",
            console_host(region)
        ),
        (None, None) => format!(
            "https://{region}.{}/console/home?region={region}",
            console_host(region)
        ),
    };
    let mut url = url::Url::parse(&format!("{base}/federation"))?;
    url.query_pairs_mut()
        .append_pair("Action", "login")
        .append_pair("Issuer", "aws-runas")
        .append_pair("Destination", &destination)
        .append_pair("SigninToken", &token);
    if args.print || !crate::tty::browser_available() {
        super::print(&format!("{url}\n"))?;
    } else {
        tracing::debug!("console: opening the sign-in URL for {destination} in the browser");
        crate::tty::open_browser(url.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

/// The root keys to trade through GetFederationToken: those of a profile whose credentials are
/// an IAM user's own (no role, or `-s`), unless they are temporary already.
fn federation_keys(resolved: &Resolved, session_only: bool) -> Option<RootKeys<'_>> {
    if !(resolved.hops.is_empty() || session_only) {
        return None;
    }
    let keys = match &resolved.root {
        Root::Keys(k) => RootKeys::AtHand(k),
        Root::Keyring(k) => RootKeys::Keyring(k),
        _ => return None,
    };
    (!keys.is_temporary()).then_some(keys)
}

/// How `console` signs in with a resolved profile, for `diagnose`.
pub fn describe(resolved: &Resolved) -> String {
    let through_keys = matches!(resolved.root, Root::Keys(_) | Root::Keyring(_));
    if !resolved.hops.is_empty() || !through_keys {
        return "console: signs in with this profile's temporary credentials".into();
    }
    if federation_keys(resolved, false).is_none() {
        return "console: signs in with the temporary keys the profile holds (if they came from a role or GetFederationToken; a GetSessionToken session is refused)".into();
    }
    let mut line = "console: signs in through GetFederationToken with the IAM user's keys (the user needs sts:GetFederationToken)".to_owned();
    if resolved.mfa_serial.is_some() {
        line.push_str(
            "; GetFederationToken takes no MFA, so policies that require MFA deny the console session: use a role profile with mfa_serial",
        );
    }
    line
}

/// `SessionDuration` for a role session: the role's duration where the profile sets one, else
/// what is left of the credentials; within what the endpoint takes. `None` for temporary keys
/// of unknown kind (from the environment or a file), where AWS may refuse the parameter.
fn role_session_length(resolved: &Resolved, credentials: &Credentials) -> Option<Duration> {
    let from_keys = matches!(resolved.root, Root::Keys(_) | Root::Keyring(_));
    let length = match resolved.hops.last() {
        Some(hop) => hop.duration,
        None if from_keys => return None,
        None => credentials.time_left(Timestamp::now())?,
    };
    Some(length.clamp(MIN_SESSION, MAX_SESSION))
}

/// GetFederationToken's `Name`: 2 to 32 of `[A-Za-z0-9+=,.@-]`; CloudTrail shows it.
fn federation_name(profile: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "+=,.@-".contains(c);
    let name: String = profile
        .chars()
        .map(|c| if safe(c) { c } else { '-' })
        .take(32)
        .collect();
    if name.len() < 2 {
        "aws-runas".into()
    } else {
        name
    }
}

/// The partition's domain, by region prefix.
fn partition(region: &str) -> (&'static str, &'static str) {
    if region.starts_with("us-gov-") {
        (
            "signin.amazonaws-us-gov.com",
            "console.amazonaws-us-gov.com",
        )
    } else if region.starts_with("cn-") {
        ("signin.amazonaws.cn", "console.amazonaws.cn")
    } else {
        ("signin.aws.amazon.com", "console.aws.amazon.com")
    }
}

fn console_host(region: &str) -> &'static str {
    partition(region).1
}

/// The federation endpoint's origin: `AWS_ENDPOINT_URL_SIGNIN` when set, else the partition's.
fn signin_base(env: &Environment, region: &str) -> String {
    let configured = (!env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
        .then(|| env.get("AWS_ENDPOINT_URL_SIGNIN"))
        .flatten()
        .filter(|v| !v.trim().is_empty());
    match configured {
        Some(url) => url.trim().trim_end_matches('/').to_owned(),
        None => format!("https://{}", partition(region).0),
    }
}

fn check_destination(d: &str) -> anyhow::Result<()> {
    let ok = url::Url::parse(d).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
    if !ok {
        bail!(
            "--destination must be an https URL (got {})",
            crate::shown::shown_url_quoted(d)
        );
    }
    Ok(())
}

fn check_service(s: &str) -> anyhow::Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "--service takes a console service name such as s3 or ec2 (got {})",
            crate::shown::shown_quoted(s)
        );
    }
    Ok(())
}

/// `getSigninToken`: the session JSON in, `{"SigninToken": ...}` out. Failures are lines of our
/// own: the answer's body may echo the request, and with it the session.
fn signin_token(
    agent: &ureq::Agent,
    base: &str,
    at: &crate::aws::Endpoint,
    sign: &Sign,
) -> anyhow::Result<String> {
    let host = &at.host;
    let c = &sign.credentials;
    let session = serde_json::json!({
        "sessionId": c.access_key_id,
        "sessionKey": c.secret_access_key,
        "sessionToken": c.session_token.as_deref().unwrap_or_default(),
    })
    .to_string();
    let mut url = url::Url::parse(&format!("{base}/federation"))
        .map_err(|_| anyhow!("AWS_ENDPOINT_URL_SIGNIN is no URL"))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("Action", "getSigninToken");
        if let Some(d) = sign.duration {
            query.append_pair("SessionDuration", &d.as_secs().to_string());
        }
        query.append_pair("Session", &session);
    }
    tracing::debug!(
        "console: asking {host} for a sign-in token{}",
        sign.duration
            .map(|d| format!(" (console session {}s)", d.as_secs()))
            .unwrap_or_default()
    );
    let response = agent
        .get(url.as_str())
        .call()
        .map_err(|e| anyhow!(crate::aws::describe_transport(at, &e)))?;
    let crate::aws::Answer {
        status,
        body: bytes,
        ..
    } = crate::aws::read_answer(at, response).map_err(|e| anyhow!(e))?;
    if !(200..300).contains(&status) {
        bail!("{host} refused the credentials (HTTP {status})");
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "SigninToken")]
        signin_token: String,
    }
    let answer: Answer = serde_json::from_slice(&bytes)
        .map_err(|_| anyhow!("{host} answered HTTP {status} without a sign-in token"))?;
    if answer.signin_token.is_empty() {
        bail!("{host} answered with an empty sign-in token");
    }
    Ok(answer.signin_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn federation_names_are_safe_and_bounded() {
        assert_eq!(federation_name("alice"), "alice");
        assert_eq!(federation_name("a b/c"), "a-b-c");
        assert_eq!(federation_name("x"), "aws-runas");
        assert_eq!(federation_name(&"é".repeat(40)).len(), 32);
    }

    #[test]
    fn partitions_have_their_own_hosts() {
        assert_eq!(partition("eu-west-1").0, "signin.aws.amazon.com");
        assert_eq!(partition("us-gov-west-1").1, "console.amazonaws-us-gov.com");
        assert_eq!(partition("cn-north-1").0, "signin.amazonaws.cn");
    }

    #[test]
    fn destinations_must_be_https_and_services_plain_names() {
        assert!(check_destination("https://console.aws.amazon.com/s3/").is_ok());
        assert!(check_destination("http://console.aws.amazon.com/").is_err());
        assert!(check_destination("javascript:alert(1)").is_err());
        assert!(check_service("s3").is_ok());
        assert!(check_service("../x").is_err());
    }
}
