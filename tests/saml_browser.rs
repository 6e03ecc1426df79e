//! The SAML `browser` provider end to end: the built binary on a real terminal (tmux), a real
//! SimpleSAMLphp IdP whose second SP posts to aws-runas's loopback endpoint, headless Chromium
//! (Playwright) as the user's browser, moto's AssumeRoleWithSAML, and the real AWS CLI. Also the
//! endpoint under attack from other local processes, a wait nobody answers, and no terminal.

mod common;
#[path = "idp/ssp.rs"]
mod ssp;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{assert_assumed_role, eval_in_sh, json, run, runas_bin, Sandbox, LIMIT};
use ssp::Ssp;

const ADMIN: &str = "arn:aws:iam::123456789012:role/Admin";

struct Setup {
    ssp: Ssp,
    sandbox: Sandbox,
    port: u16,
}

/// SimpleSAMLphp with an SP for our endpoint on a port probed now, and a profile signing in there.
fn setup() -> Setup {
    let port = common::probe_port();
    let ssp = Ssp::start_with_browser_acs(&format!("http://127.0.0.1:{port}/saml/acs"));
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile idp]\nsaml_auth_url = {}\nsaml_provider = browser\nsaml_browser_port = {port}\n\
             region = us-east-1\n\n[profile admin]\nsource_profile = idp\nrole_arn = {ADMIN}\n",
            ssp.browser_url()
        ),
        "",
    );
    sandbox.moto.start_recording();
    Setup { ssp, sandbox, port }
}

