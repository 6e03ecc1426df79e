//! The ID token of a web identity sign-in, cached (owner-only, in the credential cache) per
//! provider, client and username: every profile signing in there as that person reuses it until
//! it is about to expire, with no request to the provider; its refresh token, when the provider
//! issued one, renews it without a sign-in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct CachedIdToken {
    pub id_token: String,
    pub refresh_token: Option<String>,
    /// The token's `exp`.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for CachedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedIdToken")
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl CachedIdToken {
    /// Whether the token is good for `window` more (STS refuses an expired one).
    pub fn fresh(&self, now: Timestamp, window: std::time::Duration) -> bool {
        let window = SignedDuration::try_from(window).unwrap_or(SignedDuration::MAX);
        now.checked_add(window)
            .is_ok_and(|later| self.expires_at > later)
    }
}

/// The `exp` claim of a JWT, read without checking its signature (STS checks it; we only need
/// to know how long to keep the token).
pub fn expiry(jwt: &str) -> Option<Timestamp> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Timestamp::from_second(claims.get("exp")?.as_i64()?).ok()
}

/// The cache entry of a token fresh from the provider. Its lifetime is its `exp`, else the
/// response's `expires_in`, else (neither given) an hour, the usual ID token lifetime.
pub fn from_response(
    id_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
) -> CachedIdToken {
    let now = Timestamp::now();
    let expires_at = expiry(&id_token).unwrap_or_else(|| {
        let secs = i64::try_from(expires_in.unwrap_or(3600)).unwrap_or(3600);
        now + SignedDuration::from_secs(secs)
    });
    CachedIdToken {
        id_token,
        refresh_token,
        expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn expiry_comes_from_the_exp_claim() {
        assert_eq!(
            expiry(&jwt(r#"{"sub":"alice","exp":1795658500}"#)).map(|t| t.as_second()),
            Some(1795658500)
        );
        assert_eq!(expiry(&jwt(r#"{"sub":"alice"}"#)), None);
        assert_eq!(expiry("not-a-jwt"), None);
        let t = from_response(jwt(r#"{"sub":"a"}"#), None, Some(120));
        let left = t.expires_at.duration_since(Timestamp::now()).as_secs();
        assert!((100..=120).contains(&left), "{left}");
    }

    #[test]
    fn a_token_inside_the_window_is_not_fresh() {
        let now = Timestamp::now();
        let t = CachedIdToken {
            id_token: "t".into(),
            refresh_token: Some("r".into()),
            expires_at: now + SignedDuration::from_mins(10),
        };
        assert!(t.fresh(now, std::time::Duration::from_secs(300)));
        assert!(!t.fresh(now, std::time::Duration::from_secs(900)));
        assert!(!format!("{t:?}").contains("\"r\""), "no token in Debug");
    }
}
