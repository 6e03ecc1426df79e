//! Sign-in at a company identity provider (IdP): the HTTP side (redirects, the persistent cookie
//! jar), the sign-in clients (HTML forms, Okta, OneLogin, ForgeRock AM, Azure AD, the user's own
//! browser), what they share, and the parsing of the SAML assertion.
//!
//! Every scripted client is one function, `PROVIDER::sign_in(&mut SignIn, Goal) -> Reached`,
//! serving both kinds of sign-in: SAML (`Goal::SamlResponse`: the assertion for AWS) and web
//! identity (`Goal::Redirect`: the OpenID authorization request answered with a redirect to
//! the client's redirect URI). [`SignIn`] holds what every one of them needs, here below them;
//! `client`, above them, settles which one speaks to an IdP (the one detection of the crate)
//! and runs it. The `browser` client (the user's own browser posting the assertion to us) is
//! no scripted client: it stands apart, for SAML only.

pub mod assertion;
pub mod azuread;
pub mod browser;
pub mod client;
pub mod forgerock;
pub mod form;
pub mod http;
pub mod okta;
pub mod onelogin;

use url::Url;

use crate::config::signin::{MfaType, Provider};
use http::{origin, same_endpoint, Browser};

/// More steps than any IdP takes: a loop between pages ends here.
const MAX_STEPS: usize = 8;

/// What every sign-in client needs, whichever the provider and whatever the goal.
pub struct SignIn<'a> {
    /// The HTTP client, holding the IdP's cookie jar (a live IdP session skips the password).
    pub browser: &'a mut Browser,
    /// The IdP URL the profile configures: the SAML app's, or the OpenID provider's issuer
    /// (where the API clients find their API).
    pub idp: &'a Url,
    /// What may be asked of the person, only when a page or an API wants it.
    pub asks: &'a Asks<'a>,
    /// Which second factor to answer with when the IdP asks for one.
    pub mfa: MfaType,
}

/// Where a sign-in ends.
#[derive(Clone, Copy, Debug)]
pub enum Goal<'a> {
    /// SAML: from the configured URL, a page posting a `SAMLResponse` on to AWS.
    SamlResponse,
    /// Web identity: the OpenID authorization request `authorize` (client, PKCE, `state`)
    /// answered with a redirect to `to`, the client's redirect URI (never fetched), whatever
    /// its query.
    Redirect { authorize: &'a Url, to: &'a Url },
}

impl<'a> Goal<'a> {
    /// Where a client that walks the IdP's pages starts: the app, or the authorization request.
    fn start(self, configured: &'a Url) -> &'a Url {
        match self {
            Goal::SamlResponse => configured,
            Goal::Redirect { authorize, .. } => authorize,
        }
    }
}

/// What a sign-in reached.
#[derive(Debug)]
pub enum Reached {
    /// The base64 SAML response.
    SamlResponse(String),
    /// The redirect, with the query the IdP gave it.
    Redirect(Url),
}

/// For the API clients (Okta, OneLogin, AM), once their API has signed `who` in: the
/// authorization request `url`, answered with the redirect to `to` (the code and `state` in
/// its query), never followed.
fn authorization_redirect(
    s: &mut SignIn<'_>,
    url: Url,
    to: &Url,
    who: &str,
) -> anyhow::Result<Reached> {
    let sent = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| crate::shown::shown(&v))
            .unwrap_or_default()
    };
    let (redirect_uri, client_id) = (sent("redirect_uri"), sent("client_id"));
    s.browser.stop_at_redirect(Some(to.clone()));
    let page = s.browser.get(url);
    s.browser.stop_at_redirect(None);
    let page = page?;
    if (300..400).contains(&page.status) && same_endpoint(&page.url, to) {
        return Ok(Reached::Redirect(page.url));
    }
    anyhow::bail!(
        "{} signed {who} in but its authorization endpoint did not send them back to the redirect URI (HTTP {} at {}): is {redirect_uri} registered for client {client_id}?",
        origin(s.idp),
        page.status,
        origin(&page.url),
    )
}

/// Sign-in failures callers tell apart (a wrong password from the keyring gets a hint).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider at {idp} rejected the password for '{username}'")]
    WrongPassword { idp: String, username: String },
    #[error("the identity provider at {idp} has locked the account '{username}' (too many failed sign-ins): wait, or ask its administrators")]
    LockedOut { idp: String, username: String },
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
    #[error("the {what} for {idp} is needed and no terminal can answer: {hint}")]
    NoTerminal {
        what: &'static str,
        idp: String,
        hint: String,
    },
}

