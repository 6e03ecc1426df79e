//! The SSO OIDC and SSO portal operations aws-runas uses (the [`SsoApi`] trait, so the token
//! flows can be tested against a fake) and the SDK clients behind it. Every operation here is
//! unsigned: OIDC authenticates the client by its id and secret, the portal by the bearer token.

use aws_sdk_sts::error::ProvideErrorMetadata;
use jiff::Timestamp;

use crate::aws::{block_on, describe_error, Endpoint, SSO_OIDC, SSO_PORTAL};
use crate::config::SsoSession;
use crate::credentials::Credentials;

#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct ApiError {
    pub operation: &'static str,
    /// The service's error code, when it sent one (`AuthorizationPendingException`...).
    pub code: Option<String>,
    pub message: String,
}

pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
    /// Unix seconds.
    pub secret_expires_at: i64,
}

use crate::oauth::wait::DeviceAuthorization;

pub struct NewToken {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
}

pub enum Grant<'a> {
    DeviceCode(&'a str),
    RefreshToken(&'a str),
    /// PKCE: the code from the loopback redirect, with the verifier only we know.
    AuthorizationCode {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: &'a str,
    },
}

/// What a client registered for the authorization code grant declares.
pub struct RedirectClient<'a> {
    pub redirect_uri: &'a str,
    /// The start URL, which SSO OIDC wants as the issuer.
    pub issuer_url: &'a str,
}

pub struct Account {
    pub id: String,
    pub name: String,
}

pub trait SsoApi {
    /// A device-grant client, or with `redirect` one for the authorization code grant.
    fn register_client(
        &self,
        name: &str,
        scopes: &[String],
        redirect: Option<RedirectClient<'_>>,
    ) -> Result<NewClient, ApiError>;
    fn start_device_authorization(
        &self,
        client_id: &str,
        client_secret: &str,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError>;
    fn create_token(
        &self,
        client_id: &str,
        client_secret: &str,
        grant: Grant<'_>,
    ) -> Result<NewToken, ApiError>;
    fn role_credentials(
        &self,
        access_token: &str,
        account_id: &str,
        role_name: &str,
    ) -> Result<Credentials, ApiError>;
    fn accounts(&self, access_token: &str) -> Result<Vec<Account>, ApiError>;
    fn account_roles(&self, access_token: &str, account_id: &str) -> Result<Vec<String>, ApiError>;
    /// Ends the portal session of `access_token` (and the role credentials issued with it).
    fn logout(&self, access_token: &str) -> Result<(), ApiError>;
}

pub struct SdkSso {
    region: String,
    oidc_endpoint: Option<String>,
    portal_endpoint: Option<String>,
    ca_bundle: Option<crate::tls::Bundle>,
    // One client each, made on first use: every call through it shares its connections (a new
    // client per call was a new connection, and TLS handshake, per page of `sso profiles`).
    oidc: std::sync::OnceLock<aws_sdk_ssooidc::Client>,
    portal: std::sync::OnceLock<aws_sdk_sso::Client>,
}

impl SdkSso {
    pub fn new(session: &SsoSession, ca_bundle: Option<&crate::tls::Bundle>) -> Self {
        Self {
            region: session.region.clone(),
            oidc_endpoint: session.oidc_endpoint.clone(),
            portal_endpoint: session.portal_endpoint.clone(),
            ca_bundle: ca_bundle.cloned(),
            oidc: std::sync::OnceLock::new(),
            portal: std::sync::OnceLock::new(),
        }
    }

    fn oidc(&self) -> aws_sdk_ssooidc::Client {
        self.oidc
            .get_or_init(|| {
                let config = crate::aws::configured!(
                    aws_sdk_ssooidc,
                    Some(self.region.as_str()),
                    self.oidc_endpoint.as_deref(),
                    self.ca_bundle.as_ref()
                );
                aws_sdk_ssooidc::Client::from_conf(config.build())
            })
            .clone()
    }

    fn portal(&self) -> aws_sdk_sso::Client {
        self.portal
            .get_or_init(|| {
                let config = crate::aws::configured!(
                    aws_sdk_sso,
                    Some(self.region.as_str()),
                    self.portal_endpoint.as_deref(),
                    self.ca_bundle.as_ref()
                );
                aws_sdk_sso::Client::from_conf(config.build())
            })
            .clone()
    }

    fn oidc_at(&self) -> Endpoint {
        SSO_OIDC.at(&self.region, self.oidc_endpoint.as_deref())
    }

