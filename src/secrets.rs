//! Passwords in the OS keyring, one place: the Secret Service (over D-Bus) on Linux and the BSDs,
//! the Keychain on macOS, the Credential Manager on Windows, through the `keyring` crate. An IdP
//! password is keyed by the IdP's origin (scheme, host, port) and the username, so every
//! profile signing in at one IdP as one person shares it.

use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no OS keyring is available ({0}); pass the password with -P or SAML_PASSWORD, or type it when asked")]
    Unavailable(String),
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

const SERVICE_PREFIX: &str = "aws-runas";

fn entry(idp: &Url, username: &str) -> Result<keyring::Entry, SecretError> {
    let service = format!("{SERVICE_PREFIX} {}", idp.origin().ascii_serialization());
    keyring::Entry::new(&service, username).map_err(classify)
}

fn classify(e: keyring::Error) -> SecretError {
    if let (keyring::Error::NoDefaultStore, Err(why)) = (&e, keyring::Entry::store_status()) {
        // Why the platform store could not start says more than "no default store".
        return SecretError::Unavailable(one_line(why));
    }
    match e {
        keyring::Error::NoDefaultStore
        | keyring::Error::NoStorageAccess(_)
        | keyring::Error::PlatformFailure(_) => SecretError::Unavailable(one_line(&e)),
        other => SecretError::Failed(one_line(&other)),
    }
}

/// The error's own text: keyring's platform errors already repeat their sources in it.
fn one_line(e: &dyn std::error::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// The stored password of `username` at `idp`; `Ok(None)` when none is stored.
pub fn idp_password(idp: &Url, username: &str) -> Result<Option<String>, SecretError> {
    match entry(idp, username)?.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

pub fn store_idp_password(idp: &Url, username: &str, password: &str) -> Result<(), SecretError> {
    entry(idp, username)?
        .set_password(password)
        .map_err(classify)
}
