//! A real LemonLDAP::NG portal on loopback (Debian's packages under plackup), configured by
//! `llng-config.sh` beside this file, stopped when dropped. Its access log counts what reached it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Llng {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Llng {
    pub fn start() -> Self {
        // A free port can be taken between the probe and the bind: try a few.
        for _ in 0..5 {
            if let Some(llng) = Self::try_start(crate::common::probe_port()) {
                return llng;
            }
        }
        panic!("LemonLDAP::NG did not start (run tests/setup)");
    }

    fn try_start(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp/llng-config.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .arg(&base)
            .status()
            .unwrap();
        assert!(status.success(), "llng-config.sh failed");
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new("plackup")
            .args(["-s", "HTTP::Server::PSGI", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("/usr/share/lemonldap-ng/portal/htdocs/index.psgi")
            .env("LLNG_DEFAULTCONFFILE", dir.path().join("lemonldap-ng.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("plackup (run tests/setup)");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            if ureq::get(&format!("{base}/")).call().is_ok() {
                return Some(Self { child, port, dir });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
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
