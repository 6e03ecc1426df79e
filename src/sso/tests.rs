//! The token flows against a fake SSO OIDC: cache, refresh, sign-in, and when none may happen.

use std::cell::RefCell;

use super::client::*;
use super::*;
use crate::credentials::Credentials;
use crate::oauth::wait::DeviceAuthorization;

#[derive(Default)]
struct Fake {
    calls: RefCell<Vec<String>>,
    /// Answers to device-code polls, in order; then success.
    polls: RefCell<Vec<&'static str>>,
    refuse_refresh: bool,
}

impl Fake {
    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

fn err(code: &str) -> ApiError {
    ApiError {
        operation: "CreateToken",
        code: Some(code.into()),
        message: code.into(),
    }
}

impl SsoApi for Fake {
    fn register_client(
        &self,
        name: &str,
        scopes: &[String],
        redirect: Option<RedirectClient<'_>>,
    ) -> Result<NewClient, ApiError> {
        self.calls.borrow_mut().push(format!(
            "RegisterClient {name} {}{}",
            scopes.join(","),
            redirect
                .map(|r| format!(" {}", r.redirect_uri))
                .unwrap_or_default()
        ));
        Ok(NewClient {
            client_id: "cid".into(),
            client_secret: "csecret".into(),
            secret_expires_at: Timestamp::now().as_second() + 86400,
        })
    }
    fn start_device_authorization(
        &self,
        client_id: &str,
        _: &str,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        self.calls
            .borrow_mut()
            .push(format!("StartDeviceAuthorization {client_id} {start_url}"));
        Ok(DeviceAuthorization {
            device_code: "dc".into(),
            user_code: "ABCD-EFGH".into(),
            verification_uri: "http://127.0.0.1:9/device".into(),
            verification_uri_complete: None,
            expires_in: 600,
            interval: 0,
        })
    }
    fn create_token(
        &self,
        client_id: &str,
        _: &str,
        grant: Grant<'_>,
    ) -> Result<NewToken, ApiError> {
        let what = match grant {
            Grant::DeviceCode(c) => format!("device {c}"),
            Grant::RefreshToken(r) => format!("refresh {r}"),
            Grant::AuthorizationCode { code, .. } => format!("code {code}"),
        };
        self.calls
            .borrow_mut()
            .push(format!("CreateToken {client_id} {what}"));
        if what.starts_with("refresh") && self.refuse_refresh {
            return Err(err("InvalidGrantException"));
        }
        if what.starts_with("device") {
            let mut polls = self.polls.borrow_mut();
            if !polls.is_empty() {
                return Err(err(polls.remove(0)));
            }
        }
        let n = self.calls.borrow().len();
        Ok(NewToken {
            access_token: format!("at{n}"),
            expires_in: 3600,
            refresh_token: Some(format!("rt{n}")),
        })
    }
    fn role_credentials(&self, _: &str, _: &str, _: &str) -> Result<Credentials, ApiError> {
        unreachable!("not used by the token flow")
    }
    fn accounts(&self, _: &str) -> Result<Vec<Account>, ApiError> {
        unreachable!()
    }
    fn account_roles(&self, _: &str, _: &str) -> Result<Vec<String>, ApiError> {
        unreachable!()
    }
    fn logout(&self, _: &str) -> Result<(), ApiError> {
        unreachable!()
    }
}

const DEVICE: SignIn = SignIn {
    flow: Flow::Device,
    browser: false,
};

fn session() -> SsoSession {
    SsoSession {
        name: Some("corp".into()),
        start_url: "https://d-1.awsapps.com/start".into(),
        region: "eu-west-1".into(),
        scopes: vec![],
        oidc_endpoint: None,
        portal_endpoint: None,
    }
}

struct Setup {
    dir: tempfile::TempDir,
    cache: Cache,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        Self { dir, cache }
    }
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("sso/cache/token.json")
    }
    fn get(&self, api: &Fake, login: Login) -> anyhow::Result<String> {
        access_token_at(&self.path(), api, &session(), "p", &self.cache, login)
    }
    fn token(&self) -> CachedToken {
        token::read(&self.path()).unwrap()
    }
    fn expire_in(&self, secs: i64) {
        let mut t = self.token();
        t.expires_at = token::format_time(Timestamp::now() + SignedDuration::from_secs(secs));
        token::write(&self.path(), &t).unwrap();
    }
}

