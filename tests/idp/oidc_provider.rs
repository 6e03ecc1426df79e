//! A real OpenID provider (panva/oidc-provider, pinned in `idp/oidc/package.json`, installed by
//! tests/setup) on loopback, run by `idp/oidc/server.mjs`, stopped when dropped. Its log has one
//! line per request ("REQ METHOD PATH MS"), which counts what reached the IdP, and when.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct OidcProvider {
    child: Child,
    pub port: u16,
    /// The mount path (Keycloak's `/realms/NAME` layout), or "".
    pub mount: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

pub const CLIENT_ID: &str = "aws-runas-test";
pub const USERNAME: &str = "alice";
pub const PASSWORD: &str = "alice-password";

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp/oidc")
}

impl OidcProvider {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With extra environment for server.mjs: ID_TOKEN_TTL, DEVICE_TTL, SLOW_DOWN,
    /// KEYCLOAK_ROUTES with MOUNT_PATH.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        assert!(
            server_dir().join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run tests/setup"
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let (child, port) = crate::common::start_on_free_port("oidc-provider (node)", |port| {
            let out = std::fs::File::create(&log).unwrap();
            let mut command = Command::new("node");
            command
                .arg(server_dir().join("server.mjs"))
                .current_dir(server_dir())
                .env("PORT", port.to_string())
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out);
            command
        });
        let mount = env
            .iter()
            .find(|(k, _)| *k == "MOUNT_PATH")
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_default();
        let provider = Self {
            child,
            port,
            mount,
            log,
            _dir: dir,
        };
        crate::common::wait_for_http(&format!(
            "{}/.well-known/openid-configuration",
            provider.issuer()
        ));
        provider
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.mount)
    }

    /// (method, path, milliseconds since the epoch) of every request, in order.
    pub fn requests_log(&self) -> Vec<(String, String, u64)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut parts = l.strip_prefix("REQ ")?.split(' ');
                Some((
                    parts.next()?.to_owned(),
                    parts.next()?.to_owned(),
                    parts.next()?.parse().ok()?,
                ))
            })
            .collect()
    }

    /// Every request that reached the IdP (the readiness probe's discovery included).
    pub fn requests(&self) -> usize {
        self.requests_log().len()
    }

    fn posts_to(&self, suffix: &str) -> Vec<u64> {
        self.requests_log()
            .into_iter()
            .filter(|(m, p, _)| m == "POST" && p.ends_with(suffix))
            .map(|(_, _, t)| t)
            .collect()
    }

    /// Usernames and passwords posted to the login form.
    pub fn password_posts(&self) -> usize {
        self.posts_to("/login").len()
    }

    /// Requests to the token endpoint (code exchanges, refreshes, device polls).
    pub fn token_posts(&self) -> usize {
        self.posts_to("/token").len()
    }

    /// When each token request came (ms): device polls.
    pub fn token_post_times(&self) -> Vec<u64> {
        self.posts_to("/token")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
