//! What AWS, or anything pretending to be it on the user's network (a proxy, a captive portal),
//! may answer: bodies that do not parse, are cut short, are 200 MB or an HTML page; throttling;
//! and no answer at all (a closed port, a silent one, a name that does not resolve, a
//! certificate nobody vouches for, a proxy that refuses). Each ends in one line of our own,
//! naming the host, that never carries the answer's keys, and nothing half-read is kept.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{private_ca, ClosedPort, Output, Sandbox, TlsProxy, LIMIT};

const SECRET: &str = "HOSTILEsecretKEYdoNotShow0123456789abcdef";
const TOKEN: &str = "HOSTILEsessionTOKENdoNotShow0123456789abcdefghij";
const KEY_ID: &str = "ASIAHOSTILE000000001";
const HUGE: usize = 200 << 20;

/// What the stand-in answers to one request, given its request line and body.
enum Answer {
    Body(u16, &'static str, String),
    /// 200 with this many bytes of filler inside an XML element, its length declared or not
    /// (then the connection's close ends it).
    Huge {
        declared: bool,
    },
    /// Reads the request and never answers.
    Silent,
}

/// A loopback HTTP server that answers every request with what `answer` says, counting them.
struct Hostile {
    url: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    fn start(answer: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let (count, stopping) = (requests.clone(), stop.clone());
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stopping.load(Ordering::SeqCst) && Instant::now() < deadline {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (answer, count, stopping) = (answer.clone(), count.clone(), stopping.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &*answer, &count, &stopping);
                });
            }
        });
        Hostile {
            url,
            requests,
            stop,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    stream: TcpStream,
    answer: &dyn Fn(&str, &str) -> Answer,
    count: &AtomicUsize,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut length = 0usize;
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            if line.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        count.fetch_add(1, Ordering::SeqCst);
        let mut out = stream.try_clone()?;
        match answer(request_line.trim_end(), &String::from_utf8_lossy(&body)) {
            Answer::Body(status, content_type, body) => write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
                 x-amzn-RequestId: hostile-1\r\n\r\n{body}",
                body.len()
            )?,
            Answer::Huge { declared } => {
                let head = "<AssumeRoleResponse><Filler>";
                let length = if declared {
                    format!("Content-Length: {}\r\n", head.len() + HUGE)
                } else {
                    "Connection: close\r\n".to_owned()
                };
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n{length}\r\n{head}"
                )?;
                let chunk = vec![b'A'; 64 << 10];
                // Until it is all sent or the client hangs up (the write then fails).
                for _ in 0..HUGE / chunk.len() {
                    out.write_all(&chunk)?;
                }
                return Ok(());
            }
            Answer::Silent => {
                let until = Instant::now() + Duration::from_secs(90);
                while !stop.load(Ordering::SeqCst) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Ok(());
            }
        }
    }
}

/// An STS answer to whatever action the request names, with `expiration` as sent.
fn sts_answer(request: &str, expiration: &str) -> String {
    let action = request
        .split('&')
        .find_map(|p| p.strip_prefix("Action="))
        .unwrap_or("AssumeRole");
    format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>\
         <Credentials><AccessKeyId>{KEY_ID}</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey>\
         <SessionToken>{TOKEN}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
         <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/dev/x</Arn>\
         <AssumedRoleId>AROAEXAMPLE:x</AssumedRoleId></AssumedRoleUser></{action}Result>\
         <ResponseMetadata><RequestId>hostile-1</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn sts_xml(body: String) -> Answer {
    Answer::Body(200, "text/xml", body)
}

/// `aws-runas dev` (AssumeRole with alice's keys) with STS at `sts_url`.
fn assume_dev(s: &Sandbox, sts_url: &str, extra: &[&str]) -> Output {
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_STS", sts_url)
        .args(extra)
        .arg("dev");
    common::run(&mut cmd, LIMIT)
}

/// Nothing of the answer's keys reaches the person, and nothing was cached.
#[track_caller]
fn assert_nothing_leaked_or_kept(s: &Sandbox, out: &Output) {
    for secret in [SECRET, TOKEN] {
        assert!(
            !out.stderr.contains(secret) && !out.stdout.contains(secret),
            "a secret of the answer was shown: {}",
            out.stderr
        );
    }
    assert!(
        out.stderr.len() < 1000,
        "stderr is {} bytes",
        out.stderr.len()
    );
    for file in s.cache_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(!text.contains(KEY_ID), "cached in {}", file.display());
    }
}

