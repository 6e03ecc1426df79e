//! Turns a credential set into what the user asked to see: shell statements for `eval`, or the
//! `credential_process` JSON document the AWS SDKs and CLI read.

use clap::ValueEnum;
use serde::Serialize;

use crate::credentials::Credentials;
use crate::shell::{Bash, Fish, PowerShell, Shell};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// POSIX `export` statements (bash, zsh, sh)
    #[default]
    #[value(alias = "sh")]
    Env,
    /// credential_process JSON
    Json,
    /// fish `set -gx` statements
    Fish,
    /// PowerShell `$Env:` assignments
    #[value(alias = "pwsh")]
    Powershell,
}

impl Format {
    pub fn shell(self) -> Option<&'static dyn Shell> {
        match self {
            Format::Env => Some(&Bash),
            Format::Fish => Some(&Fish),
            Format::Powershell => Some(&PowerShell),
            Format::Json => None,
        }
    }
}

/// Every variable `runas use` may set: the credential variables, the region, and ours.
pub const EXPORTED_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWSRUNAS_PROFILE",
];

/// The environment a credential set means, in export order. Variables that do not apply (no
/// session token, no region) are returned as `None` so callers can unset stale values.
pub fn environment(
    creds: &Credentials,
    region: Option<&str>,
    profile: &str,
) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("AWS_ACCESS_KEY_ID", Some(creds.access_key_id.clone())),
        (
            "AWS_SECRET_ACCESS_KEY",
            Some(creds.secret_access_key.clone()),
        ),
        ("AWS_SESSION_TOKEN", creds.session_token.clone()),
        // Older SDKs (boto 2) read the session token under this name.
        ("AWS_SECURITY_TOKEN", creds.session_token.clone()),
        ("AWS_CREDENTIAL_EXPIRATION", creds.expiration_rfc3339()),
        ("AWS_REGION", region.map(str::to_owned)),
        ("AWS_DEFAULT_REGION", region.map(str::to_owned)),
        ("AWSRUNAS_PROFILE", Some(profile.to_owned())),
    ]
}

pub fn shell_statements(
    shell: &dyn Shell,
    creds: &Credentials,
    region: Option<&str>,
    profile: &str,
) -> String {
    let mut out = String::new();
    for (name, value) in environment(creds, region, profile) {
        let line = match value {
            Some(v) => shell.export(name, &v),
            None => shell.unset(name),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<String>,
}

pub fn credential_process_json(creds: &Credentials) -> String {
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: &creds.access_key_id,
        secret_access_key: &creds.secret_access_key,
        session_token: creds.session_token.as_deref(),
        expiration: creds.expiration_rfc3339(),
    };
    let mut json = serde_json::to_string_pretty(&doc).expect("plain strings always serialize");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_credential_process_fields() {
        let mut c = Credentials::long_term("AKID".into(), "SECRET".into());
        c.session_token = Some("TOKEN".into());
        c.expiration = Some("2030-01-02T03:04:05Z".parse().unwrap());
        let v: serde_json::Value = serde_json::from_str(&credential_process_json(&c)).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["AccessKeyId"], "AKID");
        assert_eq!(v["SecretAccessKey"], "SECRET");
        assert_eq!(v["SessionToken"], "TOKEN");
        assert_eq!(v["Expiration"], "2030-01-02T03:04:05Z");
    }

    #[test]
    fn absent_values_are_unset_not_exported_empty() {
        let c = Credentials::long_term("AKID".into(), "SECRET".into());
        let out = shell_statements(&Bash, &c, None, "dev");
        assert!(out.contains("unset AWS_SESSION_TOKEN\n"));
        assert!(out.contains("unset AWS_REGION\n"));
        assert!(out.contains("export AWSRUNAS_PROFILE='dev'\n"));
    }
}
