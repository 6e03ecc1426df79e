//! A profile's SAML settings, read as aws-runas v3 reads them: `saml_auth_url`, `saml_username`,
//! `saml_provider`, `role_arn`, `jump_role_arn`, `federated_username`, `mfa_type` and the role
//! duration, from the profile or (each setting on its own) the profiles it names as
//! `source_profile`; the command line (`-S -U -P -R -J` and their variables) beats both.
//! A profile is a SAML profile when it (or its lineage, or the command line) has an auth URL.
//!
//! Web identity sign-in (OIDC) is read the same way, from `web_identity_auth_url`,
//! `web_identity_client_id`, `web_identity_redirect_uri`, `web_identity_username`,
//! `web_identity_provider` and our `web_identity_flow` / `web_identity_scopes` (`-W -C -T`):
//! the lineage lookup, role and duration rules are shared, only the keys differ.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::config::{
    ConfigError, Overrides, Profiles, Resolved, RoleHop, Root, DEFAULT_ROLE_DURATION,
};
use crate::environment::Environment;

/// The variable that makes every profile sign in at an IdP, as v3's `-S`.
pub const AUTH_URL_VARIABLE: &str = "SAML_AUTH_URL";
/// The variable that makes every profile sign in at an OpenID provider, as v3's `-W`.
pub const WEB_AUTH_URL_VARIABLE: &str = "WEB_AUTH_URL";

/// What the command line says about SAML (clap has merged each flag with its variables).
#[derive(Clone, Default)]
pub struct SamlFlags {
    pub auth_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub provider: Option<String>,
    pub jump_role_arn: Option<String>,
    /// `-W`, `-C`, `-T`: the OpenID provider, the client registered there, its redirect URI.
    pub web_auth_url: Option<String>,
    pub web_client_id: Option<String>,
    pub web_redirect_uri: Option<String>,
}

impl fmt::Debug for SamlFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlFlags")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("jump_role_arn", &self.jump_role_arn)
            .field("web_auth_url", &self.web_auth_url)
            .field("web_client_id", &self.web_client_id)
            .field("web_redirect_uri", &self.web_redirect_uri)
            .finish()
    }
}

/// How the IdP's second factor is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MfaType {
    Auto,
    None,
    Code,
    Push,
}

/// The sign-in clients this build has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// HTML login forms: Keycloak, SimpleSAMLphp, LemonLDAP::NG and the like.
    Form,
    /// Okta's Authn API, then the app's embed link.
    Okta,
    /// OneLogin's API v2 (client credentials in the URL).
    OneLogin,
    /// ForgeRock AM / PingAM's authenticate REST API.
    ForgeRock,
    /// Azure AD / Entra ID's sign-in pages.
    AzureAd,
    /// The user's own browser signs in and posts the assertion to a loopback endpoint of ours.
    Browser,
    /// Not named and not told by the URL: the IdP's answer to a HEAD decides at sign-in.
    Auto,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SamlSettings {
    /// The profile the settings were asked for (cache keys, messages, keyring hints).
    pub profile: String,
    pub auth_url: Url,
    pub username: Option<String>,
    /// Only from `-P` or the environment: never from a file.
    pub password: Option<String>,
    pub provider: Provider,
    /// The role to assume with the assertion: `jump_role_arn` when set, else `role_arn`; `None`
    /// lets the assertion's roles decide (one, or a choice on the terminal).
    pub saml_role: Option<String>,
    /// With a jump role, the role then assumed from it.
    pub target_role: Option<String>,
    pub federated_username: Option<String>,
    pub mfa_type: MfaType,
    pub duration: Duration,
    /// Where and how long the `browser` provider waits for the browser's post.
    pub browser: BrowserWait,
    /// `AWS_CA_BUNDLE` or `ca_bundle`: a private CA the IdP's certificate may be signed by.
    pub ca_bundle: Option<crate::tls::Bundle>,
}

/// The `browser` provider's loopback endpoint: a port fixed in advance, since the IdP sends the
/// browser only to the ACS URL registered with it, and how long to wait for the sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrowserWait {
    pub port: u16,
    pub timeout: Duration,
}

/// The ACS port users register at their IdP (`http://127.0.0.1:PORT/saml/acs`): below the
/// ephemeral ranges of Linux (32768-60999), macOS and Windows (49152-65535), so an outgoing
/// connection never holds it.
pub const DEFAULT_BROWSER_PORT: u16 = 21357;
pub const BROWSER_PORT_VARIABLE: &str = "RUNAS_SAML_BROWSER_PORT";
/// Long enough to type a password and answer an MFA prompt; shorter than the cache lock's wait
/// (180 s), so the callers queued behind a sign-in hear its outcome rather than time out first.
pub const DEFAULT_BROWSER_TIMEOUT: Duration = Duration::from_secs(150);
pub const MAX_BROWSER_TIMEOUT: Duration = Duration::from_secs(170);
pub const BROWSER_TIMEOUT_VARIABLE: &str = "RUNAS_SAML_BROWSER_TIMEOUT";