/// Runs `n` copies of `aws-runas ARGS` at once on one terminal, each writing `out.I`, `err.I`
/// and `rc.I` in the sandbox, then `finished`.
fn on_terminal(s: &Sandbox, n: usize, args: &str, env: &[(&str, &str)]) -> Tmux {
    let dir = s.dir.path();
    let mut text = String::from("#!/bin/sh\n");
    let vars = s
        .env()
        .into_iter()
        .chain(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    for (k, v) in vars {
        text.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    // The test is the browser: nothing else is opened.
    text.push_str("export RUNAS_NO_BROWSER=1\n");
    text.push_str(&format!("cd '{}'\n", dir.display()));
    for i in 0..n {
        text.push_str(&format!(
            "( '{bin}' {args} >out.{i} 2>err.{i}; echo $? >rc.{i} ) &\n",
            bin = runas_bin().display()
        ));
    }
    text.push_str("wait\ntouch finished\nsleep 120\n");
    let path = dir.join("terminal.sh");
    std::fs::write(&path, text).unwrap();
    // A socket of its own for each terminal: a killed server's socket may linger a moment.
    static TERMINALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let own = dir.join(format!(
        "terminal{}",
        TERMINALS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir(&own).unwrap();
    Tmux::start(&own, &format!("sh '{}'", path.display()))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// Waits (bounded) for `what` to hold.
#[track_caller]
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The start link one of `n` callers printed, and which one printed it.
fn printed_link(dir: &Path, n: usize) -> (usize, String) {
    let found = || {
        (0..n).find_map(|i| {
            let err = read(dir, &format!("err.{i}"));
            let at = err.find("open http://")?;
            let link = err[at + 5..].split_whitespace().next()?.to_owned();
            Some((i, link))
        })
    };
    wait_until("the sign-in link", || found().is_some());
    found().unwrap()
}

fn reset_all(dir: &Path, n: usize) {
    std::fs::remove_file(dir.join("finished")).unwrap();
    for i in 0..n {
        for name in ["out", "err", "rc"] {
            std::fs::remove_file(dir.join(format!("{name}.{i}"))).unwrap();
        }
    }
}

/// Clears what the last terminal's caller left, for the next one.
fn reset(dir: &Path) {
    reset_all(dir, 1);
}

fn finished(dir: &Path) {
    wait_until("every caller to finish", || dir.join("finished").exists());
}

/// The user's browser: headless Chromium opens `link` and signs in at SimpleSAMLphp.
fn browser_signs_in(link: &str) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/saml_signin.py");
    let out = run(
        Command::new(common::venv_bin("python3")).args([script, link, "alice", "alice-password"]),
        Duration::from_secs(120),
    )
    .ok();
    json(&out.stdout)
}

/// The identity STS sees for the credentials in `exports` (through the real AWS CLI).
fn identity(sandbox: &Sandbox, exports: &str) -> String {
    let mut aws = sandbox.aws();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        aws.env(var, eval_in_sh(exports, var));
    }
    let out = run(
        aws.args(["sts", "get-caller-identity", "--region", "us-east-1"]),
        LIMIT,
    )
    .ok();
    json(&out.stdout)["Arn"].as_str().unwrap().to_owned()
}

/// A well-formed assertion for the profile's role from an IdP of someone else's.
fn intruders_assertion() -> String {
    use base64::Engine as _;
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion><saml:AttributeStatement><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>{ADMIN},arn:aws:iam::123456789012:saml-provider/Intruder</saml:AttributeValue></saml:Attribute><saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>intruder</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#
    );
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// One raw HTTP exchange with the endpoint; what came back (empty when the server hung up).
fn exchange(port: u16, head: &str, body: &[u8]) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let _ = write!(
        s,
        "{head} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn sixteen_callers_one_browser_sign_in_and_credentials_the_aws_cli_accepts() {
    let Setup { ssp, sandbox, port } = setup();
    let dir = sandbox.dir.path();
    let _terminal = on_terminal(&sandbox, 16, "admin", &[]);
    let (signer, link) = printed_link(dir, 16);
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/start?token=")),
        "{link}"
    );
    let page = browser_signs_in(&link);
    assert!(
        page["text"]
            .as_str()
            .unwrap()
            .contains("You can close this window"),
        "{page}"
    );
    assert_eq!(page["url"], format!("http://127.0.0.1:{port}/saml/acs"));
    finished(dir);
    let first = read(dir, "out.0");
    for i in 0..16 {
        assert_eq!(
            read(dir, &format!("rc.{i}")).trim(),
            "0",
            "{}",
            read(dir, &format!("err.{i}"))
        );
        assert_eq!(
            read(dir, &format!("out.{i}")),
            first,
            "the same credentials"
        );
        if i != signer {
            assert!(
                !read(dir, &format!("err.{i}")).contains("open http"),
                "only one caller signs in"
            );
        }
    }
    let arn = identity(&sandbox, &first);
    assert_assumed_role(&arn, "Admin");
    assert!(arn.ends_with("/alice@example.org"), "{arn}");
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    // The endpoint is gone with the wait.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn other_local_processes_cannot_inject_or_stall_and_the_real_sign_in_completes() {
    let Setup { ssp, sandbox, port } = setup();
    let dir = sandbox.dir.path();
    let _terminal = on_terminal(&sandbox, 1, "admin", &[]);
    let (_, link) = printed_link(dir, 1);

    // 64 connections that send half a request head, or a head and a trickle of its body, and
    // then nothing.
    let idle: Vec<TcpStream> = (0..64)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let sent: &[u8] = if i % 2 == 0 {
                b"POST /saml/acs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            } else {
                b"POST /saml/acs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nSAMLResp"
            };
            s.write_all(sent).unwrap();
            s
        })
        .collect();
    // An assertion of the intruder's own (moto would take it: it checks no signature), without
    // this sign-in's RelayState.
    let forged = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &intruders_assertion())
        .append_pair("RelayState", "guess")
        .finish();
    let refused = [
        (exchange(port, "POST /saml/acs", forged.as_bytes()), "403"),
        (exchange(port, "GET /saml/acs", b""), "405"),
        (exchange(port, "POST /elsewhere", forged.as_bytes()), "404"),
        (exchange(port, "GET /start?token=guess", b""), "403"),
    ];
    for (reply, status) in &refused {
        assert!(reply.starts_with(&format!("HTTP/1.1 {status}")), "{reply}");
    }
    let huge = exchange(port, "POST /saml/acs", &vec![b'a'; 4 << 20]);
    assert!(
        huge.is_empty() || huge.starts_with("HTTP/1.1 413"),
        "a huge body is refused: {huge}"
    );

    // The person's browser still gets through.
    let page = browser_signs_in(&link);
    assert!(
        page["text"]
            .as_str()
            .unwrap()
            .contains("You can close this window"),
        "{page}"
    );
    finished(dir);
    let err = read(dir, "err.0");
    assert_eq!(read(dir, "rc.0").trim(), "0", "{err}");
    assert!(
        err.contains("refused a SAML response without this sign-in's RelayState"),
        "the person hears of the forged post: {err}"
    );
    let arn = identity(&sandbox, &read(dir, "out.0"));
    assert_assumed_role(&arn, "Admin");
    assert!(
        arn.ends_with("/alice@example.org"),
        "not the intruder's: {arn}"
    );
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    drop(idle);
}

