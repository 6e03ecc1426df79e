//! Web identity sign-in (OIDC) end to end: the built binary against a real OpenID provider
//! (oidc-provider on loopback) and moto's AssumeRoleWithWebIdentity, read back by the AWS CLI.

mod common;
// Its SAML URL is not used here.
#[allow(dead_code)]
#[path = "idp/llng.rs"]
mod llng;
#[path = "idp/oidc_provider.rs"]
mod oidc_provider;

use common::{assert_assumed_role, eval_in_sh, json, run, runas_bin, Sandbox, LIMIT};
use oidc_provider::{OidcProvider, CLIENT_ID, PASSWORD, USERNAME};

const DEV: &str = "arn:aws:iam::123456789012:role/Dev";
const OPS: &str = "arn:aws:iam::123456789012:role/Ops";

fn config(op: &OidcProvider, extra: &str) -> String {
    format!(
        "[profile idp]\nweb_identity_auth_url = {}\nweb_identity_client_id = {CLIENT_ID}\n\
         web_identity_redirect_uri = app:/callback\nweb_identity_username = {USERNAME}\nregion = us-east-1\n\n\
         [profile dev]\nsource_profile = idp\nrole_arn = {DEV}\n\n\
         [profile ops]\nsource_profile = idp\nrole_arn = {OPS}\n\n{extra}",
        op.issuer()
    )
}

fn setup(extra: &str) -> (OidcProvider, Sandbox) {
    let op = OidcProvider::start();
    let sandbox = Sandbox::with_files(&config(&op, extra), "");
    sandbox.moto.start_recording();
    (op, sandbox)
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

#[test]
fn password_sign_in_gives_role_credentials_and_the_id_token_is_reused() {
    let (op, sandbox) = setup("");
    let out = run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Dev");
    assert!(
        arn.ends_with("/alice"),
        "session named after the user: {arn}"
    );
    assert_eq!(op.password_posts(), 1);
    assert_eq!(op.token_posts(), 1, "one code exchange");
    let call = sandbox.moto.request("AssumeRoleWithWebIdentity");
    assert!(
        call.contains("WebIdentityToken=ey"),
        "an ID token (JWT) was sent"
    );

    // The credentials are cached: no IdP request, no STS call.
    let before = op.requests();
    let again = run(sandbox.runas().arg("dev"), LIMIT).ok();
    assert_eq!(again.stdout, out.stdout);
    // Another role of the same person at the same provider: the cached ID token, with zero
    // requests to the IdP and no password.
    let ops = run(sandbox.runas().arg("ops"), LIMIT).ok();
    assert_assumed_role(&identity(&sandbox, &ops.stdout), "Ops");
    assert_eq!(op.requests(), before, "no request reached the IdP");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);

    // Everything cached is private, and the ID token sits in its own entry.
    let files = sandbox.cache_files();
    let token = files
        .iter()
        .find(|p| is_id_token_entry(p))
        .expect("a cached ID token");
    assert_eq!(common::mode(token), 0o600);
}

