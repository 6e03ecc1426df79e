//! The local endpoints under attack from any local process: idle-connection floods past the
//! file limit, huge headers, thousands of connections, token floods, panicking requests, the
//! profile page asked for without its secret, and error bodies that could echo an MFA code.
//! Each against the built binary, with the real AWS CLI or boto3 as the client that must keep
//! working.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::served::*;
use common::tmux::Tmux;
use common::*;

const AWS_ARN: &[&str] = &[
    "sts",
    "get-caller-identity",
    "--query",
    "Arn",
    "--output",
    "text",
];

/// The identity the real AWS CLI gets with `endpoint_env` pointing it at an endpoint.
fn aws_arn(s: &Sandbox, endpoint_env: &[(&str, &str)]) -> String {
    let out = run(
        s.aws()
            .args(AWS_ARN)
            .envs(endpoint_env.iter().copied())
            .env("AWS_DEFAULT_REGION", "eu-west-1")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        LIMIT,
    )
    .ok();
    out.stdout.trim().to_owned()
}

fn ecs_env(served: &Served) -> [(&'static str, String); 2] {
    [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        ),
    ]
}

fn aws_arn_ecs(s: &Sandbox, served: &Served) -> String {
    let env = ecs_env(served);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    aws_arn(s, &env)
}

/// A field of /proc/PID/status, as a number (kB for memory).
fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// `host:port` of an endpoint URL.
fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

/// `count` connections that send nothing.
fn idle_connections(authority: &str, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|_| TcpStream::connect(authority).expect("connect"))
        .collect()
}

/// `serve` under a file limit of `files` (soft and hard), as a common system limit would be.
fn serve_with_file_limit(s: &Sandbox, files: u32, args: &[&str]) -> Served {
    let mut cmd = s.command("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" serve \"$@\""))
        .arg(runas_bin())
        .args(args);
    Served::start_with(&mut cmd)
}

#[test]
fn idle_connections_past_the_file_limit_never_take_the_endpoint_down() {
    let s = Sandbox::new();
    let served = serve_with_file_limit(&s, 256, &["ecs", "dev"]);
    let target = authority(&served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"));

    // Within the bound: a real client is served while idle connections are open.
    let some = idle_connections(&target, 100);
    assert_assumed_role(&aws_arn_ecs(&s, &served), "dev");
    // Past the file limit: the server must neither run out of descriptors nor lose its
    // listener (the old one panicked on accept and refused everything from then on).
    let more = idle_connections(&target, 300);
    drop(some);
    drop(more);
    assert_assumed_role(&aws_arn_ecs(&s, &served), "dev");
    assert!(
        proc_status(served.pid(), "FDSize") > 0,
        "the server is still running"
    );
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

/// Opens more connections to its own endpoint than its file limit allows it, closes them,
/// then asks with boto3: what a misbehaving command can do to its own credentials.
const FLOOD_THEN_BOTO3: &str = r#"
import os, resource, socket
import boto3
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
port = int(url.split(":")[2].split("/")[0])
idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(300)]
for s in idle:
    s.close()
print(boto3.client("sts").get_caller_identity()["Arn"])
"#;

#[test]
fn exec_mode_command_keeps_its_credentials_after_a_connection_flood() {
    let s = Sandbox::new();
    let out = run(
        s.command("sh")
            .arg("-c")
            .arg("ulimit -S -n 256 && exec \"$0\" dev python3 -c \"$1\"")
            .arg(runas_bin())
            .arg(FLOOD_THEN_BOTO3),
        LIMIT,
    )
    .ok();
    assert_assumed_role(out.stdout.trim(), "dev");
}

/// Sends `head` on a new connection and returns the status line of the answer.
fn raw_status(target: &str, head: &[u8]) -> String {
    let mut stream = TcpStream::connect(target).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The server may stop reading (and close) before all of it is written.
    let _ = stream.write_all(head);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_huge_header_gets_431_and_memory_stays_flat() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let target = authority(&uri);
    let token = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert_eq!(status_of("GET", &uri, &[("Authorization", &token)]), 200);
    let before = proc_status(served.pid(), "VmRSS");
    let huge = format!(
        "GET /credentials HTTP/1.1\r\nHost: {target}\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    for _ in 0..20 {
        assert_eq!(
            raw_status(&target, huge.as_bytes()),
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
    }
    let after = proc_status(served.pid(), "VmRSS");
    // 20 MB of headers went in; a server that kept them would have grown by at least that.
    assert!(
        after < before + 8 * 1024,
        "VmRSS grew from {before} kB to {after} kB"
    );
    assert_eq!(status_of("GET", &uri, &[("Authorization", &token)]), 200);
}

#[test]
fn two_thousand_connections_keep_the_thread_count_bounded() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let target = authority(&served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    let open = idle_connections(&target, 2000);
    let threads = proc_status(served.pid(), "Threads");
    // A worker per core (at most 4), the blocking pool (4), the main and signal threads.
    assert!(
        threads <= 16,
        "{threads} threads for {} connections",
        open.len()
    );
    drop(open);
    assert_assumed_role(&aws_arn_ecs(&s, &served), "dev");
}

#[test]
fn ten_thousand_token_requests_then_a_real_sdk_still_gets_credentials() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ec2", "dev"]);
    let endpoint = served.var("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    let token_url = format!("{endpoint}latest/api/token");
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            let url = token_url.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..2500)
                    .map(|_| {
                        agent
                            .put(&url)
                            .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
                            .send_empty()
                            .unwrap()
                            .status()
                            .as_u16()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), 10_000);
    assert!(
        statuses.iter().all(|&s| s == 200),
        "a token PUT was refused"
    );
    assert_assumed_role(
        &aws_arn(&s, &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)]),
        "dev",
    );
}

