//! STS: the operations credential sources need (the `Sts` trait, so their flows can be tested
//! against a fake) and the SDK client behind it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::error::BoxError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::Client;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{block_on, describe_error, FALLBACK_REGION};
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
}

pub struct SdkSts {
    region: String,
    endpoint: Option<String>,
}

impl SdkSts {
    /// Cheap: nothing is built until the first call.
    pub fn new(region: Option<&str>, endpoint: Option<&str>) -> Self {
        Self {
            region: region.unwrap_or(FALLBACK_REGION).to_owned(),
            endpoint: endpoint.map(str::to_owned),
        }
    }

    /// A client with no credentials provider: the SDK sends its operations unsigned, for the
    /// ones whose proof is in the request (a web identity token, a SAML assertion).
    fn unsigned_client(&self) -> Client {
        let mut config = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(self.region.clone()))
            .timeout_config(super::timeouts())
            .retry_config(super::retries());
        config.set_endpoint_url(self.endpoint.clone());
        if let Some(http) = super::ca_http_client() {
            config = config.http_client(http);
        }
        Client::from_conf(config.build())
    }

    fn client(&self, with: &Credentials) -> Client {
        super::client!(
            aws_sdk_sts,
            Some(self.region.as_str()),
            self.endpoint.as_deref(),
            with
        )
    }
}

fn sts_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> StsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StsError {
        operation,
        message: describe_error(&err),
    }
}

fn convert(
    operation: &'static str,
    c: Option<&aws_sdk_sts::types::Credentials>,
) -> Result<Credentials, StsError> {
    let c = c.ok_or_else(|| StsError {
        operation,
        message: "the response holds no credentials".into(),
    })?;
    Ok(Credentials {
        access_key_id: c.access_key_id().to_owned(),
        secret_access_key: c.secret_access_key().to_owned(),
        session_token: Some(c.session_token().to_owned()),
        expiration: Timestamp::from_second(c.expiration().secs()).ok(),
        issued: Some(Timestamp::now()),
    })
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
        .map_err(|e| sts_error(OP, e))?;
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
        let out = block_on(request.send()).map_err(|e| sts_error(OP, e))?;
        convert(OP, out.credentials())
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
        let out = block_on(request.send()).map_err(|e| sts_error(OP, e))?;
        convert(OP, out.credentials())
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
        let out = block_on(request.send()).map_err(|e| sts_error(OP, e))?;
        convert(OP, out.credentials())
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
        let out = block_on(request.send()).map_err(|e| sts_error(OP, e))?;
        convert(OP, out.credentials())
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
