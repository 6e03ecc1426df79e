//! The generic OpenID provider client of web identity profiles: discovery, the code and refresh
//! grants, the ID token cache, and the sign-in flows (password through the provider's login
//! form or API, the user's browser, the device grant).

pub mod api_sign_in;
pub mod id_token;
pub mod provider;
pub mod sign_in;
