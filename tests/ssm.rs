//! `aws-runas ssm`: the built binary against a loopback stand-in of Session Manager
//! (tests/standins/ssm_service.py: the SSM API and the agent's end of the data channel, with a
//! real shell in a pty and real TCP targets), moto for STS and EC2, and real clients through
//! the tunnel: tmux as the terminal, curl, and ssh to a throwaway sshd.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

const INSTANCE: &str = "i-0123456789abcdef0";

/// The project venv's Python (it has `websockets` for the stand-in), by absolute path: it also
/// goes into `#!` lines.
fn python() -> String {
    venv_bin("python3").display().to_string()
}

/// The stand-in, on free loopback ports, killed when dropped.
struct Standin {
    child: Child,
    api: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Standin {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/ssm_service.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with websockets (tests/setup installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports = json(&line);
        Standin {
            child,
            api: ports["api"].as_u64().expect("the stand-in's ports") as u16,
            log,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }

    fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(json)
            .collect()
    }

    fn has(&self, pred: impl Fn(&serde_json::Value) -> bool) -> bool {
        self.events().iter().any(pred)
    }

    /// Waits (bounded) for an event the stand-in logs after the client is gone.
    #[track_caller]
    fn wait_for(&self, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !self.has(&pred) {
            assert!(Instant::now() < deadline, "no {what}: {:?}", self.events());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup(args: &[&str]) -> (Sandbox, Standin) {
    (Sandbox::new(), Standin::start(args))
}

fn runas(sandbox: &Sandbox, standin: &Standin) -> Command {
    let mut cmd = sandbox.runas();
    cmd.env("AWS_ENDPOINT_URL_SSM", standin.url());
    cmd
}

/// The shell command line that runs aws-runas with the sandbox's environment.
fn runas_line(sandbox: &Sandbox, standin: &Standin, args: &str) -> String {
    let mut env: Vec<String> = sandbox
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(&v)))
        .collect();
    env.push(format!("AWS_ENDPOINT_URL_SSM={}", standin.url()));
    format!(
        "env -i {} {} {args}",
        env.join(" "),
        shell_quote(&runas_bin().display().to_string())
    )
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running `aws-runas ssm forward`, with the port it reported.
struct Forward {
    child: Child,
    port: u16,
}

impl Forward {
    fn start(sandbox: &Sandbox, standin: &Standin, spec: &str, extra: &[&str]) -> Self {
        let mut child = runas(sandbox, standin)
            .args(["ssm", "forward", "dev", spec])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let port = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "forward ended before listening"
            );
            if let Some(rest) = line.strip_prefix("Port ") {
                break rest.split(' ').next().unwrap().parse().unwrap();
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Forward { child, port }
    }

    /// SIGTERM: the user's way to end a forward; it must end the session and exit 0.
    fn stop(mut self) -> Option<i32> {
        unsafe_kill(self.child.id(), "TERM");
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "forward did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap()
        .success());
}

/// A local HTTP server (Python's) serving `dir`, stopped on drop.
struct Http {
    child: Child,
    port: u16,
}

impl Http {
    fn start(dir: &Path) -> Self {
        let (child, port) = start_on_free_port("http.server", |port| {
            let mut c = Command::new(python());
            c.args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            c
        });
        Http { child, port }
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deterministic pseudo-random bytes (xorshift), so a transfer cannot pass by luck.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn curl(port: u16, path: &str, out: &Path) -> Child {
    Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "300", "-o"])
        .arg(out)
        .arg(format!("http://127.0.0.1:{port}/{path}"))
        .spawn()
        .unwrap()
}

fn sha256_file(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

// --- shell ------------------------------------------------------------------------------

#[test]
fn shell_in_a_terminal_types_resizes_interrupts_and_restores_the_terminal() {
    let (sandbox, standin) = setup(&[]);
    let dir = sandbox.dir.path();
    let line = runas_line(&sandbox, &standin, &format!("ssm shell dev {INSTANCE}"));
    let tmux = common::tmux::Tmux::start(
        dir,
        &format!("{line}; echo \"status=$?\"; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo checked; sleep 60"),
    );
    let limit = Duration::from_secs(30);
    tmux.wait_for("the remote prompt", limit, |s| s.contains("remote$ "));

    tmux.type_line("echo hello-$((6*7))");
    tmux.wait_for("remote output", limit, |s| s.contains("hello-42"));

    // The remote pty has our size, and follows a resize.
    tmux.type_line("stty size");
    tmux.wait_for("the initial size", limit, |s| s.contains("\n50 200"));
    assert!(Command::new("tmux")
        .arg("-S")
        .arg(dir.join("tmux.sock"))
        .args(["resize-window", "-x", "120", "-y", "40"])
        .status()
        .unwrap()
        .success());
    standin.wait_for("a size update", |e| {
        e["event"] == "size" && e["cols"] == 120
    });
    tmux.type_line("clear; stty size");
    tmux.wait_for("the new size", limit, |s| s.contains("40 120"));

    // Ctrl-C reaches the remote shell's foreground job, not aws-runas.
    tmux.type_line("sleep 4711; echo finished-$((1+1))");
    wait_until("the remote sleep to start", || pgrep("sleep 4711"));
    tmux.send_keys(&["C-c"]);
    tmux.type_line("echo after=$?");
    tmux.wait_for("the interrupted job's status", limit, |s| {
        s.contains("after=130")
    });
    assert!(!tmux.screen().contains("finished-2"));
    assert!(!pgrep("sleep 4711"));

    tmux.type_line("exit 3");
    // The terminal's modes are printed after aws-runas has exited.
    let screen = tmux.wait_for("aws-runas to exit", limit, |s| s.contains("checked"));
    // An interactive shell's status does not cross the data channel (the agent sends none):
    // a session that ended normally is a success, as with AWS's plugin.
    assert!(screen.contains("status=0"), "{screen}");
    assert!(
        screen.contains("icanon echo"),
        "terminal not restored: {screen}"
    );
    assert!(
        screen.contains("Exiting session with sessionId: runas-"),
        "{screen}"
    );
    standin.wait_for("TerminateSession", |e| e["api"] == "TerminateSession");
}

#[test]
fn a_terminated_shell_session_restores_the_terminal_and_ends_the_session() {
    let (sandbox, standin) = setup(&[]);
    let dir = sandbox.dir.path();
    // A target of its own, to find this test's aws-runas among parallel tests'.
    let target = "i-00000000005167e4";
    let line = runas_line(&sandbox, &standin, &format!("ssm shell dev {target}"));
    let tmux = common::tmux::Tmux::start(
        dir,
        &format!("{line}; echo \"status=$?\"; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo checked; sleep 60"),
    );
    let limit = Duration::from_secs(30);
    tmux.wait_for("the remote prompt", limit, |s| s.contains("remote$ "));
    let pid = String::from_utf8(
        Command::new("pgrep")
            .args(["-f", &format!("aws-runas ssm shell dev {target}")])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    unsafe_kill(pid.trim().parse().unwrap(), "TERM");
    // The terminal's modes are printed after aws-runas has exited.
    let screen = tmux.wait_for("aws-runas to exit", limit, |s| s.contains("checked"));
    assert!(
        screen.contains("icanon echo"),
        "terminal not restored: {screen}"
    );
    standin.wait_for("the TerminateSession flag", |e| {
        e["event"] == "flag" && e["value"] == 2
    });
    standin.wait_for("TerminateSession", |e| e["api"] == "TerminateSession");
}

fn piped_shell(standin_args: &[&str]) -> (Standin, Output) {
    let (sandbox, standin) = setup(standin_args);
    let mut cmd = runas(&sandbox, &standin);
    // One argument: the target, with the profile from the environment (as v3).
    cmd.env("AWS_PROFILE", "dev")
        .args(["ssm", "sh", INSTANCE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo piped-$((2+3))\nexit 4\n")
        .unwrap();
    (standin, wait_output(child))
}

#[test]
fn shell_with_piped_input_runs_it_and_ends_as_a_success() {
    let (_standin, out) = piped_shell(&[]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("piped-5"), "{}", out.stdout);
}

#[test]
fn the_remote_exit_status_is_ours_where_the_agent_sends_it() {
    // NonInteractiveCommands sessions shake hands first and end with `EXIT_CODE: N`.
    let (standin, out) = piped_shell(&["--session-type", "NonInteractiveCommands"]);
    assert_eq!(out.code, Some(4), "{}", out.stderr);
    assert!(out.stdout.contains("piped-5"), "{}", out.stdout);
    assert!(!out.stdout.contains("EXIT_CODE"), "{}", out.stdout);
    assert!(standin.has(|e| e["event"] == "handshake_response"));
    assert!(
        !standin.has(|e| e["event"] == "data_before_handshake"),
        "input went out before the handshake: {:?}",
        standin.events()
    );
}

fn pgrep(pattern: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", pattern])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[track_caller]
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_output(mut child: Child) -> Output {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code(),
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

// --- forward ----------------------------------------------------------------------------

#[test]
fn forward_serves_curl_with_two_connections_and_100_mb_intact() {
    let (sandbox, standin) = setup(&[]);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let big = data(100 << 20, 7);
    std::fs::write(www.join("big"), &big).unwrap();
    std::fs::write(www.join("small"), b"small file\n").unwrap();
    let http = Http::start(&www);
    let forward = Forward::start(
        &sandbox,
        &standin,
        &format!("{INSTANCE}:{}", http.port),
        &[],
    );

    let got_big = sandbox.dir.path().join("got-big");
    let got_small = sandbox.dir.path().join("got-small");
    let mut a = curl(forward.port, "big", &got_big);
    let mut b = curl(forward.port, "small", &got_small);
    assert!(b.wait().unwrap().success());
    assert!(a.wait().unwrap().success());
    assert_eq!(std::fs::read(&got_small).unwrap(), b"small file\n");
    assert_eq!(sha256_file(&got_big), hex(&Sha256::digest(&big)));

    assert_eq!(forward.stop(), Some(0));
    standin.wait_for("the TerminateSession flag", |e| {
        e["event"] == "flag" && e["value"] == 2
    });
    standin.wait_for("TerminateSession", |e| e["api"] == "TerminateSession");
    let start = standin
        .events()
        .into_iter()
        .find(|e| e["api"] == "StartSession")
        .unwrap();
    assert_eq!(
        start["body"]["DocumentName"],
        "AWS-StartPortForwardingSession"
    );
    assert_eq!(
        start["body"]["Parameters"]["portNumber"][0],
        http.port.to_string()
    );
    assert_eq!(start["body"]["Target"], INSTANCE);
    assert_eq!(start["signed"], true);
}

#[test]
fn a_flood_of_local_connections_is_refused_and_the_tunnel_keeps_working() {
    let (sandbox, standin) = setup(&[]);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("page"), b"still here\n").unwrap();
    let http = Http::start(&www);
    let forward = Forward::start(
        &sandbox,
        &standin,
        &format!("{INSTANCE}:{}", http.port),
        &[],
    );
    // One idle connection holds the tunnel; 200 more queue up behind it or are closed.
    let idle = TcpStream::connect(("127.0.0.1", forward.port)).unwrap();
    let flood: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", forward.port)).ok())
        .collect();
    // Connections are accepted in order: past the queue's bound, each is closed at once.
    assert_eq!(flood.len(), 200);
    for (i, conn) in flood.iter().enumerate().skip(64) {
        conn.set_read_timeout(Some(LIMIT)).unwrap();
        assert!(
            matches!((&*conn).read(&mut [0u8; 1]), Ok(0)),
            "connection {i} of the flood was not closed"
        );
    }
    drop(flood);
    drop(idle);
    let got = sandbox.dir.path().join("got");
    assert!(curl(forward.port, "page", &got).wait().unwrap().success());
    assert_eq!(std::fs::read(&got).unwrap(), b"still here\n");
    assert_eq!(forward.stop(), Some(0));
}

/// An agent new enough to multiplex port forwarding (smux), as most are.
const MUX_AGENT: &str = "3.3.40.0";

#[test]
fn forward_to_a_multiplexing_agent_serves_connections_at_the_same_time() {
    let (sandbox, standin) = setup(&["--agent-version", MUX_AGENT]);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let big = data(20 << 20, 5);
    std::fs::write(www.join("big"), &big).unwrap();
    std::fs::write(www.join("small"), b"small file\n").unwrap();
    let http = Http::start(&www);
    let forward = Forward::start(
        &sandbox,
        &standin,
        &format!("{INSTANCE}:{}", http.port),
        &[],
    );
    // An idle connection stays open: one at a time, nothing else would get through.
    let idle = TcpStream::connect(("127.0.0.1", forward.port)).unwrap();
    let got_big = sandbox.dir.path().join("got-big");
    let got_small = sandbox.dir.path().join("got-small");
    let mut a = curl(forward.port, "big", &got_big);
    let mut b = curl(forward.port, "small", &got_small);
    assert!(b.wait().unwrap().success());
    assert!(a.wait().unwrap().success());
    assert_eq!(std::fs::read(&got_small).unwrap(), b"small file\n");
    assert_eq!(sha256_file(&got_big), hex(&Sha256::digest(&big)));
    drop(idle);
    assert_eq!(forward.stop(), Some(0));
    let events = standin.events();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "mode" && e["mux"] == true),
        "{events:?}"
    );
    let most_open = events
        .iter()
        .filter(|e| e["event"] == "stream_open")
        .filter_map(|e| e["open"].as_u64())
        .max();
    assert!(
        most_open >= Some(2),
        "streams were never open together: {events:?}"
    );
    // Newer agents end idle sessions themselves: no keepalives for them.
    assert!(!events.iter().any(|e| e["event"] == "smux_nop"));
}

#[test]
fn a_multiplexed_forward_survives_loss_reordering_and_a_dropped_socket() {
    let standin = transfer_both_ways(&[
        "--agent-version",
        MUX_AGENT,
        "--drop",
        "0.03",
        "--reorder",
        "0.05",
        "--lose-incoming",
        "0.03",
        "--drop-socket-after",
        "500",
    ]);
    let events = standin.events();
    assert!(events
        .iter()
        .any(|e| e["event"] == "mode" && e["mux"] == true));
    assert!(events.iter().any(|e| e["api"] == "ResumeSession"));
}

#[test]
fn older_multiplexing_agents_get_keepalives() {
    let (sandbox, standin) = setup(&["--agent-version", "3.1.1000.0"]);
    let port = digest_server(4);
    let forward = Forward::start(&sandbox, &standin, &format!("{INSTANCE}:{port}"), &[]);
    standin.wait_for("a keepalive", |e| e["event"] == "smux_nop");
    assert_eq!(
        upload_through(forward.port, b"ping"),
        hex(&Sha256::digest(b"ping"))
    );
    assert_eq!(forward.stop(), Some(0));
}

/// A TCP server that reads `len` bytes and answers with their SHA-256 in hex: checks what
/// arrives through the tunnel in the client-to-instance direction.
fn digest_server(len: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = vec![0u8; len];
            if conn.read_exact(&mut buf).is_ok() {
                let _ = conn.write_all(hex(&Sha256::digest(&buf)).as_bytes());
            }
        }
    });
    port
}

fn upload_through(port: u16, payload: &[u8]) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    conn.write_all(payload).unwrap();
    let mut answer = vec![0u8; 64];
    conn.read_exact(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

#[test]
fn forward_keeps_what_a_target_sends_before_anyone_connects_locally() {
    let (sandbox, standin) = setup(&[]);
    // More than is held in memory, so the data channel must also stop being read.
    let greeting = data(3 << 20, 17);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = greeting.clone();
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let _ = conn.write_all(&sent);
            let _ = conn.read(&mut [0u8; 1]);
        }
    });
    let forward = Forward::start(&sandbox, &standin, &format!("{INSTANCE}:{port}"), &[]);
    standin.wait_for("the agent's connection to the target", |e| {
        e["event"] == "connected"
    });
    let mut conn = TcpStream::connect(("127.0.0.1", forward.port)).unwrap();
    conn.set_read_timeout(Some(LIMIT)).unwrap();
    let mut got = vec![0u8; greeting.len()];
    conn.read_exact(&mut got).unwrap();
    assert!(got == greeting, "the greeting arrived changed");
    assert_eq!(forward.stop(), Some(0));
}

fn transfer_both_ways(standin_args: &[&str]) -> Standin {
    let (sandbox, standin) = setup(standin_args);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let down = data(2 << 20, 11);
    std::fs::write(www.join("down"), &down).unwrap();
    let http = Http::start(&www);
    let forward = Forward::start(
        &sandbox,
        &standin,
        &format!("{INSTANCE}:{}", http.port),
        &[],
    );
    let got = sandbox.dir.path().join("got");
    assert!(curl(forward.port, "down", &got).wait().unwrap().success());
    assert_eq!(sha256_file(&got), hex(&Sha256::digest(&down)));
    assert_eq!(forward.stop(), Some(0));

    let up = data(1 << 20, 13);
    let port = digest_server(up.len());
    let forward = Forward::start(&sandbox, &standin, &format!("{INSTANCE}:{port}"), &[]);
    assert_eq!(upload_through(forward.port, &up), hex(&Sha256::digest(&up)));
    assert_eq!(forward.stop(), Some(0));
    assert!(
        !standin.has(|e| e["event"] == "bad_frame"),
        "{:?}",
        standin.events()
    );
    standin
}

#[test]
fn verbose_logs_of_a_resumed_session_hold_no_secret() {
    let (sandbox, standin) = setup(&["--drop-socket-after", "100"]);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("f"), data(1 << 20, 3)).unwrap();
    let http = Http::start(&www);
    let mut child = runas(&sandbox, &standin)
        .args([
            "-v",
            "ssm",
            "forward",
            "dev",
            &format!("{INSTANCE}:{}", http.port),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let port: u16 = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ended early: {log}"
        );
        log.push_str(&line);
        if let Some(rest) = line.strip_prefix("Port ") {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
    };
    let got = sandbox.dir.path().join("got");
    assert!(curl(port, "f", &got).wait().unwrap().success());
    unsafe_kill(child.id(), "TERM");
    stderr.read_to_string(&mut log).unwrap();
    child.wait().unwrap();
    assert!(log.contains("resuming the session"), "{log}");
    let events = standin.events();
    let tokens: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "token")
        .map(|e| e["token"].as_str().unwrap())
        .collect();
    assert!(tokens.len() >= 2, "a start and a resume: {events:?}");
    for secret in tokens.iter().copied().chain(["alice/secret+key"]) {
        assert!(!log.contains(secret), "a secret in the -v log: {log}");
    }
}

