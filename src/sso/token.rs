//! The IAM Identity Center token cache, in the AWS CLI v2's own format and place
//! (`~/.aws/sso/cache/<sha1>.json`, named by the SHA-1 of the session name, or of the start URL
//! for the legacy form), so that one sign-in serves aws-runas, the AWS CLI and every SDK.
//! Keys and timestamp format as botocore's `SSOTokenLoader` and `tokens.py` read and write them.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::SsoSession;
use crate::private_file::{read_bounded, write_private};

/// A token file is a few hundred bytes; anything far larger is not one.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CachedToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub access_token: String,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Whatever else another tool wrote: kept on rewrite.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("start_url", &self.start_url)
            .field("expires_at", &self.expires_at)
            .field("refreshable", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The timestamp format botocore writes (`%Y-%m-%dT%H:%M:%SZ`).
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses what botocore and the CLIs have written over the years: RFC 3339 with `Z` or an
/// offset, with or without fractions, and the old `...UTC` suffix.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let fixed;
    let s = match s.strip_suffix("UTC") {
        Some(rest) => {
            fixed = format!("{}Z", rest.trim_end());
            fixed.as_str()
        }
        None => s,
    };
    s.parse().ok()
}

impl CachedToken {
    /// Every value that goes into a request is printable ASCII (a line break in a file written
    /// by someone else must never reach a header).
    fn well_formed(&self) -> bool {
        let ok = |v: &str| crate::credentials::check_secret(v).is_ok();
        ok(&self.access_token)
            && [&self.refresh_token, &self.client_id, &self.client_secret]
                .iter()
                .all(|v| v.as_deref().is_none_or(ok))
    }

    pub fn expires(&self) -> Option<Timestamp> {
        parse_time(&self.expires_at)
    }

    /// The client registration this token came with, while it is valid at `now`.
    pub fn registration(&self, now: Timestamp) -> Option<Registration> {
        let expires = parse_time(self.registration_expires_at.as_deref()?)?;
        (expires > now)
            .then(|| Registration {
                client_id: self.client_id.clone().unwrap_or_default(),
                client_secret: self.client_secret.clone().unwrap_or_default(),
                expires_at: expires,
            })
            .filter(|r| !r.client_id.is_empty() && !r.client_secret.is_empty())
    }
}

/// A client registered with SSO OIDC: reused until its secret expires.
#[derive(Clone)]
pub struct Registration {
    pub client_id: String,
    pub client_secret: String,
    pub expires_at: Timestamp,
}

/// The cache file's name: SHA-1 of the session name, or of the start URL (legacy form).
pub fn file_name(session: &SsoSession) -> String {
    let input = session.name.as_deref().unwrap_or(&session.start_url);
    format!("{}.json", crate::digest::sha1_hex(input.as_bytes()))
}

/// `~/.aws/sso/cache`, as the AWS CLI v2 and botocore place it.
pub fn cache_dir() -> anyhow::Result<PathBuf> {
    let home = dirs::home_dir()
        .ok_or_else(|| anyhow::anyhow!("no home directory for the SSO token cache: set HOME"))?;
    Ok(home.join(".aws").join("sso").join("cache"))
}

pub fn path(session: &SsoSession) -> anyhow::Result<PathBuf> {
    Ok(cache_dir()?.join(file_name(session)))
}

/// The cached token, if a well-formed one is there; a malformed file is a miss with a warning
/// that never quotes its content.
pub fn read(path: &Path) -> Option<CachedToken> {
    let bytes = match read_bounded(path, MAX_TOKEN_FILE) {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("ignoring the SSO token cache: {e}");
            return None;
        }
    };
    match serde_json::from_slice::<CachedToken>(&bytes) {
        Ok(t) if t.expires().is_some() && t.well_formed() => Some(t),
        Ok(_) => {
            tracing::warn!(
                "ignoring {}: no valid accessToken or expiresAt, or a value no token has",
                path.display()
            );
            None
        }
        Err(e) => {
            tracing::warn!(
                "ignoring {}: malformed at line {}, column {}",
                path.display(),
                e.line(),
                e.column()
            );
            None
        }
    }
}

/// Writes the token atomically, readable by this user alone, creating the directory (0700).
pub fn write(path: &Path, token: &CachedToken) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let json = serde_json::to_vec_pretty(token).expect("a token always serializes");
    write_private(path, &json)?;
    Ok(())
}

/// Removes the cached token; `false` when there was none.
pub fn remove(path: &Path) -> anyhow::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(anyhow::anyhow!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(name: Option<&str>, url: &str) -> SsoSession {
        SsoSession {
            name: name.map(str::to_owned),
            start_url: url.into(),
            region: "us-east-1".into(),
            scopes: vec![],
            oidc_endpoint: None,
            portal_endpoint: None,
        }
    }

    #[test]
    fn file_names_are_the_sha1_the_aws_cli_uses() {
        // Vectors: hashlib.sha1(b"my-sso").hexdigest(), and of the start URL.
        assert_eq!(
            file_name(&session(Some("my-sso"), "https://x.awsapps.com/start")),
            "0ad374308c5a4e22f723adf10145eafad7c4031c.json"
        );
        assert_eq!(
            file_name(&session(None, "https://d-123.awsapps.com/start")),
            "2b829a45f04c9828cb45b7d092d8e4aa30818393.json"
        );
    }

    #[test]
    fn times_in_every_format_botocore_wrote() {
        let t: Timestamp = "2030-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(format_time(t), "2030-01-02T03:04:05Z");
        for s in [
            "2030-01-02T03:04:05Z",
            "2030-01-02T03:04:05UTC",
            "2030-01-02T03:04:05+00:00",
            "2030-01-02T03:04:05.000Z",
        ] {
            assert_eq!(parse_time(s), Some(t), "{s}");
        }
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn unknown_keys_survive_and_secrets_stay_out_of_debug() {
        let text = r#"{"startUrl":"https://x","region":"eu-west-1","accessToken":"SECRET-AT",
            "expiresAt":"2030-01-02T03:04:05Z","refreshToken":"SECRET-RT","clientSecret":"SECRET-CS",
            "clientId":"cid","registrationExpiresAt":"2030-01-01T00:00:00Z","extra":{"k":1}}"#;
        let t: CachedToken = serde_json::from_str(text).unwrap();
        let back: serde_json::Value = serde_json::to_value(&t).unwrap();
        assert_eq!(back["extra"]["k"], 1);
        assert_eq!(back["refreshToken"], "SECRET-RT");
        assert!(!format!("{t:?}").contains("SECRET"));
        let now: Timestamp = "2029-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(t.registration(now).unwrap().client_id, "cid");
        let later: Timestamp = "2030-06-01T00:00:00Z".parse().unwrap();
        assert!(t.registration(later).is_none(), "expired registration");
    }

    #[test]
    fn a_token_file_with_control_bytes_or_no_token_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        for bad in [
            r#"{"accessToken":"a\r\nX-Evil: 1","expiresAt":"2030-01-02T03:04:05Z"}"#,
            r#"{"accessToken":"","expiresAt":"2030-01-02T03:04:05Z"}"#,
            r#"{"accessToken":"a","expiresAt":"2030-01-02T03:04:05Z","refreshToken":"r r"}"#,
            r#"{"accessToken":"a","expiresAt":"tomorrow"}"#,
            r#"{"accessToken":"a"}"#,
            "not json",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(read(&path).is_none(), "{bad}");
        }
        std::fs::write(
            &path,
            r#"{"accessToken":"a","expiresAt":"2030-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        assert!(read(&path).is_some());
    }
}
