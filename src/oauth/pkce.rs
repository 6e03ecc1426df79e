//! PKCE (RFC 7636): a random verifier kept by us, its S256 challenge sent with the authorization
//! request, so an authorization code intercepted on its way back is useless to anyone else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
    /// The `state` that ties the redirect to this request (CSRF protection).
    pub state: String,
}

fn random(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(crate::digest::sha256(verifier.as_bytes()))
}

impl Pkce {
    pub fn new() -> anyhow::Result<Self> {
        // 48 random bytes: a 64-character verifier, within RFC 7636's 43..128.
        let verifier = random(48)?;
        Ok(Self {
            challenge: challenge(&verifier),
            verifier,
            state: random(24)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_appendix_b_vector() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_fresh_and_well_formed() {
        let (a, b) = (Pkce::new().unwrap(), Pkce::new().unwrap());
        assert_ne!(a.verifier, b.verifier);
        assert_ne!(a.state, b.state);
        assert_eq!(a.verifier.len(), 64);
        assert!(a
            .verifier
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(a.challenge, challenge(&a.verifier));
    }
}