#[test]
fn lost_duplicated_reordered_and_corrupted_messages_still_arrive_intact_and_in_order() {
    let standin = transfer_both_ways(&[
        "--drop",
        "0.03",
        "--dup",
        "0.03",
        "--reorder",
        "0.05",
        "--corrupt",
        "0.02",
        "--lose-incoming",
        "0.03",
        "--drop-acks",
    ]);
    let events = standin.events();
    let count =
        |pred: &dyn Fn(&serde_json::Value) -> bool| events.iter().filter(|e| pred(e)).count();
    for kind in ["drop", "dup", "reorder", "corrupt", "lose_incoming"] {
        assert!(
            count(&|e| e["event"] == "fault" && e["kind"] == kind) > 10,
            "few {kind} faults"
        );
    }
    // Lost acknowledgements made our client resend, and the stand-in saw the copies.
    assert!(
        count(&|e| e["event"] == "duplicate") > 0,
        "no resend from the client"
    );
}

#[test]
fn a_dropped_socket_is_resumed_and_paused_publication_honoured() {
    let standin = transfer_both_ways(&["--drop-socket-after", "300", "--pause-after", "50"]);
    let events = standin.events();
    let drops = events
        .iter()
        .filter(|e| e["event"] == "socket_dropped")
        .count();
    let resumes = events
        .iter()
        .filter(|e| e["api"] == "ResumeSession")
        .count();
    assert!(drops >= 1 && resumes >= drops, "{events:?}");
    assert!(events.iter().any(|e| e["event"] == "paused"));
    // Each redial presented a token: the stand-in rejects stale ones.
    assert!(!events.iter().any(|e| e["event"] == "bad_token"));
}