#[test]
fn an_sts_answer_that_does_not_parse_never_shows_its_keys() {
    let s = Sandbox::new();
    for expiration in ["not-a-date", "2026-13-45T99:99:99Z", "\u{1b}[2J"] {
        let sts = Hostile::start(move |_, r| sts_xml(sts_answer(r, expiration)));
        for extra in [&[][..], &["-O", "json"][..], &["-s"][..]] {
            let out = assume_dev(&s, &sts.url, extra);
            assert_nothing_leaked_or_kept(&s, &out);
            let line = out.one_line_error();
            let host = sts.url.trim_start_matches("http://");
            assert!(
                line.contains(host) && line.contains("HTTP 200") && line.contains("malformed"),
                "{line}"
            );
            assert!(!line.contains("\u{1b}"), "{line:?}");
        }
    }
}

#[test]
fn a_cut_short_sts_answer_is_refused_and_never_cached() {
    let s = Sandbox::new();
    // No Expiration, the XML left open: what a connection cut mid-answer leaves.
    let sts = Hostile::start(|_, r| {
        let whole = sts_answer(r, "2030-01-01T00:00:00Z");
        sts_xml(whole[..whole.find("<Expiration>").unwrap()].to_owned())
    });
    for extra in [&[][..], &["-O", "json"][..], &["-e"][..]] {
        let out = assume_dev(&s, &sts.url, extra);
        assert!(!out.stdout.contains("1970"), "{}", out.stdout);
        assert_nothing_leaked_or_kept(&s, &out);
        let line = out.one_line_error();
        assert!(line.contains("no expiration"), "{line}");
    }
    // An expiration already past is refused the same way, naming the clock.
    let stale = Hostile::start(|_, r| sts_xml(sts_answer(r, "2001-01-01T00:00:00Z")));
    let out = assume_dev(&s, &stale.url, &[]);
    assert_nothing_leaked_or_kept(&s, &out);
    assert!(out.one_line_error().contains("clock"));
}

