//! An OpenID provider as its client sees it: the discovery document below the issuer URL (where
//! the authorization, token and device endpoints are), the authorization request (code with
//! PKCE and `state`), the redirect that ends it, and the token endpoint's grants (code, refresh
//! token, device code). Everything goes through the IdP browser (`idp::http`): bounded bodies,
//! redirects followed by hand, no query string in the logs.

use serde::Deserialize;

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
use url::Url;

use crate::idp::http::{origin, Browser};
use crate::oauth::pkce::Pkce;
use crate::oauth::wait::DeviceAuthorization;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OpenID provider at {idp} answered the sign-in with another state than the one sent: not using its code")]
    StateMismatch { idp: String },
    #[error("the OpenID provider at {idp} refused the sign-in: {error}")]
    Refused { idp: String, error: String },
    #[error("the OpenID provider at {idp} sent no authorization code back")]
    NoCode { idp: String },
    #[error("the OpenID provider at {idp} answered {what} with HTTP {status}{}", error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Endpoint {
        idp: String,
        what: &'static str,
        status: u16,
        error: Option<String>,
    },
    #[error(
        "the OpenID provider at {idp} issued no ID token (is `openid` among the client's scopes?)"
    )]
    NoIdToken { idp: String },
    #[error("the OpenID provider at {idp} has no device authorization endpoint: use web_identity_flow = password or browser")]
    NoDeviceEndpoint { idp: String },
    #[error("{at}: {reason}")]
    Discovery { at: String, reason: String },
    #[error("the OpenID provider's discovery document at {at} names the issuer {issuer}, not the configured {configured}: refusing its endpoints (OpenID Connect Discovery 4.3)")]
    IssuerMismatch {
        at: String,
        issuer: String,
        configured: String,
    },
}

/// Where the provider's endpoints are (from its discovery document).
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub authorization: Url,
    pub token: Url,
    pub device_authorization: Option<Url>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    device_authorization_endpoint: Option<String>,
}

/// The discovery document's URL: `.well-known/openid-configuration` below the issuer.
pub fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    url.set_query(None);
    url.set_fragment(None);
    let path = format!(
        "{}/.well-known/openid-configuration",
        url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// Whether the discovery document's `issuer` is the URL it was fetched below: the same string,
/// but for a trailing slash (as the configured URL is written, or as `Url` normalises it).
/// Anything looser would let a document served at one URL name endpoints for another issuer.
fn same_issuer(configured: &Url, named: &str) -> bool {
    let mut configured = configured.clone();
    configured.set_query(None);
    configured.set_fragment(None);
    configured.as_str().trim_end_matches('/') == named.trim_end_matches('/')
}

/// Reads the provider's endpoints, from a document that names `issuer` as its issuer (OpenID
/// Connect Discovery 4.3). An https issuer's endpoints must be https too: a plain-http token
/// endpoint would carry the code and tokens in the clear.
pub fn discover(browser: &mut Browser, issuer: &Url) -> anyhow::Result<Endpoints> {
    let at = discovery_url(issuer);
    let bad = |reason: String| OidcError::Discovery {
        at: origin(&at),
        reason,
    };
    let page = browser.get(at.clone())?;
    if page.status != 200 {
        return Err(bad(format!(
            "HTTP {}: is web_identity_auth_url the provider's issuer URL?",
            page.status
        ))
        .into());
    }
    let doc: Discovery = serde_json::from_str(&page.body)
        .map_err(|_| bad("not an OpenID discovery document".into()))?;
    if !same_issuer(issuer, &doc.issuer) {
        // Not a `Discovery` error: no fallback to derived endpoints may follow a mismatch.
        return Err(OidcError::IssuerMismatch {
            at: origin(&at),
            issuer: crate::shown::shown_url_quoted(&doc.issuer),
            configured: crate::shown::shown_url_quoted(&origin(issuer)),
        }
        .into());
    }
    let endpoint = |raw: &str, name: &str| -> Result<Url, OidcError> {
        let u = at
            .join(raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| bad(format!("its {name} is not an http(s) URL")))?;
        if issuer.scheme() == "https" && u.scheme() != "https" {
            return Err(bad(format!("its {name} is not https")));
        }
        Ok(u)
    };
    Ok(Endpoints {
        authorization: endpoint(&doc.authorization_endpoint, "authorization_endpoint")?,
        token: endpoint(&doc.token_endpoint, "token_endpoint")?,
        device_authorization: doc
            .device_authorization_endpoint
            .as_deref()
            .map(|d| endpoint(d, "device_authorization_endpoint"))
            .transpose()?,
    })
}

/// The authorization request: code flow with PKCE (S256) and `state`.
pub fn authorize_url(
    endpoints: &Endpoints,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    pkce: &Pkce,
) -> Url {
    let mut url = endpoints.authorization.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(" "))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", &pkce.state)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256");
    url
}

/// The authorization code a redirect carries, once its `state` is ours (RFC 6749 10.12).
pub fn code_from_redirect(redirect: &Url, state: &str, idp: &Url) -> Result<String, OidcError> {
    let get = |name: &str| {
        redirect
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let idp = origin(idp);
    if get("state").as_deref() != Some(state) {
        return Err(OidcError::StateMismatch { idp });
    }
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        return Err(OidcError::Refused {
            idp,
            error: crate::config::shown(format!("{error} {description}").trim()),
        });
    }
    get("code")
        .filter(|c| !c.is_empty())
        .ok_or(OidcError::NoCode { idp })
}

