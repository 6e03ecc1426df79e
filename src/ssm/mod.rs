//! SSM sessions: reaching an instance through Session Manager with a profile's credentials.
//! This file owns the SSM API calls (StartSession, ResumeSession, TerminateSession) and what
//! their errors tell the user; `protocol` and `channel` speak the data channel, `session` runs
//! shells and port sessions over it, `target` finds the instance, `instance_connect` pushes an SSH key (`--ec2ic`), `plugin` hands over to AWS's
//! session-manager-plugin (`-P`).

pub mod channel;
pub mod instance_connect;
pub mod plugin;
pub mod protocol;
pub mod session;
pub mod target;

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::credentials::Credentials;
use crate::environment::Environment;

/// What StartSession is asked for: the document and its parameters (`None` for a shell).
#[derive(Clone, Debug)]
pub struct Request {
    pub target: String,
    pub document: Option<&'static str>,
    pub parameters: Vec<(&'static str, String)>,
}

impl Request {
    pub fn parameters_map(&self) -> HashMap<String, Vec<String>> {
        self.parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), vec![v.clone()]))
            .collect()
    }
}

/// StartSession's answer: what the data channel and the plugin need.
#[derive(Clone)]
pub struct Started {
    pub session_id: String,
    pub token: String,
    pub stream_url: String,
}

/// Where the SSM and EC2 APIs are, as the AWS CLI finds them: the service's own endpoint
/// variable, then the general one.
pub fn endpoint(env: &Environment, service_variable: &str) -> Option<String> {
    if env.is_truthy("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        return None;
    }
    env.get(service_variable)
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
}

#[derive(Clone)]
pub struct Api {
    client: aws_sdk_ssm::Client,
    pub region: String,
    pub endpoint: Option<String>,
    ca_bundle: Option<crate::tls::Bundle>,
}

impl Api {
    pub fn new(
        region: Option<&str>,
        endpoint: Option<String>,
        credentials: &Credentials,
        ca_bundle: Option<&crate::tls::Bundle>,
    ) -> Self {
        let client = crate::aws::client!(
            aws_sdk_ssm,
            region,
            endpoint.as_deref(),
            credentials,
            ca_bundle
        );
        Self {
            client,
            region: region.unwrap_or(crate::aws::FALLBACK_REGION).to_owned(),
            endpoint,
            ca_bundle: ca_bundle.cloned(),
        }
    }

    /// The endpoint the plugin must use for its own calls.
    pub fn endpoint_url(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://ssm.{}.amazonaws.com", self.region))
    }

    pub async fn start(&self, request: &Request) -> anyhow::Result<Started> {
        let mut call = self.client.start_session().target(&request.target);
        if let Some(document) = request.document {
            call = call
                .document_name(document)
                .set_parameters(Some(request.parameters_map()));
        }
        let out = call
            .send()
            .await
            .map_err(|e| start_error(&request.target, self.describe(&e), &e))?;
        let field = |v: Option<&str>, name: &str| {
            v.filter(|s| !s.is_empty())
                .map(str::to_owned)
                .with_context(|| format!("StartSession for {} returned no {name}", request.target))
        };
        Ok(Started {
            session_id: field(out.session_id(), "SessionId")?,
            token: field(out.token_value(), "TokenValue")?,
            stream_url: field(out.stream_url(), "StreamUrl")?,
        })
    }

    /// A new token for the same session, or `None` once the session is over.
    pub async fn resume(&self, session_id: &str) -> anyhow::Result<Option<String>> {
        let out = self
            .client
            .resume_session()
            .session_id(session_id)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("ResumeSession: {}", self.describe(&e)))?;
        Ok(out
            .token_value()
            .filter(|t| !t.is_empty())
            .map(str::to_owned))
    }

    /// Best effort: the session may already be over.
    pub async fn terminate(&self, session_id: &str) {
        if let Err(e) = self
            .client
            .terminate_session()
            .session_id(session_id)
            .send()
            .await
        {
            tracing::debug!("TerminateSession: {}", self.describe(&e));
        }
    }
}

impl Api {
    /// TLS for the data channel: the same roots as the API calls (the system's and the
    /// profile's CA bundle).
    pub fn tls(&self) -> anyhow::Result<std::sync::Arc<rustls::ClientConfig>> {
        Ok(crate::tls::rustls_client_config(self.ca_bundle.as_ref())?)
    }

    fn describe<E>(&self, err: &SdkError<E, HttpResponse>) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let at = crate::aws::SSM.at(&self.region, self.endpoint.as_deref());
        crate::aws::describe_error(&at, err)
    }
}

/// StartSession's failures, each with what the user can do about it.
fn start_error<E>(target: &str, detail: String, err: &SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some("AccessDeniedException") => anyhow::anyhow!(
            "the profile's role may not start a session on {target}: it needs ssm:StartSession ({detail})"
        ),
        Some("TargetNotConnected") => anyhow::anyhow!(
            "{target} is not connected to Session Manager: is the SSM agent installed and running there, \
             with an instance profile that allows SSM? ({detail})"
        ),
        Some("InvalidDocument") => anyhow::anyhow!(
            "Session Manager refused the session document for {target} ({detail})"
        ),
        _ => anyhow::anyhow!("StartSession on {target}: {detail}"),
    }
}
