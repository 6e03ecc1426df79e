//! Credentials for the local endpoints: the active profile, and credentials handed out from
//! memory while fresh, else through the shared cache (one STS call across every process, as
//! everywhere). A burst of requests therefore costs no STS call and no file read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

use crate::credentials::Credentials;
use crate::session::{CredentialRequest, Session};

/// What went wrong getting a profile's credentials, as a client is told.
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
    pub fn new(request: CredentialRequest, profile: String) -> Self {
        Self {
            request,
            active: Mutex::new(profile),
            memo: Mutex::new(HashMap::new()),
            mfa_code: Mutex::new(None),
        }
    }

    pub fn active(&self) -> String {
        lock(&self.active).clone()
    }

    /// Switches the active profile, once it is known to resolve.
    pub fn set_active(&self, profile: &str) -> Result<(), Unavailable> {
        Session::open(&self.request.for_profile(profile)).map_err(|e| Unavailable {
            message: format!("{e:#}"),
            needs_mfa: false,
        })?;
        *lock(&self.active) = profile.to_owned();
        Ok(())
    }

    pub fn submit_mfa(&self, code: String) {
        *lock(&self.mfa_code) = Some(code);
    }

    pub fn credentials(&self, profile: &str) -> Result<Credentials, Unavailable> {
        self.get(profile, false)
    }

    /// New credentials now, whatever the cache holds.
    pub fn refresh(&self, profile: &str) -> Result<Credentials, Unavailable> {
        self.get(profile, true)
    }

    fn get(&self, profile: &str, force: bool) -> Result<Credentials, Unavailable> {
        if !force {
            if let Some((creds, window)) = lock(&self.memo).get(profile) {
                if creds.is_fresh(Timestamp::now(), *window) {
                    return Ok(creds.clone());
                }
            }
        }
        let request = CredentialRequest {
            force_refresh: force,
            otp: lock(&self.mfa_code)
                .take()
                .or_else(|| self.request.otp.clone()),
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
                let needs_mfa = crate::mfa::needs_code(&e);
                Err(Unavailable {
                    message: format!("{e:#}").replace('\n', " "),
                    needs_mfa,
                })
            }
        }
    }
}
