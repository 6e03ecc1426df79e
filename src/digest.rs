//! The hashes this program computes: SHA-256 (cache keys, the SSM data channel's payload digests,
//! PKCE, the file names botocore gives login sessions), SHA-1 (the SSO token cache's file names,
//! as the AWS CLI names them) and HMAC-SHA256 (IMDSv2 tokens), and their hex form. All from ring,
//! the crypto library rustls already brings, rather than a second family of hash crates.

use ring::digest::{self, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use ring::hmac;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_parts([data])
}

/// SHA-256 of the parts, concatenated.
pub fn sha256_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut context = digest::Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    context
        .finish()
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// Only for names other tools already derive with SHA-1 (the AWS CLI's SSO cache files).
pub fn sha1_hex(data: &[u8]) -> String {
    hex(digest::digest(&SHA1_FOR_LEGACY_USE_ONLY, data).as_ref())
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message)
        .as_ref()
        .try_into()
        .expect("HMAC-SHA256 is 32 bytes")
}

/// Whether `tag` is the HMAC-SHA256 of `message`, compared in constant time.
pub fn hmac_sha256_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, tag).is_ok()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published test vectors: FIPS 180-2 ("abc") and RFC 4231 test case 2.
    #[test]
    fn digests_match_the_published_vectors() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_parts([&b"a"[..], b"", b"bc"]), sha256(b"abc"));
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing!",
            &tag
        ));
        assert!(!hmac_sha256_verify(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..31]
        ));
    }
}