impl fmt::Debug for SamlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlSettings")
            .field("profile", &self.profile)
            .field("auth_url", &crate::shown::origin(&self.auth_url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("saml_role", &self.saml_role)
            .field("target_role", &self.target_role)
            .field("mfa_type", &self.mfa_type)
            .field("duration", &self.duration)
            .field("browser", &self.browser)
            .field("ca_bundle", &self.ca_bundle)
            .finish()
    }
}

fn bad(profile: &str, key: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        profile: profile.to_owned(),
        key,
        value: crate::config::shown_quoted(value),
        reason: reason.to_owned(),
    }
}

/// The keys that name a sign-in's URL: SAML's and OpenID's.
const URL_KEYS: [&str; 2] = ["saml_auth_url", "web_identity_auth_url"];

/// Whether `profile` signs in at an IdP (it or a profile it builds on has an auth URL, SAML or
/// OpenID, or the environment names one): the hook `Profiles::resolve` calls before looking for
/// keys.
pub fn signs_in(profiles: &Profiles, profile: &str, env: &Environment) -> bool {
    env.get(AUTH_URL_VARIABLE).is_some()
        || env.get(WEB_AUTH_URL_VARIABLE).is_some()
        || profiles
            .lineage(profile)
            .iter()
            .any(|p| URL_KEYS.iter().any(|k| profiles.setting(p, k).is_some()))
}

/// The provider the auth URL itself names (its host, or AM's API path), as v3 detects them;
/// `Auto` leaves it to the IdP's answer at sign-in.
pub fn detect(url: &Url) -> Provider {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host.ends_with(".okta.com") || host.ends_with(".oktapreview.com") {
        Provider::Okta
    } else if host.ends_with(".onelogin.com") {
        Provider::OneLogin
    } else if is_azure_host(&host) {
        Provider::AzureAd
    } else if url.path().contains("/json/") && url.path().ends_with("/authenticate") {
        Provider::ForgeRock
    } else {
        Provider::Auto
    }
}

/// Microsoft's sign-in and app portal hosts (`myapps.microsoft.com`, `login.microsoftonline.com`,
/// the government and legacy portals).
fn is_azure_host(host: &str) -> bool {
    [
        ".microsoft.com",
        ".microsoftonline.com",
        ".microsoftonline.us",
        ".windowsazure.com",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

pub(super) fn check_role_arn(
    profile: &str,
    key: &'static str,
    arn: &str,
) -> Result<(), ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else {
        Err(bad(
            profile,
            key,
            arn,
            "expected arn:aws:iam::ACCOUNT_ID:role/NAME",
        ))
    }
}

/// The settings of `target` (a profile name or role ARN) as both kinds of sign-in read them:
/// the profile's own value first, then its source profile's, and so on.
struct Lookup<'a> {
    profiles: &'a Profiles,
    target: &'a str,
    is_arn: bool,
    lineage: Vec<&'a str>,
}

impl<'a> Lookup<'a> {
    fn new(profiles: &'a Profiles, target: &'a str) -> Self {
        let is_arn = target.starts_with("arn:");
        let lineage = if is_arn {
            vec!["default"]
        } else {
            profiles.lineage(target)
        };
        Self {
            profiles,
            target,
            is_arn,
            lineage,
        }
    }

    /// First in the lineage wins; the profile it was found in comes with it.
    fn find(&self, key: &str) -> Option<(&'a str, String)> {
        self.lineage.iter().find_map(|p| {
            self.profiles
                .setting(p, key)
                .map(|(v, _)| v.trim())
                .filter(|v| !v.is_empty())
                .map(|v| (*p, v.to_owned()))
        })
    }

    /// A flag (or its variable) beats the profiles.
    fn flag_or(&self, flag: &Option<String>, key: &str) -> Option<(&'a str, String)> {
        flag.clone()
            .map(|v| (self.target, v))
            .or_else(|| self.find(key))
    }

