//! A profile's `login_session`: the console-derived credentials `aws login` (AWS CLI 2.32+)
//! keeps in `~/.aws/login/cache/<sha256 of the session>.json`, read and renewed as botocore's
//! `LoginCredentialFetcher` does, so the AWS CLI, boto3 and aws-runas share one entry: a
//! renewal spends the single-use refresh token, proven with the entry's DPoP key (RFC 9449).

use std::time::Duration;

use anyhow::{anyhow, bail};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jiff::Timestamp;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Map, Value};

use super::{Context, Source};
use crate::aws::{FALLBACK_REGION, SIGNIN};
use crate::cache::CacheKey;
use crate::config::LoginSessionSettings;
use crate::credentials::Credentials;

/// botocore renews only inside its last five minutes (`_REFRESH_THRESHOLD`): the entries live
/// 15 minutes, so a wider window would renew on every call.
pub const REFRESH_THRESHOLD: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(30);
/// An entry is a few kilobytes; anything near this is not one.
const ENTRY_LIMIT: u64 = 1 << 20;

pub struct LoginSession<'a> {
    settings: &'a LoginSessionSettings,
    region: Option<&'a str>,
    ca_bundle: Option<&'a crate::tls::Bundle>,
}

/// What `diagnose` says of an entry.
pub struct Status {
    pub expires: Timestamp,
    pub renewable: bool,
}

impl<'a> LoginSession<'a> {
    pub fn new(
        settings: &'a LoginSessionSettings,
        region: Option<&'a str>,
        ca_bundle: Option<&'a crate::tls::Bundle>,
    ) -> Self {
        Self {
            settings,
            region,
            ca_bundle,
        }
    }

    fn again(&self) -> String {
        format!(
            "run `aws login --profile {}` again",
            crate::shown::shown_message(&self.settings.profile)
        )
    }