/// Runs `cmd` to its end within the hang guard; its output and its peak resident memory (KiB).
// The child is reaped by wait4, which also gives its own peak memory (std's wait does not).
#[allow(clippy::zombie_processes)]
fn run_measured(cmd: &mut Command) -> (Output, i64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + LIMIT;
    // SAFETY: wait4 on our own child, with out-parameters we own; std's handle is not used to
    // wait afterwards.
    let (status, usage) = loop {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            break (status, usage);
        }
        assert!(Instant::now() < deadline, "{cmd:?} did not finish");
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let output = Output {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    (output, usage.ru_maxrss)
}

#[test]
fn a_200_mb_sts_answer_is_refused_unread() {
    let s = Sandbox::new();
    for declared in [true, false] {
        let sts = Hostile::start(move |_, _| Answer::Huge { declared });
        let mut cmd = s.runas();
        cmd.env("AWS_ENDPOINT_URL_STS", &sts.url).arg("dev");
        let (out, rss_kib) = run_measured(&mut cmd);
        eprintln!("200 MB answer, length declared: {declared}: max RSS {rss_kib} KiB");
        assert!(rss_kib < 64 * 1024, "max RSS {rss_kib} KiB");
        assert_nothing_leaked_or_kept(&s, &out);
        let line = out.one_line_error();
        assert!(line.contains("larger than 4 MiB"), "{line}");
    }
}

#[test]
fn a_captive_portal_page_and_throttling_are_one_line_each() {
    let s = Sandbox::new();
    let portal = Hostile::start(|_, _| {
        Answer::Body(
            500,
            "text/html",
            format!("<html><body>Sign in to the hotel Wi-Fi {SECRET}</body></html>"),
        )
    });
    let out = assume_dev(&s, &portal.url, &[]);
    assert_nothing_leaked_or_kept(&s, &out);
    let line = out.one_line_error();
    assert!(
        line.contains("HTTP 500") && line.contains("not one of AWS's") && !line.contains("<html"),
        "{line}"
    );

    let throttling = Hostile::start(|_, _| {
        Answer::Body(
            400,
            "text/xml",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
             <Message>Rate exceeded</Message></Error><RequestId>r-7</RequestId></ErrorResponse>"
                .into(),
        )
    });
    let line = assume_dev(&s, &throttling.url, &[]).one_line_error();
    assert!(
        line.contains("Throttling: Rate exceeded")
            && line.contains("wait")
            && line.contains("request id"),
        "{line}"
    );
    assert!(
        (1..=3).contains(&throttling.requests()),
        "{} calls: more than the SDK's retry budget",
        throttling.requests()
    );
}

#[test]
fn no_answer_at_all_is_one_line_naming_the_cause() {
    let s = Sandbox::new();
    let closed = ClosedPort::new();
    let line = assume_dev(&s, &closed.url(), &[]).one_line_error();
    assert!(
        line.contains("connection refused") && line.contains(&format!("127.0.0.1:{}", closed.port)),
        "{line}"
    );
    assert!(
        !line.contains("DispatchFailure") && !line.contains("ConnectorError"),
        "{line}"
    );

    let line = assume_dev(&s, "http://sts.aws-runas-test.invalid", &[]).one_line_error();
    assert!(
        line.contains("sts.aws-runas-test.invalid does not resolve")
            && line.contains("AWS_ENDPOINT_URL_STS"),
        "{line}"
    );

    // -v adds the chain of causes, as lines of their own.
    let out = assume_dev(&s, &closed.url(), &["-v"]);
    assert!(out.stderr.contains("caused by:"), "{}", out.stderr);

    // A proxy in the way that refuses: the line names the proxy, not the endpoint.
    let proxy = ClosedPort::new();
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_STS", "http://sts.aws-runas-test.invalid")
        .env("HTTP_PROXY", proxy.url())
        .arg("dev");
    let line = common::run(&mut cmd, LIMIT).one_line_error();
    assert!(
        line.contains(&format!("proxy http://127.0.0.1:{}/ refused", proxy.port)),
        "{line}"
    );

    // The same with a CA bundle, for which aws-runas builds the HTTPS client itself: the proxy
    // must not be lost with it.
    let [ca, _, _] = private_ca(s.dir.path());
    cmd.env("AWS_CA_BUNDLE", &ca);
    let line = common::run(&mut cmd, LIMIT).one_line_error();
    assert!(
        line.contains(&format!("proxy http://127.0.0.1:{}/ refused", proxy.port)),
        "{line}"
    );
}

#[test]
fn a_silent_endpoint_is_given_up_within_the_retry_budget() {
    let s = Sandbox::new();
    let silent = Hostile::start(|_, _| Answer::Silent);
    let line = assume_dev(&s, &silent.url, &[]).one_line_error();
    assert!(line.contains("did not answer in time"), "{line}");
    assert!(
        (1..=3).contains(&silent.requests()),
        "{} attempts",
        silent.requests()
    );
}

#[test]
fn a_certificate_nobody_vouches_for_is_one_line_with_the_fix() {
    let s = Sandbox::new();
    let [_, cert, key] = private_ca(s.dir.path());
    let moto_port: u16 = s.moto.url().rsplit(':').next().unwrap().parse().unwrap();
    let front = TlsProxy::start(&cert, &key, moto_port);
    let line = assume_dev(&s, &format!("https://127.0.0.1:{}", front.port), &[]).one_line_error();
    assert!(
        line.contains("not signed by a CA this machine trusts") && line.contains("AWS_CA_BUNDLE"),
        "{line}"
    );
}

/// The SDK clients are ours now (ring, not the SDK's default client): like the SDK's own, they
/// trust the system's store, where a company installs its CA, with no AWS_CA_BUNDLE at all.
/// rustls-native-certs reads SSL_CERT_FILE as that store.
#[test]
fn a_ca_in_the_system_store_is_trusted_without_a_bundle() {
    let s = Sandbox::new();
    let [ca, cert, key] = private_ca(s.dir.path());
    let moto_port: u16 = s.moto.url().rsplit(':').next().unwrap().parse().unwrap();
    let front = TlsProxy::start(&cert, &key, moto_port);
    let mut cmd = s.runas();
    cmd.env(
        "AWS_ENDPOINT_URL_STS",
        format!("https://127.0.0.1:{}", front.port),
    )
    .env("SSL_CERT_FILE", &ca)
    .env_remove("AWS_CA_BUNDLE")
    .args(["-O", "json", "dev"]);
    let out = common::run(&mut cmd, LIMIT).ok();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        json["AccessKeyId"].as_str().is_some_and(|k| !k.is_empty()),
        "{json}"
    );
}