    fn portal_at(&self) -> Endpoint {
        SSO_PORTAL.at(&self.region, self.portal_endpoint.as_deref())
    }
}

fn api_error<E>(
    at: &Endpoint,
    operation: &'static str,
    err: aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    ApiError {
        operation,
        code: err.code().map(str::to_owned),
        message: describe_error(at, &err),
    }
}

fn missing(operation: &'static str, what: &str) -> ApiError {
    ApiError {
        operation,
        code: None,
        message: format!("the response holds no {what}"),
    }
}

fn positive(n: i32, default: u64) -> u64 {
    u64::try_from(n).ok().filter(|n| *n > 0).unwrap_or(default)
}

impl SsoApi for SdkSso {
    fn register_client(
        &self,
        name: &str,
        scopes: &[String],
        redirect: Option<RedirectClient<'_>>,
    ) -> Result<NewClient, ApiError> {
        const OP: &str = "RegisterClient";
        let mut request = self
            .oidc()
            .register_client()
            .client_name(name)
            .client_type("public")
            .set_scopes((!scopes.is_empty()).then(|| scopes.to_vec()));
        if let Some(r) = redirect {
            request = request
                .grant_types("authorization_code")
                .grant_types("refresh_token")
                .redirect_uris(r.redirect_uri)
                .issuer_url(r.issuer_url);
        }
        let out = block_on(request.send()).map_err(|e| api_error(&self.oidc_at(), OP, e))?;
        Ok(NewClient {
            client_id: out
                .client_id()
                .ok_or_else(|| missing(OP, "clientId"))?
                .into(),
            client_secret: out
                .client_secret()
                .ok_or_else(|| missing(OP, "clientSecret"))?
                .into(),
            secret_expires_at: out.client_secret_expires_at(),
        })
    }

    fn start_device_authorization(
        &self,
        client_id: &str,
        client_secret: &str,
        start_url: &str,
    ) -> Result<DeviceAuthorization, ApiError> {
        const OP: &str = "StartDeviceAuthorization";
        let request = self
            .oidc()
            .start_device_authorization()
            .client_id(client_id)
            .client_secret(client_secret)
            .start_url(start_url);
        let out = block_on(request.send()).map_err(|e| api_error(&self.oidc_at(), OP, e))?;
        Ok(DeviceAuthorization {
            device_code: out
                .device_code()
                .ok_or_else(|| missing(OP, "deviceCode"))?
                .into(),
            user_code: out
                .user_code()
                .ok_or_else(|| missing(OP, "userCode"))?
                .into(),
            verification_uri: out
                .verification_uri()
                .ok_or_else(|| missing(OP, "verificationUri"))?
                .into(),
            verification_uri_complete: out.verification_uri_complete().map(str::to_owned),
            expires_in: positive(out.expires_in(), 600),
            interval: positive(out.interval(), 5),
        })
    }

    fn create_token(
        &self,
        client_id: &str,
        client_secret: &str,
        grant: Grant<'_>,
    ) -> Result<NewToken, ApiError> {
        const OP: &str = "CreateToken";
        let request = self
            .oidc()
            .create_token()
            .client_id(client_id)
            .client_secret(client_secret);
        let request = match grant {
            Grant::DeviceCode(code) => request
                .grant_type("urn:ietf:params:oauth:grant-type:device_code")
                .device_code(code),
            Grant::RefreshToken(token) => request.grant_type("refresh_token").refresh_token(token),
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
            } => request
                .grant_type("authorization_code")
                .code(code)
                .redirect_uri(redirect_uri)
                .code_verifier(verifier),
        };
        let out = block_on(request.send()).map_err(|e| api_error(&self.oidc_at(), OP, e))?;
        Ok(NewToken {
            access_token: out
                .access_token()
                .ok_or_else(|| missing(OP, "accessToken"))?
                .into(),
            expires_in: positive(out.expires_in(), 3600),
            refresh_token: out.refresh_token().map(str::to_owned),
        })
    }

