//! Which certificate authorities our own HTTPS clients trust (the IdP client, the update check,
//! the SDK clients for STS, IAM and Identity Center): the system's trust store (where a company
//! puts its private CA), else the public roots built in, plus the PEM bundle that
//! `AWS_CA_BUNDLE` or a profile's `ca_bundle` names, as botocore reads them.
//!
//! The bundle is a value handed to each client as it is built (it travels with the resolved
//! profile), never a setting of the process: `serve` answers for one profile, then another.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::environment::Environment;

/// The variable botocore and the AWS CLI read for an extra CA bundle.
pub const BUNDLE_VARIABLE: &str = "AWS_CA_BUNDLE";
/// A CA bundle is at most a few hundred kB (every public root is ~250 kB).
const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the CA bundle {path} ({from}) cannot be read: {reason}")]
    Unreadable {
        path: PathBuf,
        from: String,
        reason: String,
    },
    #[error("the CA bundle {path} ({from}) holds no PEM certificate")]
    Empty { path: PathBuf, from: String },
}

/// A CA bundle to trust besides the usual roots, and where it was named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub path: PathBuf,
    /// `AWS_CA_BUNDLE`, or `ca_bundle in profile 'x'`: for error messages.
    pub from: String,
}

impl Bundle {
    /// `AWS_CA_BUNDLE`, else the `ca_bundle` setting given (the profile's or its lineage's).
    pub fn find(env: &Environment, setting: Option<(&str, String)>) -> Option<Self> {
        if let Some(path) = env.get(BUNDLE_VARIABLE).filter(|p| !p.trim().is_empty()) {
            return Some(Self {
                path: path.into(),
                from: BUNDLE_VARIABLE.to_owned(),
            });
        }
        setting.map(|(profile, path)| Self {
            path: env.expand_tilde(&path),
            from: format!("ca_bundle in profile '{profile}'"),
        })
    }

    /// The bundle's PEM text, checked to hold at least one certificate.
    pub fn pem(&self) -> Result<Vec<u8>, BundleError> {
        let unreadable = |reason: String| BundleError::Unreadable {
            path: self.path.clone(),
            from: self.from.clone(),
            reason,
        };
        // Bundles are often symlinks into the system's store: followed, unlike our own files.
        // Not a FIFO or device, though: opening one could wait forever.
        match std::fs::metadata(&self.path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(unreadable("not a regular file".into())),
            Err(e) => return Err(unreadable(e.to_string())),
        }
        let mut bytes = Vec::new();
        std::fs::File::open(&self.path)
            .and_then(|f| f.take(MAX_BUNDLE_BYTES).read_to_end(&mut bytes))
            .map_err(|e| unreadable(e.to_string()))?;
        if self.certificates_in(&bytes).is_empty() {
            return Err(BundleError::Empty {
                path: self.path.clone(),
                from: self.from.clone(),
            });
        }
        Ok(bytes)
    }

    fn certificates_in(&self, pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
        ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect()
    }
}

/// The system's roots, as DER.
fn native_roots() -> Vec<Vec<u8>> {
    rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| der.as_ref().to_vec())
        .collect()
}