const SSO_CONFIG: &str = "[sso-session corp]\n\
sso_start_url = https://corp.awsapps.com/start\n\
sso_region = eu-west-1\n\
\n\
[profile admin]\n\
sso_session = corp\n\
sso_account_id = 123456789012\n\
sso_role_name = Admin\n\
region = eu-west-1\n";

const ACCESS_TOKEN: &str = "HOSTILEaccessTOKENdoNotShow0123456789";
const REFRESH_TOKEN: &str = "HOSTILErefreshTOKENdoNotShow0123456789";

/// A sandbox whose Identity Center token for `corp` is cached as the AWS CLI writes it: live
/// for `live_secs` (negative: expired, with a refresh token and its client to renew it).
fn sso_sandbox(live_secs: i64) -> Sandbox {
    use sha1::{Digest, Sha1};
    let s = Sandbox::with_files(SSO_CONFIG, "");
    let hex: String = Sha1::digest(b"corp")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = s.home().join(format!(".aws/sso/cache/{hex}.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let at = |secs: i64| {
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + secs)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let token = serde_json::json!({
        "startUrl": "https://corp.awsapps.com/start",
        "region": "eu-west-1",
        "accessToken": "live-token-of-the-user",
        "expiresAt": at(live_secs),
        "refreshToken": "refresh-token-of-the-user",
        "clientId": "client-id",
        "clientSecret": "client-secret",
        "registrationExpiresAt": at(30 * 86400),
    });
    std::fs::write(&path, token.to_string()).unwrap();
    s
}

fn sso_admin(s: &Sandbox, at: &str) -> Output {
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_SSO", at)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", at)
        .arg("admin");
    common::run(&mut cmd, LIMIT)
}

