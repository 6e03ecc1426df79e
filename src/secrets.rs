//! Secrets in the OS keyring, one place: the Secret Service (over D-Bus) on Linux and the BSDs,
//! the Keychain on macOS, the Credential Manager on Windows, through the `keyring` crate. An IdP
//! password is keyed by the IdP's origin (scheme, host, port) and the username, so every
//! profile signing in at one IdP as one person shares it. A profile's access keys are keyed by
//! the profile's name under a service of their own, with an index entry naming the profiles
//! (the crate's portable API cannot enumerate). Every call is bounded in time: a locked keyring
//! whose unlock prompt nobody can answer would otherwise hang the command.

use std::sync::mpsc;
use std::time::Duration;

use url::Url;

use crate::credentials::{check_access_key_id, check_secret, Credentials};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no OS keyring is available ({0}); pass the password with -P or SAML_PASSWORD, or type it when asked")]
    Unavailable(String),
    /// Locked, and its unlock prompt dismissed or shown to nobody.
    #[error("the OS keyring is locked and was not unlocked ({0})")]
    Locked(String),
    #[error("the OS keyring failed: {0}")]
    Failed(String),
}

const SERVICE_PREFIX: &str = "aws-runas";
/// Distinct from every IdP password's service (`aws-runas https://...`).
const KEYS_SERVICE: &str = "aws-runas access keys";
const INDEX_SERVICE: &str = "aws-runas access keys index";
const INDEX_USER: &str = "profiles";

/// How long one keyring call may take: an unlock prompt shown to nobody never returns, while
/// one shown to a person needs time to be answered.
fn time_limit() -> Duration {
    std::env::var("AWSRUNAS_KEYRING_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs)
}

/// `call` on a thread of its own, given up on after `time_limit`. The thread is left behind
/// then: nothing can cancel a blocked D-Bus call, and the process ends soon after.
fn bounded<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    bounded_by(time_limit(), call)
}

fn bounded_by<T: Send + 'static>(
    limit: Duration,
    call: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(SecretError::Failed(format!(
            "it did not answer within {:?} (a locked keyring with no one to unlock it?)",
            limit
        )))
    })
}

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
        keyring::Error::NoStorageAccess(_) => SecretError::Locked(one_line(&e)),
        keyring::Error::NoDefaultStore | keyring::Error::PlatformFailure(_) => {
            SecretError::Unavailable(one_line(&e))
        }
        other => SecretError::Failed(one_line(&other)),
    }
}

/// The error's own text: keyring's platform errors already repeat their sources in it.
fn one_line(e: &dyn std::error::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// The stored password of `username` at `idp`; `Ok(None)` when none is stored.
pub fn idp_password(idp: &Url, username: &str) -> Result<Option<String>, SecretError> {
    let (idp, username) = (idp.clone(), username.to_owned());
    bounded(move || get(&entry(&idp, &username)?))
}

pub fn store_idp_password(idp: &Url, username: &str, password: &str) -> Result<(), SecretError> {
    let (idp, username, password) = (idp.clone(), username.to_owned(), password.to_owned());
    bounded(move || {
        entry(&idp, &username)?
            .set_password(&password)
            .map_err(classify)
    })
}

fn get(entry: &keyring::Entry) -> Result<Option<String>, SecretError> {
    match entry.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(classify(e)),
    }
}

fn delete(entry: &keyring::Entry) -> Result<bool, SecretError> {
    match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(classify(e)),
    }
}

/// Why a profile's keyring entry could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("no OS keyring is available ({0}): keys in the keyring need one (on Linux, a Secret Service such as gnome-keyring on the D-Bus session bus); keys in the credentials file still work")]
    Unavailable(String),
    #[error("the OS keyring is locked and was not unlocked ({0}): unlock it and run this again; keys in the credentials file still work")]
    Locked(String),
    #[error("the OS keyring failed: {0}")]
    Failed(String),
    #[error("the OS keyring's entry for profile '{profile}' (service '{KEYS_SERVICE}') is malformed: {reason}; store the keys again with aws-runas keys add {profile}")]
    Malformed { profile: String, reason: String },
}