/// A rustls client configuration with the same roots as [`ureq_config`] and the provider of
/// our SDK clients (ring): for connections no SDK client makes, the SSM data channel's.
pub fn rustls_client_config(
    bundle: Option<&Bundle>,
) -> Result<Arc<rustls::ClientConfig>, BundleError> {
    let mut roots = rustls::RootCertStore::empty();
    for der in native_roots() {
        // One certificate the store cannot use must not cost the rest.
        let _ = roots.add(rustls::pki_types::CertificateDer::from(der));
    }
    if let Some(bundle) = bundle {
        let pem = bundle.pem()?;
        for cert in bundle.certificates_in(&pem) {
            roots
                .add(rustls::pki_types::CertificateDer::from(cert.der().to_vec()))
                .map_err(|e| BundleError::Unreadable {
                    path: bundle.path.clone(),
                    from: bundle.from.clone(),
                    reason: e.to_string(),
                })?;
        }
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The roots for ureq: the system's store and the bundle; the built-in public roots when the
/// system has none (a minimal container) and no bundle is named.
pub fn ureq_config(bundle: Option<&Bundle>) -> Result<ureq::tls::TlsConfig, BundleError> {
    let mut certs: Vec<ureq::tls::Certificate<'static>> = native_roots()
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    if let Some(bundle) = bundle {
        let pem = bundle.pem()?;
        certs.extend(bundle.certificates_in(&pem));
    }
    let roots = if certs.is_empty() {
        ureq::tls::RootCerts::WebPki
    } else {
        ureq::tls::RootCerts::new_with_certs(&certs)
    };
    Ok(ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(roots)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build())
}

/// A ureq agent with our roots, timeout and user agent; redirects and statuses as given.
pub fn ureq_agent(
    bundle: Option<&Bundle>,
    timeout: Duration,
    follow_redirects: bool,
) -> Result<ureq::Agent, BundleError> {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .tls_config(ureq_config(bundle)?)
        .user_agent(format!("aws-runas/{}", env!("CARGO_PKG_VERSION")));
    if !follow_redirects {
        config = config.max_redirects(0).http_status_as_error(false);
    }
    Ok(config.build().new_agent())
}

/// Whether an error, or one it was caused by, is a certificate nobody we trust vouches for
/// (the SDK's errors wrap rustls's in layers of I/O and connector errors).
pub fn untrusted_in_chain(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(e) = current {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        // An I/O error's `source` skips the error it wraps: step into that one instead.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

/// Whether a ureq failure is a certificate nobody we trust vouches for.
pub fn untrusted_certificate(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Rustls(r) => matches!(r, rustls::Error::InvalidCertificate(_)),
        ureq::Error::Io(io) => untrusted_in_chain(io),
        _ => false,
    }
}

/// The hint for an untrusted certificate at `host`.
pub fn untrusted_hint(host: &str) -> String {
    format!("the certificate of {host} is not signed by a CA this machine trusts: if it uses a private CA, set {BUNDLE_VARIABLE} (or ca_bundle in the profile) to that CA's PEM file")
}

/// For the SDK clients: an HTTPS client trusting the system's store (as the SDK's own default
/// does) and the bundle.
pub fn sdk_http_client(
    bundle: &Bundle,
) -> Result<aws_sdk_sts::config::SharedHttpClient, BundleError> {
    use aws_smithy_http_client::tls;
    let store = tls::TrustStore::default().with_pem_certificate(bundle.pem()?);
    let context = tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| BundleError::Unreadable {
            path: bundle.path.clone(),
            from: bundle.from.clone(),
            reason: e.to_string(),
        })?;
    Ok(sdk_https_client(Some(context)))
}

/// For the SDK clients: an HTTPS client trusting the system's store, as the SDK's own default.
pub fn sdk_default_http_client() -> aws_sdk_sts::config::SharedHttpClient {
    sdk_https_client(None)
}

/// Built as the SDK builds its default client (which we do not compile: it is tied to aws-lc),
/// proxy from the environment included.
fn sdk_https_client(
    context: Option<aws_smithy_http_client::tls::TlsContext>,
) -> aws_sdk_sts::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = aws_smithy_http_client::ConnectorBuilder::default().tls_provider(
            tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring),
        );
        if let Some(context) = &context {
            connector = connector.tls_context(context.clone());
        }
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
        connector.build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_beats_the_profile_and_bad_bundles_are_named() {
        let setting = || Some(("corp", "~/ca.pem".to_owned()));
        let env = Environment::from([("HOME", "/home/u")]);
        let b = Bundle::find(&env, setting()).unwrap();
        assert_eq!(b.path, PathBuf::from("/home/u/ca.pem"));
        assert_eq!(b.from, "ca_bundle in profile 'corp'");
        let env = Environment::from([("HOME", "/home/u"), (BUNDLE_VARIABLE, "/etc/ca.pem")]);
        let b = Bundle::find(&env, setting()).unwrap();
        assert_eq!(
            (b.path.to_str(), b.from.as_str()),
            (Some("/etc/ca.pem"), BUNDLE_VARIABLE)
        );
        assert!(Bundle::find(&Environment::from([]), None).is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-pem");
        std::fs::write(&path, "hello").unwrap();
        let b = Bundle {
            path: path.clone(),
            from: BUNDLE_VARIABLE.into(),
        };
        assert_eq!(
            b.pem().unwrap_err().to_string(),
            format!(
                "the CA bundle {} (AWS_CA_BUNDLE) holds no PEM certificate",
                path.display()
            )
        );
        assert!(ureq_config(Some(&b)).is_err());
        assert!(rustls_client_config(Some(&b)).is_err());
        assert!(rustls_client_config(None).is_ok());

        // A FIFO would block the open forever: refused before opening.
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let b = Bundle {
                path: fifo,
                from: BUNDLE_VARIABLE.into(),
            };
            let err = b.pem().unwrap_err().to_string();
            assert!(err.ends_with("cannot be read: not a regular file"), "{err}");
        }
    }
}
