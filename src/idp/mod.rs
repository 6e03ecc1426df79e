//! Sign-in at a company identity provider (IdP), ending in a SAML assertion for AWS: the
//! settings that describe it, the HTTP side (redirects, the persistent cookie jar), the sign-in
//! clients (the generic HTML form client so far), and the parsing of the assertion.

pub mod assertion;
pub mod form;
pub mod http;
pub mod settings;
