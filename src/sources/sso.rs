//! `GetRoleCredentials` from the IAM Identity Center portal, with the session's shared access
//! token (cached in the AWS CLI v2's format, refreshed, or signed in for: see `sso`).

use anyhow::Context as _;

use super::{Context, Source};
use crate::cache::CacheKey;
use crate::config::SsoSettings;
use crate::credentials::Credentials;
use crate::sso::client::SdkSso;
use crate::sso::{self, Login};
use crate::tls::Bundle;

pub struct Sso<'a> {
    settings: &'a SsoSettings,
    ca_bundle: Option<&'a Bundle>,
}

impl<'a> Sso<'a> {
    pub fn new(settings: &'a SsoSettings, ca_bundle: Option<&'a Bundle>) -> anyhow::Result<Self> {
        let missing = |key| {
            anyhow::anyhow!(
                "profile '{}' signs in with IAM Identity Center but sets no {key}: add it, or use the profile only with `aws-runas sso login` and `list roles`",
                settings.profile
            )
        };
        if settings.account_id.is_none() {
            return Err(missing("sso_account_id"));
        }
        if settings.role_name.is_none() {
            return Err(missing("sso_role_name"));
        }
        Ok(Self {
            settings,
            ca_bundle,
        })
    }

    fn account_and_role(&self) -> (&str, &str) {
        (
            self.settings.account_id.as_deref().unwrap_or_default(),
            self.settings.role_name.as_deref().unwrap_or_default(),
        )
    }
}

impl Source for Sso<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        let (account, role) = self.account_and_role();
        let session = &self.settings.session;
        Some(CacheKey::role(
            &self.settings.profile,
            &format!("sso:{account}:{role}"),
            None,
            None,
            &format!(
                "sso|{}|{}|{}",
                session.start_url,
                session.name.as_deref().unwrap_or(""),
                session.region
            ),
        ))
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let (account, role) = self.account_and_role();
        let session = &self.settings.session;
        let api = SdkSso::new(session, self.ca_bundle);
        let login = Login::when_someone_can_answer(context.sign_in);
        let token = sso::access_token(&api, session, &self.settings.profile, context.cache, login)?;
        tracing::info!(
            "GetRoleCredentials {role} in {account} for '{}'",
            self.settings.profile
        );
        match sso::client::SsoApi::role_credentials(&api, &token, account, role) {
            Err(e) if e.code.as_deref() == Some("UnauthorizedException") => {
                Err(sso::SsoError::NeedsLogin {
                    profile: self.settings.profile.clone(),
                    start_url: session.start_url.clone(),
                }
                .into())
            }
            other => other.with_context(|| format!("profile '{}'", self.settings.profile)),
        }
    }
}