#[test]
fn an_unusable_response_a_wait_nobody_answers_and_a_flood_end_in_one_line() {
    let Setup { sandbox, port, .. } = setup();
    let dir = sandbox.dir.path();
    let _terminal = on_terminal(&sandbox, 1, "-vv admin", &[]);
    let (_, link) = printed_link(dir, 1);
    // Whoever follows the start link gets the RelayState; garbage posted with it ends the wait.
    let start = url::Url::parse(&link).unwrap();
    let redirect = exchange(
        port,
        &format!("GET {}?{}", start.path(), start.query().unwrap()),
        b"",
    );
    assert!(redirect.starts_with("HTTP/1.1 303"), "{redirect}");
    let location = redirect
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("{redirect}"));
    let relay = url::Url::parse(location.trim())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let reply = exchange(
        port,
        "POST /saml/acs",
        format!("SAMLResponse=not-saml&RelayState={relay}").as_bytes(),
    );
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    finished(dir);
    assert_ne!(read(dir, "rc.0").trim(), "0");
    let err = read(dir, "err.0");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("the browser delivered an unusable SAML response: the identity provider's SAML response is not base64"),
        "{err}"
    );
    assert!(read(dir, "out.0").is_empty());
    assert!(
        !err.contains(&relay) && !err.contains("not-saml"),
        "-vv shows neither the RelayState nor the response: {err}"
    );
    assert_eq!(
        err.matches(start.query().unwrap()).count(),
        1,
        "the start token only where the person is told to open it: {err}"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
    drop(_terminal);

    // Nobody signs in: one line once the bound has passed.
    reset(dir);
    let _terminal = on_terminal(
        &sandbox,
        1,
        "admin",
        &[("RUNAS_SAML_BROWSER_TIMEOUT", "2s")],
    );
    finished(dir);
    assert_ne!(read(dir, "rc.0").trim(), "0");
    let err = read(dir, "err.0");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.ends_with("the sign-in was not completed in the browser within 2s"),
        "{err}"
    );
    assert!(last.starts_with("aws-runas: profile 'admin'"), "{err}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    drop(_terminal);

    // A flood of requests that are not the sign-in ends the wait, in one line.
    reset(dir);
    let _terminal = on_terminal(&sandbox, 1, "admin", &[]);
    printed_link(dir, 1);
    let mut refused = 0;
    // Until the endpoint stops listening.
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(refused < 1000, "the flood is not bounded");
        let reply = exchange(port, "GET /favicon.ico", b"");
        refused += usize::from(reply.starts_with("HTTP/1.1 404"));
    }
    finished(dir);
    assert_ne!(read(dir, "rc.0").trim(), "0");
    let err = read(dir, "err.0");
    assert!(
        err.trim_end().lines().last().unwrap().ends_with(&format!(
            "too many requests to 127.0.0.1:{port} that were not the sign-in: gave up waiting"
        )),
        "{err}"
    );
}

