//! Sign-in at a company identity provider (IdP), ending in a SAML assertion for AWS: the
//! settings that describe it, the HTTP side (redirects, the persistent cookie jar), the sign-in
//! clients (HTML forms, Okta, OneLogin, ForgeRock AM), what they share, and the parsing of the assertion.

pub mod assertion;
pub mod forgerock;
pub mod form;
pub mod http;
pub mod okta;
pub mod onelogin;
pub mod settings;

/// More steps than any IdP takes: a loop between pages ends here.
const MAX_STEPS: usize = 8;

/// Sign-in failures callers tell apart (a wrong password from the keyring gets a hint).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider at {idp} rejected the password for '{username}'")]
    WrongPassword { idp: String, username: String },
    #[error("the identity provider at {idp} rejected the one-time code")]
    WrongCode { idp: String },
    #[error("no sign-in form and no SAML response at {page} (HTTP {status})")]
    NoForm { page: String, status: u16 },
    #[error(
        "the login form at {page} would send the password in its URL (method GET): not sending it"
    )]
    PasswordInUrl { page: String },
    #[error(
        "the login form at {page} would send the password unencrypted to {action}: not sending it"
    )]
    Downgrade { page: String, action: String },
    #[error("the identity provider at {idp} kept asking for more after {MAX_STEPS} steps")]
    TooManySteps { idp: String },
}

/// What the sign-in may need from the person, asked for only when a page wants it.
pub struct Asks<'a> {
    pub username: &'a dyn Fn() -> anyhow::Result<String>,
    pub password: &'a dyn Fn(&str) -> anyhow::Result<String>,
    pub otp: &'a dyn Fn() -> anyhow::Result<String>,
    /// Asked before anything that makes the IdP send a push to the person's device: `diagnose`
    /// refuses, so checking a profile never buzzes a phone.
    pub push: &'a dyn Fn() -> anyhow::Result<()>,
}