#[test]
fn a_panicking_request_gets_500_and_the_server_keeps_serving() {
    let s = Sandbox::new();
    // A debug build's test trigger: no input of a real client is known to panic a handler.
    let served = Served::start_with(
        s.runas()
            .args(["serve", "ecs", "dev"])
            .env("AWSRUNAS_TEST_PANIC", "1"),
    );
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let base = uri.trim_end_matches("/credentials");
    // More than any pool of workers or blocking threads has.
    for path in ["/test-panic", "/test-panic-blocking"] {
        for _ in 0..20 {
            let (status, body) = send("GET", &format!("{base}{path}"), &[], None);
            assert_eq!(status, 500, "{body}");
            assert_eq!(json(&body)["code"], "InternalError", "{body}");
        }
    }
    assert_assumed_role(&aws_arn_ecs(&s, &served), "dev");
}

/// A URL, the headers sent with it, and the status expected.
type Attempt<'a> = (String, Vec<(&'a str, &'a str)>, u16);

#[test]
fn the_page_and_its_token_need_the_printed_address() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let base = served
        .var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .trim_end_matches("/credentials")
        .to_owned();
    let auth = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let address = served.page_address();
    let secret = address.split("?token=").nth(1).unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    assert_ne!(secret, auth);

    // What any local process can ask for without the printed address.
    let cookie = format!("aws-runas-page-{}", base.rsplit(':').next().unwrap());
    let wrong_cookie = format!("{cookie}={}", "0".repeat(64));
    let attempts: Vec<Attempt> = vec![
        (format!("{base}/"), vec![], 401),
        (
            format!("{base}/"),
            vec![("Cookie", wrong_cookie.as_str())],
            401,
        ),
        (format!("{base}/?token=guess"), vec![], 403),
        (format!("{base}/?token={}", "0".repeat(64)), vec![], 403),
        (address.clone(), vec![("Host", "evil.example")], 403),
    ];
    for (url, headers, expected) in &attempts {
        let (status, headers_back, body) = exchange("GET", url, headers, None);
        assert_eq!(status, *expected, "{url}: {body}");
        assert!(!body.contains("runas-token"), "{url}: {body}");
        assert!(headers_back.get("set-cookie").is_none(), "{url}");
    }

    // The printed address works, and the page's API token is not the credential token.
    let (_, page_token) = served.page_token();
    assert_eq!(page_token.len(), 64);
    assert_ne!(page_token, secret);
    assert_eq!(
        status_of(
            "GET",
            &format!("{base}/profile"),
            &[("X-Runas-Token", &page_token)]
        ),
        200
    );
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains(&page_token),
        "the API token in the log:\n{log}"
    );
}

/// A stand-in STS that rejects every call quoting the whole request back, as STS's
/// validation errors quote the value they reject, with a long tail of detail.
fn echoing_sts() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Head, then a body of Content-Length bytes.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
            let message = format!(
                "1 validation error detected: Value '{body}' failed to satisfy constraint.\n{}",
                "Detail of the rejection. ".repeat(40)
            );
            let xml = format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>{}</Message></Error><RequestId>1</RequestId></ErrorResponse>",
                message.replace('&', "&amp;").replace('<', "&lt;")
            );
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    url
}

#[test]
fn error_bodies_are_one_short_line_without_the_mfa_code() {
    let s = Sandbox::new();
    let sts = echoing_sts();
    let served = Served::start_with(
        s.runas()
            .args(["serve", "ecs", "mfa"])
            .env("AWS_ENDPOINT_URL", &sts),
    );
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let (base, page_token) = served.page_token();
    let (status, body) = send(
        "POST",
        &format!("{base}/mfa"),
        &[
            ("X-Runas-Token", &page_token),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"code":"424242"}"#),
    );
    assert_eq!(status, 500, "{body}");
    let error = json(&body)["error"].as_str().unwrap().to_owned();
    assert!(error.contains("ValidationError"), "{body}");
    let auth = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let (_, credentials_body) = send("GET", &uri, &[("Authorization", &auth)], None);
    for body in [&body, &credentials_body] {
        assert!(!body.contains("424242"), "the MFA code in an error: {body}");
        assert!(!body.contains('\n'), "more than one line: {body}");
        assert!(body.len() < 400, "{} bytes: {body}", body.len());
    }
}

