//! A real LemonLDAP::NG portal on loopback (Debian's packages under plackup), configured by
//! `llng-config.sh` beside this file, stopped when dropped. Its access log counts what reached it.

use std::process::{Child, Command, Stdio};

pub struct Llng {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Llng {
    pub fn start() -> Self {
        let mut dir = None;
        let (child, port) =
            crate::common::start_on_free_port("LemonLDAP::NG (run tests/setup)", |port| {
                let (configured, log) = crate::common::configured_dir("idp/llng-config.sh", port);
                let mut command = Command::new("plackup");
                command
                    .args(["-s", "HTTP::Server::PSGI", "--host", "127.0.0.1", "--port"])
                    .arg(port.to_string())
                    .arg("/usr/share/lemonldap-ng/portal/htdocs/index.psgi")
                    .env(
                        "LLNG_DEFAULTCONFFILE",
                        configured.path().join("lemonldap-ng.ini"),
                    )
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log);
                dir = Some(configured);
                command
            });
        crate::common::wait_for_http(&format!("http://127.0.0.1:{port}/"));
        let dir = dir.expect("configured before the server started");
        Self { child, port, dir }
    }

    /// The IdP-initiated sign-in URL for AWS.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/saml/singleSignOn?IDPInitiated=1&spConfKey=aws",
            self.port
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Usernames and passwords posted to the portal.
    pub fn password_posts(&self) -> usize {
        self.log().matches("\"POST /").count()
    }
}

impl Drop for Llng {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
