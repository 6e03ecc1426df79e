//! End-to-end: IAM Identity Center profiles, the built binary against a loopback stand-in of SSO
//! OIDC and the SSO portal (tests/standins/sso.py), moto for STS, and the real AWS CLI / boto3
//! reading the token cache aws-runas writes (and the reverse).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// The stand-in, stopped when dropped.
struct Standin(PythonStandin);

impl Standin {
    fn start() -> Self {
        Standin(PythonStandin::start("sso.py", &[]))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn admin(&self, path: &str, body: serde_json::Value) {
        self.0.admin(path, body)
    }

    fn state(&self) -> serde_json::Value {
        self.0.state()
    }

    fn count(&self, op: &str) -> u64 {
        self.state()["counts"][op].as_u64().unwrap_or(0)
    }

    /// Waits (bounded) until a device code waits for approval, and returns its user code.
    fn pending_user_code(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(code) = self.state()["pending"][0].as_str() {
                return code.to_owned();
            }
            assert!(Instant::now() < deadline, "no device authorization started");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn config() -> String {
    format!(
        "[sso-session corp]\n\
         sso_start_url = {START_URL}\n\
         sso_region = eu-west-1\n\
         sso_registration_scopes = sso:account:access\n\
         \n\
         [profile admin]\n\
         sso_session = corp\n\
         sso_account_id = 123456789012\n\
         sso_role_name = Admin\n\
         region = eu-west-1\n\
         \n\
         [profile legacy]\n\
         sso_start_url = {START_URL}\n\
         sso_region = eu-west-1\n\
         sso_account_id = 210987654321\n\
         sso_role_name = Developer\n\
         region = us-east-2\n\
         \n\
         [profile readonly]\n\
         sso_session = corp\n\
         sso_account_id = 123456789012\n\
         sso_role_name = ReadOnly\n\
         \n\
         [profile deploy]\n\
         role_arn = arn:aws:iam::123456789012:role/deploy\n\
         source_profile = admin\n\
         \n\
         [profile cp]\n\
         credential_process = {runas} -O json admin\n\
         \n\
         [profile cplegacy]\n\
         credential_process = {runas} -O json legacy\n\
         region = us-east-2\n",
        runas = runas_bin().display()
    )
}

fn setup() -> (Sandbox, Standin) {
    let sandbox = Sandbox::with_files(&config(), "");
    (sandbox, Standin::start())
}

fn with_sso(mut cmd: Command, standin: &Standin) -> Command {
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", standin.url())
        .env("AWS_ENDPOINT_URL_SSO", standin.url());
    cmd
}

fn runas(s: &Sandbox, standin: &Standin) -> Command {
    with_sso(s.runas(), standin)
}

fn token_path(s: &Sandbox, name: &str) -> PathBuf {
    use sha1::{Digest, Sha1};
    let hex: String = Sha1::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    s.home().join(format!(".aws/sso/cache/{hex}.json"))
}

/// Runs `cmd` while playing the user: approves the device code once one waits.
fn signing_in(cmd: &mut Command, standin: &Standin) -> (Output, String) {
    let handle = {
        let mut cmd = std::mem::replace(cmd, Command::new("true"));
        std::thread::spawn(move || run(&mut cmd, Duration::from_secs(120)))
    };
    let user_code = standin.pending_user_code();
    standin.admin("approve", serde_json::json!({ "userCode": user_code }));
    (handle.join().unwrap(), user_code)
}

fn epoch_in(secs: i64) -> i64 {
    jiff::Timestamp::now().as_second() + secs
}

/// The timestamp format the AWS CLI writes into its token cache.
fn rfc3339_at(epoch: i64) -> String {
    jiff::Timestamp::from_second(epoch)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn rfc3339_in(secs: i64) -> String {
    rfc3339_at(epoch_in(secs))
}

const BOTOCORE_CREDENTIALS: &str = "import sys, boto3\n\
c = boto3.Session(profile_name=sys.argv[1]).get_credentials().get_frozen_credentials()\n\
print(c.access_key)\n";

#[test]
fn device_sign_in_writes_the_cli_v2_cache_that_botocore_then_uses() {
    let (s, standin) = setup();
    let (out, user_code) = signing_in(
        runas(&s, &standin).args(["sso", "login", "admin"]),
        &standin,
    );
    let out = out.ok();
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
    assert!(out.stderr.contains(&user_code), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("{}/device?user_code={user_code}", standin.url())),
        "{}",
        out.stderr
    );

    let path = token_path(&s, "corp");
    assert_eq!(mode(&path), 0o600);
    let token = json(&std::fs::read_to_string(&path).unwrap());
    for key in [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    ] {
        assert!(token[key].is_string(), "{key} missing: {token}");
    }
    assert_eq!(token["startUrl"], START_URL);
    assert_eq!(token["region"], "eu-west-1");
    let expires = token["expiresAt"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");

    // botocore's own SSO provider reads that cache and gets role credentials from the portal.
    let before = standin.count("GetRoleCredentials");
    let out = run(
        with_sso(s.command("python3"), &standin).args(["-c", BOTOCORE_CREDENTIALS, "admin"]),
        LIMIT,
    )
    .ok();
    assert!(out.stdout.trim().starts_with("ASIA"), "{}", out.stdout);
    assert_eq!(standin.count("GetRoleCredentials"), before + 1);
    assert_eq!(standin.count("RegisterClient"), 1);
    assert_eq!(standin.count("StartDeviceAuthorization"), 1);

    // Near its end, botocore renews the token with the refresh token aws-runas stored, and
    // rewrites the file its own way; aws-runas then uses that token as it is.
    let mut token = json(&std::fs::read_to_string(&path).unwrap());
    token["expiresAt"] = rfc3339_in(300).into();
    std::fs::write(&path, token.to_string()).unwrap();
    run(
        with_sso(s.command("python3"), &standin).args(["-c", BOTOCORE_CREDENTIALS, "admin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(
        standin.state()["grants"],
        serde_json::json!(["device_code", "refresh_token"])
    );
    let renewed = json(&std::fs::read_to_string(&path).unwrap());
    assert_ne!(renewed["accessToken"], token["accessToken"]);
    let exports = run(runas(&s, &standin).args(["-r", "admin"]), LIMIT)
        .ok()
        .stdout;
    assert!(eval_in_sh(&exports, "AWS_ACCESS_KEY_ID").starts_with("ASIA"));
    assert_eq!(
        standin.state()["grants"],
        serde_json::json!(["device_code", "refresh_token"]),
        "botocore's token was used, not renewed again"
    );
}

#[test]
fn a_token_cached_by_the_aws_cli_is_used_for_exports_credential_process_and_exec() {
    let (s, standin) = setup();
    // Sign in through the stand-in as the CLI would, then write its cache file by hand.
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    let access_token = signing_in_elsewhere(&s, &standin);
    let registered = standin.count("RegisterClient");
    let path = token_path(&s, START_URL);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        serde_json::json!({
            "startUrl": START_URL,
            "region": "eu-west-1",
            "accessToken": access_token,
            "expiresAt": rfc3339_in(8 * 3600),
        })
        .to_string(),
    )
    .unwrap();

    let exports = run(runas(&s, &standin).arg("legacy"), LIMIT).ok().stdout;
    let key = eval_in_sh(&exports, "AWS_ACCESS_KEY_ID");
    assert!(key.starts_with("ASIA"), "{exports}");
    assert_eq!(
        standin.count("RegisterClient"),
        registered,
        "no sign-in: the cached token served"
    );
    let script = format!(
        "eval \"$1\" && exec {} sts get-caller-identity --output json",
        aws_cli()
    );
    let out = run(s.command("sh").args(["-c", &script, "sh", &exports]), LIMIT).ok();
    assert!(json(&out.stdout)["Arn"].is_string());

    // As credential_process, the AWS CLI takes them from `-O json`.
    let out = run(
        with_sso(s.aws(), &standin).args([
            "sts",
            "get-caller-identity",
            "--profile",
            "cplegacy",
            "--output",
            "json",
        ]),
        LIMIT,
    )
    .ok();
    assert!(json(&out.stdout)["Arn"].is_string(), "{}", out.stdout);

    // Exec mode runs the AWS CLI with the role's credentials.
    let out = run(
        runas(&s, &standin).args(["legacy", &aws_cli(), "sts", "get-caller-identity"]),
        LIMIT,
    )
    .ok();
    assert!(json(&out.stdout)["Account"].is_string(), "{}", out.stdout);
    assert_eq!(
        standin.count("GetRoleCredentials"),
        1,
        "exec reused the cache"
    );
}

/// Gets an access token from the stand-in as another tool would (the device grant by hand).
fn signing_in_elsewhere(s: &Sandbox, standin: &Standin) -> String {
    let script = "import json, sys, boto3\n\
c = boto3.client('sso-oidc', region_name='eu-west-1')\n\
r = c.register_client(clientName='cli', clientType='public')\n\
d = c.start_device_authorization(clientId=r['clientId'], clientSecret=r['clientSecret'], startUrl=sys.argv[1])\n\
t = c.create_token(clientId=r['clientId'], clientSecret=r['clientSecret'], grantType='urn:ietf:params:oauth:grant-type:device_code', deviceCode=d['deviceCode'])\n\
print(t['accessToken'])\n";
    let out = run(
        with_sso(s.command("python3"), standin)
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .args(["-c", script, START_URL]),
        LIMIT,
    )
    .ok();
    out.stdout.trim().to_owned()
}

#[test]
fn credential_process_never_starts_a_sign_in_and_says_what_to_run() {
    let (s, standin) = setup();
    let err = run(runas(&s, &standin).args(["-O", "json", "admin"]), LIMIT).one_line_error();
    assert!(err.contains("aws-runas sso login admin"), "{err}");
    // Through the AWS CLI as credential_process too: it fails, and nothing asked for a code.
    let out = run(
        with_sso(s.aws(), &standin).args(["sts", "get-caller-identity", "--profile", "cp"]),
        LIMIT,
    );
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("aws-runas sso login admin"),
        "{}",
        out.stderr
    );
    assert_eq!(standin.count("StartDeviceAuthorization"), 0);
    assert_eq!(standin.count("RegisterClient"), 0);
}

/// A plain command with no terminal at all (a cron job, a daemon, an IDE's task): nobody sees a
/// device code, so none is asked for; it fails at once saying what to run where someone is.
#[test]
fn without_a_terminal_a_plain_command_never_starts_a_sign_in_and_says_what_to_run() {
    let (s, standin) = setup();
    // Were a sign-in started, it would be approved at once and the command succeed.
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    for args in [
        &["admin"][..],
        &["list", "roles", "admin"],
        &["admin", "true"],
    ] {
        // setsid: no controlling terminal; stdin, stdout and stderr are not terminals either.
        let err = run(
            with_sso(s.command("setsid"), &standin)
                .arg("-w")
                .arg(runas_bin())
                .args(args),
            LIMIT,
        )
        .one_line_error();
        assert!(
            err.contains("run `aws-runas sso login admin`"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(standin.count("RegisterClient"), 0);
    assert_eq!(standin.count("StartDeviceAuthorization"), 0);
}

/// What the service sends for the person to read is shown only as sent and only when a terminal
/// shows it so: escape sequences (clear the screen, set the window title), line breaks faking
/// a line of ours, a URL that is no web page — refused, in one line of our own.
#[test]
fn a_sign_in_code_or_url_holding_terminal_controls_is_refused_not_shown() {
    let (s, standin) = setup();
    let port = standin.0.port;
    let clean_url = format!("http://127.0.0.1:{port}/device");
    let hostile = [
        (
            "ABCD-EFGH\u{1b}[2J\u{1b}]0;pwned\u{7}".to_owned(),
            clean_url.clone(),
        ),
        (
            "ABCD-EFGH\naws-runas: signed in to https://d-1234567890.awsapps.com/start".to_owned(),
            clean_url.clone(),
        ),
        (
            "ABCD-EFGH".to_owned(),
            format!("http://127.0.0.1:{port}/device\u{1b}[2J\nfake line"),
        ),
        ("ABCD-EFGH".to_owned(), "file:///etc/passwd".to_owned()),
    ];
    for (code, url) in hostile {
        standin.admin(
            "config",
            serde_json::json!({ "user_code": code, "verification_uri": url, "device_expires_in": 2 }),
        );
        let out = run(runas(&s, &standin).args(["sso", "login", "admin"]), LIMIT);
        for raw in ['\u{1b}', '\u{7}'] {
            assert!(
                !out.stderr.contains(raw),
                "{raw:?} reached stderr: {:?}",
                out.stderr
            );
        }
        assert!(
            !out.stderr.contains("pwned")
                && !out.stderr.contains("fake line")
                && !out.stderr.contains("signed in to")
                && !out.stderr.contains("/etc/passwd"),
            "{:?}",
            out.stderr
        );
        let err = out.one_line_error();
        assert!(
            err.contains("profile 'admin'") && err.contains("cannot be shown"),
            "{err}"
        );
    }
    // Refused before anyone was asked: no poll for a code nobody could confirm.
    assert_eq!(standin.count("CreateTokenCall"), 0);
}

#[test]
fn slow_down_adds_five_seconds_and_an_expired_code_is_one_line() {
    let (s, standin) = setup();
    standin.admin(
        "config",
        serde_json::json!({ "slow_down_first_poll": true }),
    );
    let (out, _) = signing_in(
        runas(&s, &standin).args(["sso", "login", "admin"]),
        &standin,
    );
    out.ok();
    let state = standin.state();
    assert_eq!(state["slow_downs"], 1);
    assert_eq!(
        state["early_polls"], 0,
        "polled faster than slow_down allows"
    );

    standin.admin(
        "config",
        serde_json::json!({ "slow_down_first_poll": false, "expire_devices": true }),
    );
    let out = run(runas(&s, &standin).args(["sso", "login", "admin"]), LIMIT);
    assert_eq!(out.code, Some(1));
    let last = out.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("expired before it was approved") && last.contains("sso login admin"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn an_expired_token_is_renewed_with_its_refresh_token() {
    let (s, standin) = setup();
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    run(runas(&s, &standin).args(["sso", "login", "admin"]), LIMIT).ok();
    let path = token_path(&s, "corp");
    let mut token = json(&std::fs::read_to_string(&path).unwrap());
    let old_access = token["accessToken"].as_str().unwrap().to_owned();
    token["expiresAt"] = rfc3339_in(-60).into();
    std::fs::write(&path, token.to_string()).unwrap();

    let exports = run(runas(&s, &standin).arg("admin"), LIMIT).ok().stdout;
    assert!(eval_in_sh(&exports, "AWS_ACCESS_KEY_ID").starts_with("ASIA"));
    let state = standin.state();
    assert_eq!(
        state["grants"],
        serde_json::json!(["device_code", "refresh_token"])
    );
    assert_eq!(
        state["counts"]["StartDeviceAuthorization"], 1,
        "no second sign-in"
    );
    let token = json(&std::fs::read_to_string(&path).unwrap());
    assert_ne!(token["accessToken"], old_access.as_str());
    assert!(token["expiresAt"].as_str().unwrap() > rfc3339_in(0).as_str());
    assert_eq!(mode(&path), 0o600);
}

/// `body` (sh) run in a terminal of its own (tmux), with the sandbox's environment and the
/// stand-in's endpoints; the terminal stays open a minute after it ends, for its screen.
fn in_a_terminal(s: &Sandbox, standin: &Standin, body: &str) -> common::tmux::Tmux {
    let mut text = String::from("#!/bin/sh\n");
    let env = s.env().into_iter().chain([
        ("AWS_ENDPOINT_URL_SSO_OIDC".to_owned(), standin.url()),
        ("AWS_ENDPOINT_URL_SSO".to_owned(), standin.url()),
    ]);
    for (k, v) in env {
        text.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    text.push_str(body);
    text.push_str("\nsleep 60\n");
    let script = s.dir.path().join("script.sh");
    std::fs::write(&script, text).unwrap();
    common::tmux::Tmux::start(s.dir.path(), &format!("sh '{}'", script.display()))
}

#[test]
fn sixteen_concurrent_callers_cause_one_sign_in() {
    let (s, standin) = setup();
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    // Two profiles of one session: two roles' locks, one token's. In a terminal, where a
    // sign-in may start.
    let dir = s.dir.path().display().to_string();
    let tmux = in_a_terminal(
        &s,
        &standin,
        &format!(
            "i=0\n\
             while [ $i -lt 16 ]; do\n\
               p=admin; [ $((i % 2)) = 1 ] && p=readonly\n\
               ('{bin}' \"$p\" >'{dir}'/out.$i 2>'{dir}'/err.$i; echo $? >'{dir}'/code.$i) &\n\
               i=$((i + 1))\n\
             done\n\
             wait\n\
             echo ALL-DONE",
            bin = runas_bin().display()
        ),
    );
    tmux.wait_for("the callers", Duration::from_secs(120), |screen| {
        screen.contains("ALL-DONE")
    });
    let read = |name: String| std::fs::read_to_string(s.dir.path().join(name)).unwrap();
    let mut keys = Vec::new();
    for i in 0..16 {
        assert_eq!(
            read(format!("code.{i}")).trim(),
            "0",
            "{}",
            read(format!("err.{i}"))
        );
        keys.push(eval_in_sh(&read(format!("out.{i}")), "AWS_ACCESS_KEY_ID"));
    }
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        2,
        "the callers of each profile got the same credentials"
    );
    for op in ["RegisterClient", "StartDeviceAuthorization", "CreateToken"] {
        assert_eq!(standin.count(op), 1, "{op}");
    }
    assert_eq!(standin.count("GetRoleCredentials"), 2);
}

#[test]
fn a_role_chained_on_an_sso_profile_is_assumed_with_its_credentials() {
    let (s, standin) = setup();
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    run(runas(&s, &standin).args(["sso", "login", "admin"]), LIMIT).ok();
    s.moto.start_recording();
    let exports = run(runas(&s, &standin).arg("deploy"), LIMIT).ok().stdout;
    let script = format!(
        "eval \"$1\" && exec {} sts get-caller-identity --output json",
        aws_cli()
    );
    let out = run(s.command("sh").args(["-c", &script, "sh", &exports]), LIMIT).ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "deploy");
    let request = s.moto.request("AssumeRole");
    assert!(request.contains("DurationSeconds=3600"), "{request}");
    assert_eq!(standin.count("GetRoleCredentials"), 1);
}

#[test]
fn list_roles_logout_and_no_secret_under_vv() {
    let (s, standin) = setup();
    let (out, user_code) = signing_in(
        runas(&s, &standin).args(["-vv", "sso", "login", "admin"]),
        &standin,
    );
    let login = out.ok();
    let listed = run(
        runas(&s, &standin).args(["-vv", "list", "roles", "admin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(
        listed.stdout,
        "123456789012 Admin Production\n123456789012 ReadOnly Production\n210987654321 Developer Sandbox\n"
    );
    let creds = run(runas(&s, &standin).args(["-vv", "admin"]), LIMIT).ok();
    let state = standin.state();
    let logs = format!("{}{}{}", login.stderr, listed.stderr, creds.stderr);
    for secret in state["secrets"].as_array().unwrap() {
        let secret = secret.as_str().unwrap();
        assert!(!logs.contains(secret), "-vv shows {secret}:\n{logs}");
    }
    assert!(
        login.stderr.contains(&user_code),
        "the user code is the prompt itself"
    );

    let path = token_path(&s, "corp");
    assert!(path.exists());
    let diagnosed = run(runas(&s, &standin).args(["diagnose", "admin"]), LIMIT).ok();
    assert!(
        diagnosed
            .stdout
            .contains(&format!("source: IAM Identity Center {START_URL}"))
            && diagnosed.stdout.contains("ok    signed in to"),
        "{}",
        diagnosed.stdout
    );
    run(runas(&s, &standin).args(["sso", "logout", "admin"]), LIMIT).ok();
    assert!(!path.exists());
    assert_eq!(standin.count("Logout"), 1, "the portal session ended too");
    let diagnosed = run(runas(&s, &standin).args(["diagnose", "admin"]), LIMIT);
    assert!(
        diagnosed.stdout.contains("not signed in to")
            && diagnosed.stdout.contains("sso login admin"),
        "{}",
        diagnosed.stdout
    );
    let err = run(runas(&s, &standin).args(["list", "mfa", "admin"]), LIMIT).one_line_error();
    assert!(err.contains("no IAM user"), "{err}");
    // Without aws-runas's own cache of the role's credentials, the token is what is missing.
    std::fs::remove_dir_all(s.cache_dir()).unwrap();
    let err = run(runas(&s, &standin).args(["-O", "json", "admin"]), LIMIT).one_line_error();
    assert!(err.contains("aws-runas sso login admin"), "{err}");
}

#[test]
fn bad_sso_settings_are_one_line_naming_the_profile() {
    let (s, standin) = setup();
    s.write_config(
        "[profile x]\nsso_session = nope\nsso_account_id = 123456789012\nsso_role_name = R\n",
    );
    let err = run(runas(&s, &standin).arg("x"), LIMIT).one_line_error();
    assert!(
        err.contains("'x'") && err.contains("sso-session nope"),
        "{err}"
    );
    s.write_config(
        "[profile y]\nsso_start_url = https://x\nsso_account_id = 1\nsso_role_name = R\n",
    );
    let err = run(runas(&s, &standin).arg("y"), LIMIT).one_line_error();
    assert!(err.contains("'y'") && err.contains("sso_region"), "{err}");
}

/// Starts `cmd` and returns it with a channel of its stderr lines, read as they come.
fn spawn_reading_stderr(cmd: &mut Command) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// The sign-in URL aws-runas prints, waiting (bounded) for it.
fn printed_url(lines: &std::sync::mpsc::Receiver<String>) -> String {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("no sign-in URL printed");
        if let Some((_, url)) = line.split_once(", open ") {
            return url.split(' ').next().unwrap().to_owned();
        }
    }
}

fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("aws-runas did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pkce_sign_in_through_the_loopback_redirect_ignores_forged_callbacks() {
    let (s, standin) = setup();
    let (mut child, lines) = spawn_reading_stderr(
        runas(&s, &standin)
            .env("RUNAS_SSO_FLOW", "pkce")
            .args(["-vv", "sso", "login", "admin"]),
    );
    let url = printed_url(&lines);
    assert!(
        url.starts_with(&format!("{}/authorize?response_type=code&", standin.url())),
        "{url}"
    );
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    // Another local process guesses at the listener: turned away, and the sign-in goes on.
    let redirect = url
        .split('&')
        .find_map(|p| p.strip_prefix("redirect_uri="))
        .map(|r| {
            percent_encoding::percent_decode_str(r)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let forged = ureq::get(&format!("{redirect}?code=forged&state=guess")).call();
    assert!(
        matches!(forged, Err(ureq::Error::StatusCode(400))),
        "{forged:?}"
    );
    // The user's browser: the portal redirects back to aws-runas, which thanks it.
    let page = ureq::get(&url)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(page.contains("Signed in"), "{page}");
    assert!(wait_bounded(&mut child).success());
    let state = standin.state();
    assert_eq!(state["grants"], serde_json::json!(["authorization_code"]));
    let logs: String = lines.iter().collect::<Vec<_>>().join("\n");
    assert!(logs.contains("signed in to"), "{logs}");
    for secret in state["secrets"].as_array().unwrap() {
        let secret = secret.as_str().unwrap();
        assert!(!logs.contains(secret), "-vv shows {secret}:\n{logs}");
    }
    assert_eq!(state["pkce_failures"], 0);
    let token = json(&std::fs::read_to_string(token_path(&s, "corp")).unwrap());
    assert!(token["refreshToken"].is_string() && token["clientSecret"].is_string());

    // The client registered for the redirect cannot start a device grant: a new one is
    // registered for it, and the device sign-in succeeds.
    let (out, _) = signing_in(
        runas(&s, &standin).args(["sso", "login", "--use-device-code", "admin"]),
        &standin,
    );
    out.ok();
    assert_eq!(standin.count("RegisterClient"), 2);
}

#[test]
fn a_refused_browser_sign_in_is_one_line() {
    let (s, standin) = setup();
    standin.admin("config", serde_json::json!({ "deny_authorize": true }));
    let (mut child, lines) = spawn_reading_stderr(
        runas(&s, &standin)
            .env("RUNAS_SSO_FLOW", "pkce")
            .args(["sso", "login", "admin"]),
    );
    let url = printed_url(&lines);
    let _ = ureq::get(&url).call();
    assert_eq!(wait_bounded(&mut child).code(), Some(1));
    let rest: Vec<String> = lines.iter().collect();
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(
        rest[0].contains("'admin'") && rest[0].contains("access_denied"),
        "{rest:?}"
    );
    assert!(!token_path(&s, "corp").exists());
}

#[test]
fn the_prompt_hook_never_signs_in_and_tells_the_user_what_to_run() {
    let (s, standin) = setup();
    let state = s.dir.path().join("state");
    std::fs::write(&state, "").unwrap();
    let expires = epoch_in(600);
    let out = run(
        runas(&s, &standin)
            .env("AWS_CREDENTIAL_EXPIRATION", rfc3339_at(expires))
            .args(["__export", "bash", "--refresh"])
            .arg(&state)
            .args(["--", "admin"]),
        LIMIT,
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let written = std::fs::read_to_string(&state).unwrap();
    assert!(
        written.contains("__runas_notice") && written.contains("aws-runas sso login admin"),
        "{written}"
    );
    // As for MFA: no retry loop that cannot succeed, one more try once they have expired.
    assert!(
        written.contains(&format!("__RUNAS_REFRESH_AT='{expires}'")),
        "{written}"
    );
    assert_eq!(standin.count("RegisterClient"), 0);
    assert_eq!(standin.count("StartDeviceAuthorization"), 0);
}

#[test]
fn in_a_terminal_the_url_and_code_are_shown_with_a_spinner_and_stdout_stays_clean() {
    let (s, standin) = setup();
    let out = s.dir.path().join("stdout");
    let tmux = in_a_terminal(
        &s,
        &standin,
        &format!(
            "'{}' admin >'{}'\necho EXIT=$?",
            runas_bin().display(),
            out.display()
        ),
    );
    let user_code = standin.pending_user_code();
    let screen = tmux.wait_for("the spinner", Duration::from_secs(30), |screen| {
        screen.contains("waiting for the sign-in to be approved")
    });
    assert!(screen.contains(&user_code), "{screen}");
    standin.admin("approve", serde_json::json!({ "userCode": user_code }));
    let screen = tmux.wait_for("the end", Duration::from_secs(60), |screen| {
        screen.contains("EXIT=")
    });
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("waiting for the sign-in"),
        "the spinner is cleared: {screen}"
    );
    let stdout = std::fs::read_to_string(&out).unwrap();
    assert!(
        stdout.starts_with("export AWS_ACCESS_KEY_ID='ASIA"),
        "{stdout}"
    );
    assert!(!stdout.contains(&user_code));
}

/// `sso login --sso-session NAME`, as the AWS CLI v2 has it: the section alone is enough, the
/// token lands where every profile of that session (and the AWS CLI) finds it.
#[test]
fn sso_login_by_session_name_needs_no_profile() {
    let (s, standin) = setup();
    s.write_config(&format!(
        "[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
    ));
    let (out, user_code) = signing_in(
        runas(&s, &standin).args(["sso", "login", "--sso-session", "corp", "--use-device-code"]),
        &standin,
    );
    let out = out.ok();
    assert!(out.stderr.contains(&user_code), "{}", out.stderr);
    let token = json(&std::fs::read_to_string(token_path(&s, "corp")).unwrap());
    assert_eq!(token["startUrl"], START_URL);

    // A profile of that session then needs no sign-in.
    s.write_config(&config());
    let before = standin.count("CreateToken");
    run(runas(&s, &standin).args(["-O", "json", "admin"]), LIMIT).ok();
    assert_eq!(standin.count("CreateToken"), before);

    let err = run(
        runas(&s, &standin).args(["sso", "login", "--sso-session", "nope"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("[sso-session nope]"), "{err}");
}

/// A stand-in browser at `path`: records its arguments, NUL-separated, into the file `$RECORD`
/// names (aws-runas passes its environment on), and exits.
fn recording_browser(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$RECORD.part\" && mv \"$RECORD.part\" \"$RECORD\"\n",
    )
    .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The arguments the stand-in browser got, once it has run (bounded wait).
fn recorded_argv(record: &std::path::Path) -> Vec<String> {
    let deadline = Instant::now() + LIMIT;
    while !record.exists() {
        assert!(Instant::now() < deadline, "the browser was not started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(record).unwrap();
    text.split_terminator('\0').map(str::to_owned).collect()
}

/// `sso login admin` with `vars`: the printed URL, and what the stand-in browser got (`None`:
/// not started). The sign-in is then completed as a browser would, at the printed URL.
fn pkce_login(
    s: &Sandbox,
    standin: &Standin,
    vars: &[(&str, &str)],
    record: &std::path::Path,
    started: bool,
) -> (String, Option<Vec<String>>) {
    let mut cmd = runas(s, standin);
    cmd.env("RECORD", record).args(["sso", "login", "admin"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let (mut child, lines) = spawn_reading_stderr(&mut cmd);
    let url = printed_url(&lines);
    assert!(
        url.starts_with(&format!("{}/authorize?", standin.url())),
        "not the PKCE flow: {url}"
    );
    let argv = started.then(|| recorded_argv(record));
    let page = ureq::get(&url)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(page.contains("Signed in"), "{page}");
    assert!(wait_bounded(&mut child).success());
    (url, argv)
}

/// The arguments a browser should get for a URL.
type Expected = fn(&str) -> Vec<String>;

#[test]
fn browser_variable_gets_the_sign_in_url_as_one_argument_or_in_place_of_percent_s() {
    let (s, standin) = setup();
    // A directory with a space: the command is split into words as a shell would.
    let browser = s.dir.path().join("my browser/open-url");
    recording_browser(&browser);
    let quoted = format!("'{}'", browser.display());
    let rows: [(String, Expected); 2] = [
        // The first command cannot start: the next one is used. No display is needed, and with
        // a browser at hand the sign-in is PKCE.
        (format!("/nonexistent/browser:{quoted}"), |url| {
            vec![url.to_owned()]
        }),
        (format!("{quoted} --new-window --url=%s --private"), |url| {
            vec![
                "--new-window".to_owned(),
                format!("--url={url}"),
                "--private".to_owned(),
            ]
        }),
    ];
    for (i, (value, expected)) in rows.iter().enumerate() {
        let record = s.dir.path().join(format!("record-{i}"));
        let (url, argv) = pkce_login(&s, &standin, &[("BROWSER", value)], &record, true);
        assert!(url.contains("&state="), "{url}");
        assert_eq!(argv.unwrap(), expected(&url), "BROWSER={value}");
    }
}

#[test]
fn without_browser_or_display_the_url_is_printed_and_nothing_is_launched() {
    let (s, standin) = setup();
    let bin = s.dir.path().join("bin");
    recording_browser(&bin.join("xdg-open"));
    let path = format!("{}:{}", bin.display(), path_with_venv());

    // Nothing to open a browser with: the URL on stderr, and the opener never started.
    let record = s.dir.path().join("record-no-display");
    let vars = [("PATH", path.as_str()), ("RUNAS_SSO_FLOW", "pkce")];
    pkce_login(&s, &standin, &vars, &record, false);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!record.exists(), "xdg-open was started without a display");

    // RUNAS_NO_BROWSER beats $BROWSER and the display: the device flow, nothing started.
    let record = s.dir.path().join("record-no-browser");
    let browser = bin.join("xdg-open").display().to_string();
    let (out, user_code) = signing_in(
        runas(&s, &standin)
            .env("PATH", &path)
            .env("DISPLAY", ":0")
            .env("BROWSER", &browser)
            .env("RUNAS_NO_BROWSER", "1")
            .env("RECORD", &record)
            .args(["sso", "login", "admin"]),
        &standin,
    );
    assert!(out.ok().stderr.contains(&user_code));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !record.exists(),
        "a browser was started with RUNAS_NO_BROWSER"
    );

    // The same fake xdg-open is what a display brings in: the checks above are not vacuous.
    let record = s.dir.path().join("record-display");
    let vars = [("PATH", path.as_str()), ("DISPLAY", ":0")];
    let (url, argv) = pkce_login(&s, &standin, &vars, &record, true);
    assert_eq!(argv.unwrap(), [url]);
}