#[test]
fn serve_on_a_chosen_port_with_a_new_token_at_every_start() {
    let s = Sandbox::new();
    // `-p` takes a number, so this port is given back just before the server binds it: the one
    // place a port is probed rather than held (any other test binds port 0).
    let port = ClosedPort::new().port.to_string();
    let first = Served::start(&s, &["-p", &port, "ecs", "dev"]);
    let uri = first.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    assert_eq!(uri, format!("http://127.0.0.1:{port}/credentials"));
    let old_token = first.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let old_page = first.page_address();
    assert_assumed_role(&aws_arn_ecs(&s, &first), "dev");
    assert_eq!(first.stop().0, Some(0));

    let second = Served::start(&s, &["-p", &port, "ecs", "dev"]);
    assert_eq!(second.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"), uri);
    let token = second.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert_ne!(token, old_token, "the same token twice");
    assert_ne!(
        second.page_address(),
        old_page,
        "the same page secret twice"
    );
    assert_eq!(
        status_of("GET", &uri, &[("Authorization", &old_token)]),
        403
    );
    assert_eq!(status_of("GET", &old_page, &[]), 403);
    assert_assumed_role(&aws_arn_ecs(&s, &second), "dev");
}

#[test]
fn serve_headless_asks_for_the_mfa_code_on_its_terminal() {
    let s = Sandbox::new();
    let dir = s.dir.path();
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in s.env() {
        script.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    script.push_str(&format!(
        "exec '{}' serve -H ecs mfa >'{}/exports' 2>'{}/log'\n",
        runas_bin().display(),
        dir.display(),
        dir.display()
    ));
    std::fs::write(dir.join("start.sh"), script).unwrap();
    s.moto.start_recording();
    let tmux = Tmux::start(dir, &format!("sh '{}/start.sh'", dir.display()));
    tmux.wait_for("the MFA prompt", Duration::from_secs(30), |screen| {
        screen.contains(&format!("Enter MFA code for {MFA_SERIAL}"))
    });
    tmux.type_line("135790");
    // The exports appear once the code is in: the file is written by the server itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exports = loop {
        let text = std::fs::read_to_string(dir.join("exports")).unwrap_or_default();
        if text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exports; screen:\n{}\nlog:\n{}",
            tmux.screen(),
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let uri = eval_in_sh(&exports, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = eval_in_sh(&exports, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert!(s
        .moto
        .request("GetSessionToken")
        .contains("TokenCode=135790"));
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.as_str()),
    ];
    assert_assumed_role(&aws_arn(&s, &env), "mfa");
    drop(tmux);
}

#[test]
fn connections_that_never_finish_their_request_are_cut_off() {
    let s = Sandbox::new();
    // A file limit that leaves the server only a few connection slots.
    let served = serve_with_file_limit(&s, 80, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let target = authority(&uri);
    let token = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    // Slowloris: a head begun and never finished, on more connections than there are slots.
    let stalled: Vec<TcpStream> = (0..24)
        .map(|_| {
            let mut stream = TcpStream::connect(&target).unwrap();
            write!(stream, "GET /credentials HTTP/1.1\r\nHost: {target}\r\n").unwrap();
            stream
        })
        .collect();
    // Answered once the server has cut the stalled ones off (a client that waits long enough).
    assert_eq!(status_of("GET", &uri, &[("Authorization", &token)]), 200);
    for mut stream in stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .expect("the server closed the stalled connection");
    }
}

#[test]
fn running_out_of_descriptors_on_accept_is_waited_out() {
    let s = Sandbox::new();
    let served = Served::start_with(s.runas().args(["-v", "serve", "ecs", "dev"]));
    let target = authority(&served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
    // Room for four more descriptors: far fewer than the connection bound (set at start from
    // the limit then), so accept itself fails with "Too many open files".
    let open = std::fs::read_dir(format!("/proc/{}/fd", served.pid()))
        .unwrap()
        .count();
    let limit = format!("--nofile={}:", open + 4);
    let pid = served.pid().to_string();
    run(Command::new("prlimit").args(["--pid", &pid, &limit]), LIMIT).ok();
    let idle = idle_connections(&target, 30);
    drop(idle);
    // Still under that limit: served once the flood has gone.
    assert_assumed_role(&aws_arn_ecs(&s, &served), "dev");
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("Too many open files"),
        "accept never failed:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}
