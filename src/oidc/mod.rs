//! The generic OpenID provider client of web identity profiles: discovery (and v3's endpoints
//! where there is none), the code and refresh grants, the ID token cache, and the sign-in flows
//! (password through the provider's client in `idp`, the user's browser, the device grant).

pub mod endpoints;
pub mod id_token;
pub mod provider;
pub mod sign_in;