// --- ssh --------------------------------------------------------------------------------

struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd(dir: &Path) -> (Sshd, PathBuf) {
    let authorized = dir.join("authorized_keys");
    sshd_with(
        dir,
        &[format!("AuthorizedKeysFile={}", authorized.display())],
    )
}

/// A throwaway sshd on loopback with `auth` options; also writes a user key whose public half
/// is in `DIR/authorized_keys`.
fn sshd_with(dir: &Path, auth: &[String]) -> (Sshd, PathBuf) {
    let keygen = |path: &Path| {
        assert!(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(path)
            .status()
            .expect("ssh-keygen (tests/setup installs openssh)")
            .success());
    };
    let host_key = dir.join("host_key");
    let user_key = dir.join("user_key");
    keygen(&host_key);
    keygen(&user_key);
    let authorized = dir.join("authorized_keys");
    std::fs::copy(dir.join("user_key.pub"), &authorized).unwrap();
    // sshd refuses to run without its privilege-separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    let (child, port) = start_on_free_port("sshd", |port| {
        let mut c = Command::new("/usr/sbin/sshd");
        c.args(["-D", "-e", "-f", "/dev/null", "-p", &port.to_string(), "-h"])
            .arg(&host_key)
            .args([
                "-o",
                "ListenAddress=127.0.0.1",
                "-o",
                "UsePAM=no",
                "-o",
                "StrictModes=no",
            ])
            .args(["-o", "PidFile=none", "-o", "PasswordAuthentication=no"]);
        for option in auth {
            c.arg("-o").arg(option);
        }
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    });
    (Sshd { child, port }, user_key)
}

