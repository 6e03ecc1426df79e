//! Which client signs in at an IdP, and running it: the one place that knows every scripted
//! client (`form`, `okta`, `onelogin`, `forgerock`, `azuread`), for SAML and web identity alike.

use std::time::Duration;

use url::Url;

use super::http::Browser;
use super::{azuread, detect_from_headers, forgerock, form, okta, onelogin};
use super::{Goal, Reached, SignIn};
use crate::config::signin::Provider;

/// How long provider detection waits for the IdP's headers.
const DETECT_LIMIT: Duration = Duration::from_secs(3);

/// The client to sign in with: `configured`, or for `Auto` the one the IdP's answer to a HEAD
/// of `probe` betrays (any answer tells something; no answer leaves the form client to say
/// why).
pub fn provider(configured: Provider, browser: &mut Browser, probe: &Url) -> Provider {
    match configured {
        Provider::Auto => {
            let headers = browser.head(probe, DETECT_LIMIT).unwrap_or_default();
            let found = detect_from_headers(&headers);
            tracing::info!("identity provider detected: {found:?}");
            found
        }
        named => named,
    }
}

/// Signs in with `provider`'s client until `goal`.
pub fn sign_in(provider: Provider, s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    match provider {
        Provider::Form => form::sign_in(s, goal),
        Provider::Okta => okta::sign_in(s, goal),
        Provider::OneLogin => onelogin::sign_in(s, goal),
        Provider::ForgeRock => forgerock::sign_in(s, goal),
        Provider::AzureAd => azuread::sign_in(s, goal),
        // `provider` settles Auto, and the browser client is no scripted one: a caller that
        // gets here is wrong, and says so in a line rather than a panic.
        Provider::Auto | Provider::Browser => {
            anyhow::bail!("the {provider:?} provider signs in another way than a scripted client")
        }
    }
}
