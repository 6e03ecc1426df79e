//! What every credential source may use while it fetches: the cache, STS, the MFA prompt, and
//! whether a person may be asked or a sign-in started. Its own file, so the sign-in clients
//! that sources call take it without importing the sources themselves.

use std::time::Duration;

use crate::aws::sts::Sts;
use crate::cache::Cache;
use crate::mfa::MfaPrompt;

/// What every source may use while fetching.
pub struct Context<'a> {
    pub cache: &'a Cache,
    pub sts: &'a dyn Sts,
    pub mfa: &'a dyn MfaPrompt,
    pub refresh_window: Duration,
    /// Whether a person may be asked (a password, a role to pick) on the terminal.
    pub interactive: bool,
    /// Whether a sign-in (IAM Identity Center's device flow) may be started: false where nobody
    /// can answer (prompt hooks, credential_process, servers). SAML browser and Identity Center
    /// sign-ins also need a terminal to be present.
    pub sign_in: bool,
}
