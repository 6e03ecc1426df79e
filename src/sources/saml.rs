//! `AssumeRoleWithSAML` with an assertion from a sign-in at the company's identity provider:
//! sign in (an `idp` client, its cookie jar making a live IdP session skip the password), pick
//! the role among those the assertion grants, and trade the assertion for that role's
//! credentials. Runs under the cache lock like every source, so N callers make one sign-in.

use std::time::Duration;

use anyhow::Context as _;

use super::{check_duration, Context, Source};
use crate::aws::sts::SamlRoleRequest;
use crate::cache::CacheKey;
use crate::config::signin::{MfaType, Provider, SamlSettings};
use crate::credentials::Credentials;
use crate::idp::assertion::{self, RoleChoice};
use crate::idp::http::{origin, Browser};
use crate::idp::{self, browser, Asks, Goal, Person, Reached, SignIn};
use crate::tty;

const MAX_ROLE_DURATION: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    #[error("profile '{profile}': the identity provider grants no role {wanted}; it offers {}", offered.join(", "))]
    RoleNotOffered {
        profile: String,
        wanted: String,
        offered: Vec<String>,
    },
    #[error("profile '{profile}': the identity provider offers several roles and no terminal can answer; set role_arn to one of {}", offered.join(", "))]
    RoleChoiceNeeded {
        profile: String,
        offered: Vec<String>,
    },
    #[error("signing in at {idp} takes a browser and a terminal, and none can answer here: run `runas use {profile}` (or aws-runas {}) in a terminal first", crate::cli::profile_argument(.profile))]
    BrowserNeedsTerminal { profile: String, idp: String },
    #[error(
        "the browser sign-in this aws-runas was queued behind failed: run it again for a new one"
    )]
    QueuedBehindFailure { profile: String },
}

/// What a sign-in for `diagnose` stopped at rather than ask a person or send a push.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WouldAsk(pub String);

pub struct Saml<'a> {
    settings: &'a SamlSettings,
    /// Before any wait for the cache lock: a browser sign-in that failed after this was one
    /// this caller queued behind.
    created: std::time::SystemTime,
    /// `diagnose`: sign in only with what is at hand (a live IdP session, a stored or given
    /// password); stop with `WouldAsk` where a prompt or a push would come.
    checking: bool,
}

impl<'a> Saml<'a> {
    pub fn new(settings: &'a SamlSettings) -> Self {
        Self {
            settings,
            created: std::time::SystemTime::now(),
            checking: false,
        }
    }

    /// A sign-in that asks nobody and sends no push (see `checking`).
    pub fn checking(settings: &'a SamlSettings) -> Self {
        Self {
            settings,
            created: std::time::SystemTime::now(),
            checking: true,
        }
    }

    pub fn key(&self) -> CacheKey {
        let s = self.settings;
        CacheKey::role(
            &s.profile,
            s.saml_role.as_deref().unwrap_or(""),
            None,
            s.federated_username.as_deref(),
            &format!(
                "saml|{}|{}|{:?}",
                s.auth_url,
                s.username.as_deref().unwrap_or(""),
                s.provider
            ),
        )
    }

    /// Touched when a browser sign-in fails (under the cache lock), so that the callers queued
    /// behind it fail with it instead of each showing a new link and waiting again in turn.
    fn browser_failed_path(&self, context: &Context<'_>) -> std::path::PathBuf {
        context
            .cache
            .dir()
            .join(format!("{}.browser_failed", self.key().id()))
    }

    fn browser_sign_in(&self, context: &Context<'_>) -> anyhow::Result<String> {
        let s = self.settings;
        let marker = self.browser_failed_path(context);
        let failed_at = std::fs::metadata(&marker).and_then(|m| m.modified()).ok();
        if failed_at.is_some_and(|t| t > self.created) {
            return Err(SamlError::QueuedBehindFailure {
                profile: s.profile.clone(),
            }
            .into());
        }
        let result = browser::sign_in(&s.profile, &s.auth_url, s.browser);
        let _ = match &result {
            Ok(_) => std::fs::remove_file(&marker),
            Err(_) => {
                crate::private_file::write_private(&marker, b"").map_err(std::io::Error::other)
            }
        };
        result
    }