    /// The sign-in URL: the flag, the variable, then the lineage's `key`.
    fn url(
        &self,
        flag: &Option<String>,
        variable: &str,
        key: &'static str,
        env: &Environment,
    ) -> Result<Option<(&'a str, Url)>, ConfigError> {
        let Some((from, raw)) = flag
            .clone()
            .or_else(|| env.get(variable))
            .map(|u| (self.target, u))
            .or_else(|| self.find(key))
        else {
            return Ok(None);
        };
        let url = Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| bad(from, key, &raw, "expected an http(s) URL"))?;
        Ok(Some((from, url)))
    }

    fn provider(
        &self,
        flag: &Option<String>,
        key: &'static str,
        url: &Url,
    ) -> Result<Provider, ConfigError> {
        let Some((p, name)) = self.flag_or(flag, key) else {
            return Ok(detect(url));
        };
        Ok(match name.to_ascii_lowercase().as_str() {
            "auto" => detect(url),
            "form" | "keycloak" | "simplesamlphp" | "lemonldap" | "lemonldap-ng" => Provider::Form,
            "okta" => Provider::Okta,
            "onelogin" => Provider::OneLogin,
            "forgerock" | "pingam" => Provider::ForgeRock,
            "azuread" => Provider::AzureAd,
            "browser" if key == "saml_provider" => Provider::Browser,
            "browser" => {
                return Err(bad(
                    p,
                    key,
                    &name,
                    "web identity signs in in the browser with web_identity_flow = browser",
                ))
            }
            "browserne" => {
                return Err(bad(
                    p,
                    key,
                    &name,
                    "not supported by this build yet; 'form' covers HTML login pages",
                ))
            }
            _ => {
                return Err(bad(
                    p,
                    key,
                    &name,
                    "expected auto, form, keycloak, simplesamlphp, lemonldap, okta, onelogin, forgerock, azuread or browser",
                ))
            }
        })
    }

    /// The role the sign-in's token is traded for (`jump_role_arn` when set, else `role_arn`)
    /// and, with a jump role, the role then assumed from it.
    fn roles(
        &self,
        jump_flag: &Option<String>,
    ) -> Result<(Option<String>, Option<String>), ConfigError> {
        let role_arn = if self.is_arn {
            Some((self.target, self.target.to_owned()))
        } else {
            self.find("role_arn")
        };
        let jump = self.flag_or(jump_flag, "jump_role_arn");
        if let Some((p, arn)) = &role_arn {
            check_role_arn(p, "role_arn", arn)?;
        }
        if let Some((p, arn)) = &jump {
            check_role_arn(p, "jump_role_arn", arn)?;
        }
        Ok(match (jump, role_arn) {
            (Some((_, j)), r) => (Some(j), r.map(|(_, r)| r)),
            (None, r) => (r.map(|(_, r)| r), None),
        })
    }

    fn ca_bundle(&self, env: &Environment) -> Option<crate::tls::Bundle> {
        crate::tls::Bundle::find(env, self.find("ca_bundle"))
    }

    /// The profile asked for (the ARN's lender, `default`, for a bare role ARN).
    fn leaf(&self) -> &'a str {
        self.lineage.first().copied().unwrap_or(self.target)
    }

    /// As for role profiles: the profile's own duration setting, not an inherited one.
    fn duration(&self, role_duration: Option<Duration>) -> Result<Duration, ConfigError> {
        if let Some(d) = role_duration {
            return Ok(d);
        }
        let leaf = self.leaf();
        let own = |key: &str| {
            self.profiles
                .setting(leaf, key)
                .map(|(v, _)| v.trim().to_owned())
        };
        match (own("credentials_duration"), own("duration_seconds")) {
            (Some(v), _) => parse_duration(leaf, "credentials_duration", &v),
            (None, Some(v)) => parse_duration(leaf, "duration_seconds", &v),
            (None, None) => Ok(DEFAULT_ROLE_DURATION),
        }
    }
}

/// The SAML settings of `target` (a profile name or role ARN), or `None` when it does not sign
/// in at an IdP. `role_duration` is `-a`.
pub fn resolve(
    profiles: &Profiles,
    target: &str,
    flags: &SamlFlags,
    role_duration: Option<Duration>,
    env: &Environment,
) -> Result<Option<SamlSettings>, ConfigError> {
    let look = Lookup::new(profiles, target);
    let Some((_, auth_url)) = look.url(&flags.auth_url, AUTH_URL_VARIABLE, "saml_auth_url", env)?
    else {
        return Ok(None);
    };
    let provider = look.provider(&flags.provider, "saml_provider", &auth_url)?;
    let (saml_role, target_role) = look.roles(&flags.jump_role_arn)?;

    let mfa_type = read_mfa_type(&look)?;
    let duration = look.duration(role_duration)?;
    let browser = browser_wait(&look, env)?;
    let federated_username = look.find("federated_username").map(|(_, v)| v);
    if let Some(n) = &federated_username {
        if !session_name_ok(n) {
            return Err(bad(
                look.leaf(),
                "federated_username",
                n,
                "use 2 to 64 of the characters A-Z a-z 0-9 _+=,.@-",
            ));
        }
    }
    Ok(Some(SamlSettings {
        profile: target.to_owned(),
        auth_url,
        username: look
            .flag_or(&flags.username, "saml_username")
            .map(|(_, v)| v),
        password: flags.password.clone(),
        provider,
        saml_role,
        target_role,
        federated_username,
        mfa_type,
        duration,
        browser,
        ca_bundle: look.ca_bundle(env),
    }))
}

