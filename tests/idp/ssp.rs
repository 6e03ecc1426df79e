//! A real SimpleSAMLphp IdP on loopback (Debian's package under `php -S`), configured by
//! `ssp-config.sh` beside this file, stopped when dropped. Its request log counts what reached it.

#![allow(dead_code)] // tests/saml.rs and tests/saml_browser.rs each use a part

use std::process::{Child, Command, Stdio};

pub struct Ssp {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Ssp {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With a second SP, `urn:aws-runas:browser`, whose assertions go to `acs_url`.
    pub fn start_with_browser_acs(acs_url: &str) -> Self {
        Self::start_with(&[acs_url])
    }

    fn start_with(extra: &[&str]) -> Self {
        let mut dir = None;
        let (child, port) = crate::common::start_on_free_port(
            "SimpleSAMLphp (run tests/setup for php and simplesamlphp)",
            |port| {
                let (configured, log) =
                    crate::common::configured_dir_with("idp/ssp-config.sh", port, extra);
                let mut command = Command::new("php");
                command
                    .args([
                        "-S",
                        &format!("127.0.0.1:{port}"),
                        "-t",
                        "/usr/share/simplesamlphp/www",
                    ])
                    .env("SIMPLESAMLPHP_CONFIG_DIR", configured.path().join("config"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log);
                dir = Some(configured);
                command
            },
        );
        crate::common::wait_for_http(&format!("http://127.0.0.1:{port}/saml2/idp/metadata.php"));
        let dir = dir.expect("configured before the server started");
        Self { child, port, dir }
    }

    /// The IdP-initiated sign-in URL for AWS.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices",
            self.port
        )
    }

    /// The IdP-initiated sign-in URL for the browser SP.
    pub fn browser_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/saml2/idp/SSOService.php?spentityid=urn:aws-runas:browser",
            self.port
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Requests the IdP answered (the metadata probe at start excluded).
    pub fn requests(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("]: GET ") || l.contains("]: POST "))
            .filter(|l| !l.contains("/metadata.php"))
            .count()
    }

    /// Usernames and passwords posted to the login form.
    pub fn password_posts(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("]: POST /module.php/core/loginuserpass.php"))
            .count()
    }
}

impl Drop for Ssp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