#[test]
fn without_a_terminal_it_fails_fast_without_listening() {
    let Setup { ssp, sandbox, port } = setup();
    // Holding the port: had aws-runas tried to listen, it would say the port is taken.
    let _held = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let err = run(
        sandbox
            .command("setsid")
            .args([runas_bin().to_str().unwrap(), "admin"])
            .stdin(std::process::Stdio::null()),
        LIMIT,
    )
    .one_line_error();
    assert_eq!(
        err,
        format!(
            "aws-runas: profile 'admin': signing in at http://127.0.0.1:{}/saml2/idp/SSOService.php \
             takes a browser and a terminal, and none can answer here: run `runas use admin` (or \
             aws-runas admin) in a terminal first",
            ssp.port
        )
    );
    // As credential_process, even where a terminal exists: the AWS CLI shows our one line.
    let bin = runas_bin();
    sandbox.write_config(&format!(
        "{}\n[profile viacli]\ncredential_process = {} -O json admin\nregion = us-east-1\n",
        std::fs::read_to_string(sandbox.config_file()).unwrap(),
        bin.display()
    ));
    let out = run(
        sandbox
            .aws()
            .args(["sts", "get-caller-identity", "--profile", "viacli"]),
        LIMIT,
    );
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("run `runas use admin`"),
        "{}",
        out.stderr
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
}

#[test]
fn runas_use_signs_in_through_the_browser_and_the_shell_gets_the_role() {
    let Setup { ssp, sandbox, port } = setup();
    let dir = sandbox.dir.path();
    let bin_dir = runas_bin().parent().unwrap().display().to_string();
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in sandbox.env() {
        let v = if k == "PATH" {
            format!("{bin_dir}:{v}")
        } else {
            v
        };
        script.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    script.push_str("export TERM=xterm-256color RUNAS_NO_BROWSER=1\n");
    std::fs::write(
        dir.join("bashrc"),
        "eval \"$(aws-runas init bash)\"\nPS1='[${RUNAS_PROMPT}] $ '\n",
    )
    .unwrap();
    script.push_str(&format!(
        "exec bash --noprofile --rcfile '{}/bashrc' -i\n",
        dir.display()
    ));
    std::fs::write(dir.join("start.sh"), &script).unwrap();
    let tmux = Tmux::start(dir, &format!("sh '{}/start.sh'", dir.display()));
    tmux.wait_for("the first prompt", LIMIT, |s| s.contains("[] $ "));
    tmux.type_line("runas use admin");
    let prefix = format!("open http://127.0.0.1:{port}/start?token=");
    let screen = tmux.wait_for("the sign-in link", LIMIT, |s| s.contains(&prefix));
    let at = screen.find(&prefix).unwrap() + "open ".len();
    let link = screen[at..].split_whitespace().next().unwrap();
    let page = browser_signs_in(link);
    assert!(
        page["text"]
            .as_str()
            .unwrap()
            .contains("You can close this window"),
        "{page}"
    );
    tmux.wait_for("the profile in the prompt", LIMIT, |s| {
        s.contains("[admin ")
    });
    tmux.type_line("echo ARN=$(aws sts get-caller-identity --query Arn --output text)");
    let screen = tmux.wait_for("the caller identity", LIMIT, |s| {
        s.lines().any(|l| l.starts_with("ARN=arn:"))
    });
    let arn = screen
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("ARN="))
        .unwrap();
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.org"
    );
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
}

#[test]
fn callers_queued_behind_a_failed_sign_in_fail_with_it_instead_of_each_waiting_again() {
    let Setup { sandbox, .. } = setup();
    let dir = sandbox.dir.path();
    let _terminal = on_terminal(
        &sandbox,
        4,
        "admin",
        &[("RUNAS_SAML_BROWSER_TIMEOUT", "2s")],
    );
    let (signer, _) = printed_link(dir, 4);
    finished(dir);
    for i in 0..4 {
        assert_ne!(read(dir, &format!("rc.{i}")).trim(), "0");
        let err = read(dir, &format!("err.{i}"));
        let last = err.trim_end().lines().last().unwrap().to_owned();
        if i == signer {
            assert!(last.ends_with("within 2s"), "{err}");
        } else {
            assert!(!err.contains("open http"), "a second link: {err}");
            assert_eq!(
                last,
                "aws-runas: profile 'admin': the browser sign-in this aws-runas was queued behind failed: run it again for a new one"
            );
        }
    }
    // A new run afterwards starts a new sign-in.
    reset_all(dir, 4);
    let _terminal = on_terminal(&sandbox, 1, "admin", &[]);
    printed_link(dir, 1);
}