/// `saml_browser_port` / `saml_browser_timeout`, each beaten by its variable.
fn browser_wait(look: &Lookup<'_>, env: &Environment) -> Result<BrowserWait, ConfigError> {
    let setting = |var: &'static str, key: &'static str| {
        env.get(var)
            .map(|v| (look.target, var, v.trim().to_owned()))
            .or_else(|| look.find(key).map(|(p, v)| (p, key, v)))
    };
    let port = match setting(BROWSER_PORT_VARIABLE, "saml_browser_port") {
        None => DEFAULT_BROWSER_PORT,
        Some((from, key, v)) => v
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(from, key, &v, "expected a port, 1 to 65535"))?,
    };
    let timeout = match setting(BROWSER_TIMEOUT_VARIABLE, "saml_browser_timeout") {
        None => DEFAULT_BROWSER_TIMEOUT,
        Some((from, key, v)) => crate::duration::parse(&v)
            .ok()
            .filter(|d| !d.is_zero() && *d <= MAX_BROWSER_TIMEOUT)
            .ok_or_else(|| {
                bad(
                    from,
                    key,
                    &v,
                    &format!(
                        "expected a duration of at most {}s (the cache lock's wait bounds it)",
                        MAX_BROWSER_TIMEOUT.as_secs()
                    ),
                )
            })?,
    };
    Ok(BrowserWait { port, timeout })
}

/// `AWS_CA_BUNDLE`, else the nearest `ca_bundle` in `target`'s lineage (as botocore reads it;
/// `default`'s for a bare role ARN).
pub fn ca_bundle(
    profiles: &Profiles,
    target: &str,
    env: &Environment,
) -> Option<crate::tls::Bundle> {
    Lookup::new(profiles, target).ca_bundle(env)
}

/// `mfa_type`: which factor an API sign-in (Okta, OneLogin, AM) uses, SAML or web identity.
fn read_mfa_type(look: &Lookup<'_>) -> Result<MfaType, ConfigError> {
    Ok(match look.find("mfa_type") {
        None => MfaType::Auto,
        Some((p, v)) => match v.to_ascii_lowercase().as_str() {
            "auto" => MfaType::Auto,
            "none" => MfaType::None,
            "code" => MfaType::Code,
            "push" => MfaType::Push,
            _ => return Err(bad(p, "mfa_type", &v, "expected auto, none, code or push")),
        },
    })
}

/// What STS accepts as a role session name.
fn session_name_ok(n: &str) -> bool {
    (2..=64).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// How the ID token of a web identity sign-in is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebFlow {
    /// Authorization code with PKCE, signing in through the provider's login page with
    /// username and password and following its redirects here (as aws-runas v3 does).
    Password,
    /// Authorization code with PKCE in the user's own browser, the code coming back to a
    /// loopback listener (RFC 8252).
    Browser,
    /// The device authorization grant (RFC 8628): a code confirmed on any device.
    Device,
}

/// A profile that signs in at an OpenID provider and trades the ID token for a role
/// (`AssumeRoleWithWebIdentity`).
#[derive(Clone, PartialEq, Eq)]
pub struct WebSettings {
    /// The profile the settings were asked for (cache keys, messages, keyring hints).
    pub profile: String,
    /// The provider's issuer URL; its discovery document is below it.
    pub auth_url: Url,
    pub client_id: String,
    /// As registered at the provider (sent as written: providers compare it byte for byte);
    /// compared with, never fetched (except by the browser flow, which listens there).
    pub redirect_uri: String,
    pub username: Option<String>,
    /// Only from `-P` or the environment: never from a file.
    pub password: Option<String>,
    pub provider: Provider,
    pub flow: WebFlow,
    /// The factor the API sign-ins (Okta, OneLogin, AM) use when asked for MFA.
    pub mfa_type: MfaType,
    /// Always with `openid`; `offline_access` asks for a refresh token.
    pub scopes: Vec<String>,
    /// The role assumed with the ID token: `jump_role_arn` when set, else `role_arn`.
    pub web_role: String,
    /// With a jump role, the role then assumed from it.
    pub target_role: Option<String>,
    pub session_name: Option<String>,
    pub duration: Duration,
    /// `AWS_CA_BUNDLE` or `ca_bundle`: a private CA the provider's certificate may be signed by.
    pub ca_bundle: Option<crate::tls::Bundle>,
}

impl WebSettings {
    /// The redirect URI, parsed (resolution checked that it parses).
    pub fn redirect_url(&self) -> Url {
        Url::parse(&self.redirect_uri).expect("checked when the settings were read")
    }
}

impl fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSettings")
            .field("profile", &self.profile)
            .field("auth_url", &crate::shown::origin(&self.auth_url))
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("provider", &self.provider)
            .field("flow", &self.flow)
            .field("mfa_type", &self.mfa_type)
            .field("scopes", &self.scopes)
            .field("web_role", &self.web_role)
            .field("target_role", &self.target_role)
            .field("duration", &self.duration)
            .finish()
    }
}