#[test]
fn ssh_through_proxy_command_runs_a_command() {
    let (sandbox, standin) = setup(&[]);
    let (sshd, key) = sshd(sandbox.dir.path());
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let proxy = runas_line(&sandbox, &standin, "ssm ssh dev %r@%h:%p");
    let out = run(
        Command::new("ssh")
            .args(["-F", "/dev/null", "-i"])
            .arg(&key)
            .args([
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"])
            .arg("-o")
            .arg(format!("ProxyCommand={proxy}"))
            .args(["-p", &sshd.port.to_string()])
            .arg(format!("{}@{INSTANCE}", user.trim()))
            .arg("echo over-ssm-$((40+2)); exit 7")
            .stdin(Stdio::null()),
        LIMIT,
    );
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "over-ssm-42");
    let start = standin
        .events()
        .into_iter()
        .find(|e| e["api"] == "StartSession")
        .unwrap();
    assert_eq!(start["body"]["DocumentName"], "AWS-StartSSHSession");
    assert_eq!(
        start["body"]["Parameters"]["portNumber"][0],
        sshd.port.to_string()
    );
    standin.wait_for("TerminateSession", |e| e["api"] == "TerminateSession");
}

fn keygen(kind: &str, path: &Path) {
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success());
}

#[test]
fn ec2ic_pushes_the_key_ssh_then_logs_in_with() {
    let (sandbox, standin) = setup(&[]);
    sandbox.moto.start_recording();
    // The instance's sshd knows only the keys pushed through EC2 Instance Connect (moto's
    // record of SendSSHPublicKey for this instance and login), as a real instance does.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/ec2ic_keys.py");
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();
    let (sshd, _) = sshd_with(
        sandbox.dir.path(),
        &[
            "AuthorizedKeysFile=none".into(),
            format!(
                "AuthorizedKeysCommand=/usr/bin/python3 {} {} {INSTANCE} %u",
                script.display(),
                sandbox.moto.url()
            ),
            format!("AuthorizedKeysCommandUser={user}"),
        ],
    );
    // The keys are where ssh looks by default, in the sandbox's HOME: an ECDSA key first
    // (Instance Connect does not take it), then an Ed25519 key without its .pub.
    let ssh_dir = sandbox.home().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    keygen("ecdsa", &ssh_dir.join("id_ecdsa"));
    let key = ssh_dir.join("id_ed25519");
    keygen("ed25519", &key);
    let public = std::fs::read_to_string(ssh_dir.join("id_ed25519.pub")).unwrap();
    std::fs::remove_file(ssh_dir.join("id_ed25519.pub")).unwrap();

    let ssh = |proxy: &str| {
        run(
            Command::new("ssh")
                .args(["-F", "/dev/null", "-i"])
                .arg(&key)
                .args([
                    "-o",
                    "StrictHostKeyChecking=no",
                    "-o",
                    "UserKnownHostsFile=/dev/null",
                ])
                .args(["-o", "BatchMode=yes", "-o", "LogLevel=ERROR"])
                .arg("-o")
                .arg(format!("ProxyCommand={proxy}"))
                .args(["-p", &sshd.port.to_string()])
                .arg(format!("{user}@{INSTANCE}"))
                .arg("echo pushed-$((40+2))")
                .stdin(Stdio::null()),
            LIMIT,
        )
    };
    // Without --ec2ic the instance knows no key: the login is refused.
    let out = ssh(&runas_line(&sandbox, &standin, "ssm ssh dev %r@%h:%p"));
    assert_eq!(out.code, Some(255), "{}", out.stderr);
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);

    let out = ssh(&runas_line(
        &sandbox,
        &standin,
        "ssm ssh --ec2ic dev %r@%h:%p",
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "pushed-42");
    let pushed = sandbox.moto.json_requests("SendSSHPublicKey");
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0]["InstanceId"], INSTANCE);
    assert_eq!(pushed[0]["InstanceOSUser"], user.as_str());
    let sent = pushed[0]["SSHPublicKey"].as_str().unwrap();
    assert_eq!(
        sent.split_whitespace().take(2).collect::<Vec<_>>(),
        public.split_whitespace().take(2).collect::<Vec<_>>()
    );
}