#[test]
fn credential_process_gets_the_role_through_the_aws_cli() {
    let bin = runas_bin();
    let (op, sandbox) = setup(&format!(
        "[profile viacli]\ncredential_process = {} -O json dev\nregion = us-east-1\n",
        bin.display()
    ));
    let out = run(
        sandbox.aws().env("WEB_PASSWORD", PASSWORD).args([
            "sts",
            "get-caller-identity",
            "--profile",
            "viacli",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Dev");
    assert_eq!(op.password_posts(), 1);
}

#[test]
fn a_wrong_password_is_one_line_and_tried_once() {
    let (op, sandbox) = setup("");
    let err = run(
        sandbox.runas().env("WEB_PASSWORD", "not-it").arg("dev"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert_eq!(op.password_posts(), 1, "no retry");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);
}

#[test]
fn without_a_terminal_no_password_is_asked_for() {
    let (op, sandbox) = setup("");
    let err = run(sandbox.runas().arg("dev"), LIMIT).one_line_error();
    assert!(
        err.contains("password") && err.contains("runas use dev"),
        "{err}"
    );
    assert_eq!(op.password_posts(), 0);
}

#[test]
fn configuration_mistakes_name_what_is_missing() {
    let sandbox = Sandbox::with_files(
        "[profile noclient]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_redirect_uri = app:/cb\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile noredirect]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile norole]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\n\n\
         [profile both]\nsaml_auth_url = https://saml.example.org/sso\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile badflow]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nweb_identity_flow = magic\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile browser]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nweb_identity_flow = browser\nrole_arn = arn:aws:iam::123456789012:role/R\n",
        "",
    );
    let cases = [
        ("noclient", "web_identity_client_id"),
        ("noredirect", "web_identity_redirect_uri"),
        ("norole", "role_arn"),
        ("both", "saml_auth_url"),
        ("badflow", "web_identity_flow = 'magic'"),
        ("browser", "http://127.0.0.1"),
    ];
    for (profile, expected) in cases {
        let err = run(sandbox.runas().arg(profile), LIMIT).one_line_error();
        assert!(
            err.contains(&format!("'{profile}'")) && err.contains(expected),
            "{profile}: {err}"
        );
    }
    // -W with -C and -T on the command line make any profile sign in there.
    let err = run(
        sandbox
            .runas()
            .args(["-W", "https://other.example.org", "-C", "c", "noredirect"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("web_identity_redirect_uri"), "{err}");
}

fn is_id_token_entry(path: &std::path::Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with("idtoken_") && name.ends_with(".json")
}

/// The cached ID token entry's value.
fn cached_id_token(sandbox: &Sandbox) -> serde_json::Value {
    let file = sandbox
        .cache_files()
        .into_iter()
        .find(|p| is_id_token_entry(p))
        .expect("a cached ID token");
    json(&std::fs::read_to_string(file).unwrap())["value"].clone()
}

#[test]
fn the_refresh_token_renews_an_expiring_id_token_without_a_sign_in() {
    // ID tokens of 10 minutes are always inside the default 15-minute refresh window.
    let op = OidcProvider::start_with(&[("ID_TOKEN_TTL", "600")]);
    let sandbox = Sandbox::with_files(&config(&op, ""), "");
    sandbox.moto.start_recording();
    run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
        LIMIT,
    )
    .ok();
    let first = cached_id_token(&sandbox);
    assert!(
        first["refresh_token"].is_string(),
        "the provider issued one: {first}"
    );
    // -r: new role credentials, for which the expiring ID token is renewed.
    let out = run(sandbox.runas().args(["-r", "dev"]), LIMIT).ok();
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Dev");
    assert_eq!(op.password_posts(), 1, "no second sign-in");
    assert_eq!(op.token_posts(), 2, "a code exchange, then a refresh");
    let renewed = cached_id_token(&sandbox);
    // oidc-provider rotates a public client's refresh token at each use: the new one is kept.
    assert_ne!(renewed["refresh_token"], first["refresh_token"]);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn sixteen_concurrent_callers_make_one_sign_in() {
    let (op, sandbox) = setup("");
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .runas()
                .env("WEB_PASSWORD", PASSWORD)
                .arg("dev")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            o.stdout, outputs[0].stdout,
            "everyone got the same credentials"
        );
    }
    assert_eq!(op.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn a_jump_role_is_assumed_with_the_id_token_then_the_target_from_it() {
    let (_op, sandbox) = setup(
        "[profile jumped]\nsource_profile = idp\njump_role_arn = arn:aws:iam::123456789012:role/Jump\n\
         role_arn = arn:aws:iam::123456789012:role/Target\n",
    );
    let out = run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("jumped"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Target");
    assert!(arn.ends_with("/alice"), "{arn}");
    let web = sandbox.moto.request("AssumeRoleWithWebIdentity");
    assert!(web.contains("role%2FJump"), "{web}");
    let role = sandbox.moto.request("AssumeRole");
    assert!(role.contains("role%2FTarget"), "{role}");
}

#[test]
fn verbose_output_holds_no_password_token_code_or_secret_key() {
    let (_op, sandbox) = setup("");
    let out = run(
        sandbox
            .runas()
            .env("WEB_PASSWORD", PASSWORD)
            .args(["-vv", "dev"]),
        LIMIT,
    )
    .ok();
    let log = &out.stderr;
    assert!(
        log.contains("AssumeRoleWithWebIdentity") && log.contains("IdP: POST"),
        "-vv logged nothing useful: {log}"
    );
    assert!(!log.contains(PASSWORD), "password in the log");
    let cached = cached_id_token(&sandbox);
    for secret in [&cached["id_token"], &cached["refresh_token"]] {
        let secret = secret.as_str().unwrap();
        assert!(!log.contains(secret), "token in the log");
        // Any part of a JWT (header, claims, signature) is as telling.
        for part in secret.split('.') {
            assert!(!log.contains(part), "token part in the log");
        }
    }
    for marker in ["code=", "code_verifier", "state=", "code_challenge"] {
        assert!(!log.contains(marker), "{marker} in the log");
    }
    let secret = eval_in_sh(&out.stdout, "AWS_SECRET_ACCESS_KEY");
    assert!(!log.contains(&secret), "secret key in the log");
}

/// An OpenID provider that answers every authorization request with a redirect carrying a
/// state of its own (a forged or mixed-up response), counting token requests.
#[test]
fn a_redirect_with_another_state_is_rejected_and_its_code_never_used() {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    let tokens = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = tokens.clone();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let url = request.url().to_owned();
            let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k, v).unwrap();
            let response = if url.starts_with("/.well-known/openid-configuration") {
                tiny_http::Response::from_string(format!(
                    r#"{{"issuer":"http://127.0.0.1:{port}","authorization_endpoint":"http://127.0.0.1:{port}/auth","token_endpoint":"http://127.0.0.1:{port}/token"}}"#
                ))
                .with_header(header("content-type", "application/json"))
            } else if url.starts_with("/auth") {
                tiny_http::Response::from_string("")
                    .with_status_code(302)
                    .with_header(header(
                        "location",
                        "app:/callback?code=forged-code&state=not-yours",
                    ))
            } else {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tiny_http::Response::from_string("{}").with_status_code(400)
            };
            let _ = request.respond(response);
        }
    });
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile dev]\nweb_identity_auth_url = http://127.0.0.1:{port}\nweb_identity_client_id = c\n\
             web_identity_redirect_uri = app:/callback\nweb_identity_username = alice\nweb_identity_provider = form\n\
             role_arn = {DEV}\nregion = us-east-1\n"
        ),
        "",
    );
    let err = run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("profile 'dev'") && err.contains("another state"),
        "{err}"
    );
    assert!(!err.contains("forged-code"), "{err}");
    assert_eq!(tokens.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// aws-runas running in the background while the test plays the user in a browser.
struct Signing {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stdout: std::thread::JoinHandle<String>,
}

impl Signing {
    fn start(cmd: &mut std::process::Command) -> Self {
        use std::io::{BufRead, Read};
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let all = stderr.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Self {
            child,
            lines,
            stderr,
            stdout,
        }
    }

    /// The first stderr line containing `text` (bounded wait).
    fn line_with(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("no line with {text:?}: {}", self.stderr.lock().unwrap()),
            }
        }
    }

    fn finish(mut self) -> common::Output {
        let deadline = std::time::Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("aws-runas did not finish");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let stdout = self.stdout.join().unwrap();
        // The reader may still be appending the last lines.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let stderr = self.stderr.lock().unwrap().clone();
        common::Output {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// Plays the user in headless Chromium (tests/browser/oidc.py).
fn browser_user(url: &str, user_code: Option<&str>) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/oidc.py");
    let mut cmd = std::process::Command::new(common::venv_bin("python3"));
    cmd.args([script, url, USERNAME, PASSWORD]);
    if let Some(code) = user_code {
        cmd.arg(code);
    }
    json(
        &run(&mut cmd, std::time::Duration::from_secs(120))
            .ok()
            .stdout,
    )
}

fn flow_profile(op: &OidcProvider, name: &str, flow: &str, redirect: &str) -> String {
    format!(
        "[profile {name}]\nweb_identity_auth_url = {}\nweb_identity_client_id = {CLIENT_ID}\n\
         web_identity_redirect_uri = {redirect}\nweb_identity_flow = {flow}\nrole_arn = {DEV}\nregion = us-east-1\n",
        op.issuer()
    )
}

#[test]
fn device_grant_approved_in_a_browser_with_slow_down_honoured() {
    // The provider answers the first poll with slow_down: the next comes 5 s later than asked.
    let op = OidcProvider::start_with(&[("SLOW_DOWN", "1")]);
    let sandbox = Sandbox::with_files(&flow_profile(&op, "device", "device", "app:/callback"), "");
    sandbox.moto.start_recording();
    let signing = Signing::start(sandbox.runas().env("RUNAS_NO_BROWSER", "1").arg("device"));
    let line = signing.line_with("confirm the code");
    let url = line
        .split("open ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let code = line.rsplit(' ').next().unwrap();
    let seen = browser_user(url, Some(code));
    assert!(
        seen["text"].as_str().unwrap().contains("Signed in"),
        "{seen}"
    );
    let out = signing.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Dev");
    assert!(!out.stdout.contains(code), "the code goes to stderr only");
    let polls = op.token_post_times();
    assert!(polls.len() >= 2, "{polls:?}");
    // The device authorization's interval is 5 s; after slow_down it is 10 s.
    assert!(
        polls[1] - polls[0] >= 10_000,
        "polled again {} ms after slow_down",
        polls[1] - polls[0]
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn an_unapproved_device_code_expires_with_one_line() {
    let op = OidcProvider::start_with(&[("DEVICE_TTL", "2")]);
    let sandbox = Sandbox::with_files(&flow_profile(&op, "device", "device", "app:/callback"), "");
    let err = run(
        sandbox.runas().env("RUNAS_NO_BROWSER", "1").arg("device"),
        LIMIT,
    );
    assert!(err.stderr.contains("confirm the code"), "{}", err.stderr);
    let last = err
        .stderr
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(err.code, Some(0));
    assert!(
        last.contains("profile 'device'") && last.contains("expired before it was approved"),
        "{last}"
    );
}

#[test]
fn browser_flow_completes_at_the_loopback_listener() {
    let op = OidcProvider::start();
    // No port in the redirect URI: any port on the loopback address (RFC 8252 7.3).
    let sandbox = Sandbox::with_files(
        &flow_profile(&op, "web", "browser", "http://127.0.0.1/callback"),
        "",
    );
    sandbox.moto.start_recording();
    let signing = Signing::start(sandbox.runas().env("RUNAS_NO_BROWSER", "1").arg("web"));
    let line = signing.line_with(", open ");
    let url = line.split(", open ").nth(1).unwrap().trim();
    let seen = browser_user(url, None);
    assert!(
        seen["text"].as_str().unwrap().contains("Signed in")
            && seen["url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:"),
        "{seen}"
    );
    let out = signing.finish();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Dev");
    assert_eq!(op.password_posts(), 1);
}

#[test]
fn no_browser_or_device_sign_in_where_nobody_can_answer() {
    let op = OidcProvider::start();
    let sandbox = Sandbox::with_files(&flow_profile(&op, "device", "device", "app:/callback"), "");
    // -O json is what credential_process runs: nobody sees a code there.
    let err = run(sandbox.runas().args(["-O", "json", "device"]), LIMIT).one_line_error();
    assert!(err.contains("runas use device"), "{err}");
    assert_eq!(op.token_posts(), 0);
}

#[test]
fn password_from_the_os_keyring_and_a_wrong_one_there_is_named() {
    let (op, sandbox) = setup("");
    let out = common::in_keyring_session(
        &sandbox,
        &[("ISSUER", op.issuer())],
        r#"printf 'alice-password\n' | "$RUNAS" password dev || exit 11
        printf 'stored:'; secret-tool lookup service "aws-runas $ISSUER" username alice; echo
        "$RUNAS" dev >/dev/null || exit 12
        printf 'wrong\n' | "$RUNAS" password dev || exit 13
        rm "$RUNAS_CACHE_DIR"/idtoken_* "$RUNAS_CACHE_DIR"/idp_cookies_*
        "$RUNAS" -r dev && exit 14
        exit 0"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("stored:alice-password"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "the password in the OS keyring is not the right one: update it with `aws-runas password dev`"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        op.password_posts(),
        2,
        "the keyring's password, then the wrong one"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn keycloak_url_layout_with_a_realm_path() {
    let op = OidcProvider::start_with(&[("KEYCLOAK_ROUTES", "1"), ("MOUNT_PATH", "/realms/test")]);
    let sandbox = Sandbox::with_files(&config(&op, ""), "");
    sandbox.moto.start_recording();
    let out = run(
        sandbox
            .runas()
            .env("WEB_PASSWORD", PASSWORD)
            .args(["-R", "keycloak", "dev"]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Dev");
    let log = op.requests_log();
    assert!(
        log.iter()
            .any(|(m, p, _)| m == "POST" && p == "/realms/test/protocol/openid-connect/token"),
        "{log:?}"
    );
}

/// A hostile or broken OpenID provider: `answer(path)` gives status, headers and body.
fn stand_in(
    answer: impl Fn(&str, u16) -> (u16, Vec<(&'static str, String)>, String) + Send + 'static,
) -> u16 {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let path = request
                .url()
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            let (status, headers, body) = answer(&path, port);
            let mut response = tiny_http::Response::from_string(body).with_status_code(status);
            for (k, v) in headers {
                response.add_header(tiny_http::Header::from_bytes(k, v.as_bytes()).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    port
}

fn discovery(port: u16) -> (u16, Vec<(&'static str, String)>, String) {
    (
        200,
        vec![("content-type", "application/json".into())],
        format!(
            r#"{{"issuer":"http://127.0.0.1:{port}","authorization_endpoint":"/auth","token_endpoint":"/token"}}"#
        ),
    )
}

#[test]
fn broken_and_hostile_providers_give_one_clear_line() {
    type Answer = Box<dyn Fn(&str, u16) -> (u16, Vec<(&'static str, String)>, String) + Send>;
    let cases: Vec<(Answer, &str)> = vec![
        (
            Box::new(|_, _| (404, vec![], "not here".into())),
            "is web_identity_auth_url the provider's issuer URL",
        ),
        (
            Box::new(|_, _| (200, vec![], "x".repeat(5 << 20))),
            "reading the page",
        ),
        (
            Box::new(|path, port| match path {
                "/.well-known/openid-configuration" => discovery(port),
                _ => (302, vec![("location", "/auth".into())], String::new()),
            }),
            "redirects more than",
        ),
        (
            Box::new(|path, port| match path {
                "/.well-known/openid-configuration" => discovery(port),
                _ => (200, vec![], "<html><p>Welcome \u{1b}[31m</p></html>".into()),
            }),
            "no sign-in form",
        ),
        // A document naming another issuer (OpenID Connect Discovery 4.3): its endpoints are
        // not used, and both names are in the line, escaped.
        (
            Box::new(|path, port| match path {
                "/.well-known/openid-configuration" => (
                    200,
                    vec![("content-type", "application/json".into())],
                    format!(
                        r#"{{"issuer":"http://127.0.0.1:{port}/other\u001b[2J","authorization_endpoint":"/auth","token_endpoint":"/token"}}"#
                    ),
                ),
                _ => (500, vec![], "never asked".into()),
            }),
            "names the issuer",
        ),
    ];
    for (answer, expected) in cases {
        let port = stand_in(answer);
        let sandbox = Sandbox::with_files(
            &format!(
                "[profile dev]\nweb_identity_auth_url = http://127.0.0.1:{port}\nweb_identity_client_id = c\n\
                 web_identity_redirect_uri = app:/callback\nweb_identity_username = alice\nweb_identity_provider = form\n\
                 role_arn = {DEV}\nregion = us-east-1\n"
            ),
            "",
        );
        let err = run(
            sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
            LIMIT,
        )
        .one_line_error();
        assert!(
            err.contains("'dev'") && err.contains(expected),
            "{expected}: {err}"
        );
        assert!(!err.contains('\u{1b}'), "{err}");
        if expected == "names the issuer" {
            assert!(
                err.contains(&format!(
                    "names the issuer 'http://127.0.0.1:{port}/other\\u{{1b}}[2J', not the configured 'http://127.0.0.1:{port}/'"
                )),
                "{err}"
            );
        }
    }
}

#[test]
fn a_token_endpoint_refusal_or_a_missing_id_token_is_one_line() {
    // The code comes back with the state aws-runas sent; the token endpoint then misbehaves.
    for (status, body, expected) in [
        (
            400,
            "{\"error\":\"invalid_grant\\u001b[2J\"}",
            "answered the code exchange with HTTP 400 (invalid_grant\\u{1b}[2J)",
        ),
        (200, "{\"access_token\":\"a\"}", "issued no ID token"),
        (200, "not json at all", "something other than token JSON"),
    ] {
        let state = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let seen = state.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let url = request.url().to_owned();
                let response = if url.starts_with("/.well-known") {
                    let (_, _, body) = discovery(port);
                    tiny_http::Response::from_string(body)
                } else if url.starts_with("/auth") {
                    let sent = url
                        .split(['?', '&'])
                        .find_map(|kv| kv.strip_prefix("state="))
                        .unwrap_or_default()
                        .to_owned();
                    *seen.lock().unwrap() = sent.clone();
                    tiny_http::Response::from_string("")
                        .with_status_code(302)
                        .with_header(
                            tiny_http::Header::from_bytes(
                                "location",
                                format!("app:/callback?code=c0de&state={sent}"),
                            )
                            .unwrap(),
                        )
                } else {
                    tiny_http::Response::from_string(body).with_status_code(status)
                };
                let _ = request.respond(response);
            }
        });
        let sandbox = Sandbox::with_files(
            &format!(
                "[profile dev]\nweb_identity_auth_url = http://127.0.0.1:{port}\nweb_identity_client_id = c\n\
                 web_identity_redirect_uri = app:/callback\nweb_identity_username = alice\nweb_identity_provider = form\n\
                 role_arn = {DEV}\nregion = us-east-1\n"
            ),
            "",
        );
        let err = run(sandbox.runas().arg("dev"), LIMIT).one_line_error();
        assert!(
            err.contains("profile 'dev'") && err.contains(expected),
            "{expected}: {err}"
        );
        assert!(
            !state.lock().unwrap().is_empty(),
            "the stand-in saw the request"
        );
    }
}

#[test]
fn the_prompt_hook_never_signs_in_and_says_to_run_runas_use() {
    let op = OidcProvider::start();
    let sandbox = Sandbox::with_files(
        &format!(
            "{}\n{}",
            config(&op, ""),
            flow_profile(&op, "device", "device", "app:/callback")
        ),
        "",
    );
    let expires = jiff::Timestamp::now().as_second() + 600;
    let at = jiff::Timestamp::from_second(expires)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    // The password flow without a stored password, and the device flow.
    for profile in ["dev", "device"] {
        let state = sandbox.dir.path().join(format!("state-{profile}"));
        std::fs::write(&state, "").unwrap();
        let out = run(
            sandbox
                .runas()
                .env("AWS_CREDENTIAL_EXPIRATION", &at)
                .args(["__export", "bash", "--refresh"])
                .arg(&state)
                .args(["--", profile]),
            LIMIT,
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        let written = std::fs::read_to_string(&state).unwrap();
        assert!(
            written.contains("__runas_notice")
                && written.contains(&format!(
                    "sign-in at the identity provider to refresh; run: runas use {profile}"
                )),
            "{written}"
        );
        assert!(
            written.contains(&format!("__RUNAS_REFRESH_AT='{expires}'")),
            "no retry loop that cannot succeed: {written}"
        );
    }
    assert_eq!(op.password_posts(), 0);
    assert_eq!(op.token_posts(), 0);
}

#[test]
fn lemonldap_ng_as_the_openid_provider_with_the_password_flow() {
    let idp = llng::Llng::start();
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile ll]\nweb_identity_auth_url = http://127.0.0.1:{}\nweb_identity_client_id = {CLIENT_ID}\n\
             web_identity_redirect_uri = app:/callback\nweb_identity_username = dwho\nregion = us-east-1\n\n\
             [profile ll-dev]\nsource_profile = ll\nrole_arn = {DEV}\n\n[profile ll-ops]\nsource_profile = ll\nrole_arn = {OPS}\n",
            idp.port
        ),
        "",
    );
    sandbox.moto.start_recording();
    let err = run(
        sandbox
            .runas()
            .env("WEB_PASSWORD", "not-dwho")
            .arg("ll-dev"),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("rejected the password for 'dwho'"), "{err}");
    let out = run(
        sandbox.runas().env("WEB_PASSWORD", "dwho").arg("ll-dev"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Dev");
    assert!(arn.ends_with("/dwho"), "{arn}");
    let posts = idp.password_posts();
    // The cached ID token serves another role with no password and no sign-in.
    let ops = run(sandbox.runas().arg("ll-ops"), LIMIT).ok();
    assert_assumed_role(&identity(&sandbox, &ops.stdout), "Ops");
    assert_eq!(idp.password_posts(), posts);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn exec_whoami_and_expiration_work_and_a_live_idp_session_needs_no_password() {
    let (op, sandbox) = setup("");
    run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
        LIMIT,
    )
    .ok();
    // Exec mode (the local credential endpoint), -w and -e reuse those credentials.
    let out = run(
        sandbox.runas().args([
            "dev",
            common::aws_cli().as_str(),
            "sts",
            "get-caller-identity",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Dev");
    // The IdP password is not handed on to the command.
    let out = run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).args([
            "dev",
            "sh",
            "-c",
            "echo ${WEB_PASSWORD:-unset}",
        ]),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.trim(), "unset");
    let out = run(sandbox.runas().args(["-w", "dev"]), LIMIT).ok();
    assert!(
        out.stdout.contains("assumed-role/Dev/alice"),
        "{}",
        out.stdout
    );
    let out = run(sandbox.runas().args(["-e", "dev"]), LIMIT).ok();
    assert!(
        out.stdout.starts_with("Credentials will expire on "),
        "{}",
        out.stdout
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
    // Without the cached ID token and refresh token, the IdP's session cookie (kept 0600)
    // still signs in without the password.
    for f in sandbox.cache_files() {
        if f.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("idtoken_")
        {
            std::fs::remove_file(f).unwrap();
        }
    }
    run(sandbox.runas().args(["-r", "dev"]), LIMIT).ok();
    assert_eq!(op.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);
}