    /// The entry as a JSON object, every field kept for writing it back.
    fn read(&self) -> anyhow::Result<Map<String, Value>> {
        let path = &self.settings.cache_file;
        let bytes = crate::private_file::read_bounded(path, ENTRY_LIMIT)
            .map_err(|e| anyhow!("profile '{}': {e}", self.settings.profile))?
            .ok_or_else(|| {
                anyhow!(
                    "profile '{}' uses login session '{}', which has no entry in {}: {}",
                    self.settings.profile,
                    self.settings.session,
                    path.display(),
                    self.again()
                )
            })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(self.malformed("it is not a JSON object")),
        }
    }

    fn malformed(&self, why: &str) -> anyhow::Error {
        anyhow!(
            "profile '{}': the login session entry {} is malformed ({why}): {}",
            self.settings.profile,
            self.settings.cache_file.display(),
            self.again()
        )
    }

    fn credentials(&self, entry: &Map<String, Value>) -> anyhow::Result<Credentials> {
        let token = entry
            .get("accessToken")
            .and_then(Value::as_object)
            .ok_or_else(|| self.malformed("no accessToken"))?;
        let field = |name: &str| {
            token
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| self.malformed(&format!("no accessToken.{name}")))
        };
        let expires = field("expiresAt")?;
        let expiration =
            parse_time(&expires).ok_or_else(|| self.malformed("expiresAt is no time"))?;
        Ok(Credentials {
            access_key_id: field("accessKeyId")?,
            secret_access_key: field("secretAccessKey")?,
            session_token: Some(field("sessionToken")?),
            expiration: Some(expiration),
            issued: None,
        })
    }

    /// The entry's expiry and whether it holds what a renewal needs, without renewing.
    pub fn status(&self) -> anyhow::Result<Status> {
        let entry = self.read()?;
        let expires = self.credentials(&entry)?.expiration.unwrap_or_default();
        let renewable = ["refreshToken", "clientId", "dpopKey"].iter().all(|k| {
            entry
                .get(*k)
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        }) && entry
            .get("dpopKey")
            .and_then(Value::as_str)
            .is_some_and(|pem| dpop_key(pem).is_ok());
        Ok(Status { expires, renewable })
    }

    fn endpoint(&self, entry: &Map<String, Value>) -> (String, String) {
        // As botocore: the entry's signInRegion over the profile's (older entries have none).
        let region = entry
            .get("signInRegion")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .or(self.region)
            .unwrap_or(FALLBACK_REGION)
            .to_owned();
        let base = match &self.settings.endpoint {
            Some(url) => url.clone(),
            None if region.starts_with("cn-") => format!("https://{region}.signin.amazonaws.cn"),
            None => format!("https://{region}.signin.aws.amazon.com"),
        };
        (region, format!("{base}/v1/token"))
    }

    /// Spends the refresh token for new credentials and writes the entry back in place.
    fn renew(&self, mut entry: Map<String, Value>) -> anyhow::Result<Credentials> {
        let text = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| self.malformed(&format!("no {k}, so it cannot be renewed")))
        };
        let (client_id, refresh_token, pem) =
            (text("clientId")?, text("refreshToken")?, text("dpopKey")?);
        let account_id = entry
            .get("accessToken")
            .and_then(|t| t.get("accountId"))
            .cloned()
            .unwrap_or(Value::Null);
        let key = dpop_key(&pem).map_err(|why| self.malformed(why))?;
        let (region, url) = self.endpoint(&entry);
        let at = SIGNIN.at(&region, Some(&url));
        let proof = dpop_proof(&key, &url).map_err(|_| anyhow!("cannot sign the DPoP proof"))?;
        let body = json!({
            "clientId": client_id,
            "grantType": "refresh_token",
            "refreshToken": refresh_token,
        })
        .to_string();
        let failed = |line: String| {
            anyhow!(
                "profile '{}': renewing login session '{}' failed: {line}",
                self.settings.profile,
                self.settings.session
            )
        };
        let agent = crate::tls::ureq_agent(self.ca_bundle, TIMEOUT, false)
            .map_err(|e| failed(e.to_string()))?;
        tracing::info!(
            "renewing login session '{}' for '{}' at {}",
            self.settings.session,
            self.settings.profile,
            at.host
        );
        let response = agent
            .post(&url)
            .header("content-type", "application/json")
            .header("DPoP", &proof)
            .send(&body)
            .map_err(|e| failed(crate::aws::describe_transport(&at, &e)))?;
        let crate::aws::Answer {
            status,
            request_id,
            body: bytes,
        } = crate::aws::read_answer(&at, response).map_err(failed)?;
        if (400..500).contains(&status) {
            // A refresh token spent, expired or revoked: only a new sign-in helps.
            let code = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .filter(|c| {
                    c.len() < 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .unwrap_or_else(|| format!("HTTP {status}"));
            bail!(
                "profile '{}': the sign-in service refused to renew login session '{}' ({code}): {}",
                self.settings.profile,
                self.settings.session,
                self.again()
            );
        }
        if !(200..300).contains(&status) {
            return Err(failed(crate::aws::describe_answer(
                &at,
                status,
                request_id.as_deref(),
                &bytes,
            )));
        }
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        // rest-json with `tokenOutput` as the payload: the body is the output itself.
        let output = answer.get("tokenOutput").unwrap_or(&answer);
        let s = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let token = output.get("accessToken");
        let (Some(key_id), Some(secret), Some(session), Some(new_refresh), Some(expires_in)) = (
            s(token.and_then(|t| t.get("accessKeyId"))),
            s(token.and_then(|t| t.get("secretAccessKey"))),
            s(token.and_then(|t| t.get("sessionToken"))),
            s(output.get("refreshToken")),
            output
                .get("expiresIn")
                .and_then(Value::as_u64)
                .filter(|n| *n > 0 && *n <= 86_400),
        ) else {
            return Err(failed(format!(
                "{} answered HTTP {status} without new credentials: run `aws login` again if \
                 this persists",
                at.host
            )));
        };
        let expires = Timestamp::now() + jiff::SignedDuration::from_secs(expires_in as i64);
        // botocore's format, whole seconds.
        let expires_at = jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", expires)
            .unwrap_or_else(|_| expires.to_string());
        entry.insert(
            "accessToken".into(),
            json!({
                "accessKeyId": key_id,
                "secretAccessKey": secret,
                "sessionToken": session,
                "accountId": account_id,
                "expiresAt": expires_at,
            }),
        );
        entry.insert("refreshToken".into(), Value::String(new_refresh));
        let mut text = serde_json::to_vec(&Value::Object(entry.clone()))
            .map_err(|_| failed("cannot encode the renewed entry".into()))?;
        text.push(b'\n');
        // The old refresh token is spent: an entry not written back is a lost session.
        crate::private_file::write_private(&self.settings.cache_file, &text).map_err(|e| {
            anyhow!(
                "profile '{}': login session renewed but not kept ({e}): {}",
                self.settings.profile,
                self.again()
            )
        })?;
        self.credentials(&entry)
    }
}