/// The provider an IdP's response headers betray (v3's fingerprints); HTML forms otherwise.
pub fn detect_from_headers(headers: &[(String, String)]) -> Provider {
    let get = |name: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("access-control-allow-headers")
        .any(|v| v.contains("X-OpenAM-") || v.contains("MFA-FR-Token"))
    {
        Provider::ForgeRock
    } else if get("x-okta-request-id").next().is_some() {
        Provider::Okta
    } else if get("x-ms-request-id").next().is_some() {
        Provider::AzureAd
    } else if get("set-cookie").any(|c| {
        c.split('=')
            .next()
            .is_some_and(|name| name.contains("_onelogin.com"))
    }) {
        Provider::OneLogin
    } else {
        // Keycloak (its KC_RESTART cookie) and everything else: HTML forms.
        Provider::Form
    }
}

/// Whether `error` is a sign-in that stopped because nobody could be asked.
pub fn needs_terminal(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<SignInError>(),
            Some(SignInError::NoTerminal { .. })
        )
    })
}

/// Who signs in, and where the username and password come from when a page asks for them: the
/// username from the profile or `-U`, else the terminal; the password from the OS keyring, then
/// `-P` or the environment, then the terminal. Shared by SAML and web identity sign-ins.
pub struct Person<'a> {
    pub profile: &'a str,
    pub idp: &'a url::Url,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    /// Whether the terminal may be asked.
    pub interactive: bool,
    /// The profile setting that names the username (for hints).
    pub username_key: &'static str,
    /// The variable that may hold the password (for hints).
    pub password_variable: &'static str,
    /// Extra advice where nobody can answer (what to run in a terminal).
    pub no_terminal_hint: Option<String>,
    from_keyring: std::cell::Cell<bool>,
    keyring: std::cell::Cell<Keyring>,
    /// The keyring's password was rejected: the terminal is asked instead.
    skip_keyring: std::cell::Cell<bool>,
    /// A password typed on the terminal (user, password), offered to the keyring once it worked.
    typed: std::cell::RefCell<Option<(String, String)>>,
}

/// What the OS keyring said when asked for the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keyring {
    NotAsked,
    /// No keyring here (a headless machine): nothing to offer.
    Unavailable,
    Empty,
    /// It held a password (which may have been the wrong one).
    Held,
}

impl<'a> Person<'a> {
    pub fn new(profile: &'a str, idp: &'a url::Url, interactive: bool) -> Self {
        Self {
            profile,
            idp,
            username: None,
            password: None,
            interactive,
            username_key: "saml_username",
            password_variable: "SAML_PASSWORD",
            no_terminal_hint: None,
            from_keyring: std::cell::Cell::new(false),
            keyring: std::cell::Cell::new(Keyring::NotAsked),
            skip_keyring: std::cell::Cell::new(false),
            typed: std::cell::RefCell::new(None),
        }
    }

    fn no_terminal(&self, what: &'static str, hint: String) -> SignInError {
        let hint = match &self.no_terminal_hint {
            Some(first) => format!("{first}, or {hint}"),
            None => hint,
        };
        SignInError::NoTerminal {
            what,
            idp: http::origin(self.idp),
            hint,
        }
    }

    pub fn username(&self) -> anyhow::Result<String> {
        if let Some(u) = self.username {
            return Ok(u.to_owned());
        }
        let hint = || format!("set {} in the profile, or -U", self.username_key);
        if !self.interactive {
            return Err(self.no_terminal("username", hint()).into());
        }
        crate::tty::ask(&format!("Username for {}: ", http::origin(self.idp)))
            .map_err(|_| self.no_terminal("username", hint()).into())
    }

