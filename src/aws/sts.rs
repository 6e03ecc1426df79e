//! STS: the operations credential sources need (the `Sts` trait, so their flows can be tested
//! against a fake) and the SDK client behind it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::error::BoxError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::Client;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{block_on, describe_error, Endpoint, FALLBACK_REGION, STS};
use crate::credentials::Credentials;

#[derive(Debug, thiserror::Error)]
#[error("STS {operation} failed: {message}")]
pub struct StsError {
    pub operation: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Identity {
    pub user_id: String,
    pub arn: String,
    pub account: String,
}

pub struct MfaToken<'a> {
    pub serial: &'a str,
    pub code: &'a str,
}

pub struct AssumeRoleRequest<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub external_id: Option<&'a str>,
    pub duration: Duration,
    pub mfa: Option<MfaToken<'a>>,
}

/// `AssumeRoleWithSAML`: the assertion is the credential, so the call is unsigned.
pub struct SamlRoleRequest<'a> {
    pub role_arn: &'a str,
    pub principal_arn: &'a str,
    /// The base64 `SAMLResponse`, as the IdP posted it.
    pub assertion: &'a str,
    pub duration: Duration,
}

/// The STS operations credential sources need.
pub trait Sts {
    fn get_session_token(
        &self,
        with: &Credentials,
        duration: Duration,
        mfa: Option<MfaToken<'_>>,
    ) -> Result<Credentials, StsError>;
    fn assume_role(
        &self,
        with: &Credentials,
        request: &AssumeRoleRequest<'_>,
    ) -> Result<Credentials, StsError>;
    fn caller_identity(&self, with: &Credentials) -> Result<Identity, StsError>;
    /// Unsigned: the web identity token is the proof.
    fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError>;
    /// Unsigned: the SAML assertion is the proof.
    fn assume_role_with_saml(&self, request: &SamlRoleRequest<'_>)
        -> Result<Credentials, StsError>;
    /// Temporary credentials for an IAM user's long-term keys that the console's federation
    /// endpoint takes (it refuses GetSessionToken's). `policy` narrows what they may do.
    fn get_federation_token(
        &self,
        with: &Credentials,
        name: &str,
        policy: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError>;
}

pub struct SdkSts {
    region: String,
    endpoint: Option<String>,
    at: Endpoint,
    ca_bundle: Option<crate::tls::Bundle>,
}

impl SdkSts {
    /// Cheap: nothing is built until the first call.
    pub fn new(
        region: Option<&str>,
        endpoint: Option<&str>,
        ca_bundle: Option<&crate::tls::Bundle>,
    ) -> Self {
        let region = region.unwrap_or(FALLBACK_REGION).to_owned();
        Self {
            at: STS.at(&region, endpoint),
            region,
            endpoint: endpoint.map(str::to_owned),
            ca_bundle: ca_bundle.cloned(),
        }
    }

    /// A client with no credentials provider: the SDK sends its operations unsigned, for the
    /// ones whose proof is in the request (a web identity token, a SAML assertion).
    fn unsigned_client(&self) -> Client {
        let config = super::configured!(
            aws_sdk_sts,
            Some(self.region.as_str()),
            self.endpoint.as_deref(),
            self.ca_bundle.as_ref()
        );
        Client::from_conf(config.build())
    }

    fn client(&self, with: &Credentials) -> Client {
        let config = super::configured!(
            aws_sdk_sts,
            Some(self.region.as_str()),
            self.endpoint.as_deref(),
            self.ca_bundle.as_ref()
        )
        .credentials_provider(super::sdk_credentials!(aws_sdk_sts, with));
        Client::from_conf(config.build())
    }
}

impl SdkSts {
    fn error<E>(&self, operation: &'static str, err: SdkError<E, HttpResponse>) -> StsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        StsError {
            operation,
            message: describe_error(&self.at, &err),
        }
    }

    /// Credentials from an answer, refused (and so never cached or shown) unless whole: keys
    /// that pass our checks, a session token, and an expiration ahead of now.
    fn convert(
        &self,
        operation: &'static str,
        c: Option<&aws_sdk_sts::types::Credentials>,
    ) -> Result<Credentials, StsError> {
        let refuse = |what: &str| StsError {
            operation,
            message: format!(
                "the answer from {} came with {what}{}; nothing was kept",
                self.at.host,
                if what.starts_with("no ") {
                    " (cut short or malformed?)"
                } else {
                    ""
                }
            ),
        };
        let c = c.ok_or_else(|| refuse("no credentials"))?;
        let credentials = Credentials {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: Some(c.session_token().to_owned()),
            // A missing `Expiration` comes out of the SDK as the epoch.
            expiration: Some(c.expiration().secs())
                .filter(|s| *s > 0)
                .and_then(|s| Timestamp::from_second(s).ok()),
            issued: Some(Timestamp::now()),
        };
        credentials
            .check_temporary(Timestamp::now())
            .map_err(refuse)?;
        Ok(credentials)
    }
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// Keeps the `Date` header of the response: the server's clock, for drift checks.
#[derive(Debug, Default, Clone)]
struct ServerDate(Arc<Mutex<Option<String>>>);

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(date.to_owned());
        }
        Ok(())
    }
}