impl Source for LoginSession<'_> {
    /// The login cache is the entry's own cache: ours would only copy its secret.
    fn cache_key(&self) -> Option<CacheKey> {
        None
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let usable = |c: &Credentials| {
            c.expiration
                .is_some_and(|e| e > Timestamp::now() + REFRESH_THRESHOLD)
        };
        let entry = self.read()?;
        let credentials = self.credentials(&entry)?;
        if usable(&credentials) {
            return Ok(credentials);
        }
        // Refresh tokens are single-use: one renewal whoever else is asking, and an entry
        // renewed meanwhile (by us, the AWS CLI or boto3) is taken as it is.
        let _lock = context
            .cache
            .lock(&CacheKey::file(&self.settings.cache_file))?;
        let entry = self.read()?;
        let credentials = self.credentials(&entry)?;
        if usable(&credentials) {
            tracing::debug!("login session renewed by another process meanwhile");
            return Ok(credentials);
        }
        self.renew(entry)
    }
}

fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        // botocore's dateutil also takes a time without an offset, as UTC.
        s.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

/// The entry's `dpopKey`: PEM of a P-256 key, SEC 1 (`EC PRIVATE KEY`) or PKCS #8.
fn dpop_key(pem: &str) -> Result<EcdsaKeyPair, &'static str> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----BEGIN") && !l.starts_with("-----END"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "dpopKey is no PEM")?;
    let rng = SystemRandom::new();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
        .or_else(|_| {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &sec1_in_pkcs8(&der), &rng)
        })
        .map_err(|_| "dpopKey is no P-256 private key")
}

/// A SEC 1 `ECPrivateKey` (what `aws login` writes) wrapped as the PKCS #8 `PrivateKeyInfo` of a
/// P-256 key (RFC 5915 section 1, RFC 5208), the one form ring reads.
fn sec1_in_pkcs8(sec1: &[u8]) -> Vec<u8> {
    /// The version (0) and the algorithm: id-ecPublicKey on prime256v1.
    const P256_HEADER: &[u8] = &[
        0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
        0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut key = vec![0x04];
    der_length(&mut key, sec1.len());
    key.extend_from_slice(sec1);
    let mut info = vec![0x30];
    der_length(&mut info, P256_HEADER.len() + key.len());
    info.extend_from_slice(P256_HEADER);
    info.extend_from_slice(&key);
    info
}

/// A DER length: short form below 128, else its big-endian bytes after their count.
fn der_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        out.push(length as u8);
        return;
    }
    let bytes = length.to_be_bytes();
    let significant = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

/// A DPoP proof (RFC 9449) for a POST to `url`, as botocore's `_build_dpop_header` makes it.
fn dpop_proof(key: &EcdsaKeyPair, url: &str) -> Result<String, ring::error::Unspecified> {
    let point = key.public_key().as_ref();
    // An uncompressed point: 0x04, then x and y.
    if point.len() != 65 {
        return Err(ring::error::Unspecified);
    }
    let header = json!({
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": {
            "kty": "EC",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            "crv": "P-256",
        },
    });
    let claims = json!({
        "htm": "POST",
        "htu": url,
        "iat": Timestamp::now().as_second(),
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(&SystemRandom::new(), input.as_bytes())?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_verifies_with_its_own_jwk() {
        use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(doc.as_ref())
        );
        let key = dpop_key(&pem).unwrap();
        let proof = dpop_proof(&key, "https://x.example/v1/token").unwrap();
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(claims["htu"], "https://x.example/v1/token");
        let jwk = &header["jwk"];
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[test]
    fn sec1_key_wrapped_as_pkcs8_is_the_pkcs8_it_came_from() {
        let doc =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pkcs8 = doc.as_ref();
        // The ECPrivateKey is the last field: an OCTET STRING after the 24-byte header.
        let at = 2 + usize::from(pkcs8[1] == 0x81) + 24;
        assert_eq!(pkcs8[at], 0x04);
        let sec1 = &pkcs8[at + 2..];
        assert_eq!(usize::from(pkcs8[at + 1]), sec1.len());
        assert_eq!(sec1_in_pkcs8(sec1), pkcs8);
    }

    #[test]
    fn der_lengths() {
        for (length, expected) in [
            (0x7f, &[0x7f][..]),
            (0x80, &[0x81, 0x80]),
            (0x100, &[0x82, 0x01, 0x00]),
        ] {
            let mut out = Vec::new();
            der_length(&mut out, length);
            assert_eq!(out, expected, "{length}");
        }
    }

    #[test]
    fn bad_pem_is_refused() {
        assert!(dpop_key("-----BEGIN EC PRIVATE KEY-----\nnot base64!\n-----END").is_err());
        assert!(dpop_key("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END").is_err());
    }

    #[test]
    fn times_as_botocore_writes_them() {
        assert!(parse_time("2026-12-04T18:00:00Z").is_some());
        assert!(parse_time("2026-12-04T18:00:00.123Z").is_some());
        assert!(parse_time("2026-12-04T18:00:00").is_some());
        assert!(parse_time("tomorrow").is_none());
    }
}
