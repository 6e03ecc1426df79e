//! AWS clients: SDK clients configured from our own resolution (region, endpoint, explicit
//! credentials) instead of the SDK's default chain, and the async runtime they need — created
//! only when a call is really made, so the cache-hit path never pays for either.

pub mod ec2;
mod failure;
pub mod iam;
pub mod sts;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::error::BoxError;
use aws_smithy_types::body::SdkBody;

pub(crate) use failure::{describe_answer, describe_transport, read_answer, Answer};
pub use failure::{
    describe_error, Endpoint, EC2, EC2_INSTANCE_CONNECT, IAM, SIGNIN, SSM, SSO_OIDC, SSO_PORTAL,
    STS,
};

/// STS is global; signing still needs a region when the profile names none.
pub const FALLBACK_REGION: &str = "us-east-1";

/// The most of an answer we read. AWS's answers to our calls are a few KB (a page of IAM
/// policies is the largest); anything past this is not AWS, and reading it whole would cost
/// its size in memory.
pub const ANSWER_LIMIT: usize = 4 << 20;

/// Tries per call, the first included.
pub const ATTEMPTS: u32 = 3;

/// Bounds every call: a dead endpoint must give an error, never a hang. An attempt that sees no
/// answer in 10 s will not see one; three of them fit the operation's 30 s.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(30))
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(ATTEMPTS)
}

/// The HTTPS client of every SDK client: the system's store, plus the CA bundle when one is
/// named. An unusable bundle is said once and the client without it used.
///
/// One client per bundle file (and version of it) for the life of the process: each holds its
/// pool of connections, and reading and parsing a bundle for every call would cost a handshake
/// each time too. Only called as a client is built, so the cache-hit path never gets here.
pub fn https_client(bundle: Option<&crate::tls::Bundle>) -> aws_sdk_sts::config::SharedHttpClient {
    type Clients =
        HashMap<Option<(PathBuf, Option<SystemTime>)>, aws_sdk_sts::config::SharedHttpClient>;
    static CLIENTS: OnceLock<Mutex<Clients>> = OnceLock::new();
    // A bundle replaced while `serve` runs is read again.
    let key = bundle.map(|bundle| {
        let modified = std::fs::metadata(&bundle.path)
            .and_then(|m| m.modified())
            .ok();
        (bundle.path.clone(), modified)
    });
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    clients
        .entry(key)
        .or_insert_with(|| match bundle.map(crate::tls::sdk_http_client) {
            Some(Ok(client)) => client,
            Some(Err(e)) => {
                tracing::warn!("{e}");
                crate::tls::sdk_default_http_client()
            }
            None => crate::tls::sdk_default_http_client(),
        })
        .clone()
}

/// Reads at most [`ANSWER_LIMIT`] of any answer: one that says it is larger is refused before
/// its body is read, one that does not say is cut off there.
#[derive(Debug)]
pub struct BoundedAnswers;

impl Intercept for BoundedAnswers {
    fn name(&self) -> &'static str {
        "BoundedAnswers"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > ANSWER_LIMIT as u64) {
            return Err(Box::new(failure::AnswerTooLarge));
        }
        let body = response.take_body();
        *response.body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, ANSWER_LIMIT));
        Ok(())
    }
}

/// The config builder of one SDK crate (`aws_sdk_sts`, `aws_sdk_iam`, ...) with what every
/// client of ours has: region (or the fallback), endpoint, timeouts, retries, the HTTPS client
/// of the CA bundle given (an `Option<&Bundle>`) and bounded answers. A macro because each SDK
/// crate generates its own, identically shaped, config types.
macro_rules! configured {
    ($sdk:ident, $region:expr, $endpoint:expr, $bundle:expr) => {{
        let region: Option<&str> = $region;
        let mut config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new(
                region.unwrap_or($crate::aws::FALLBACK_REGION).to_owned(),
            ))
            .timeout_config($crate::aws::timeouts())
            .retry_config($crate::aws::retries())
            .interceptor($crate::aws::BoundedAnswers);
        let endpoint: Option<&str> = $endpoint;
        config.set_endpoint_url(endpoint.map(str::to_owned));
        let bundle: Option<&$crate::tls::Bundle> = $bundle;
        config = config.http_client($crate::aws::https_client(bundle));
        #[cfg(test)]
        if let Some(http) = $crate::aws::canned::network() {
            config = config
                .http_client(http)
                .retry_config($sdk::config::retry::RetryConfig::disabled());
        }
        config
    }};
}
pub(crate) use configured;

/// Our credentials as one SDK crate's, to sign with (never the SDK's default chain).
macro_rules! sdk_credentials {
    ($sdk:ident, $with:expr) => {{
        let with: &$crate::credentials::Credentials = $with;
        $sdk::config::Credentials::new(
            &with.access_key_id,
            &with.secret_access_key,
            with.session_token.clone(),
            None,
            "aws-runas",
        )
    }};
}
pub(crate) use sdk_credentials;

/// A client of one SDK crate signing with explicit credentials, trusting the CA bundle given.
macro_rules! client {
    ($sdk:ident, $region:expr, $endpoint:expr, $with:expr, $bundle:expr) => {{
        let config = $crate::aws::configured!($sdk, $region, $endpoint, $bundle)
            .credentials_provider($crate::aws::sdk_credentials!($sdk, $with));
        $sdk::Client::from_conf(config.build())
    }};
}
pub(crate) use client;

/// A single-threaded runtime made on first use and shared by every client in this process.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tracing::debug!("starting the async runtime for AWS calls");
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime only fails without OS resources")
        })
        .block_on(future)
}

/// The unit tests' network: one canned answer to every call the clients of this thread make,
/// given without retries, so that the real SDK clients and our handling of what they return
/// can be tried with any answer.
#[cfg(test)]
pub mod canned {
    use std::cell::RefCell;

    use aws_sdk_sts::config::http::{HttpRequest, HttpResponse};
    use aws_sdk_sts::config::{RuntimeComponents, SharedHttpClient};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    thread_local! {
        static NETWORK: RefCell<Option<SharedHttpClient>> = const { RefCell::new(None) };
    }

    pub fn network() -> Option<SharedHttpClient> {
        NETWORK.with(|n| n.borrow().clone())
    }

    /// Runs `f` with every call on this thread answered `status` and `body`.
    pub fn answering<T>(status: u16, body: Vec<u8>, f: impl FnOnce() -> T) -> T {
        let client = SharedHttpClient::new(Canned { status, body });
        NETWORK.with(|n| *n.borrow_mut() = Some(client));
        let out = f();
        NETWORK.with(|n| *n.borrow_mut() = None);
        out
    }

    #[derive(Clone, Debug)]
    struct Canned {
        status: u16,
        body: Vec<u8>,
    }

    impl HttpConnector for Canned {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let status = StatusCode::try_from(self.status).expect("a valid status");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(
                status,
                SdkBody::from(self.body.clone()),
            )))
        }
    }

    impl HttpClient for Canned {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }
}