impl SdkSts {
    /// GetCallerIdentity, and the time STS says it is (from its `Date` header, when sent).
    pub fn identity_and_server_time(
        &self,
        with: &Credentials,
    ) -> Result<(Identity, Option<Timestamp>), StsError> {
        const OP: &str = "GetCallerIdentity";
        let date = ServerDate::default();
        let out = block_on(
            self.client(with)
                .get_caller_identity()
                .customize()
                .interceptor(date.clone())
                .send(),
        )
        .map_err(|e| self.error(OP, e))?;
        let identity = Identity {
            user_id: out.user_id().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
            account: out.account().unwrap_or_default().to_owned(),
        };
        let header = date.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let server = header.as_deref().and_then(http_date);
        Ok((identity, server))
    }
}

impl Sts for SdkSts {
    fn get_session_token(
        &self,
        with: &Credentials,
        duration: Duration,
        mfa: Option<MfaToken<'_>>,
    ) -> Result<Credentials, StsError> {
        const OP: &str = "GetSessionToken";
        let request = self
            .client(with)
            .get_session_token()
            .duration_seconds(seconds(duration))
            .set_serial_number(mfa.as_ref().map(|m| m.serial.to_owned()))
            .set_token_code(mfa.as_ref().map(|m| m.code.to_owned()));
        let out = block_on(request.send()).map_err(|e| self.error(OP, e))?;
        self.convert(OP, out.credentials())
    }

    fn assume_role(
        &self,
        with: &Credentials,
        r: &AssumeRoleRequest<'_>,
    ) -> Result<Credentials, StsError> {
        const OP: &str = "AssumeRole";
        let request = self
            .client(with)
            .assume_role()
            .role_arn(r.role_arn)
            .role_session_name(r.session_name)
            .duration_seconds(seconds(r.duration))
            .set_external_id(r.external_id.map(str::to_owned))
            .set_serial_number(r.mfa.as_ref().map(|m| m.serial.to_owned()))
            .set_token_code(r.mfa.as_ref().map(|m| m.code.to_owned()));
        let out = block_on(request.send()).map_err(|e| self.error(OP, e))?;
        self.convert(OP, out.credentials())
    }

    fn caller_identity(&self, with: &Credentials) -> Result<Identity, StsError> {
        self.identity_and_server_time(with)
            .map(|(identity, _)| identity)
    }