#[test]
fn identity_center_answers_that_do_not_parse_never_show_their_secrets() {
    let s = sso_sandbox(3600);
    let bad_expiration = Hostile::start(|_, _| {
        Answer::Body(
            200,
            "application/json",
            format!(
                "{{\"roleCredentials\":{{\"accessKeyId\":\"{KEY_ID}\",\"secretAccessKey\":\
                 \"{SECRET}\",\"sessionToken\":\"{TOKEN}\",\"expiration\":\"soon\"}}}}"
            ),
        )
    });
    let out = sso_admin(&s, &bad_expiration.url);
    assert_nothing_leaked_or_kept(&s, &out);
    let line = out.one_line_error();
    assert!(
        line.contains("GetRoleCredentials") && line.contains("HTTP 200"),
        "{line}"
    );

    let no_expiration = Hostile::start(|_, _| {
        Answer::Body(
            200,
            "application/json",
            format!(
                "{{\"roleCredentials\":{{\"accessKeyId\":\"{KEY_ID}\",\"secretAccessKey\":\
                 \"{SECRET}\",\"sessionToken\":\"{TOKEN}\"}}}}"
            ),
        )
    });
    let out = sso_admin(&s, &no_expiration.url);
    assert_nothing_leaked_or_kept(&s, &out);
    assert!(out.one_line_error().contains("no expiration"));

    // CreateToken renewing an expired token: an expiresIn out of range.
    let s = sso_sandbox(-60);
    let bad_token = Hostile::start(|_, _| {
        Answer::Body(
            200,
            "application/json",
            format!(
                "{{\"accessToken\":\"{ACCESS_TOKEN}\",\"expiresIn\":99999999999999,\
                 \"refreshToken\":\"{REFRESH_TOKEN}\",\"tokenType\":\"Bearer\"}}"
            ),
        )
    });
    let out = sso_admin(&s, &bad_token.url);
    assert_ne!(out.code, Some(0));
    for secret in [ACCESS_TOKEN, REFRESH_TOKEN] {
        assert!(!out.stderr.contains(secret), "{}", out.stderr);
    }
    assert!(out.stderr.len() < 1000, "{}", out.stderr);
}

#[test]
fn a_200_mb_identity_center_answer_is_refused_unread() {
    let s = sso_sandbox(3600);
    let portal = Hostile::start(|_, _| Answer::Huge { declared: false });
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_SSO", &portal.url).arg("admin");
    let (out, rss_kib) = run_measured(&mut cmd);
    eprintln!("200 MB portal answer: max RSS {rss_kib} KiB");
    assert!(rss_kib < 64 * 1024, "max RSS {rss_kib} KiB");
    assert!(out.one_line_error().contains("larger than 4 MiB"));
}

#[test]
fn a_200_mb_session_manager_answer_is_refused_unread() {
    let s = Sandbox::new();
    let ssm = Hostile::start(|_, _| Answer::Huge { declared: false });
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_SSM", &ssm.url)
        .args(["ssm", "shell", "dev", "i-0123456789abcdef0"]);
    let (out, rss_kib) = run_measured(&mut cmd);
    eprintln!("200 MB StartSession answer: max RSS {rss_kib} KiB");
    assert!(rss_kib < 64 * 1024, "max RSS {rss_kib} KiB");
    let line = out.one_line_error();
    assert!(line.contains("larger than 4 MiB"), "{line}");
}

#[test]
fn ec2_answers_that_are_not_pages_are_one_line_and_start_no_session() {
    let s = Sandbox::new();
    type Case = (&'static str, fn() -> Answer);
    let cases: [Case; 3] = [
        ("larger than 4 MiB", || Answer::Huge { declared: false }),
        ("cut short or malformed", || {
            Answer::Body(
                200,
                "text/xml",
                "<DescribeInstancesResponse><reservationSet><item>".into(),
            )
        }),
        ("UnauthorizedOperation: You are not authorized", || {
            Answer::Body(
                403,
                "text/xml",
                "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are \
                 not authorized to perform this operation.</Message></Error></Errors>\
                 <RequestID>r-1</RequestID></Response>"
                    .into(),
            )
        }),
    ];
    for (expected, answer) in cases {
        let ec2 = Hostile::start(move |_, _| answer());
        let ssm = ClosedPort::new();
        let mut cmd = s.runas();
        cmd.env("AWS_ENDPOINT_URL_EC2", &ec2.url)
            .env("AWS_ENDPOINT_URL_SSM", ssm.url())
            .args(["ssm", "shell", "dev", "Name:web"]);
        let (out, rss_kib) = run_measured(&mut cmd);
        assert!(rss_kib < 64 * 1024, "max RSS {rss_kib} KiB");
        let line = out.one_line_error();
        assert!(
            line.contains("EC2 DescribeInstances failed") && line.contains(expected),
            "{line}"
        );
    }
}
