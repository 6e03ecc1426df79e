//! A real SimpleSAMLphp IdP on loopback (Debian's package under `php -S`), configured by
//! `ssp-config.sh` beside this file, stopped when dropped. Its request log counts what reached it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Ssp {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Ssp {
    pub fn start() -> Self {
        // A free port can be taken between the probe and php's bind: try a few.
        for _ in 0..5 {
            if let Some(ssp) = Self::try_start(crate::common::probe_port()) {
                return ssp;
            }
        }
        panic!("SimpleSAMLphp did not start (run tests/setup for php and simplesamlphp)");
    }

    fn try_start(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/idp/ssp-config.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .arg(&base)
            .status()
            .unwrap();
        assert!(status.success(), "ssp-config.sh failed");
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut child = Command::new("php")
            .args([
                "-S",
                &format!("127.0.0.1:{port}"),
                "-t",
                "/usr/share/simplesamlphp/www",
            ])
            .env("SIMPLESAMLPHP_CONFIG_DIR", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("php (run tests/setup)");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return None; // the port was taken
            }
            let up = ureq::get(&format!("{base}/saml2/idp/metadata.php"))
                .call()
                .is_ok();
            if up {
                return Some(Self { child, port, dir });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The IdP-initiated sign-in URL for AWS.
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices",
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
