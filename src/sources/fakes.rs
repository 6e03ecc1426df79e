//! Stand-ins for STS and the MFA prompt, for unit tests that drive the real credential sources
//! (the STS flows here, the picker's cache keys) without a network or a person.

use std::cell::RefCell;
use std::time::Duration;

use jiff::Timestamp;

use crate::aws::sts::{AssumeRoleRequest, Identity, MfaToken, Sts, StsError};
use crate::credentials::Credentials;
use crate::mfa::MfaPrompt;

/// Records every call and hands out numbered credentials that expire in an hour.
#[derive(Default)]
pub struct FakeSts {
    calls: RefCell<Vec<String>>,
}

impl FakeSts {
    fn issue(&self, call: String) -> Credentials {
        let mut calls = self.calls.borrow_mut();
        calls.push(call);
        let mut c = Credentials::long_term(format!("ASIAFAKE{:08}", calls.len()), "s".into());
        c.session_token = Some("t".into());
        c.expiration = Some(Timestamp::now() + jiff::SignedDuration::from_hours(1));
        c
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl Sts for FakeSts {
    fn get_session_token(
        &self,
        with: &Credentials,
        duration: Duration,
        mfa: Option<MfaToken<'_>>,
    ) -> Result<Credentials, StsError> {
        Ok(self.issue(format!(
            "GetSessionToken {} {}s mfa={}",
            with.access_key_id,
            duration.as_secs(),
            mfa.map(|m| m.code).unwrap_or("-")
        )))
    }
    fn assume_role(
        &self,
        with: &Credentials,
        r: &AssumeRoleRequest<'_>,
    ) -> Result<Credentials, StsError> {
        Ok(self.issue(format!(
            "AssumeRole {} with {} as {} {}s mfa={} ext={}",
            r.role_arn,
            with.access_key_id,
            r.session_name,
            r.duration.as_secs(),
            r.mfa.as_ref().map(|m| m.code).unwrap_or("-"),
            r.external_id.unwrap_or("-")
        )))
    }
    fn get_federation_token(
        &self,
        with: &Credentials,
        name: &str,
        _policy: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError> {
        Ok(self.issue(format!(
            "GetFederationToken {} as {name} {}s",
            with.access_key_id,
            duration.as_secs()
        )))
    }
    fn assume_role_with_saml(
        &self,
        r: &crate::aws::sts::SamlRoleRequest<'_>,
    ) -> Result<Credentials, StsError> {
        Ok(self.issue(format!(
            "AssumeRoleWithSAML {} via {} {}s",
            r.role_arn,
            r.principal_arn,
            r.duration.as_secs()
        )))
    }
    fn caller_identity(&self, with: &Credentials) -> Result<Identity, StsError> {
        self.calls
            .borrow_mut()
            .push(format!("GetCallerIdentity {}", with.access_key_id));
        Ok(Identity {
            user_id: "AIDA".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            account: "123456789012".into(),
        })
    }
    fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError> {
        Ok(self.issue(format!(
            "AssumeRoleWithWebIdentity {role_arn} as {session_name} {}s token={token}",
            duration.as_secs()
        )))
    }
}

/// Answers every MFA prompt with the same code, counting the prompts.
#[derive(Default)]
pub struct CountingMfa(pub RefCell<u32>);
impl MfaPrompt for CountingMfa {
    fn code(&self, _: &str, _: &str) -> anyhow::Result<String> {
        *self.0.borrow_mut() += 1;
        Ok("123456".into())
    }
}
