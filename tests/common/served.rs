//! A running `aws-runas serve`, and an HTTP client for its endpoints and profile page.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Sandbox;

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Sends a request and returns status, headers and body.
pub fn exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, ureq::http::HeaderMap, String) {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(body.unwrap_or("").to_owned()).unwrap();
    let mut response = agent().run(request).expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// Sends a request and returns status and body.
pub fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let (status, _, body) = exchange(method, url, headers, body);
    (status, body)
}

/// The status a request without a body gets.
pub fn status_of(method: &str, url: &str, headers: &[(&str, &str)]) -> u16 {
    send(method, url, headers, None).0
}

/// `aws-runas serve KIND ...`, its exports parsed; killed when dropped.
pub struct Served {
    pub child: Child,
    pub exports: Vec<(String, String)>,
    lines: Receiver<String>,
    page: OnceLock<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Served {
    pub fn start(s: &Sandbox, args: &[&str]) -> Self {
        Self::start_with(s.runas().arg("serve").args(args))
    }

    pub fn start_with(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        // Reads stderr to its end: `stop` joins it, so a log is never checked cut short.
        let stderr = std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                log.push_str(&line);
                log.push('\n');
                let _ = tx.send(line);
            }
            log
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut exports = Vec::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 {
            let text = line.trim().to_owned();
            line.clear();
            if let Some((name, value)) =
                text.strip_prefix("export ").and_then(|t| t.split_once('='))
            {
                exports.push((name.to_owned(), value.trim_matches('\'').to_owned()));
            }
            if text.starts_with("export AWS_CONTAINER_AUTHORIZATION_TOKEN")
                || text.starts_with("export AWS_EC2_METADATA_SERVICE_ENDPOINT")
            {
                break;
            }
        }
        let mut served = Served {
            child,
            exports,
            lines,
            page: OnceLock::new(),
            stderr: Some(stderr),
        };
        if served.exports.is_empty() {
            let _ = served.child.kill();
            let log = served.stderr.take().unwrap().join().unwrap();
            panic!("serve printed no exports: {log}");
        }
        served
    }

    pub fn var(&self, name: &str) -> String {
        self.exports
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not exported"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line on its stderr that starts with `prefix` (the rest of it).
    pub fn wait_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(e) => panic!("no stderr line starting {prefix:?}: {e}"),
            }
        }
    }

    /// The profile page's address, as printed on the terminal (it carries the page's secret).
    pub fn page_address(&self) -> String {
        self.page
            .get_or_init(|| self.wait_line("aws-runas: profile page: "))
            .clone()
    }

    /// Opens the page as a browser would (the printed address, then its redirect with the
    /// cookie): the page's base URL and the API token written into the page.
    pub fn page_token(&self) -> (String, String) {
        let address = self.page_address();
        let base = address.split("/?").next().unwrap().to_owned();
        let (status, headers, _) = exchange("GET", &address, &[], None);
        assert_eq!(status, 303, "the printed address redirects");
        assert_eq!(headers["location"], "/");
        let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        let pair = cookie.split(';').next().unwrap().to_owned();
        let (status, html) = send("GET", &format!("{base}/"), &[("Cookie", &pair)], None);
        assert_eq!(status, 200, "{html}");
        let token = html
            .split("name=\"runas-token\" content=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .expect("the page carries its API token")
            .to_owned();
        (base, token)
    }

    /// Stops it as Ctrl-C would, and returns its exit code and its whole log.
    pub fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = self.stderr.take().unwrap().join().unwrap();
        (status.code(), log)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
