//! AWS clients: SDK clients configured from our own resolution (region, endpoint, explicit
//! credentials) instead of the SDK's default chain, and the async runtime they need — created
//! only when a call is really made, so the cache-hit path never pays for either.

pub mod iam;
pub mod sts;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::error::ProvideErrorMetadata;

/// STS is global; signing still needs a region when the profile names none.
pub const FALLBACK_REGION: &str = "us-east-1";

/// Bounds every call: a dead endpoint must give an error, never a hang.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// The SDK trusts the system's store on its own, not `AWS_CA_BUNDLE`: with one set, an HTTPS
/// client that trusts it too. An unusable bundle is said once and the SDK's default used.
pub fn ca_http_client() -> Option<aws_sdk_sts::config::SharedHttpClient> {
    static CLIENT: OnceLock<Option<aws_sdk_sts::config::SharedHttpClient>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let bundle = crate::tls::process_bundle()?;
            crate::tls::sdk_http_client(Some(&bundle))
                .inspect_err(|e| tracing::warn!("{e}"))
                .ok()
                .flatten()
        })
        .clone()
}

/// A client of one SDK crate (`aws_sdk_sts`, `aws_sdk_iam`) configured from our resolution:
/// explicit credentials, region (or the fallback), endpoint, timeouts and retries. A macro
/// because each SDK crate generates its own, identically shaped, config types.
macro_rules! client {
    ($sdk:ident, $region:expr, $endpoint:expr, $with:expr) => {{
        let with: &$crate::credentials::Credentials = $with;
        let credentials = $sdk::config::Credentials::new(
            &with.access_key_id,
            &with.secret_access_key,
            with.session_token.clone(),
            None,
            "aws-runas",
        );
        let region: Option<&str> = $region;
        let mut config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new(
                region.unwrap_or($crate::aws::FALLBACK_REGION).to_owned(),
            ))
            .credentials_provider(credentials)
            .timeout_config($crate::aws::timeouts())
            .retry_config($crate::aws::retries());
        let endpoint: Option<&str> = $endpoint;
        config.set_endpoint_url(endpoint.map(str::to_owned));
        if let Some(http) = $crate::aws::ca_http_client() {
            config = config.http_client(http);
        }
        $sdk::Client::from_conf(config.build())
    }};
}
pub(crate) use client;

/// One line for an SDK error: the service's code and message, or the whole transport story.
pub fn describe_error<E, R>(err: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
        None if std::error::Error::source(err).is_some_and(crate::tls::untrusted_in_chain) => {
            format!(
                "{} ({})",
                crate::tls::untrusted_hint("the endpoint"),
                aws_sdk_sts::error::DisplayErrorContext(err)
            )
        }
        None => aws_sdk_sts::error::DisplayErrorContext(err).to_string(),
    }
}

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
