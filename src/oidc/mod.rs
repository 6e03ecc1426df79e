//! OAuth 2.0 pieces that any OpenID/OAuth sign-in uses, whatever the provider: PKCE (RFC 7636)
//! and the loopback redirect listener of native apps (RFC 8252); and the generic OpenID
//! provider client of web identity profiles (discovery, the code and refresh grants, the ID
//! token cache, the sign-in flows).

pub mod api_sign_in;
pub mod id_token;
pub mod loopback;
pub mod pkce;
pub mod provider;
pub mod sign_in;
pub mod wait;
