//! Where a web identity profile's OpenID provider has its endpoints: its discovery document
//! says; where its configured URL serves none, the paths aws-runas v3 appends for the provider
//! the profile names (Okta `/v1/authorize`, OneLogin `/auth`, AM `/authorize` and
//! `/access_token`, Keycloak's `/protocol/openid-connect/...` below the realm, Azure AD's
//! `/TENANT/oauth2/v2.0/...`).

use url::Url;

use crate::config::signin::{Provider, WebSettings};
use crate::idp::http::{origin, Browser};
use crate::oidc::provider::{self, Endpoints, OidcError};

/// The provider's endpoints: from its discovery document, else (none served there) the ones
/// v3 derives from the configured URL for the provider the profile names.
pub fn find(browser: &mut Browser, s: &WebSettings) -> anyhow::Result<Endpoints> {
    let error = match provider::discover(browser, &s.auth_url) {
        Ok(endpoints) => return Ok(endpoints),
        Err(e) => e,
    };
    let no_document = matches!(
        error.downcast_ref::<OidcError>(),
        Some(OidcError::Discovery { .. })
    );
    match fallback(s.provider, &s.auth_url) {
        Some(endpoints) if no_document => {
            tracing::info!(
                "no OpenID discovery document below {}: using the {:?} endpoints below it",
                origin(&s.auth_url),
                s.provider
            );
            Ok(endpoints)
        }
        _ => Err(error),
    }
}

/// Azure AD's v2.0 endpoints, as v3 builds them for a tenant: `/TENANT/oauth2/v2.0/…` on the
/// configured host for the issuer (`/TENANT/v2.0`), the tenant, or the endpoints' own base; on
/// `login.microsoftonline.com` for v3's "User access URL" (`…?tenantId=TENANT`).
fn azure_fallback(url: &Url) -> Option<Endpoints> {
    let tenant_from_query = url
        .query_pairs()
        .find(|(k, _)| k == "tenantId")
        .map(|(_, v)| v.into_owned())
        .filter(|t| {
            // A GUID or a domain name (`contoso.onmicrosoft.com`), nothing a path would read.
            !t.is_empty()
                && !t.starts_with('.')
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        });
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let path = match tenant_from_query {
        Some(tenant) => {
            base = Url::parse("https://login.microsoftonline.com/").expect("a constant URL");
            format!("/{tenant}/oauth2/v2.0")
        }
        None => {
            let path = base.path().trim_end_matches('/');
            let path = path.strip_suffix("/oauth2/v2.0").unwrap_or(path);
            let tenant = path.strip_suffix("/v2.0").unwrap_or(path);
            if tenant.is_empty() {
                return None;
            }
            format!("{tenant}/oauth2/v2.0")
        }
    };
    let below = |tail: &str| {
        let mut u = base.clone();
        u.set_path(&format!("{path}/{tail}"));
        u
    };
    Some(Endpoints {
        authorization: below("authorize"),
        token: below("token"),
        device_authorization: Some(below("devicecode")),
    })
}

/// v3's endpoints below the configured URL, for the providers whose layout is known.
fn fallback(provider: Provider, url: &Url) -> Option<Endpoints> {
    if provider == Provider::AzureAd {
        return azure_fallback(url);
    }
    let (authorization, token) = match provider {
        Provider::Okta => ("v1/authorize", "v1/token"),
        Provider::OneLogin => ("auth", "token"),
        Provider::ForgeRock => ("authorize", "access_token"),
        Provider::Form | Provider::Auto if url.path().contains("/realms/") => (
            "protocol/openid-connect/auth",
            "protocol/openid-connect/token",
        ),
        _ => return None,
    };
    let below = |tail: &str| {
        let mut u = url.clone();
        // OneLogin's URL carries the API client in its query: never sent to these endpoints.
        u.set_query(None);
        u.set_fragment(None);
        let path = format!("{}/{tail}", u.path().trim_end_matches('/'));
        u.set_path(&path);
        u
    };
    Some(Endpoints {
        authorization: below(authorization),
        token: below(token),
        // v3 knows no device endpoint: the device flow needs a discovery document.
        device_authorization: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_endpoints_below_the_configured_url() {
        let f = |p: Provider, s: &str| {
            fallback(p, &Url::parse(s).unwrap())
                .map(|e| (e.authorization.to_string(), e.token.to_string()))
        };
        assert_eq!(
            f(Provider::Okta, "https://org.okta.com/oauth2/default/").unwrap(),
            (
                "https://org.okta.com/oauth2/default/v1/authorize".into(),
                "https://org.okta.com/oauth2/default/v1/token".into()
            )
        );
        let onelogin = f(
            Provider::OneLogin,
            "https://c.onelogin.com/oidc/2?token=c2VjcmV0",
        )
        .unwrap();
        assert_eq!(onelogin.0, "https://c.onelogin.com/oidc/2/auth");
        assert!(!onelogin.1.contains("token="), "the API client stays home");
        assert_eq!(
            f(
                Provider::ForgeRock,
                "https://h/am/oauth2/realms/root/realms/a"
            )
            .unwrap()
            .1,
            "https://h/am/oauth2/realms/root/realms/a/access_token"
        );
        assert_eq!(
            f(Provider::Form, "https://kc/auth/realms/r").unwrap().0,
            "https://kc/auth/realms/r/protocol/openid-connect/auth"
        );
        assert!(f(Provider::Form, "https://idp.example.org/").is_none());
    }

    #[test]
    fn azure_ad_endpoints_for_the_issuer_the_tenant_and_v3s_user_access_url() {
        let f = |s: &str| {
            fallback(Provider::AzureAd, &Url::parse(s).unwrap())
                .map(|e| (e.authorization.to_string(), e.token.to_string()))
        };
        let tenant = (
            "https://login.microsoftonline.com/t-1/oauth2/v2.0/authorize".to_owned(),
            "https://login.microsoftonline.com/t-1/oauth2/v2.0/token".to_owned(),
        );
        for url in [
            "https://login.microsoftonline.com/t-1/v2.0",
            "https://login.microsoftonline.com/t-1/v2.0/",
            "https://login.microsoftonline.com/t-1",
            "https://login.microsoftonline.com/t-1/oauth2/v2.0",
            "https://myapps.microsoft.com/signin/AWS/app-1?tenantId=t-1",
        ] {
            assert_eq!(f(url).as_ref(), Some(&tenant), "{url}");
        }
        assert!(f("https://login.microsoftonline.com/").is_none());
        // A tenant id that is not one is not put into a path.
        assert!(f("https://myapps.microsoft.com/signin/A/1?tenantId=..")
            .unwrap()
            .0
            .starts_with("https://myapps.microsoft.com/signin/A/1/oauth2"));
        assert!(
            f("https://myapps.microsoft.com/signin/A/1?tenantId=..%2F..%2Fx%3Fy")
                .unwrap()
                .0
                .starts_with("https://myapps.microsoft.com/signin/A/1/oauth2")
        );
    }
}
