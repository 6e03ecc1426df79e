//! The credential set we hand out, and the rules for when it is still good to use.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// When AWS said they stop working; `None` for long-term keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
    /// When we obtained them; with `expiration` this gives their lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<Timestamp>,
}

/// Secrets must never reach a log, so Debug shows only what identifies the key.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &redact_key_id(&self.access_key_id))
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Shows enough of an access key id to tell keys apart in logs, not enough to use it.
pub fn redact_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 || !id.is_ascii() {
        return "<redacted>".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// AWS documents access key ids as 16 to 128 characters; every one issued is upper-case letters
/// and digits. Checked where keys are read, so that a stray byte never reaches the request signer.
pub fn check_access_key_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("it is empty");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err("it may hold only the characters A-Z and 0-9");
    }
    if !(16..=128).contains(&id.len()) {
        return Err("it must be 16 to 128 characters long");
    }
    Ok(())
}

/// Secret keys and session tokens: printable ASCII without spaces, of a sane length.
pub fn check_secret(secret: &str) -> Result<(), &'static str> {
    const LONGEST: usize = 8192;
    if secret.is_empty() {
        return Err("it is empty");
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("it may hold only printable ASCII characters, without spaces");
    }
    if secret.len() > LONGEST {
        return Err("it is longer than 8192 characters");
    }
    Ok(())
}

impl Credentials {
    pub fn long_term(access_key_id: String, secret_access_key: String) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token: None,
            expiration: None,
            issued: None,
        }
    }

    /// Whether every part could be sent to AWS: the SDK refuses (or worse, panics on) a control
    /// byte in a header value. Says which part is wrong, never its value.
    pub fn check_charset(&self) -> Result<(), String> {
        check_access_key_id(&self.access_key_id)
            .map_err(|why| format!("its access key id is malformed: {why}"))?;
        check_secret(&self.secret_access_key)
            .map_err(|why| format!("its secret access key is malformed: {why}"))?;
        if let Some(token) = &self.session_token {
            check_secret(token).map_err(|why| format!("its session token is malformed: {why}"))?;
        }
        Ok(())
    }

    pub fn is_temporary(&self) -> bool {
        self.session_token.is_some()
    }

    pub fn time_left(&self, now: Timestamp) -> Option<Duration> {
        let exp = self.expiration?;
        Some(Duration::try_from(exp - now).unwrap_or(Duration::ZERO))
    }

    /// Whether these are temporary credentials anyone may use or cache: keys that pass our
    /// checks, a session token and an expiration later than `now`. The `Err` says what is wrong,
    /// for "... came with {it}".
    pub fn check_temporary(&self, now: Timestamp) -> Result<(), &'static str> {
        if check_access_key_id(&self.access_key_id).is_err() {
            return Err("no valid access key id");
        }
        if check_secret(&self.secret_access_key).is_err() {
            return Err("no valid secret access key");
        }
        if self
            .session_token
            .as_deref()
            .is_none_or(|t| check_secret(t).is_err())
        {
            return Err("no valid session token");
        }
        match self.expiration {
            Some(expiration) if expiration > now => Ok(()),
            Some(_) => Err("an expiration that has passed (is this machine's clock right?)"),
            None => Err("no expiration"),
        }
    }

    /// Fresh means usable without a refresh: more than the refresh window left. A window that is
    /// not shorter than the credentials' whole lifetime would make them stale the moment they are
    /// issued and refresh on every call, so such a window shrinks to half the lifetime.
    pub fn is_fresh(&self, now: Timestamp, refresh_window: Duration) -> bool {
        match (self.expiration, self.refresh_at(refresh_window)) {
            (None, _) => true,
            (Some(_), Some(at)) => now < at,
            (Some(_), None) => false,
        }
    }

    /// The moment these credentials stop being fresh; `None` for long-term keys.
    pub fn refresh_at(&self, refresh_window: Duration) -> Option<Timestamp> {
        let exp = self.expiration?;
        let window = match self.issued.map(|issued| exp.duration_since(issued)) {
            Some(lifetime) => {
                let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::ZERO);
                if refresh_window >= lifetime {
                    lifetime / 2
                } else {
                    refresh_window
                }
            }
            None => refresh_window,
        };
        exp.checked_sub(jiff::SignedDuration::try_from(window).ok()?)
            .ok()
    }

    /// RFC 3339 in UTC with a `Z`, the form starship and the AWS SDKs parse.
    pub fn expiration_rfc3339(&self) -> Option<String> {
        self.expiration.map(rfc3339)
    }
}

pub fn rfc3339(t: Timestamp) -> String {
    // Whole seconds: sub-second precision only adds noise to prompts and env vars.
    Timestamp::from_second(t.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(issued: i64, expires: i64) -> Credentials {
        Credentials {
            issued: Some(Timestamp::from_second(issued).unwrap()),
            expiration: Some(Timestamp::from_second(expires).unwrap()),
            ..Credentials::long_term("ASIAEXAMPLEKEY12".into(), "s".into())
        }
    }

    #[test]
    fn freshness_uses_the_refresh_window() {
        let c = creds(0, 3600);
        let window = Duration::from_secs(900);
        assert!(c.is_fresh(Timestamp::from_second(2000).unwrap(), window));
        assert!(!c.is_fresh(Timestamp::from_second(2701).unwrap(), window));
        assert!(!c.is_fresh(Timestamp::from_second(4000).unwrap(), window));
    }

    #[test]
    fn window_longer_than_lifetime_falls_back_to_half() {
        let c = creds(0, 900);
        let window = Duration::from_secs(3600);
        assert!(c.is_fresh(Timestamp::from_second(100).unwrap(), window));
        assert!(!c.is_fresh(Timestamp::from_second(460).unwrap(), window));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let mut c = creds(0, 900);
        c.secret_access_key = "TOPSECRET".into();
        c.session_token = Some("TOKENVALUE".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("TOPSECRET") && !shown.contains("TOKENVALUE"));
        assert!(!shown.contains("ASIAEXAMPLEKEY12"));
    }

    #[test]
    fn key_checks() {
        assert!(check_access_key_id("AKIAIOSFODNN7EXAMPLE").is_ok());
        for bad in [
            "",
            "AKIA",
            "AKIAIOSFODNN7EXAMPL\u{1}",
            "akiaiosfodnn7example",
            "AKIAIOSFODNN7EXAMPLÉ",
        ] {
            assert!(check_access_key_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY+=").is_ok());
        for bad in ["", "a b", "a\tb", "a\u{1b}b", "ä"] {
            assert!(check_secret(bad).is_err(), "{bad:?}");
        }
        assert_eq!(redact_key_id("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(redact_key_id("ÄÄÄÄÄÄÄÄÄÄ"), "<redacted>");
    }

    #[test]
    fn expiration_is_utc_with_z() {
        let c = creds(0, 1_700_000_000);
        assert_eq!(c.expiration_rfc3339().unwrap(), "2023-11-14T22:13:20Z");
    }
}