    fn assume_role_with_web_identity(
        &self,
        role_arn: &str,
        session_name: &str,
        token: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError> {
        const OP: &str = "AssumeRoleWithWebIdentity";
        let request = self
            .unsigned_client()
            .assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .web_identity_token(token)
            .duration_seconds(seconds(duration));
        let out = block_on(request.send()).map_err(|e| self.error(OP, e))?;
        self.convert(OP, out.credentials())
    }

    fn assume_role_with_saml(&self, r: &SamlRoleRequest<'_>) -> Result<Credentials, StsError> {
        const OP: &str = "AssumeRoleWithSAML";
        let request = self
            .unsigned_client()
            .assume_role_with_saml()
            .role_arn(r.role_arn)
            .principal_arn(r.principal_arn)
            .saml_assertion(r.assertion)
            .duration_seconds(seconds(r.duration));
        let out = block_on(request.send()).map_err(|e| self.error(OP, e))?;
        self.convert(OP, out.credentials())
    }

    fn get_federation_token(
        &self,
        with: &Credentials,
        name: &str,
        policy: &str,
        duration: Duration,
    ) -> Result<Credentials, StsError> {
        const OP: &str = "GetFederationToken";
        let request = self
            .client(with)
            .get_federation_token()
            .name(name)
            .policy(policy)
            .duration_seconds(seconds(duration));
        let out = block_on(request.send()).map_err(|e| self.error(OP, e))?;
        self.convert(OP, out.credentials())
    }
}

/// An HTTP `Date` header (RFC 9110's IMF-fixdate), as servers send their clock.
pub fn http_date(header: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", header.trim())
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::canned;
    use proptest::prelude::*;

    const SECRET: &str = "PROPsecretKEYdoNotShow0123456789abcdef";
    const TOKEN: &str = "PROPsessionTOKENdoNotShow0123456789abcdef";

    fn answer(expiration: &str) -> String {
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
             <Credentials><AccessKeyId>ASIAPROPTEST00000001</AccessKeyId>\
             <SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}</SessionToken>\
             <Expiration>{expiration}</Expiration></Credentials></AssumeRoleResult>\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
        )
    }

    fn assume(status: u16, body: Vec<u8>) -> Result<Credentials, StsError> {
        let with = Credentials::long_term("AKIAPROPTEST00000001".into(), "s".into());
        canned::answering(status, body, || {
            SdkSts::new(None, None, None).assume_role(
                &with,
                &AssumeRoleRequest {
                    role_arn: "arn:aws:iam::123456789012:role/r",
                    session_name: "s",
                    external_id: None,
                    duration: Duration::from_secs(3600),
                    mfa: None,
                },
            )
        })
    }

    /// Whatever the answer: whole credentials, or one line of ours without its secrets.
    fn check(result: Result<Credentials, StsError>) -> Result<(), TestCaseError> {
        match result {
            Ok(c) => prop_assert!(c.check_temporary(Timestamp::now()).is_ok(), "{c:?}"),
            Err(e) => {
                let line = e.to_string();
                prop_assert!(!line.contains(SECRET) && !line.contains(TOKEN), "{line}");
                prop_assert!(!line.contains('\n') && line.len() < 600, "{line:?}");
                prop_assert!(!line.chars().any(char::is_control), "{line:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn a_whole_answer_gives_credentials_and_a_cut_one_never_does() {
        let whole = answer("2099-01-01T00:00:00Z");
        let c = assume(200, whole.clone().into_bytes()).expect("a whole answer");
        assert_eq!(c.secret_access_key, SECRET);
        let cut = &whole[..whole.find("<Expiration>").unwrap()];
        let e = assume(200, cut.as_bytes().to_vec())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no expiration"), "{e}");
    }

    #[test]
    fn a_federation_token_answer_gives_credentials_and_a_refusal_one_line() {
        let with = Credentials::long_term("AKIAPROPTEST00000001".into(), "s".into());
        let call = || {
            SdkSts::new(None, None, None).get_federation_token(
                &with,
                "alice",
                "{}",
                Duration::from_secs(43_200),
            )
        };
        let whole = answer("2099-01-01T00:00:00Z")
            .replace("AssumeRoleResponse", "GetFederationTokenResponse")
            .replace("AssumeRoleResult", "GetFederationTokenResult");
        let c = canned::answering(200, whole.into_bytes(), call).expect("a whole answer");
        assert_eq!(c.session_token.as_deref(), Some(TOKEN));
        let refused = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                       <Message>not authorized to perform sts:GetFederationToken</Message></Error>\
                       <RequestId>r</RequestId></ErrorResponse>";
        let e = canned::answering(403, refused.as_bytes().to_vec(), call)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("STS GetFederationToken failed: AccessDenied"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_cut_of_an_answer_is_whole_credentials_or_one_clean_line(
            cut in 0usize..600,
            status in prop::sample::select(vec![200u16, 400, 403, 500, 503]),
        ) {
            let whole = answer("2099-01-01T00:00:00Z");
            let body = whole.as_bytes()[..cut.min(whole.len())].to_vec();
            check(assume(status, body))?;
        }

        #[test]
        fn any_expiration_text_is_whole_credentials_or_one_clean_line(
            expiration in "\\PC{0,40}",
        ) {
            check(assume(200, answer(&expiration).into_bytes()))?;
        }

        #[test]
        fn any_bytes_are_one_clean_line(
            body in prop::collection::vec(any::<u8>(), 0..400),
            status in prop::sample::select(vec![200u16, 400, 500]),
        ) {
            let mut body = body;
            body.extend_from_slice(SECRET.as_bytes());
            check(assume(status, body))?;
        }
    }
}
