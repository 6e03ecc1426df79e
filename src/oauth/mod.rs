//! OAuth 2.0 pieces that any OpenID/OAuth sign-in uses, whatever the provider or service: PKCE
//! (RFC 7636), the loopback redirect listener of native apps (RFC 8252), and the polling of the
//! device authorization grant (RFC 8628). IAM Identity Center, web identity and the browser SAML
//! provider share them.

pub mod loopback;
pub mod pkce;
pub mod wait;
