//! OAuth 2.0 pieces that any OpenID/OAuth sign-in uses, whatever the provider: PKCE (RFC 7636)
//! and the loopback redirect listener of native apps (RFC 8252).

pub mod loopback;
pub mod pkce;
