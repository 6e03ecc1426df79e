//! Test harness: a real moto server on loopback (one per test, stopped on drop), its call
//! recorder, and a sandbox with a throwaway HOME, AWS files and cache directory.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod served;
pub mod tmux;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

pub const ACCOUNT: &str = "123456789012";
pub const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/alice";

/// A loopback port nothing answers on, held for as long as the value lives: a socket bound to
/// it that never listens, so connections are refused and no other test can take the port
/// meanwhile (probing for a free port and using it later races with parallel tests).
pub struct ClosedPort {
    fd: std::os::fd::OwnedFd,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket(2)/bind(2)/getsockname(2) on a descriptor we own.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            let bound = libc::bind(raw, std::ptr::addr_of!(addr).cast(), len);
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let mut got: libc::sockaddr_in = std::mem::zeroed();
            let mut got_len = len;
            let named = libc::getsockname(raw, std::ptr::addr_of_mut!(got).cast(), &mut got_len);
            assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
            ClosedPort {
                fd,
                port: u16::from_be(got.sin_port),
            }
        }
    }

    pub fn url(&self) -> String {
        let _ = &self.fd;
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A port that was free a moment ago, for the few servers that take a port by number only (php
/// -S, sshd, plackup). Another process may take it first: callers use `start_on_free_port`, or
/// retry themselves when the server exits at start.
pub fn probe_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a loopback port")
}

/// Starts `command(port)` on a probed port and waits until it accepts connections; when the
/// child exits first (its port was taken meanwhile), tries again on another port.
pub fn start_on_free_port(
    what: &str,
    mut command: impl FnMut(u16) -> Command,
) -> (std::process::Child, u16) {
    for _ in 0..5 {
        let port = probe_port();
        let mut child = command(port)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // the port was taken: another one
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{what} did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{what} did not start on any of five ports");
}

/// A throwaway directory configured for a server on `port` by `tests/SCRIPT DIR BASE_URL` (the
/// real IdPs' recipes), with `server.log` ready for the server's output.
pub fn configured_dir(script: &str, port: u16) -> (tempfile::TempDir, std::fs::File) {
    configured_dir_with(script, port, &[])
}

/// `configured_dir`, with more arguments for the script after DIR and BASE_URL.
pub fn configured_dir_with(
    script: &str,
    port: u16,
    extra: &[&str],
) -> (tempfile::TempDir, std::fs::File) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .arg(dir.path())
        .arg(format!("http://127.0.0.1:{port}"))
        .args(extra)
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed");
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    (dir, log)
}

/// Waits (bounded) until `url` answers: a server that accepts connections may still be loading.
pub fn wait_for_http(url: &str) {
    let deadline = Instant::now() + LIMIT;
    while ureq::get(url).call().is_err() {
        assert!(Instant::now() < deadline, "{url} did not answer");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The project's Python environment (tests/setup makes it): moto, the AWS CLI and boto3 at the
/// versions tests/setup pins. Nothing is taken from PATH instead, so a stray `moto_server` or
/// `aws` of another version can't change what the tests see.
pub fn venv_bin(name: &str) -> PathBuf {
    static CHECKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let bin = CHECKED.get_or_init(|| {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
        let setup =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/setup"))
                .unwrap();
        for package in ["moto", "awscli"] {
            let pinned = pinned_version(&setup, package);
            let found = installed_version(&venv, package);
            assert!(
                found.as_deref() == Some(pinned.as_str()),
                "{package} {} in {} is not the {pinned} tests/setup pins: run tests/setup",
                found.as_deref().unwrap_or("(missing)"),
                venv.display()
            );
        }
        venv.join("bin")
    });
    bin.join(name)
}

/// The version tests/setup pins `package` to (`"package==X"` or `"package[extra]==X"`).
fn pinned_version(setup: &str, package: &str) -> String {
    setup
        .split('"')
        .find_map(|item| {
            let (name, version) = item.split_once("==")?;
            (name.split('[').next() == Some(package)).then(|| version.to_owned())
        })
        .unwrap_or_else(|| panic!("tests/setup pins no version of {package}"))
}

/// The version of `package` installed in `venv`, from its `NAME-VERSION.dist-info` directory.
fn installed_version(venv: &Path, package: &str) -> Option<String> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    for python in lib.flatten() {
        let Ok(entries) = std::fs::read_dir(python.path().join("site-packages")) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = name
                .strip_prefix(&format!("{package}-"))
                .and_then(|rest| rest.strip_suffix(".dist-info"))
            {
                return Some(version.to_owned());
            }
        }
    }
    None
}

/// A moto server on a free loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// moto's recorder appends to a file (default: in the working directory, shared by every
    /// server started there), so each server gets its own.
    _state: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Port 0 lets the kernel pick; moto reports the port it got. (Probing for a free port
    /// first races with parallel tests, and a probe could reach another test's server.)
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let bin = venv_bin("moto_server");
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .env("MOTO_RECORDER_FILEPATH", state.path().join("recording"))
            .current_dir(state.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run tests/setup): {e}", bin.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line.split("http://127.0.0.1:").nth(1) {
                    if !sent {
                        let _ = tx.send(port.trim().parse::<u16>().ok());
                        sent = true;
                    }
                }
                // Keep draining so moto never blocks on a full pipe.
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(port)) => port,
            _ => {
                let _ = child.kill();
                panic!("moto_server did not report its port");
            }
        };
        let moto = Moto {
            child,
            port,
            _state: state,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{}/moto-api/", moto.url()))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "moto_server did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn post(&self, path: &str, body: &str) {
        ureq::post(&format!("{}{path}", self.url()))
            .send(body)
            .unwrap_or_else(|e| panic!("moto {path}: {e}"));
    }

    pub fn start_recording(&self) {
        self.post("/moto-api/recorder/reset-recording", "");
        self.post("/moto-api/recorder/start-recording", "");
    }

    /// The AWS actions moto received since `start_recording`, in order, with their parameters.
    pub fn recorded(&self) -> Vec<String> {
        let mut body = ureq::get(&format!(
            "{}/moto-api/recorder/download-recording",
            self.url()
        ))
        .call()
        .unwrap()
        .into_body();
        let text = body.read_to_string().unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                let raw = v["body"].as_str().unwrap_or_default();
                let body = if v["body_encoded"].as_bool().unwrap_or(false) {
                    let bytes = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
                    String::from_utf8(bytes).ok()?
                } else {
                    raw.to_owned()
                };
                body.contains("Action=").then_some(body)
            })
            .collect()
    }

    /// The JSON-protocol requests (`X-Amz-Target: Service.ACTION`) moto received since
    /// `start_recording`, in order, as their JSON bodies.
    pub fn json_requests(&self, action: &str) -> Vec<serde_json::Value> {
        let mut body = ureq::get(&format!(
            "{}/moto-api/recorder/download-recording",
            self.url()
        ))
        .call()
        .unwrap()
        .into_body();
        let text = body.read_to_string().unwrap();
        let suffix = format!(".{action}");
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|v| {
                v["headers"]["X-Amz-Target"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(&suffix))
            })
            .filter_map(|v| {
                let raw = v["body"].as_str().unwrap_or_default();
                let bytes = if v["body_encoded"].as_bool().unwrap_or(false) {
                    base64::engine::general_purpose::STANDARD.decode(raw).ok()?
                } else {
                    raw.as_bytes().to_vec()
                };
                serde_json::from_slice(&bytes).ok()
            })
            .collect()
    }

    /// The first recorded request for `action` (its form body), or a failed test.
    #[track_caller]
    pub fn request(&self, action: &str) -> String {
        let needle = format!("Action={action}&");
        self.recorded()
            .into_iter()
            .find(|b| format!("{b}&").contains(&needle))
            .unwrap_or_else(|| panic!("no {action} recorded"))
    }

    /// The access key ids of every role session moto issued, oldest first.
    pub fn assumed_keys(&self) -> Vec<String> {
        let text = ureq::get(&format!("{}/moto-api/data.json", self.url()))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap();
        json(&text)["sts"]["AssumedRole"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(|r| r["access_key_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The access key id that signed each recorded `action` request, in order.
    pub fn signers(&self, action: &str) -> Vec<String> {
        let needle = format!("Action={action}&");
        let text = ureq::get(&format!(
            "{}/moto-api/recorder/download-recording",
            self.url()
        ))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|v| {
                let raw = v["body"].as_str().unwrap_or_default();
                let body = if v["body_encoded"].as_bool().unwrap_or(false) {
                    base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default()
                } else {
                    raw.to_owned()
                };
                format!("{body}&").contains(&needle)
            })
            .filter_map(|v| {
                let auth = v["headers"]["Authorization"].as_str()?.to_owned();
                let key = auth.split("Credential=").nth(1)?.split('/').next()?;
                Some(key.to_owned())
            })
            .collect()
    }

    /// How many recorded requests were `action`.
    pub fn count(&self, action: &str) -> usize {
        let needle = format!("Action={action}&");
        self.recorded()
            .iter()
            .filter(|b| format!("{b}&").contains(&needle))
            .count()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const CREDENTIALS: &str = "\
[alice]
aws_access_key_id = AKIAALICEEXAMPLE0001
aws_secret_access_key = alice/secret+key
";

pub const CONFIG: &str = "\
[profile alice]
region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = alice

[profile mfa]
role_arn = arn:aws:iam::123456789012:role/mfa
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile chain]
role_arn = arn:aws:iam::123456789012:role/chain
source_profile = dev
";

/// A throwaway HOME with AWS files, a private cache directory and a moto server.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub moto: Moto,
}

impl Sandbox {
    pub fn new() -> Self {
        Self::with_files(CONFIG, CREDENTIALS)
    }

    pub fn with_files(config: &str, credentials: &str) -> Self {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().unwrap(),
            moto: Moto::start(),
        };
        std::fs::create_dir_all(sandbox.home().join(".aws")).unwrap();
        sandbox.write_config(config);
        std::fs::write(sandbox.credentials_file(), credentials).unwrap();
        sandbox
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn config_file(&self) -> PathBuf {
        self.home().join(".aws/config")
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.home().join(".aws/credentials")
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_file(), config).unwrap();
    }

    /// The variables every process of the sandbox gets, and nothing else from ours.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".into(), self.home().display().to_string()),
            ("PATH".into(), path_with_venv()),
            (
                "RUNAS_CACHE_DIR".into(),
                self.cache_dir().display().to_string(),
            ),
            ("AWS_ENDPOINT_URL".into(), self.moto.url()),
            ("TZ".into(), "UTC".into()),
        ];
        if let Ok(lang) = std::env::var("LANG") {
            env.push(("LANG".into(), lang));
        }
        env
    }

    /// `program` with the sandbox's environment and nothing else of ours.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(self.env()).stdin(Stdio::null());
        cmd
    }

    /// The built aws-runas.
    pub fn runas(&self) -> Command {
        self.command(runas_bin())
    }

    /// The real AWS CLI.
    pub fn aws(&self) -> Command {
        self.command(aws_cli())
    }

    pub fn cache_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.cache_dir()) {
            Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
            Err(_) => vec![],
        }
    }
}