    pub fn password(&self, user: &str) -> anyhow::Result<String> {
        if !self.skip_keyring.get() {
            match crate::secrets::idp_password(self.idp, user) {
                Ok(Some(p)) => {
                    self.keyring.set(Keyring::Held);
                    self.from_keyring.set(true);
                    return Ok(p);
                }
                Ok(None) => self.keyring.set(Keyring::Empty),
                Err(e @ crate::secrets::SecretError::Unavailable(_)) => {
                    self.keyring.set(Keyring::Unavailable);
                    tracing::debug!("{e}");
                }
                Err(e) => {
                    self.keyring.set(Keyring::Unavailable);
                    tracing::info!("{e}");
                }
            }
        }
        if let Some(p) = self.password {
            return Ok(p.to_owned());
        }
        let hint = || {
            format!(
                "store it with `aws-runas password {}`, or pass -P / {}",
                self.profile, self.password_variable
            )
        };
        if !self.interactive {
            return Err(self.no_terminal("password", hint()).into());
        }
        let typed = crate::tty::ask_secret(&format!(
            "Password for {user} at {}: ",
            http::origin(self.idp)
        ))
        .map_err(|_| self.no_terminal("password", hint()))?;
        *self.typed.borrow_mut() = Some((user.to_owned(), typed.clone()));
        Ok(typed)
    }

    /// Runs a sign-in `attempt`, once more with a password typed on the terminal when the IdP
    /// rejected the keyring's (see `try_again`); then offers a typed password to the keyring,
    /// or explains the error.
    pub fn sign_in<T>(&self, mut attempt: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let result = match attempt() {
            Err(e) if self.try_again(&e) => attempt(),
            result => result,
        };
        match result {
            Ok(reached) => {
                self.signed_in();
                Ok(reached)
            }
            Err(e) => Err(self.explain(e)),
        }
    }

    /// After a failed sign-in: whether to sign in once more, asking for the password on the
    /// terminal because the IdP rejected the one in the OS keyring (a password changed at the
    /// IdP and not yet in the keyring).
    fn try_again(&self, e: &anyhow::Error) -> bool {
        let wrong = matches!(
            e.downcast_ref::<SignInError>(),
            Some(SignInError::WrongPassword { .. })
        );
        if !(wrong && self.from_keyring.get() && self.interactive) {
            return false;
        }
        let told = crate::tty::say(&format!(
            "aws-runas: {} rejected the password in the OS keyring; type the current one",
            http::origin(self.idp)
        ));
        if told.is_err() {
            // No terminal after all: the error goes out with its keyring hint instead.
            return false;
        }
        self.from_keyring.set(false);
        self.skip_keyring.set(true);
        true
    }

    /// After a sign-in that worked with a password typed on the terminal: offers to keep it in
    /// the OS keyring (or to replace the rejected one there), so the next sign-in asks nothing.
    fn signed_in(&self) {
        let Some((user, password)) = self.typed.borrow_mut().take() else {
            return;
        };
        let question = match self.keyring.get() {
            Keyring::Empty => "Keep this password in the OS keyring for next time? [y/N] ",
            Keyring::Held => "Replace the password in the OS keyring with this one? [y/N] ",
            Keyring::NotAsked | Keyring::Unavailable => return,
        };
        if !self.interactive {
            return;
        }
        let yes = crate::tty::ask(question)
            .is_ok_and(|a| matches!(a.to_ascii_lowercase().as_str(), "y" | "yes"));
        if !yes {
            return;
        }
        let said = match crate::secrets::store_idp_password(self.idp, &user, &password) {
            Ok(()) => format!(
                "aws-runas: the password of {user} at {} is in the OS keyring",
                http::origin(self.idp)
            ),
            Err(e) => format!("aws-runas: {e}"),
        };
        let _ = crate::tty::say(&said);
    }

    /// A sign-in's error, with advice when the keyring's password was the wrong one.
    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        let wrong = matches!(
            e.downcast_ref::<SignInError>(),
            Some(SignInError::WrongPassword { .. })
        );
        if wrong && self.from_keyring.get() {
            e.context(format!(
                "the password in the OS keyring is not the right one: update it with `aws-runas password {}`",
                self.profile
            ))
        } else {
            e
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_told_by_their_headers() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            detect_from_headers(&h("x-okta-request-id", "abc")),
            Provider::Okta
        );
        assert_eq!(
            detect_from_headers(&h(
                "access-control-allow-headers",
                "X-OpenAM-Username, X-Requested-With"
            )),
            Provider::ForgeRock
        );
        assert_eq!(
            detect_from_headers(&h("set-cookie", "sub_session_onelogin.com=x; Path=/")),
            Provider::OneLogin
        );
        assert_eq!(
            detect_from_headers(&h("set-cookie", "KC_RESTART=x")),
            Provider::Form
        );
        assert_eq!(
            detect_from_headers(&[("X-MS-Request-Id".into(), "9b2c".into())]),
            Provider::AzureAd
        );
    }
}
