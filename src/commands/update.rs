//! `-u`: is there a newer release? Compares this version with the one the update URL names:
//! `RUNAS_UPDATE_URL`, else the GitHub releases API of the package's repository. It answers
//! JSON with `tag_name` (GitHub) or `version`, or plain text. Offline or unreachable is one line
//! and exit status 1, within a short timeout.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::print;
use crate::environment::Environment;

const TIMEOUT: Duration = Duration::from_secs(5);

fn update_url(env: &Environment) -> Option<String> {
    env.get("RUNAS_UPDATE_URL").or_else(|| {
        let repo = option_env!("CARGO_PKG_REPOSITORY").filter(|r| !r.is_empty())?;
        let path = repo
            .strip_prefix("https://github.com/")?
            .trim_end_matches('/');
        Some(format!(
            "https://api.github.com/repos/{path}/releases/latest"
        ))
    })
}

pub fn run() -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    let Some(url) = update_url(&env) else {
        anyhow::bail!(
            "no update URL: set RUNAS_UPDATE_URL to where the latest release is published"
        );
    };
    let body = fetch(&env, &url).with_context(|| format!("cannot check for updates at {url}"))?;
    let latest =
        latest_version(&body).with_context(|| format!("no version in the answer from {url}"))?;
    let current = env!("CARGO_PKG_VERSION");
    let text = if newer(&latest, current) {
        format!("aws-runas {latest} is available (this is {current})\n")
    } else {
        format!("aws-runas {current} is the latest version\n")
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn fetch(env: &Environment, url: &str) -> anyhow::Result<String> {
    let bundle = crate::tls::Bundle::find(env, None);
    let agent = crate::tls::ureq_agent(bundle.as_ref(), TIMEOUT, true)?;
    let mut response = agent.get(url).call().map_err(|e| {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if crate::tls::untrusted_certificate(&e) {
            anyhow::anyhow!("{} ({e})", crate::tls::untrusted_hint(&host))
        } else {
            e.into()
        }
    })?;
    Ok(response.body_mut().read_to_string()?)
}

fn latest_version(body: &str) -> Option<String> {
    let version = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => json["tag_name"]
            .as_str()
            .or_else(|| json["version"].as_str())?
            .to_owned(),
        Err(_) => body.trim().to_owned(),
    };
    let version = version.trim_start_matches('v').to_owned();
    parse(&version).map(|_| version)
}

fn parse(version: &str) -> Option<Vec<u64>> {
    let core = version.split(['-', '+']).next()?;
    core.split('.').map(|n| n.parse().ok()).collect()
}

fn newer(candidate: &str, current: &str) -> bool {
    match (parse(candidate), parse(current)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_usual_answers() {
        assert_eq!(
            latest_version(r#"{"tag_name":"v1.2.3"}"#).as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            latest_version(r#"{"version":"0.9.0"}"#).as_deref(),
            Some("0.9.0")
        );
        assert_eq!(latest_version("2.0.1\n").as_deref(), Some("2.0.1"));
        assert_eq!(latest_version("<html>"), None);
    }

    #[test]
    fn without_a_configured_url_the_package_repository_is_asked() {
        let url = update_url(&Environment::from([])).unwrap();
        let repo = env!("CARGO_PKG_REPOSITORY").trim_start_matches("https://github.com/");
        assert_eq!(
            url,
            format!("https://api.github.com/repos/{repo}/releases/latest")
        );
    }

    #[test]
    fn comparison_is_numeric() {
        assert!(newer("0.10.0", "0.9.9"));
        assert!(newer("1.0.0", "0.99.0"));
        assert!(!newer("0.1.0", "0.1.0"));
        assert!(!newer("0.1.0-rc1", "0.1.0"));
    }
}