pub fn aws_cli() -> String {
    venv_bin("aws").display().to_string()
}

/// This process's PATH with the project's venv first: shells in tests find its `aws`.
pub fn path_with_venv() -> String {
    format!(
        "{}:{}",
        venv_bin("aws").parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

pub fn runas_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aws-runas"))
}

pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "failed: {}", self.stderr);
        self
    }

    /// A failure reported the way every error must be: non-zero, one line, no panic.
    #[track_caller]
    pub fn one_line_error(self) -> String {
        assert_ne!(
            self.code,
            Some(0),
            "should have failed; stdout: {}",
            self.stdout
        );
        assert!(self.code.is_some(), "killed by a signal: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "not one line: {:?}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "printed on failure: {}",
            self.stdout
        );
        self.stderr.trim_end().to_owned()
    }
}

/// Runs to completion within `limit`, or kills the process and fails the test.
#[track_caller]
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        code: status.code(),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs every command at once (concurrent callers of one cache), each to its end within `LIMIT`.
pub fn run_concurrently(commands: Vec<Command>) -> Vec<Output> {
    let running: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| std::thread::spawn(move || run(&mut cmd, LIMIT)))
        .collect();
    running.into_iter().map(|t| t.join().unwrap()).collect()
}

/// The `AccessKeyId` of each `-O json` output, every one a success.
#[track_caller]
pub fn json_key_ids(outputs: Vec<Output>) -> Vec<String> {
    outputs
        .into_iter()
        .map(|out| {
            let out = out.ok();
            json(&out.stdout)["AccessKeyId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Parses `export NAME='value'` lines by letting a real POSIX shell evaluate them.
pub fn eval_in_sh(exports: &str, var: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("eval \"$1\"; printf %s \"${{{var}}}\""))
        .arg("sh")
        .arg(exports)
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// An ARN of a session of `role` in the test account, as STS reports an assumed role.
#[track_caller]
pub fn assert_assumed_role(arn: &str, role: &str) {
    let prefix = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/");
    assert!(arn.starts_with(&prefix), "{arn} is not a session of {role}");
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An STS in front of moto whose credentials really expire soon (moto never expires any, and
/// AWS's shortest lifetime is 15 minutes): it passes every request on to moto and rewrites each
/// `<Expiration>` of the answer to now + the lifetime it is set to. Everything else — the
/// keys, the calls, moto's recorder — is moto's.
pub struct ShortLivedSts {
    pub url: String,
    lifetime: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ShortLivedSts {
    pub fn start(moto: &Moto, lifetime: Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let secs = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(lifetime.as_secs()));
        let (upstream, shared) = (moto.url(), secs.clone());
        // Lives as long as the test process; each connection is answered once and closed.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (upstream, secs) = (upstream.clone(), shared.clone());
                std::thread::spawn(move || {
                    let lifetime = secs.load(std::sync::atomic::Ordering::SeqCst);
                    let _ = relay(stream, &upstream, lifetime);
                });
            }
        });
        ShortLivedSts {
            url,
            lifetime: secs,
        }
    }

    pub fn set_lifetime(&self, lifetime: Duration) {
        self.lifetime
            .store(lifetime.as_secs(), std::sync::atomic::Ordering::SeqCst);
    }
}

fn relay(mut stream: std::net::TcpStream, upstream: &str, lifetime: u64) -> std::io::Result<()> {
    use std::io::Write;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if !["host", "connection", "transfer-encoding"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            {
                headers.push((name, value));
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(&format!("{upstream}{path}"));
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let response = request
        .send(&body[..])
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml")
        .to_owned();
    let text = response
        .into_body()
        .read_to_string()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let expiry = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + lifetime as i64)
        .unwrap()
        .to_string();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("<Expiration>") {
        let open = start + "<Expiration>".len();
        let Some(end) = rest[open..].find("</Expiration>") else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&expiry);
        rest = &rest[open + end..];
    }
    out.push_str(rest);
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    )?;
    stream.flush()
}

pub const WAIT_FOR_SECRETS: &str = r#"i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i + 1)); [ "$i" -gt 100 ] && { echo 'no Secret Service on the bus' >&2; exit 10; }; sleep 0.1
done"#;

/// Runs `script` in a private D-Bus session with an unlocked gnome-keyring (a real Secret
/// Service), with the sandbox's environment and `env`, `$RUNAS` the built binary.
pub fn in_keyring_session(sandbox: &Sandbox, env: &[(&str, String)], script: &str) -> Output {
    let mut cmd = sandbox.command("dbus-run-session");
    cmd.env("RUNAS", runas_bin())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "--",
            "sh",
            "-c",
            &format!(
                "echo -n unlock | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
                 {WAIT_FOR_SECRETS}
                 {script}"
            ),
        ]);
    run(&mut cmd, LIMIT)
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it, made with the openssl CLI in
/// `dir`: (ca.pem, idp.pem, idp.key).
pub fn private_ca(dir: &std::path::Path) -> [std::path::PathBuf; 3] {
    // Each CA its own name: a client must not mistake one for another.
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -keyout ca.key -out ca.pem -subj "/CN=aws-runas throwaway test CA $$" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout idp.key -out idp.csr \
  -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >ext
openssl x509 -req -in idp.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext \
  -out idp.pem 2>/dev/null"#;
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("openssl (installed by tests/setup)");
    assert!(out.status.success(), "{out:?}");
    ["ca.pem", "idp.pem", "idp.key"].map(|f| dir.join(f))
}

/// tests/standins/tls_proxy.py: TLS with `cert`/`key` in front of 127.0.0.1:`upstream`.
pub struct TlsProxy {
    child: std::process::Child,
    pub port: u16,
}

impl TlsProxy {
    pub fn start(cert: &std::path::Path, key: &std::path::Path, upstream: u16) -> Self {
        use std::io::BufRead as _;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standins/tls_proxy.py");
        let mut child = std::process::Command::new(venv_bin("python3"))
            .arg(script)
            .args([cert, key])
            .arg(upstream.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 from the venv (tests/setup)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("tls_proxy said {line:?}"));
        TlsProxy { child, port }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python stand-in of tests/standins/ run by the venv's Python: it prints `PORT n` once
/// listening on 127.0.0.1 and exits when its stdin closes, so when this is dropped.
pub struct PythonStandin {
    child: Child,
    _stdin: std::process::ChildStdin,
    pub port: u16,
}

impl PythonStandin {
    pub fn start(script: &str, args: &[&str]) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/standins")
            .join(script);
        let mut child = Command::new(venv_bin("python3"))
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 of the venv (tests/setup)");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{script} said {line:?}"));
        PythonStandin {
            child,
            _stdin: stdin,
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// POSTs `body` to the stand-in's `/admin/PATH` (its test controls).
    pub fn admin(&self, path: &str, body: serde_json::Value) {
        admin_agent()
            .post(&format!("{}/admin/{path}", self.url()))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
    }

    /// The stand-in's counters, as its `/admin/state` reports them.
    pub fn state(&self) -> serde_json::Value {
        json(
            &admin_agent()
                .get(&format!("{}/admin/state", self.url()))
                .call()
                .unwrap()
                .into_body()
                .read_to_string()
                .unwrap(),
        )
    }
}

/// Bounded: a stand-in that stopped answering fails the test instead of hanging it.
fn admin_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

impl Drop for PythonStandin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