impl From<SecretError> for KeysError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Unavailable(why) => Self::Unavailable(why),
            SecretError::Locked(why) => Self::Locked(why),
            SecretError::Failed(why) => Self::Failed(why),
        }
    }
}

/// The profile's access keys in the keyring; `Ok(None)` when it holds none.
pub fn profile_keys(profile: &str) -> Result<Option<Credentials>, KeysError> {
    let name = profile.to_owned();
    let Some(text) = bounded(move || get(&keys_entry(&name)?))? else {
        return Ok(None);
    };
    parse_keys(&text)
        .map(Some)
        .map_err(|reason| KeysError::Malformed {
            profile: profile.to_owned(),
            reason: reason.to_owned(),
        })
}

/// Stores (or replaces) the profile's keys and lists the profile in the index.
pub fn store_profile_keys(profile: &str, keys: &Credentials) -> Result<(), KeysError> {
    let (name, text) = (profile.to_owned(), format_keys(keys));
    bounded(move || {
        keys_entry(&name)?.set_password(&text).map_err(classify)?;
        let index = index_entry()?;
        let mut names = parse_index(get(&index)?.as_deref());
        if !names.contains(&name) {
            names.push(name);
            names.sort();
            index.set_password(&names.join("\n")).map_err(classify)?;
        }
        Ok(())
    })
    .map_err(KeysError::from)
}

/// Removes the profile's keys; `false` when the keyring held none.
pub fn remove_profile_keys(profile: &str) -> Result<bool, KeysError> {
    let name = profile.to_owned();
    bounded(move || {
        let removed = delete(&keys_entry(&name)?)?;
        let index = index_entry()?;
        let mut names = parse_index(get(&index)?.as_deref());
        if names.contains(&name) {
            names.retain(|n| *n != name);
            if names.is_empty() {
                delete(&index)?;
            } else {
                index.set_password(&names.join("\n")).map_err(classify)?;
            }
        }
        Ok(removed)
    })
    .map_err(KeysError::from)
}

/// The profiles the index names, in order.
pub fn profiles_with_keys() -> Result<Vec<String>, KeysError> {
    Ok(bounded(|| {
        Ok(parse_index(get(&index_entry()?)?.as_deref()))
    })?)
}

fn keys_entry(profile: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(KEYS_SERVICE, profile).map_err(classify)
}

fn index_entry() -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(INDEX_SERVICE, INDEX_USER).map_err(classify)
}

fn parse_index(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Two lines, as the credentials file names them: readable to whoever inspects the keyring.
fn format_keys(keys: &Credentials) -> String {
    format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        keys.access_key_id, keys.secret_access_key
    )
}

fn parse_keys(text: &str) -> Result<Credentials, &'static str> {
    let (mut id, mut secret) = (None, None);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((key, value)) = line.split_once('=') else {
            return Err("a line is not KEY = VALUE");
        };
        let slot = match key.trim() {
            "aws_access_key_id" => &mut id,
            "aws_secret_access_key" => &mut secret,
            _ => {
                return Err("it holds a key other than aws_access_key_id and aws_secret_access_key")
            }
        };
        if slot.replace(value.trim().to_owned()).is_some() {
            return Err("a key is given twice");
        }
    }
    let (Some(id), Some(secret)) = (id, secret) else {
        return Err("it lacks aws_access_key_id or aws_secret_access_key");
    };
    check_access_key_id(&id).map_err(|_| "its access key id is not a valid one")?;
    check_secret(&secret).map_err(|_| "its secret access key is not a valid one")?;
    Ok(Credentials::long_term(id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyring_call_that_never_returns_is_given_up_on() {
        let started = std::time::Instant::now();
        let result = bounded_by(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        });
        assert!(matches!(result, Err(SecretError::Failed(why)) if why.contains("did not answer")));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn keys_round_trip_and_malformed_items_are_refused() {
        let keys = Credentials::long_term(
            "AKIAIOSFODNN7EXAMPLE".into(),
            "wJalr/K7MDENG+bPxRfiCY".into(),
        );
        assert_eq!(parse_keys(&format_keys(&keys)).unwrap(), keys);
        assert!(parse_keys("garbage").is_err());
        assert!(parse_keys("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n").is_err());
        assert!(parse_keys("aws_access_key_id = x\naws_secret_access_key = y\n").is_err());
    }
}