/// Whether the browser flow can listen at `uri` (RFC 8252's loopback redirect).
pub fn is_loopback(uri: &Url) -> bool {
    uri.scheme() == "http" && matches!(uri.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// The web identity sign-in settings of `target`, or `None` when it has no
/// `web_identity_auth_url` (nor `-W`, nor `WEB_AUTH_URL`).
pub fn resolve_web(
    profiles: &Profiles,
    target: &str,
    flags: &SamlFlags,
    role_duration: Option<Duration>,
    env: &Environment,
) -> Result<Option<WebSettings>, ConfigError> {
    const URL_KEY: &str = "web_identity_auth_url";
    let look = Lookup::new(profiles, target);
    let Some((url_from, auth_url)) =
        look.url(&flags.web_auth_url, WEB_AUTH_URL_VARIABLE, URL_KEY, env)?
    else {
        return Ok(None);
    };
    let needed = |key: &'static str, what: &str, flag: &str| ConfigError::BadValue {
        profile: url_from.to_owned(),
        key,
        value: "(not set)".into(),
        reason: format!("{URL_KEY} needs {what} (or {flag})"),
    };
    let one_line = |(p, v): (&str, String), key: &'static str| {
        if v.contains(|c: char| c.is_control() || c == ' ') {
            Err(bad(p, key, &v, "it must be one value without spaces"))
        } else {
            Ok(v)
        }
    };
    let client_id = look
        .flag_or(&flags.web_client_id, "web_identity_client_id")
        .ok_or_else(|| {
            needed(
                "web_identity_client_id",
                "the client id registered at the provider",
                "-C / WEB_CLIENT_ID",
            )
        })
        .and_then(|found| one_line(found, "web_identity_client_id"))?;
    let (redirect_from, raw_redirect) = look
        .flag_or(&flags.web_redirect_uri, "web_identity_redirect_uri")
        .ok_or_else(|| {
            needed(
                "web_identity_redirect_uri",
                "the redirect URI registered for the client",
                "-T / WEB_REDIRECT_URI",
            )
        })?;
    let redirect_uri = Url::parse(&raw_redirect)
        .ok()
        .filter(|_| !raw_redirect.contains(char::is_control))
        .ok_or_else(|| {
            bad(
                redirect_from,
                "web_identity_redirect_uri",
                &raw_redirect,
                "expected a URI such as http://127.0.0.1:8400/callback",
            )
        })?;
    let provider = look.provider(&flags.provider, "web_identity_provider", &auth_url)?;
    let (role, target_role) = look.roles(&flags.jump_role_arn)?;
    let web_role = role.ok_or_else(|| ConfigError::BadValue {
        profile: target.to_owned(),
        key: "role_arn",
        value: "(not set)".into(),
        reason: "a web identity sign-in needs the role to assume with the ID token".into(),
    })?;
    let username = look
        .flag_or(&flags.username, "web_identity_username")
        .map(|(_, v)| v);
    let flow = match look.find("web_identity_flow") {
        Some((p, v)) => match v.to_ascii_lowercase().as_str() {
            "password" => WebFlow::Password,
            "browser" => WebFlow::Browser,
            "device" => WebFlow::Device,
            _ => {
                return Err(bad(
                    p,
                    "web_identity_flow",
                    &v,
                    "expected password, browser or device",
                ))
            }
        },
        // A known username means the password flow, as in v3; without one the user's own
        // browser, where it can come back to us.
        None if username.is_none() && is_loopback(&redirect_uri) => WebFlow::Browser,
        None => WebFlow::Password,
    };
    if flow == WebFlow::Browser && !is_loopback(&redirect_uri) {
        return Err(bad(
            redirect_from,
            "web_identity_redirect_uri",
            redirect_uri.as_str(),
            "the browser flow needs an http://127.0.0.1 or http://localhost redirect URI",
        ));
    }
    let mut scopes = vec!["openid".to_owned()];
    if let Some((p, v)) = look.find("web_identity_scopes") {
        for scope in v.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            if scope.contains(|c: char| c.is_control() || c == '"' || c == '\\') {
                return Err(bad(p, "web_identity_scopes", &v, "a scope is one word"));
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
    }
    let session_name = match look.find("federated_username") {
        Some((p, n)) if !session_name_ok(&n) => {
            return Err(bad(
                p,
                "federated_username",
                &n,
                "use 2 to 64 of the characters A-Z a-z 0-9 _+=,.@-",
            ))
        }
        Some((_, n)) => Some(n),
        None => username.clone().filter(|u| session_name_ok(u)),
    };
    Ok(Some(WebSettings {
        profile: target.to_owned(),
        auth_url,
        client_id,
        redirect_uri: raw_redirect,
        username,
        password: flags.password.clone(),
        provider,
        flow,
        mfa_type: read_mfa_type(&look)?,
        scopes,
        web_role,
        target_role,
        session_name,
        duration: look.duration(role_duration)?,
        ca_bundle: look.ca_bundle(env),
    }))
}

/// Puts the sign-in at the root of `resolved` (SAML or web identity) when the profile signs in
/// at an IdP, and replaces its role hops by what a sign-in needs: none, or with a jump role the
/// one role assumed from it.
pub fn apply(
    profiles: &Profiles,
    flags: &SamlFlags,
    overrides: &Overrides,
    env: &Environment,
    resolved: &mut Resolved,
) -> Result<(), ConfigError> {
    let saml = resolve(
        profiles,
        &resolved.name,
        flags,
        overrides.role_duration,
        env,
    )?;
    let web = resolve_web(
        profiles,
        &resolved.name,
        flags,
        overrides.role_duration,
        env,
    )?;
    let target_role = match (&saml, &web) {
        (Some(s), Some(w)) => {
            return Err(ConfigError::BadValue {
                profile: resolved.name.clone(),
                key: "web_identity_auth_url",
                value: crate::config::shown_quoted(&crate::shown::origin(&w.auth_url)),
                reason: format!(
                "saml_auth_url ({}) is set too: a profile signs in one way, SAML or web identity",
                crate::shown::origin(&s.auth_url)
            ),
            })
        }
        (Some(s), None) => s.target_role.clone(),
        (None, Some(w)) => w.target_role.clone(),
        (None, None) => return Ok(()),
    };
    let own = |key: &str| {
        profiles
            .setting(&resolved.name, key)
            .map(|(v, _)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let duration = saml
        .as_ref()
        .map(|s| s.duration)
        .or(web.as_ref().map(|w| w.duration))
        .unwrap_or(DEFAULT_ROLE_DURATION);
    resolved.hops = match target_role {
        Some(role) => vec![RoleHop {
            profile: resolved.name.clone(),
            role_arn: role,
            external_id: overrides.external_id.clone().or_else(|| own("external_id")),
            session_name: own("role_session_name"),
            duration,
        }],
        None => Vec::new(),
    };
    // With a jump role, the configured duration is the target role's; the jump role gets
    // the default.
    let jumped = !resolved.hops.is_empty();
    if let Some(mut s) = saml {
        if jumped {
            s.duration = DEFAULT_ROLE_DURATION;
        }
        resolved.root = Root::Saml(s);
    }
    if let Some(mut w) = web {
        if jumped {
            w.duration = DEFAULT_ROLE_DURATION;
        } else if w.session_name.is_none() {
            w.session_name = own("role_session_name");
        }
        resolved.root = Root::WebSignIn(w);
    }
    Ok(())
}

fn parse_duration(profile: &str, key: &'static str, v: &str) -> Result<Duration, ConfigError> {
    crate::duration::parse(v).map_err(|e| bad(profile, key, v, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(config: &str) -> (tempfile::TempDir, Profiles) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, config).unwrap();
        let env = Environment::from([
            ("AWS_CONFIG_FILE", path.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]);
        let p = Profiles::load(&env).unwrap();
        (dir, p)
    }

    const CONFIG: &str = "[profile idp]\nsaml_auth_url = https://idp.example.org/sso\nsaml_username = alice\nregion = eu-west-1\n\
        [profile admin]\nsource_profile = idp\nrole_arn = arn:aws:iam::123456789012:role/Admin\nduration_seconds = 2h\n\
        [profile jumped]\nsource_profile = admin\njump_role_arn = arn:aws:iam::123456789012:role/Jump\nrole_arn = arn:aws:iam::210987654321:role/Target\nmfa_type = code\n\
        [profile plain]\nregion = x\n";

    #[test]
    fn settings_are_inherited_and_flags_win() {
        let (_d, p) = profiles(CONFIG);
        let none = Environment::default();
        let s = resolve(&p, "admin", &SamlFlags::default(), None, &none)
            .unwrap()
            .unwrap();
        assert_eq!(s.auth_url.as_str(), "https://idp.example.org/sso");
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(
            s.saml_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/Admin")
        );
        assert_eq!(s.target_role, None);
        assert_eq!(s.duration, Duration::from_secs(7200));
        assert_eq!(s.mfa_type, MfaType::Auto);

        let s = resolve(&p, "jumped", &SamlFlags::default(), None, &none)
            .unwrap()
            .unwrap();
        assert_eq!(
            s.saml_role.as_deref(),
            Some("arn:aws:iam::123456789012:role/Jump")
        );
        assert_eq!(
            s.target_role.as_deref(),
            Some("arn:aws:iam::210987654321:role/Target")
        );
        assert_eq!(s.mfa_type, MfaType::Code);
        assert_eq!(
            s.duration, DEFAULT_ROLE_DURATION,
            "durations are not inherited"
        );

        let flags = SamlFlags {
            username: Some("bob".into()),
            password: Some("pw".into()),
            ..Default::default()
        };
        let s = resolve(&p, "admin", &flags, Some(Duration::from_secs(900)), &none)
            .unwrap()
            .unwrap();
        assert_eq!(s.username.as_deref(), Some("bob"));
        assert_eq!(s.duration, Duration::from_secs(900));
        assert!(
            !format!("{s:?} {flags:?}").contains("pw\""),
            "passwords are redacted"
        );

        assert!(resolve(&p, "plain", &SamlFlags::default(), None, &none)
            .unwrap()
            .is_none());
        assert!(!signs_in(&p, "plain", &none));
        assert!(signs_in(&p, "idp", &none));
        assert!(signs_in(&p, "jumped", &none), "through its source profiles");
        // Resolution takes a SAML profile without keys, and its lineage still lends the region.
        let mut r = p.resolve("jumped", &Overrides::default(), &none).unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        apply(
            &p,
            &SamlFlags::default(),
            &Overrides::default(),
            &none,
            &mut r,
        )
        .unwrap();
        let hops: Vec<_> = r.hops.iter().map(|h| h.role_arn.as_str()).collect();
        assert_eq!(
            hops,
            ["arn:aws:iam::210987654321:role/Target"],
            "only the jump's target"
        );
        assert!(matches!(r.root, Root::Saml(_)));
        let env = Environment::from([("SAML_AUTH_URL", "http://127.0.0.1:1/x")]);
        assert!(signs_in(&p, "plain", &env));
    }

    const WEB: &str = "[profile op]\nweb_identity_auth_url = https://op.example.org/realms/r\nweb_identity_client_id = cli\n\
        web_identity_redirect_uri = http://127.0.0.1:8400/callback\nweb_identity_scopes = email, offline_access\n\
        [profile dev]\nsource_profile = op\nrole_arn = arn:aws:iam::123456789012:role/Dev\nweb_identity_username = alice\n\
        [profile jumped]\nsource_profile = op\njump_role_arn = arn:aws:iam::123456789012:role/Jump\nrole_arn = arn:aws:iam::210987654321:role/Target\nduration_seconds = 2h\n\
        [profile dev_device]\nsource_profile = dev\nrole_arn = arn:aws:iam::123456789012:role/Dev\nweb_identity_flow = device\n";

    #[test]
    fn web_settings_are_inherited_like_saml_ones_and_choose_a_flow() {
        let (_d, p) = profiles(WEB);
        let none = Environment::default();
        let web = |name: &str, flags: &SamlFlags| {
            resolve_web(&p, name, flags, None, &none).unwrap().unwrap()
        };
        let dev = web("dev", &SamlFlags::default());
        assert_eq!(dev.auth_url.as_str(), "https://op.example.org/realms/r");
        assert_eq!(dev.client_id, "cli");
        assert_eq!(dev.redirect_uri, "http://127.0.0.1:8400/callback");
        assert_eq!(dev.web_role, "arn:aws:iam::123456789012:role/Dev");
        assert_eq!(dev.scopes, ["openid", "email", "offline_access"]);
        assert_eq!(
            dev.flow,
            WebFlow::Password,
            "a username means the password flow"
        );
        assert_eq!(dev.session_name.as_deref(), Some("alice"));
        assert_eq!(dev.provider, Provider::Auto);
        let jumped = web("jumped", &SamlFlags::default());
        assert_eq!(
            jumped.flow,
            WebFlow::Browser,
            "no username, a loopback redirect"
        );
        assert_eq!(jumped.web_role, "arn:aws:iam::123456789012:role/Jump");
        assert_eq!(
            jumped.target_role.as_deref(),
            Some("arn:aws:iam::210987654321:role/Target")
        );
        assert_eq!(
            web("dev_device", &SamlFlags::default()).flow,
            WebFlow::Device
        );
        let flags = SamlFlags {
            web_auth_url: Some("http://127.0.0.1:9/".into()),
            web_client_id: Some("other".into()),
            username: Some("bob".into()),
            password: Some("pw".into()),
            ..Default::default()
        };
        let flagged = web("dev", &flags);
        assert_eq!(
            (flagged.auth_url.as_str(), flagged.client_id.as_str()),
            ("http://127.0.0.1:9/", "other")
        );
        assert_eq!(flagged.username.as_deref(), Some("bob"));
        assert!(!format!("{flagged:?}").contains("\"pw\""), "redacted");

        // The jump role's target becomes the one hop; the token's role takes the default duration.
        let mut r = p.resolve("jumped", &Overrides::default(), &none).unwrap();
        apply(
            &p,
            &SamlFlags::default(),
            &Overrides::default(),
            &none,
            &mut r,
        )
        .unwrap();
        assert_eq!(r.hops.len(), 1);
        assert_eq!(r.hops[0].role_arn, "arn:aws:iam::210987654321:role/Target");
        assert_eq!(r.hops[0].duration, Duration::from_secs(7200));
        let Root::WebSignIn(w) = &r.root else {
            panic!("not a web sign-in: {:?}", r.root)
        };
        assert_eq!(w.duration, DEFAULT_ROLE_DURATION);
        assert!(signs_in(&p, "dev_device", &none));
    }

    #[test]
    fn bad_values_name_profile_and_key() {
        let (_d, p) = profiles(
            "[profile u]\nsaml_auth_url = ftp://x/y\n[profile r]\nsaml_auth_url = https://x/\nrole_arn = arn:aws:iam::1:role/x\n\
             [profile m]\nsaml_auth_url = https://x/\nmfa_type = sms\n[profile o]\nsaml_auth_url = https://x/\nsaml_provider = browserne\n\
             [profile k]\nsaml_auth_url = https://corp.okta.com/home/amazon_aws/0oa1/272\n\
             [profile b]\nsaml_auth_url = https://x/\nsaml_provider = browser\n\
             [profile bp]\nsource_profile = b\nsaml_browser_port = 70000\n",
        );
        let err = |n: &str| {
            resolve(&p, n, &SamlFlags::default(), None, &Environment::default())
                .unwrap_err()
                .to_string()
        };
        assert!(err("u").starts_with("profile 'u': saml_auth_url = 'ftp://x/y' is invalid"));
        assert!(err("r").starts_with("profile 'r': role_arn"));
        assert!(err("m").contains("mfa_type = 'sms'"));
        assert!(err("o").contains("saml_provider = 'browserne' is invalid: not supported"));
        assert!(err("bp").starts_with("profile 'bp': saml_browser_port = '70000' is invalid"));
        let b = resolve(
            &p,
            "b",
            &SamlFlags::default(),
            None,
            &Environment::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(b.provider, Provider::Browser);
        assert_eq!(
            b.browser,
            BrowserWait {
                port: DEFAULT_BROWSER_PORT,
                timeout: DEFAULT_BROWSER_TIMEOUT
            }
        );
        let env = Environment::from([
            ("RUNAS_SAML_BROWSER_PORT", "8123"),
            ("RUNAS_SAML_BROWSER_TIMEOUT", "2m"),
        ]);
        let b = resolve(&p, "b", &SamlFlags::default(), None, &env)
            .unwrap()
            .unwrap();
        assert_eq!(b.browser.port, 8123);
        assert_eq!(b.browser.timeout, Duration::from_secs(120));
        let env = Environment::from([("RUNAS_SAML_BROWSER_TIMEOUT", "1h")]);
        let e = resolve(&p, "b", &SamlFlags::default(), None, &env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("profile 'b': RUNAS_SAML_BROWSER_TIMEOUT = '1h' is invalid"),
            "{e}"
        );
        let okta = resolve(
            &p,
            "k",
            &SamlFlags::default(),
            None,
            &Environment::default(),
        );
        assert_eq!(
            okta.unwrap().unwrap().provider,
            Provider::Okta,
            "detected by host"
        );
    }

    #[test]
    fn azure_ad_is_told_by_its_hosts_its_header_and_its_names() {
        let u = |s: &str| Url::parse(s).unwrap();
        for url in [
            "https://myapps.microsoft.com/signin/AWS/8d3e2a1b?tenantId=f00",
            "https://login.microsoftonline.com/f00/saml2",
            "https://login.microsoftonline.us/f00/saml2",
            "https://account.activedirectory.windowsazure.com/applications/redirecttofederatedapplication.aspx",
        ] {
            assert_eq!(detect(&u(url)), Provider::AzureAd, "{url}");
        }
        // A lookalike that only contains the name is not Microsoft's.
        assert_eq!(
            detect(&u("https://microsoftonline.com.evil.example/x")),
            Provider::Auto
        );
        let (_d, p) = profiles(
            "[profile a]\nsaml_auth_url = https://idp.example.org/x\nsaml_provider = AzureAD\n\
             [profile k]\nsaml_auth_url = https://idp.example.org/x\nsaml_provider = keycloak\n",
        );
        let provider = |n: &str| {
            resolve(&p, n, &SamlFlags::default(), None, &Environment::default())
                .unwrap()
                .unwrap()
                .provider
        };
        assert_eq!(provider("a"), Provider::AzureAd, "v3's name, any case");
        assert_eq!(provider("k"), Provider::Form, "v3's keycloak is a form IdP");
    }

    #[test]
    fn web_identity_at_microsofts_issuer_is_azure_ad_without_naming_it() {
        let (_d, p) = profiles(
            "[profile w]\nweb_identity_auth_url = https://login.microsoftonline.com/f00/v2.0\n\
             web_identity_client_id = c\nweb_identity_redirect_uri = app:/callback\n\
             web_identity_username = alice@contoso.example\n\
             role_arn = arn:aws:iam::123456789012:role/Dev\n",
        );
        let w = resolve_web(
            &p,
            "w",
            &SamlFlags::default(),
            None,
            &Environment::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(w.provider, Provider::AzureAd);
        assert_eq!(w.flow, WebFlow::Password);
    }
}