/// What the token endpoint answers (only what we use).
#[derive(Deserialize)]
pub struct TokenResponse {
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
}

/// A token endpoint's refusal: the `error` code callers tell apart (device polling).
#[derive(Debug)]
pub struct TokenRefusal {
    pub status: u16,
    pub error: Option<String>,
}

impl TokenRefusal {
    pub fn into_error(self, idp: &Url, what: &'static str) -> OidcError {
        OidcError::Endpoint {
            idp: origin(idp),
            what,
            status: self.status,
            error: self.error.map(|e| crate::config::shown(&e)),
        }
    }
}

/// POSTs `fields` to the token endpoint. `Err(Ok(refusal))` is the provider's refusal,
/// `Err(Err(..))` a failure to reach it or read its answer.
pub fn token(
    browser: &mut Browser,
    endpoints: &Endpoints,
    fields: &[(&str, &str)],
) -> Result<TokenResponse, Result<TokenRefusal, anyhow::Error>> {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let page = browser
        .post_form_back_channel(endpoints.token.clone(), &fields)
        .map_err(Err)?;
    if page.status == 200 {
        // The body holds tokens: never quoted in an error.
        return serde_json::from_str(&page.body).map_err(|_| {
            Err(anyhow::anyhow!(
                "the token endpoint at {} answered with something other than token JSON",
                origin(&endpoints.token)
            ))
        });
    }
    let error = serde_json::from_str::<serde_json::Value>(&page.body)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
        .filter(|e| e.len() <= 64);
    Err(Ok(TokenRefusal {
        status: page.status,
        error,
    }))
}

/// Starts the device authorization grant.
pub fn device_authorization(
    browser: &mut Browser,
    endpoints: &Endpoints,
    issuer: &Url,
    client_id: &str,
    scopes: &[String],
) -> anyhow::Result<DeviceAuthorization> {
    let url =
        endpoints
            .device_authorization
            .clone()
            .ok_or_else(|| OidcError::NoDeviceEndpoint {
                idp: origin(issuer),
            })?;
    let fields = [
        ("client_id".to_owned(), client_id.to_owned()),
        ("scope".to_owned(), scopes.join(" ")),
    ];
    let page = browser.post_form_back_channel(url.clone(), &fields)?;
    if page.status != 200 {
        let error = serde_json::from_str::<serde_json::Value>(&page.body)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(crate::config::shown));
        return Err(OidcError::Endpoint {
            idp: origin(issuer),
            what: "the device authorization",
            status: page.status,
            error,
        }
        .into());
    }
    let auth: DeviceAuthorization = serde_json::from_str(&page.body).map_err(|_| {
        anyhow::anyhow!(
            "the device authorization endpoint at {} answered with something other than its JSON",
            origin(&url)
        )
    })?;
    if auth.to_show().is_none() {
        anyhow::bail!(
            "the device authorization endpoint at {} answered a code or URL that cannot be shown",
            origin(&url)
        );
    }
    Ok(auth)
}

/// The ID token of a token response.
pub fn id_token(response: &TokenResponse, idp: &Url) -> Result<String, OidcError> {
    response
        .id_token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OidcError::NoIdToken { idp: origin(idp) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_sits_below_the_issuer_path() {
        let u = |s: &str| discovery_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("https://kc.example.org/realms/test/"),
            "https://kc.example.org/realms/test/.well-known/openid-configuration"
        );
        assert_eq!(
            u("http://127.0.0.1:9090"),
            "http://127.0.0.1:9090/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_issuer_must_be_the_configured_url_but_for_a_trailing_slash() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_issuer(
            &u("http://127.0.0.1:9090"),
            "http://127.0.0.1:9090"
        ));
        assert!(same_issuer(
            &u("https://kc.example.org/realms/test/"),
            "https://kc.example.org/realms/test"
        ));
        assert!(same_issuer(
            &u("https://kc.example.org/realms/test"),
            "https://kc.example.org/realms/test/"
        ));
        for other in [
            "https://evil.example.org/realms/test",
            "https://kc.example.org/realms/other",
            "https://kc.example.org/realms/test/x",
            "http://kc.example.org/realms/test",
            "https://kc.example.org/realms/tes",
            "",
        ] {
            assert!(
                !same_issuer(&u("https://kc.example.org/realms/test"), other),
                "{other}"
            );
        }
    }

    #[test]
    fn only_a_redirect_with_our_state_gives_its_code() {
        let idp = Url::parse("https://idp.example.org").unwrap();
        let r = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            code_from_redirect(&r("app:/callback?code=abc&state=s1"), "s1", &idp).unwrap(),
            "abc"
        );
        assert!(matches!(
            code_from_redirect(&r("app:/callback?code=abc&state=s2"), "s1", &idp),
            Err(OidcError::StateMismatch { .. })
        ));
        assert!(matches!(
            code_from_redirect(&r("app:/callback?code=abc"), "s1", &idp),
            Err(OidcError::StateMismatch { .. })
        ));
        let refused = code_from_redirect(
            &r("app:/callback?error=access_denied&error_description=no%0Away&state=s1"),
            "s1",
            &idp,
        )
        .unwrap_err()
        .to_string();
        assert!(refused.contains("access_denied"), "{refused}");
        assert!(!refused.contains('\n'), "{refused}");
    }
}