#[test]
fn ec2ic_refused_by_the_service_is_one_line_and_no_session() {
    let (sandbox, standin) = setup(&[]);
    let ssh_dir = sandbox.home().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    keygen("ed25519", &ssh_dir.join("id_ed25519"));
    // An endpoint that answers SendSSHPublicKey with an error (the stand-in's SSM API).
    let err = run(
        runas(&sandbox, &standin)
            .env("AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT", standin.url())
            .args([
                "ssm",
                "ssh",
                "--ec2ic",
                "dev",
                &format!("ubuntu@{INSTANCE}"),
            ]),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains(&format!(
            "EC2 Instance Connect did not take the SSH key for ubuntu@{INSTANCE}"
        )),
        "{err}"
    );
    assert!(err.contains("UnknownOperationException"), "{err}");
    assert!(!standin.has(|e| e["api"] == "StartSession"));
}

#[test]
fn ec2ic_without_a_usable_key_fails_before_any_aws_call() {
    let (sandbox, standin) = setup(&[]);
    sandbox.moto.start_recording();
    let ssh_dir = sandbox.home().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    keygen("ecdsa", &ssh_dir.join("id_ecdsa"));
    let err = run(
        runas(&sandbox, &standin).args(["ssm", "ssh", "--ec2ic", "dev", INSTANCE]),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("--ec2ic found no RSA or Ed25519 public key"),
        "{err}"
    );
    assert!(err.contains("id_ecdsa"), "{err}");
    assert!(
        sandbox.moto.recorded().is_empty(),
        "no AWS call without a key"
    );
    assert!(!standin.has(|e| e["api"] == "StartSession"));
}

// --- targets ----------------------------------------------------------------------------

/// Runs instances in moto through boto3; returns (id, private ip) per tag value.
fn run_instances(sandbox: &Sandbox, names: &[&str]) -> Vec<(String, String)> {
    let script = r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name="eu-west-1", endpoint_url=sys.argv[1],
                   aws_access_key_id="x", aws_secret_access_key="y")
image = ec2.describe_images()["Images"][0]["ImageId"]
out = []
for name in sys.argv[2:]:
    r = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    i = r["Instances"][0]
    out.append([i["InstanceId"], i["PrivateIpAddress"]])
print(json.dumps(out))
"#;
    let out = run(
        Command::new(python())
            .args(["-c", script, &sandbox.moto.url()])
            .args(names),
        LIMIT,
    )
    .ok();
    serde_json::from_str(&out.stdout).unwrap()
}