    /// Signs in and returns the base64 SAML response.
    fn sign_in(&self, context: &Context<'_>) -> anyhow::Result<String> {
        let s = self.settings;
        if s.provider == Provider::Browser && self.checking {
            return Err(WouldAsk("signing in takes the browser".into()).into());
        }
        if s.provider == Provider::Browser {
            // Checked before binding: nothing listens, nothing opens, for a wait nobody sees.
            if !(context.sign_in && tty::present()) {
                return Err(SamlError::BrowserNeedsTerminal {
                    profile: s.profile.clone(),
                    idp: origin(&s.auth_url),
                }
                .into());
            }
            return self.browser_sign_in(context);
        }
        let mut person = Person::new(
            &s.profile,
            &s.auth_url,
            context.interactive && !self.checking,
        );
        person.username = s.username.as_deref();
        person.password = s.password.as_deref();
        // `diagnose` signs in with what is at hand: where a person would be asked, it stops.
        let would_ask = |e: anyhow::Error, what: &str| {
            if self.checking && crate::idp::needs_terminal(&e) {
                WouldAsk(what.to_owned()).into()
            } else {
                e
            }
        };
        let username = || {
            person
                .username()
                .map_err(|e| would_ask(e, "no saml_username (or -U) to sign in as"))
        };
        let password = |user: &str| {
            person.password(user).map_err(|e| {
                would_ask(e, "the identity provider wants the password and none is at hand without a prompt (OS keyring, -P, SAML_PASSWORD)")
            })
        };
        let otp = || -> anyhow::Result<String> {
            if self.checking {
                return Err(
                    WouldAsk("the identity provider asks for a one-time code".into()).into(),
                );
            }
            match s.mfa_type {
                MfaType::None => {
                    anyhow::bail!("the identity provider asks for a one-time code but mfa_type = none")
                }
                MfaType::Push => anyhow::bail!(
                    "the identity provider asks for a one-time code, and has no push here: set mfa_type = code"
                ),
                MfaType::Auto | MfaType::Code => {
                    context.mfa.code(&s.profile, &origin(&s.auth_url))
                }
            }
        };
        let push = || -> anyhow::Result<()> {
            if self.checking {
                return Err(WouldAsk(format!(
                    "signing in may send an MFA push (mfa_type {:?})",
                    s.mfa_type
                ))
                .into());
            }
            Ok(())
        };
        let asks = Asks {
            username: &username,
            password: &password,
            otp: &otp,
            push: &push,
        };
        let mut browser = Browser::new(
            Some(crate::idp::http::jar_path(
                context.cache.dir(),
                &s.auth_url,
                s.username.as_deref(),
            )),
            s.ca_bundle.as_ref(),
        )?;
        let provider = idp::client::provider(s.provider, &mut browser, &s.auth_url);
        let reached = person.sign_in(|| {
            let mut at = SignIn {
                browser: &mut browser,
                idp: &s.auth_url,
                asks: &asks,
                mfa: s.mfa_type,
            };
            idp::client::sign_in(provider, &mut at, Goal::SamlResponse)
        });
        tracing::debug!("IdP sign-in took {} HTTP requests", browser.requests);
        let Reached::SamlResponse(response) = reached? else {
            unreachable!("a SAML goal ends at a SAML response")
        };
        // Listing roles and diagnose sign in before anything else made the cache.
        crate::private_file::ensure_private_dir(context.cache.dir())?;
        browser.save()?;
        Ok(response)
    }

    fn choose(&self, roles: &[RoleChoice], context: &Context<'_>) -> anyhow::Result<RoleChoice> {
        let s = self.settings;
        let offered = || roles.iter().map(|r| r.role_arn.clone()).collect::<Vec<_>>();
        if let Some(wanted) = &s.saml_role {
            return roles
                .iter()
                .find(|r| &r.role_arn == wanted)
                .cloned()
                .ok_or_else(|| {
                    SamlError::RoleNotOffered {
                        profile: s.profile.clone(),
                        wanted: wanted.clone(),
                        offered: offered(),
                    }
                    .into()
                });
        }
        if let [only] = roles {
            return Ok(only.clone());
        }
        let needed = || SamlError::RoleChoiceNeeded {
            profile: s.profile.clone(),
            offered: offered(),
        };
        if !context.interactive {
            return Err(needed().into());
        }
        let mut prompt = format!("Roles the identity provider offers for '{}':\n", s.profile);
        for (i, r) in roles.iter().enumerate() {
            prompt.push_str(&format!("  {}) {}\n", i + 1, r.role_arn));
        }
        prompt.push_str("Role number: ");
        let answer = tty::ask(&prompt).map_err(|_| needed())?;
        answer
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| roles.get(i))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("'{answer}' is not one of the role numbers shown"))
    }
}

impl Saml<'_> {
    /// The role ARNs the IdP's assertion grants, without assuming any.
    pub fn offered_roles(&self, context: &Context<'_>) -> anyhow::Result<Vec<String>> {
        let s = self.settings;
        let response = self
            .sign_in(context)
            .with_context(|| format!("profile '{}'", s.profile))?;
        let parsed =
            assertion::parse(&response).with_context(|| format!("profile '{}'", s.profile))?;
        Ok(parsed.roles.into_iter().map(|r| r.role_arn).collect())
    }
}

impl Source for Saml<'_> {
    fn cache_key(&self) -> Option<CacheKey> {
        Some(self.key())
    }

    fn fetch(&self, context: &Context<'_>) -> anyhow::Result<Credentials> {
        let s = self.settings;
        check_duration("role", &s.profile, s.duration, MAX_ROLE_DURATION)?;
        let response = self
            .sign_in(context)
            .with_context(|| format!("profile '{}'", s.profile))?;
        let parsed =
            assertion::parse(&response).with_context(|| format!("profile '{}'", s.profile))?;
        let role = self.choose(&parsed.roles, context)?;
        // AWS refuses a duration beyond the one the IdP allows: ask for at most that.
        let duration = match parsed.session_duration.map(Duration::from_secs) {
            Some(allowed) if allowed < s.duration => {
                tracing::info!(
                    "the identity provider allows sessions of {}: asking for that",
                    crate::duration::human(allowed)
                );
                allowed
            }
            _ => s.duration,
        };
        tracing::info!(
            "AssumeRoleWithSAML {} for '{}' ({})",
            role.role_arn,
            s.profile,
            crate::duration::human(duration)
        );
        context
            .sts
            .assume_role_with_saml(&SamlRoleRequest {
                role_arn: &role.role_arn,
                principal_arn: &role.provider_arn,
                assertion: &response,
                duration,
            })
            .with_context(|| format!("profile '{}'", s.profile))
    }
}
