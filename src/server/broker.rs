//! Credentials for the local endpoints: the active profile, and credentials handed out from
//! memory while fresh, else through the shared cache (one STS call across every process, as
//! everywhere). A burst of requests therefore costs no STS call and no file read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

use super::one_line;
use crate::credentials::Credentials;
use crate::session::{CredentialRequest, Session};

/// What went wrong getting a profile's credentials, as a client is told: one line, bounded,
/// never the MFA code that was tried (STS quotes what it rejects).
#[derive(Clone, Debug)]
pub struct Unavailable {
    pub message: String,
    /// A refresh needs an MFA code that nobody can type here: the page can ask for one.
    pub needs_mfa: bool,
}

pub struct Broker {
    /// What every request for credentials starts from; `interactive` says whether an MFA code
    /// may be asked for on the terminal (exec mode, `serve -H`).
    request: CredentialRequest,
    active: Mutex<String>,
    memo: Mutex<HashMap<String, (Credentials, Duration)>>,
    /// A code typed into the profile page, for the next refresh that needs one.
    mfa_code: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Broker {
    /// Serves `profile` first; every request for credentials starts from `request`.
    pub fn new(request: CredentialRequest, profile: &str) -> Self {
        Self {
            request: request.for_profile(profile),
            active: Mutex::new(profile.to_owned()),
            memo: Mutex::new(HashMap::new()),
            mfa_code: Mutex::new(None),
        }
    }

    /// What a client may be told of `error`: each message of its chain once (the SDK's own
    /// messages repeat their causes), with `secrets` blanked, as one bounded line.
    fn unavailable(error: &anyhow::Error, secrets: &[&str], needs_mfa: bool) -> Unavailable {
        let mut message = String::new();
        for cause in error.chain() {
            let text = cause.to_string();
            if !message.contains(text.trim()) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(text.trim());
            }
        }
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            message = message.replace(secret, "******");
        }
        Unavailable {
            message: one_line(&message),
            needs_mfa,
        }
    }

    pub fn active(&self) -> String {
        lock(&self.active).clone()
    }

    /// Switches the active profile, once it is known to resolve.
    pub fn set_active(&self, profile: &str) -> Result<(), Unavailable> {
        Session::open(&self.request.for_profile(profile))
            .map_err(|e| Self::unavailable(&e, &[], false))?;
        *lock(&self.active) = profile.to_owned();
        Ok(())
    }

    pub fn submit_mfa(&self, code: String) {
        *lock(&self.mfa_code) = Some(code);
    }

    pub fn credentials(&self, profile: &str) -> Result<Credentials, Unavailable> {
        self.get(profile, false)
    }

    /// The profile's credentials if they are in memory and fresh: what a request can be
    /// answered with without blocking.
    pub fn cached(&self, profile: &str) -> Option<Credentials> {
        let memo = lock(&self.memo);
        let (creds, window) = memo.get(profile)?;
        creds
            .is_fresh(Timestamp::now(), *window)
            .then(|| creds.clone())
    }

    /// New credentials now, whatever the cache holds.
    pub fn refresh(&self, profile: &str) -> Result<Credentials, Unavailable> {
        self.get(profile, true)
    }

    fn get(&self, profile: &str, force: bool) -> Result<Credentials, Unavailable> {
        if !force {
            if let Some(creds) = self.cached(profile) {
                return Ok(creds);
            }
        }
        let submitted = lock(&self.mfa_code).take();
        let request = CredentialRequest {
            force_refresh: force,
            otp: submitted.clone().or_else(|| self.request.otp.clone()),
            ..self.request.for_profile(profile)
        };
        let result = Session::open(&request).and_then(|session| {
            let creds = session.credentials(&request)?;
            Ok((creds, session.resolved.refresh_window))
        });
        match result {
            Ok((creds, window)) => {
                lock(&self.memo).insert(profile.to_owned(), (creds.clone(), window));
                Ok(creds)
            }
            Err(e) => {
                let codes = [submitted.as_deref(), request.otp.as_deref()];
                let secrets: Vec<&str> = codes.iter().flatten().map(|c| c.trim()).collect();
                Err(Self::unavailable(&e, &secrets, crate::mfa::needs_code(&e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_told_each_cause_once_without_the_code_on_one_short_line() {
        let root = anyhow::anyhow!(
            "ValidationError: Value 'TokenCode=424242' rejected\n{}",
            "detail ".repeat(100)
        );
        let error = root.context("profile 'mfa'");
        let told = Broker::unavailable(&error, &["424242"], false);
        assert!(told
            .message
            .starts_with("profile 'mfa': ValidationError: Value 'TokenCode=******'"));
        assert!(!told.message.contains("424242") && !told.message.contains('\n'));
        assert!(told.message.chars().count() <= super::super::MAX_MESSAGE_CHARS + 1);

        // An SDK error whose message already quotes its cause: said once.
        let nested =
            anyhow::anyhow!("connection refused").context("dispatch failure: connection refused");
        let told = Broker::unavailable(&nested, &[], false);
        assert_eq!(told.message, "dispatch failure: connection refused");
    }
}