    fn role_credentials(
        &self,
        access_token: &str,
        account_id: &str,
        role_name: &str,
    ) -> Result<Credentials, ApiError> {
        const OP: &str = "GetRoleCredentials";
        let request = self
            .portal()
            .get_role_credentials()
            .access_token(access_token)
            .account_id(account_id)
            .role_name(role_name);
        let out = block_on(request.send()).map_err(|e| api_error(&self.portal_at(), OP, e))?;
        let c = out
            .role_credentials()
            .ok_or_else(|| missing(OP, "roleCredentials"))?;
        let field = |v: Option<&str>, what| {
            v.filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| missing(OP, what))
        };
        let credentials = Credentials {
            access_key_id: field(c.access_key_id(), "accessKeyId")?,
            secret_access_key: field(c.secret_access_key(), "secretAccessKey")?,
            session_token: Some(field(c.session_token(), "sessionToken")?),
            // The portal gives milliseconds since the epoch; a missing one comes out as 0.
            expiration: Some(c.expiration())
                .filter(|ms| *ms > 0)
                .map(Timestamp::from_millisecond)
                .transpose()
                .map_err(|_| missing(OP, "valid expiration"))?,
            issued: Some(Timestamp::now()),
        };
        credentials
            .check_temporary(Timestamp::now())
            .map_err(|what| ApiError {
                operation: OP,
                code: None,
                message: format!(
                    "the answer from {} came with {what}; nothing was kept",
                    self.portal_at().host
                ),
            })?;
        Ok(credentials)
    }

    fn logout(&self, access_token: &str) -> Result<(), ApiError> {
        const OP: &str = "Logout";
        block_on(self.portal().logout().access_token(access_token).send())
            .map(|_| ())
            .map_err(|e| api_error(&self.portal_at(), OP, e))
    }

    fn accounts(&self, access_token: &str) -> Result<Vec<Account>, ApiError> {
        const OP: &str = "ListAccounts";
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        // Bounded: a portal that never stops paging must not hang us.
        for _ in 0..100 {
            let page = block_on(
                self.portal()
                    .list_accounts()
                    .access_token(access_token)
                    .set_next_token(next.take())
                    .send(),
            )
            .map_err(|e| api_error(&self.portal_at(), OP, e))?;
            out.extend(page.account_list().iter().map(|a| Account {
                id: a.account_id().unwrap_or_default().to_owned(),
                name: a.account_name().unwrap_or_default().to_owned(),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    fn account_roles(&self, access_token: &str, account_id: &str) -> Result<Vec<String>, ApiError> {
        const OP: &str = "ListAccountRoles";
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..100 {
            let page = block_on(
                self.portal()
                    .list_account_roles()
                    .access_token(access_token)
                    .account_id(account_id)
                    .set_next_token(next.take())
                    .send(),
            )
            .map_err(|e| api_error(&self.portal_at(), OP, e))?;
            out.extend(
                page.role_list()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::canned;
    use proptest::prelude::*;

    const SECRET: &str = "PROPsecretKEYdoNotShow0123456789abcdef";
    const TOKEN: &str = "PROPsessionTOKENdoNotShow0123456789abcdef";

    fn sso() -> SdkSso {
        let session = SsoSession {
            name: Some("corp".into()),
            start_url: "https://corp.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            scopes: vec![],
            oidc_endpoint: None,
            portal_endpoint: None,
        };
        SdkSso::new(&session, None)
    }

    fn role_credentials(expiration: &str) -> String {
        format!(
            r#"{{"roleCredentials":{{"accessKeyId":"ASIAPROPTEST00000001","secretAccessKey":"{SECRET}","sessionToken":"{TOKEN}"{expiration}}}}}"#
        )
    }

    /// Whatever the answer: whole credentials or a token, or one line of ours without secrets.
    fn clean(message: &str) -> Result<(), TestCaseError> {
        prop_assert!(
            !message.contains(SECRET) && !message.contains(TOKEN),
            "{message}"
        );
        prop_assert!(
            !message.chars().any(char::is_control) && message.len() < 600,
            "{message:?}"
        );
        Ok(())
    }

    #[test]
    fn role_credentials_need_an_expiration_ahead_of_now() {
        let get = |body: String| {
            canned::answering(200, body.into_bytes(), || {
                sso().role_credentials("token", "123456789012", "Admin")
            })
        };
        let c = get(role_credentials(r#","expiration":4102444800000"#)).expect("whole");
        assert_eq!(c.secret_access_key, SECRET);
        let e = get(role_credentials("")).unwrap_err().to_string();
        assert!(e.contains("no expiration"), "{e}");
        let e = get(role_credentials(r#","expiration":1000"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("has passed"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_role_credentials_answer_is_whole_or_one_clean_line(
            expiration in "\\PC{0,30}",
            cut in 0usize..260,
            status in prop::sample::select(vec![200u16, 400, 401, 500]),
        ) {
            let whole = role_credentials(&format!(r#","expiration":{expiration}"#));
            let body = whole.as_bytes()[..cut.min(whole.len())].to_vec();
            let result = canned::answering(status, body, || {
                sso().role_credentials("token", "123456789012", "Admin")
            });
            match result {
                Ok(c) => prop_assert!(c.check_temporary(Timestamp::now()).is_ok()),
                Err(e) => clean(&e.to_string())?,
            }
        }

        #[test]
        fn any_create_token_answer_is_a_token_or_one_clean_line(
            expires_in in "\\PC{0,20}",
            status in prop::sample::select(vec![200u16, 400, 500]),
        ) {
            let body = format!(
                r#"{{"accessToken":"{SECRET}","expiresIn":{expires_in},"refreshToken":"{TOKEN}","tokenType":"Bearer"}}"#
            );
            let result = canned::answering(status, body.into_bytes(), || {
                sso().create_token("client", "secret", Grant::RefreshToken("refresh"))
            });
            if let Err(e) = result {
                clean(&e.to_string())?;
            }
        }
    }
}