fn started_target(standin: &Standin) -> String {
    standin
        .events()
        .into_iter()
        .rev()
        .find(|e| e["api"] == "StartSession")
        .map(|e| e["body"]["Target"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn shell_exit(sandbox: &Sandbox, standin: &Standin, target: &str) -> Output {
    shell_exit_with(runas(sandbox, standin), target)
}

fn shell_exit_with(mut cmd: Command, target: &str) -> Output {
    cmd.args(["ssm", "shell", "dev", target])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // A target that is not found ends aws-runas before it reads this.
    let _ = child.stdin.take().unwrap().write_all(b"exit 0\n");
    wait_output(child)
}

#[test]
fn targets_resolve_by_tag_and_address_through_ec2() {
    let (sandbox, standin) = setup(&[]);
    let instances = run_instances(&sandbox, &["db", "web", "web"]);
    let (db, db_ip) = &instances[0];

    shell_exit(&sandbox, &standin, "Name:db").ok();
    assert_eq!(&started_target(&standin), db);

    shell_exit(&sandbox, &standin, db_ip).ok();
    assert_eq!(&started_target(&standin), db);

    let out = shell_exit(&sandbox, &standin, "Name:web").ok();
    assert!(out.stderr.contains("2 instances match"), "{}", out.stderr);
    assert!([&instances[1].0, &instances[2].0].contains(&&started_target(&standin)));

    let starts = standin
        .events()
        .iter()
        .filter(|e| e["api"] == "StartSession")
        .count();
    let err = shell_exit(&sandbox, &standin, "Name:nothing").one_line_error();
    assert!(
        err.contains("no instance found for target \"Name:nothing\""),
        "{err}"
    );
    assert!(err.contains("Name=nothing"), "{err}");
    // A DNS name is looked up, and its address matched against the instances'.
    let err = shell_exit(&sandbox, &standin, "localhost").one_line_error();
    assert!(
        err.contains("no running instance has the address of localhost"),
        "{err}"
    );
    let after = standin
        .events()
        .iter()
        .filter(|e| e["api"] == "StartSession")
        .count();
    assert_eq!(starts, after, "no session for a target that does not exist");
}

/// The DNS stand-in (tests/standins/dns_server.py) serving `zone` on 127.0.0.1:53: port 53,
/// since a resolv.conf cannot name another. Another run holding the port is waited for.
struct Dns {
    child: Child,
    log: PathBuf,
    resolv_conf: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dns {
    fn start(zone: serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let zone_file = dir.path().join("zone.json");
        std::fs::write(&zone_file, zone.to_string()).unwrap();
        let resolv_conf = dir.path().join("resolv.conf");
        std::fs::write(&resolv_conf, "nameserver 127.0.0.1\n").unwrap();
        let log = dir.path().join("queries.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standins/dns_server.py");
        let deadline = Instant::now() + LIMIT;
        loop {
            let mut child = Command::new(python())
                .arg(&script)
                .arg("--zone")
                .arg(&zone_file)
                .arg("--log")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("python3 with dnslib (tests/setup installs it)");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            if line.trim() == "ready" {
                return Dns {
                    child,
                    log,
                    resolv_conf,
                    _dir: dir,
                };
            }
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "cannot serve DNS on 127.0.0.1:53 (it needs root, as CI has): {err}"
            );
            // Busy: another test run's DNS stand-in; it ends within its test.
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// aws-runas in a private mount namespace whose /etc/resolv.conf names this server: the
    /// product reads the system's resolver configuration, so that is what the test changes.
    fn runas(&self, sandbox: &Sandbox, standin: &Standin) -> Command {
        let mut cmd = sandbox.command("unshare");
        cmd.args(["--user", "--map-root-user", "--mount", "--", "sh", "-c"])
            .arg(r#"mount --bind "$0" /etc/resolv.conf && exec "$@""#)
            .arg(&self.resolv_conf)
            .arg(runas_bin())
            .env("AWS_ENDPOINT_URL_SSM", standin.url());
        cmd
    }

    fn asked(&self, name: &str, kind: &str) -> bool {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(json)
            .any(|q| q["name"] == name && q["type"] == kind)
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dns_txt_records_name_instances_after_addresses() {
    let (sandbox, standin) = setup(&[]);
    let instances = run_instances(&sandbox, &["db"]);
    let (db, db_ip) = &instances[0];
    let dns = Dns::start(serde_json::json!({
        // An id split over two character-strings is still one TXT value.
        "web.runas.test": {"TXT": [["v=spf1 -all"], ["i-0abc", "0123456789"]]},
        // An address that is an instance's wins over TXT, as in v3.
        "db.runas.test": {"A": [db_ip], "TXT": [["i-0fffffffffffffff0"]]},
        "empty.runas.test": {"A": ["192.0.2.1"]},
        "noid.runas.test": {"TXT": [["hello"], ["id=i-0abc0123456789"]]},
    }));
    let shell = |target: &str| shell_exit_with(dns.runas(&sandbox, &standin), target);

    shell("web.runas.test").ok();
    assert_eq!(started_target(&standin), "i-0abc0123456789");
    assert!(dns.asked("web.runas.test", "TXT"));

    shell("db.runas.test").ok();
    assert_eq!(&started_target(&standin), db);
    assert!(!dns.asked("db.runas.test", "TXT"));

    let starts = standin
        .events()
        .iter()
        .filter(|e| e["api"] == "StartSession")
        .count();
    for (name, why) in [
        (
            "gone.runas.test",
            "gone.runas.test does not exist in DNS (NXDOMAIN)",
        ),
        ("empty.runas.test", "empty.runas.test has no DNS TXT record"),
        (
            "noid.runas.test",
            "the DNS TXT records of noid.runas.test hold no instance id",
        ),
    ] {
        let err = shell(name).one_line_error();
        assert!(err.contains(why), "{err}");
        assert!(
            err.contains(&format!("no instance found for target {name:?}")),
            "{err}"
        );
    }
    let after = standin
        .events()
        .iter()
        .filter(|e| e["api"] == "StartSession")
        .count();
    assert_eq!(starts, after, "no session for a target that does not exist");
}

// --- errors -----------------------------------------------------------------------------

fn one_line_failure(standin_args: &[&str], args: &[&str]) -> String {
    let (sandbox, standin) = setup(standin_args);
    run(runas(&sandbox, &standin).args(args), LIMIT).one_line_error()
}

#[test]
fn a_role_without_start_session_gets_a_clear_error() {
    let err = one_line_failure(&["--deny"], &["ssm", "shell", "dev", INSTANCE]);
    assert!(
        err.contains("needs ssm:StartSession") && err.contains("AccessDeniedException"),
        "{err}"
    );
}

#[test]
fn an_instance_without_an_agent_gets_a_clear_error() {
    let err = one_line_failure(
        &["--offline", INSTANCE],
        &["ssm", "fwd", "dev", &format!("{INSTANCE}:80")],
    );
    assert!(
        err.contains("not connected to Session Manager") && err.contains("SSM agent"),
        "{err}"
    );
}

#[test]
fn a_local_port_in_use_fails_before_any_session() {
    let (sandbox, standin) = setup(&[]);
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let err = run(
        runas(&sandbox, &standin).args([
            "ssm",
            "forward",
            "dev",
            &format!("{INSTANCE}:80"),
            "-p",
            &port,
        ]),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains(&format!("cannot listen on local port {port}")),
        "{err}"
    );
    assert!(!standin.has(|e| e["api"] == "StartSession"));
}

#[test]
fn kms_encrypted_sessions_are_declined_with_a_pointer_to_the_plugin() {
    let err = one_line_failure(&["--kms"], &["ssm", "ssh", "dev", INSTANCE]);
    assert!(err.contains("KMS") && err.contains("-P"), "{err}");
}

#[test]
fn bad_target_specs_fail_before_any_credential_is_fetched() {
    let (sandbox, standin) = setup(&[]);
    moto_recording(&sandbox);
    for args in [
        vec!["ssm", "forward", "dev", "i-0123456789abcdef0"],
        vec!["ssm", "forward", "dev", "i-0123456789abcdef0:70000"],
        vec!["ssm", "ssh", "dev", "user@:22"],
    ] {
        let err = run(runas(&sandbox, &standin).args(&args), LIMIT).one_line_error();
        assert!(err.starts_with("aws-runas: "), "{err}");
    }
    assert!(
        sandbox.moto.recorded().is_empty(),
        "no AWS call for bad input"
    );
}

fn moto_recording(sandbox: &Sandbox) {
    sandbox.moto.start_recording();
}

// --- -P ---------------------------------------------------------------------------------

#[test]
fn ctrl_c_goes_to_the_plugin_and_aws_runas_waits_for_it() {
    use std::os::unix::process::CommandExt;
    let (sandbox, standin) = setup(&[]);
    let bin = sandbox.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let ready = sandbox.dir.path().join("ready");
    // A plugin that, like AWS's, handles SIGINT itself: it ends its session and exits 7.
    let fake = format!(
        "#!{}\nimport signal, sys, time\nsignal.signal(signal.SIGINT, lambda *_: sys.exit(7))\nopen({:?}, 'w').close()\ntime.sleep(60)\nsys.exit(1)\n",
        python(),
        ready.display().to_string()
    );
    let plugin = bin.join("session-manager-plugin");
    std::fs::write(&plugin, fake).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut child = runas(&sandbox, &standin)
        .env("PATH", &path)
        .args(["ssm", "forward", "-P", "dev", &format!("{INSTANCE}:80")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, as a terminal's foreground job.
        .process_group(0)
        .spawn()
        .unwrap();
    wait_until("the plugin to start", || ready.exists());
    // The terminal's Ctrl-C: SIGINT to the whole group.
    unsafe_kill_group(child.id(), "INT");
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "aws-runas did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(7),
        "aws-runas must report the plugin's own exit"
    );
}

fn unsafe_kill_group(pgid: u32, signal: &str) {
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .status()
        .unwrap()
        .success());
}

#[test]
fn plugin_flag_hands_the_session_to_session_manager_plugin() {
    let (sandbox, standin) = setup(&[]);
    let bin = sandbox.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let record = sandbox.dir.path().join("plugin.json");
    let fake = format!(
        "#!{}\nimport json, os, sys\njson.dump({{'argv': sys.argv[1:], 'env': dict(os.environ)}}, open({:?}, 'w'))\nsys.exit(5)\n",
        python(),
        record.display().to_string()
    );
    let plugin = bin.join("session-manager-plugin");
    std::fs::write(&plugin, fake).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&plugin).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = run(
        runas(&sandbox, &standin).env("PATH", &path).args([
            "ssm",
            "forward",
            "-P",
            "dev",
            &format!("{INSTANCE}:8080"),
            "-p",
            "9999",
        ]),
        LIMIT,
    );
    assert_eq!(out.code, Some(5), "the plugin's status: {}", out.stderr);
    let seen = json(&std::fs::read_to_string(&record).unwrap());
    let argv: Vec<&str> = seen["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(argv[0], "AWS_SSM_START_SESSION_RESPONSE");
    assert_eq!(argv[1], "eu-west-1");
    assert_eq!(argv[2], "StartSession");
    assert_eq!(argv[3], "");
    let params = json(argv[4]);
    assert_eq!(params["Target"], INSTANCE);
    assert_eq!(params["DocumentName"], "AWS-StartPortForwardingSession");
    assert_eq!(params["Parameters"]["portNumber"][0], "8080");
    assert_eq!(params["Parameters"]["localPortNumber"][0], "9999");
    assert_eq!(argv[5], standin.url());
    let env = &seen["env"];
    let response = json(env["AWS_SSM_START_SESSION_RESPONSE"].as_str().unwrap());
    let token = response["TokenValue"].as_str().unwrap();
    assert!(response["SessionId"]
        .as_str()
        .unwrap()
        .starts_with("runas-"));
    assert!(response["StreamUrl"]
        .as_str()
        .unwrap()
        .starts_with("ws://127.0.0.1:"));
    // Secrets travel in the environment, never in argv.
    let secret = env["AWS_SECRET_ACCESS_KEY"].as_str().unwrap();
    assert!(env["AWS_SESSION_TOKEN"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert!(argv
        .iter()
        .all(|a| !a.contains(token) && !a.contains(secret)));
    assert_eq!(env["AWS_REGION"], "eu-west-1");

    // Without the plugin installed: a clear error, and no session is started for nothing.
    let starts = standin
        .events()
        .iter()
        .filter(|e| e["api"] == "StartSession")
        .count();
    let err = run(
        runas(&sandbox, &standin)
            .env("PATH", "/nonexistent")
            .args(["ssm", "shell", "-P", "dev", INSTANCE]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("session-manager-plugin"), "{err}");
    assert_eq!(
        standin
            .events()
            .iter()
            .filter(|e| e["api"] == "StartSession")
            .count(),
        starts
    );
}

/// A forward whose session service went away still stops at once when told to: it does not
/// keep redialing (or retrying the API) for the user who asked it to end.
#[test]
fn a_forward_stops_promptly_after_its_service_is_gone() {
    let (sandbox, mut standin) = setup(&[]);
    let www = sandbox.dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("small"), b"small file\n").unwrap();
    let http = Http::start(&www);
    let forward = Forward::start(
        &sandbox,
        &standin,
        &format!("{INSTANCE}:{}", http.port),
        &[],
    );
    let got = sandbox.dir.path().join("got");
    assert!(curl(forward.port, "small", &got).wait().unwrap().success());
    standin.child.kill().unwrap();
    standin.child.wait().unwrap();
    let asked = Instant::now();
    assert_eq!(forward.stop(), Some(0), "a stop asked for is a success");
    let took = asked.elapsed();
    // A hang guard, not a benchmark: redialing and the API's retries take far longer.
    assert!(took < Duration::from_secs(8), "took {took:?} to stop");
}

// --- a misbehaving agent ----------------------------------------------------------------

/// How long a stop may take before a test calls it a hang: generous, as the machine may be
/// busy; the time it did take is printed.
const STOP_GUARD: Duration = Duration::from_secs(10);

impl Standin {
    /// Waits (bounded) until `pred` holds for `n` events.
    #[track_caller]
    fn wait_for_count(&self, what: &str, n: usize, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while self.events().iter().filter(|e| pred(e)).count() < n {
            assert!(Instant::now() < deadline, "no {what}: {:?}", self.events());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// When each ResumeSession call came, in seconds after the StartSession.
    fn resume_times(&self) -> Vec<f64> {
        let events = self.events();
        let t = |e: &serde_json::Value| e["t"].as_f64().unwrap();
        let start = events.iter().find(|e| e["api"] == "StartSession").map(t);
        events
            .iter()
            .filter(|e| e["api"] == "ResumeSession")
            .map(|e| t(e) - start.expect("a StartSession before any ResumeSession"))
            .collect()
    }
}

/// Sends `signal` to `child` and waits for it to exit within STOP_GUARD (else kills it and
/// fails): its status and how long it took.
#[track_caller]
fn stop_within_guard(child: &mut Child, signal: &str) -> (Option<i32>, Duration) {
    let asked = Instant::now();
    unsafe_kill(child.id(), signal);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), asked.elapsed());
        }
        if asked.elapsed() > STOP_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {STOP_GUARD:?} after SIG{signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A local client that writes to `port` as fast as it is taken, until the connection ends
/// (or a write has waited LIMIT).
fn push_until_closed(port: u16) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_write_timeout(Some(LIMIT)).unwrap();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        while conn.write_all(&chunk).is_ok() {}
    });
}

/// Our writes wait on an agent that stopped reading (the stand-in sees its unread buffer
/// stop growing while our side still has data and retransmissions to send): SIGTERM and
/// SIGINT still end the forward at once, as a success.
#[test]
fn a_forward_whose_agent_stopped_reading_still_stops_on_term_and_int() {
    let (sandbox, standin) = setup(&["--misbehave", "stop-reading"]);
    // Never accepted: the agent passes nothing on once it stops reading.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = format!("{INSTANCE}:{}", target.local_addr().unwrap().port());
    for (i, signal) in ["TERM", "INT"].into_iter().enumerate() {
        let mut forward = Forward::start(&sandbox, &standin, &spec, &[]);
        push_until_closed(forward.port);
        standin.wait_for_count("our writes waiting on the agent", i + 1, |e| {
            e["event"] == "peer_stuck"
        });
        let (code, took) = stop_within_guard(&mut forward.child, signal);
        eprintln!("forward, agent not reading: exited {took:?} after SIG{signal}");
        assert_eq!(code, Some(0), "a stop asked for is a success");
    }
}

/// The process whose command line matches `pattern` (one only).
fn pid_of(pattern: &str) -> u32 {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .unwrap()
        .stdout;
    String::from_utf8(out).unwrap().trim().parse().unwrap()
}

/// An agent that floods a shell with output and never reads: our acknowledgements wait on
/// its socket. SIGTERM still ends the session within the guard and the terminal is restored.
#[test]
fn a_shell_flooded_by_an_agent_that_never_reads_stops_on_term_and_restores_the_terminal() {
    let (sandbox, standin) = setup(&["--misbehave", "flood"]);
    let dir = sandbox.dir.path();
    // A target of its own, to find this test's aws-runas among parallel tests'.
    let target = "i-000000000f100d5e";
    let line = runas_line(&sandbox, &standin, &format!("ssm shell dev {target}"));
    let tmux = common::tmux::Tmux::start(
        dir,
        &format!("{line}; echo \"status=$?\"; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo checked; sleep 60"),
    );
    standin.wait_for("our acknowledgements waiting on the agent", |e| {
        e["event"] == "peer_stuck"
    });
    let pid = pid_of(&format!("aws-runas ssm shell dev {target}"));
    let asked = Instant::now();
    unsafe_kill(pid, "TERM");
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            asked.elapsed() < STOP_GUARD,
            "still running {STOP_GUARD:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "shell, flooded by an agent not reading: exited {:?} after SIGTERM",
        asked.elapsed()
    );
    // The terminal's modes are printed after aws-runas has exited.
    let screen = tmux.wait_for("aws-runas to exit", Duration::from_secs(30), |s| {
        s.contains("checked")
    });
    assert!(
        screen.contains("icanon echo"),
        "terminal not restored: {screen}"
    );
    assert!(screen.contains("status=0"), "{screen}");
    standin.wait_for("TerminateSession", |e| e["api"] == "TerminateSession");
}

/// The same flood through `ssm ssh` (ssh's ProxyCommand), and through a shell whose input is
/// a pipe (where SIGINT is the remote's interrupt, until a write has waited a second for it):
/// SIGINT ends either within the guard.
#[test]
fn ssh_and_piped_shells_flooded_by_an_agent_that_never_reads_stop_on_int() {
    let (sandbox, standin) = setup(&["--misbehave", "flood"]);
    for (i, kind) in ["ssh", "shell"].into_iter().enumerate() {
        let mut child = runas(&sandbox, &standin)
            .args(["ssm", kind, "dev", INSTANCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Held open: ssh (or whoever pipes to the shell) has not finished.
        let _stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        standin.wait_for_count("our acknowledgements waiting on the agent", i + 1, |e| {
            e["event"] == "peer_stuck"
        });
        let (code, took) = stop_within_guard(&mut child, "INT");
        eprintln!("{kind}, flooded by an agent not reading: exited {took:?} after SIGINT");
        assert_eq!(code, Some(0), "a stop asked for is a success");
    }
}

/// A data channel that never carries data (`misbehave`: the agent closes it at once, or
/// sends a frame too large to take) is resumed with growing pauses, each attempt said on
/// stderr, then given up with one line and a failure once RUNAS_SSM_RESUME_LIMIT has passed.
fn resumes_back_off_then_give_up(misbehave: &str) {
    let (sandbox, standin) = setup(&["--misbehave", misbehave]);
    let out = run(
        runas(&sandbox, &standin)
            .env("RUNAS_SSM_RESUME_LIMIT", "12")
            .args(["ssm", "forward", "dev", &format!("{INSTANCE}:9")]),
        Duration::from_secs(40),
    );
    let resumes = standin.resume_times();
    eprintln!("{misbehave}: ResumeSession at {resumes:.2?} s after StartSession");
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(out.code.is_some(), "killed by a signal: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        (3..=10).contains(&resumes.len()),
        "{} resumes: {}",
        resumes.len(),
        out.stderr
    );
    let intervals: Vec<f64> = resumes.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        intervals.windows(2).all(|w| w[1] > w[0]),
        "the pauses between resumes do not grow: {resumes:.2?}"
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    let reconnecting = lines
        .iter()
        .filter(|l| l.contains("reconnecting in"))
        .count();
    assert_eq!(
        reconnecting,
        resumes.len(),
        "one line per attempt: {}",
        out.stderr
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("aws-runas: ") && last.contains("gave up"),
        "{}",
        out.stderr
    );
    for e in standin.events().iter().filter(|e| e["event"] == "token") {
        let token = e["token"].as_str().unwrap();
        assert!(
            !out.stderr.contains(token),
            "a token on stderr: {}",
            out.stderr
        );
    }
}

#[test]
fn a_channel_closed_after_every_handshake_is_resumed_with_back_off_then_given_up() {
    resumes_back_off_then_give_up("close");
}

#[test]
fn a_channel_that_always_sends_an_oversized_frame_is_resumed_with_back_off_then_given_up() {
    resumes_back_off_then_give_up("oversized");
}

#[test]
fn a_stream_url_where_no_websocket_answers_is_one_line_that_says_why_once() {
    let err = one_line_failure(
        &["--bad-stream-url"],
        &["ssm", "forward", "dev", &format!("{INSTANCE}:9")],
    );
    assert!(
        err.contains("cannot open the session's data channel"),
        "{err}"
    );
    assert_eq!(err.matches("Handshake not finished").count(), 1, "{err}");
}