#[test]
fn sign_in_once_then_the_cache_serves() {
    let s = Setup::new();
    let api = Fake::default();
    *api.polls.borrow_mut() = vec![
        "AuthorizationPendingException",
        "AuthorizationPendingException",
    ];
    let first = s.get(&api, Login::WhenNeeded(DEVICE)).unwrap();
    assert_eq!(s.get(&api, Login::Never).unwrap(), first);
    assert_eq!(
        api.calls(),
        [
            "RegisterClient aws-runas sso:account:access",
            "StartDeviceAuthorization cid https://d-1.awsapps.com/start",
            "CreateToken cid device dc",
            "CreateToken cid device dc",
            "CreateToken cid device dc",
        ]
    );
    let t = s.token();
    assert_eq!(t.client_id.as_deref(), Some("cid"));
    assert_eq!(
        t.start_url.as_deref(),
        Some("https://d-1.awsapps.com/start")
    );
    assert!(t.refresh_token.is_some());
}

#[test]
fn a_token_near_its_end_is_refreshed_and_a_refused_refresh_signs_in_again() {
    let s = Setup::new();
    let api = Fake::default();
    s.get(&api, Login::WhenNeeded(DEVICE)).unwrap();
    s.expire_in(60 * 10);
    let refreshed = s.get(&api, Login::Never).unwrap();
    assert!(api
        .calls()
        .last()
        .unwrap()
        .starts_with("CreateToken cid refresh rt"));
    assert_eq!(s.token().access_token, refreshed);

    let refusing = Fake {
        refuse_refresh: true,
        ..Fake::default()
    };
    s.expire_in(-10);
    let e = s.get(&refusing, Login::Never).unwrap_err();
    assert!(e.to_string().contains("aws-runas sso login p"), "{e}");
    s.get(&refusing, Login::WhenNeeded(DEVICE)).unwrap();
    assert_eq!(
        refusing.calls()[2..],
        [
            "StartDeviceAuthorization cid https://d-1.awsapps.com/start",
            "CreateToken cid device dc"
        ],
        "the registration in the cache is reused: {:?}",
        refusing.calls()
    );
}

#[test]
fn a_refused_refresh_of_a_still_valid_token_keeps_it() {
    let s = Setup::new();
    s.get(&Fake::default(), Login::WhenNeeded(DEVICE)).unwrap();
    s.expire_in(60 * 5);
    let before = s.token().access_token;
    let refusing = Fake {
        refuse_refresh: true,
        ..Fake::default()
    };
    assert_eq!(s.get(&refusing, Login::Never).unwrap(), before);
}

#[test]
fn slow_down_expired_and_denied_device_codes() {
    let s = Setup::new();
    let api = Fake::default();
    *api.polls.borrow_mut() = vec!["ExpiredTokenException"];
    let e = s.get(&api, Login::WhenNeeded(DEVICE)).unwrap_err();
    assert!(
        e.to_string().contains("expired before it was approved"),
        "{e}"
    );
    *api.polls.borrow_mut() = vec!["AccessDeniedException"];
    let e = s.get(&api, Login::WhenNeeded(DEVICE)).unwrap_err();
    assert!(e.to_string().contains("denied"), "{e}");
    assert!(
        token::read(&s.path()).is_none(),
        "nothing written on failure"
    );
}

#[test]
fn login_always_signs_in_over_a_valid_token() {
    let s = Setup::new();
    let api = Fake::default();
    let first = s.get(&api, Login::WhenNeeded(DEVICE)).unwrap();
    let second = s.get(&api, Login::Always(DEVICE)).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        api.calls()
            .iter()
            .filter(|c| c.starts_with("RegisterClient"))
            .count(),
        1,
        "the registration is reused"
    );
}

#[test]
fn a_token_for_another_start_url_is_not_used() {
    let s = Setup::new();
    s.get(&Fake::default(), Login::WhenNeeded(DEVICE)).unwrap();
    let mut t = s.token();
    t.start_url = Some("https://other.awsapps.com/start".into());
    token::write(&s.path(), &t).unwrap();
    assert!(s.get(&Fake::default(), Login::Never).is_err());
}
