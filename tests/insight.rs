//! Account insight and troubleshooting, end to end: list roles and MFA devices against moto's
//! IAM, diagnose, writing the credentials file for the real AWS CLI, the update check.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

use common::*;

/// A sandbox whose `alice` keys are a real IAM user of moto's, with the policies and MFA device
/// of tests/fixtures/iam.py.
fn iam_sandbox(config: &str) -> Sandbox {
    let s = Sandbox::with_files(config, "");
    let out = Command::new(venv_bin("python3"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/iam.py"
        ))
        .env_clear()
        .arg(s.moto.url())
        .output()
        .expect("python3 with boto3 (tests/setup installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = json(&String::from_utf8(out.stdout).unwrap());
    std::fs::write(
        s.credentials_file(),
        format!(
            "[alice]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key["AccessKeyId"].as_str().unwrap(),
            key["SecretAccessKey"].as_str().unwrap()
        ),
    )
    .unwrap();
    s
}

const ROLES: [&str; 4] = [
    "arn:aws:iam::123456789012:role/group-inline",
    "arn:aws:iam::123456789012:role/group-managed",
    "arn:aws:iam::123456789012:role/inline-role",
    "arn:aws:iam::123456789012:role/managed-role",
];

#[test]
fn list_roles_gives_exactly_the_assumable_concrete_roles() {
    let s = iam_sandbox(&format!(
        "{CONFIG}\n[profile mine]\nrole_arn = {}\nsource_profile = alice\n",
        ROLES[2]
    ));
    let out = run(s.runas().args(["list", "roles", "alice"]), LIMIT).ok();
    let expected = format!(
        "{}\n{}\n{}  (profile mine)\n{}\n",
        ROLES[0], ROLES[1], ROLES[2], ROLES[3]
    );
    assert_eq!(out.stdout, expected);
    // The v3 flag and alias give the same.
    assert_eq!(
        run(s.runas().args(["-l", "alice"]), LIMIT).ok().stdout,
        expected
    );
    assert_eq!(
        run(s.runas().args(["ls", "roles", "alice"]), LIMIT)
            .ok()
            .stdout,
        expected
    );

    // -v adds profiles to paste for the roles that have none, and they work.
    let out = run(s.runas().args(["-v", "list", "roles", "alice"]), LIMIT).ok();
    let pasted = out
        .stdout
        .split_once("to paste into your config file:\n")
        .unwrap()
        .1;
    assert!(pasted.contains(&format!(
        "[profile managed-role]\nrole_arn = {}\nsource_profile = alice\n",
        ROLES[3]
    )));
    assert!(
        !pasted.contains("inline-role"),
        "already has a profile: {pasted}"
    );
    s.write_config(&format!("{CONFIG}\n{pasted}"));
    let out = run(s.runas().args(["-w", "managed-role"]), LIMIT).ok();
    assert!(
        out.stdout.contains(":assumed-role/managed-role/"),
        "{}",
        out.stdout
    );
}

#[test]
fn list_mfa_shows_the_device() {
    let s = iam_sandbox(CONFIG);
    for args in [&["list", "mfa", "alice"][..], &["-m", "alice"][..]] {
        let out = run(s.runas().args(args), LIMIT).ok();
        assert_eq!(out.stdout, "arn:aws:iam::123456789012:mfa/alice\n");
    }
    // A role session's keys are not an IAM user's: said in one line.
    let role = json(
        &run(s.runas().args(["-O", "json", "dev"]), LIMIT)
            .ok()
            .stdout,
    );
    let mut credentials = std::fs::read_to_string(s.credentials_file()).unwrap();
    credentials.push_str(&format!(
        "[session]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        role["AccessKeyId"].as_str().unwrap(),
        role["SecretAccessKey"].as_str().unwrap(),
        role["SessionToken"].as_str().unwrap()
    ));
    std::fs::write(s.credentials_file(), credentials).unwrap();
    let err = run(s.runas().args(["-m", "session"]), LIMIT).one_line_error();
    assert!(err.contains("listing needs an IAM user's keys"), "{err}");
    assert!(err.contains(":assumed-role/dev/"), "{err}");
}

#[test]
fn diagnose_reports_the_profile_and_flags_problems_without_secrets() {
    let s = iam_sandbox(CONFIG);
    let secret_file_key = std::fs::read_to_string(s.credentials_file()).unwrap();
    let secret = secret_file_key
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
        .unwrap()
        .to_owned();

    let out = run(s.runas().args(["diagnose", "dev"]), LIMIT);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = out.stdout;
    assert!(text.contains("profile: dev\n"), "{text}");
    assert!(
        text.contains("assume: arn:aws:iam::123456789012:role/dev (profile 'dev', 1h)"),
        "{text}"
    );
    assert!(text.contains("region: eu-west-1"), "{text}");
    assert!(
        text.contains("ok    source keys belong to arn:aws:iam::123456789012:user/alice"),
        "{text}"
    );
    assert!(text.contains("ok    clock within"), "{text}");
    assert!(text.contains("shell integration not loaded"), "{text}");
    assert!(!text.contains(&secret));

    // A long-term key with a session token, in the environment: an error, and exit status 1.
    let out = run(
        s.runas()
            .args(["-D", "dev"])
            .env("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001")
            .env("AWS_SECRET_ACCESS_KEY", "env-secret-value")
            .env("AWS_SESSION_TOKEN", "env-token-value")
            .env("AWSRUNAS_SHELL", "bash"),
        LIMIT,
    );
    assert_eq!(out.code, Some(1));
    let text = out.stdout;
    assert!(
        text.contains(
            "error the environment pairs a long-term key (AKIA…0001) with a session token"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "warn  AWS_ACCESS_KEY_ID is set in the environment and profile 'alice' has keys in"
        ),
        "{text}"
    );
    assert!(
        text.contains("ok    shell integration loaded (bash)"),
        "{text}"
    );
    for leaked in [
        "env-secret-value",
        "env-token-value",
        "AKIAENVIRONMENT00001",
        secret.as_str(),
    ] {
        assert!(!text.contains(leaked), "{leaked} printed:\n{text}");
    }

    // Broken configuration is a finding, not a crash.
    s.write_config("[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\n");
    let out = run(s.runas().args(["diagnose", "dev"]), LIMIT);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout.contains("error profile 'dev': role_arn = "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("source_profile"), "{}", out.stdout);
}

/// An STS stand-in whose clock is ten minutes behind: answers every request with a valid
/// GetCallerIdentity response and that `Date`.
fn skewed_sts() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 8192];
        let _ = stream.read(&mut buf);
        let date = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10))
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let body = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>";
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (url, handle)
}

#[test]
fn diagnose_flags_clock_drift_from_the_sts_date_header() {
    let s = Sandbox::new();
    let (url, server) = skewed_sts();
    let out = run(
        s.runas()
            .args(["diagnose", "dev"])
            .env("AWS_ENDPOINT_URL", &url),
        LIMIT,
    );
    server.join().unwrap();
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("error this clock is 10m off AWS's"),
        "{}",
        out.stdout
    );
}

#[test]
fn write_credentials_adds_a_section_the_aws_cli_uses_and_keeps_the_rest() {
    let s = Sandbox::new();
    let original = format!("# my keys\n{CREDENTIALS}\n; a comment\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n");
    std::fs::write(s.credentials_file(), &original).unwrap();
    use std::os::unix::fs::PermissionsExt;
    // As a careless umask leaves it: once it holds live credentials, only its owner may read it.
    std::fs::set_permissions(s.credentials_file(), std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = run(s.runas().args(["-c", "dev"]), LIMIT).ok();
    assert!(out.stdout.is_empty(), "secrets printed: {}", out.stdout);
    assert!(
        out.stderr.contains("wrote [dev-awsrunas] to"),
        "{}",
        out.stderr
    );
    let tightened = format!(
        "aws-runas: {} was readable by others (0644): now 0600\n",
        s.credentials_file().display()
    );
    assert_eq!(
        out.stderr.matches("readable by others").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&tightened), "{}", out.stderr);
    let written = std::fs::read_to_string(s.credentials_file()).unwrap();
    assert!(
        written.starts_with(&original),
        "the rest of the file changed:\n{written}"
    );
    assert!(written[original.len()..].starts_with("\n[dev-awsrunas]\naws_access_key_id = ASIA"));
    assert_eq!(mode(&s.credentials_file()), 0o600);

    let arn = run(
        s.aws().args([
            "sts",
            "get-caller-identity",
            "--query",
            "Arn",
            "--output",
            "text",
            "--profile",
            "dev-awsrunas",
            "--region",
            "eu-west-1",
        ]),
        LIMIT,
    )
    .ok()
    .stdout;
    assert_assumed_role(arn.trim(), "dev");

    // Again, through the environment variable: replaced in place, not added twice; the mode,
    // private now, is kept without a word.
    let out = run(
        s.runas()
            .args(["-r", "dev"])
            .env("RUNAS_WRITE_CREDENTIALS", "true"),
        LIMIT,
    )
    .ok();
    assert!(!out.stderr.contains("by others"), "{}", out.stderr);
    assert_eq!(mode(&s.credentials_file()), 0o600);
    let again = std::fs::read_to_string(s.credentials_file()).unwrap();
    assert_eq!(again.matches("[dev-awsrunas]").count(), 1);
    assert!(again.starts_with(&original));
    assert_ne!(again, written, "-r gave new credentials");
}

/// Answers one HTTP request with `body`, then closes.
fn one_answer(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/latest", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn update_check_against_a_local_server_a_closed_port_and_a_silent_one() {
    let s = Sandbox::new();
    let out = run(
        s.runas()
            .arg("-u")
            .env("RUNAS_UPDATE_URL", one_answer(r#"{"tag_name":"v99.0.0"}"#)),
        LIMIT,
    )
    .ok();
    assert_eq!(
        out.stdout,
        format!(
            "aws-runas 99.0.0 is available (this is {})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let current =
        Box::leak(format!("{{\"tag_name\":\"v{}\"}}", env!("CARGO_PKG_VERSION")).into_boxed_str());
    let out = run(
        s.runas()
            .arg("-u")
            .env("RUNAS_UPDATE_URL", one_answer(current)),
        LIMIT,
    )
    .ok();
    assert_eq!(
        out.stdout,
        format!(
            "aws-runas {} is the latest version\n",
            env!("CARGO_PKG_VERSION")
        )
    );

    let port = ClosedPort::new();
    let closed = format!("{}/latest", port.url());
    let err = run(s.runas().arg("-u").env("RUNAS_UPDATE_URL", &closed), LIMIT).one_line_error();
    assert!(
        err.contains(&format!("cannot check for updates at {closed}")),
        "{err}"
    );

    // Accepts and never answers: a clear error within the short timeout, never a hang.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/latest", silent.local_addr().unwrap());
    // Without its own timeout it would wait forever: LIMIT is the guard (how long it waits is
    // the unit tests' business, not a wall-clock race here).
    let err = run(
        s.runas().arg("-u").env("RUNAS_UPDATE_URL", &silent_url),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("cannot check for updates"), "{err}");
    drop(silent);
}

#[test]
fn list_roles_acts_through_the_mfa_session_when_the_profile_has_mfa_serial() {
    let config = CONFIG.replace(
        "[profile alice]\nregion = eu-west-1\n",
        &format!("[profile alice]\nregion = eu-west-1\nmfa_serial = {MFA_SERIAL}\n"),
    );
    let s = iam_sandbox(&config);
    let alice_key = std::fs::read_to_string(s.credentials_file())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = ").map(str::to_owned))
        .unwrap();
    s.moto.start_recording();
    let out = run(
        s.runas()
            .args(["list", "roles", "alice"])
            .env("MFA_CODE", "135246"),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout, format!("{}\n", ROLES.join("\n")));
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("TokenCode=135246"), "{session}");
    assert!(session.contains("mfa%2Falice"), "{session}");
    let signers = s.moto.signers("ListUserPolicies");
    assert!(!signers.is_empty(), "no IAM call recorded");
    let session_key = &s.moto.signers("GetSessionToken")[0];
    assert_eq!(
        session_key, &alice_key,
        "the session is got with alice's keys"
    );
    for signer in signers {
        assert_ne!(signer, alice_key, "IAM was asked with the long-term keys");
    }

    // No code and no terminal: one line saying how to give one, no IAM call.
    let err = run(
        Command::new("setsid")
            .arg("-w")
            .arg(runas_bin())
            .args(["list", "roles", "alice"])
            .env_clear()
            .envs(s.env())
            .env("RUNAS_CACHE_DIR", s.dir.path().join("other-cache")),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("MFA_CODE"), "{err}");
}

#[test]
fn aws_endpoint_url_iam_is_where_iam_calls_go() {
    let s = iam_sandbox(CONFIG);
    let closed = ClosedPort::new();
    // IAM and STS each at their own variable; the general one leads nowhere.
    let out = run(
        s.runas()
            .args(["list", "mfa", "alice"])
            .env("AWS_ENDPOINT_URL", closed.url())
            .env("AWS_ENDPOINT_URL_STS", s.moto.url())
            .env("AWS_ENDPOINT_URL_IAM", s.moto.url()),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout, "arn:aws:iam::123456789012:mfa/alice\n");
    // IAM's variable beats the general one.
    let err = run(
        s.runas()
            .args(["list", "mfa", "alice"])
            .env("AWS_ENDPOINT_URL_IAM", closed.url()),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("IAM") || err.contains("iam"), "{err}");
}

/// `diagnose PROFILE` with these files and variables: its exit status and report.
fn diagnose(s: &Sandbox, profile: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = s.runas();
    cmd.args(["diagnose", profile]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, LIMIT);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    (out.code, out.stdout)
}

#[test]
fn diagnose_names_each_finding() {
    let config = format!(
        "{CONFIG}\n[profile noregion]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = nowhere\n\
         [profile nowhere]\n\
         [profile badserial]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = alice\nmfa_serial = not-a-serial!\n\
         [profile temp]\nregion = eu-west-1\n"
    );
    let credentials = format!(
        "{CREDENTIALS}[nowhere]\naws_access_key_id = AKIANOWHERE000000001\naws_secret_access_key = n\n\
         [dev]\naws_access_key_id = AKIADEVUNUSED0000001\naws_secret_access_key = u\n\
         [temp]\naws_access_key_id = ASIATEMPORARY0000001\naws_secret_access_key = t\n"
    );
    let s = Sandbox::with_files(&config, &credentials);

    // A temporary key without its token, in the file and in the environment: errors.
    let (code, text) = diagnose(&s, "temp", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("error profile 'temp' in")
            && text.contains("has a temporary key (ASIA…) without aws_session_token"),
        "{text}"
    );
    let (code, text) = diagnose(
        &s,
        "dev",
        &[
            ("AWS_ACCESS_KEY_ID", "ASIAENVIRONMENT00001"),
            ("AWS_SECRET_ACCESS_KEY", "e"),
        ],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "error the environment has a temporary key (ASIA…0001) without AWS_SESSION_TOKEN"
        ),
        "{text}"
    );

    // No region anywhere: a warning saying where to put one.
    let (_, text) = diagnose(&s, "noregion", &[]);
    assert!(
        text.contains("warn  no region: add region = ... to [profile noregion] or set AWS_REGION"),
        "{text}"
    );

    // Keys a role profile has but never uses: said, as information.
    let (code, text) = diagnose(&s, "dev", &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("info  profile 'dev' has keys that are not used"),
        "{text}"
    );

    // A malformed setting: named with its value.
    let mut cmd = s.runas();
    let (_, text) = {
        // The alias says the same.
        let out = run(cmd.args(["diag", "badserial"]), LIMIT);
        (out.code, out.stdout)
    };
    assert!(
        text.contains("warn  mfa_serial 'not-a-serial!' is neither an MFA device ARN"),
        "{text}"
    );

    // A malformed duration setting and a malformed file: one error line each, naming them.
    s.write_config(&format!(
        "{CONFIG}\n[profile slow]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = alice\nduration_seconds = forever\n"
    ));
    let (code, text) = diagnose(&s, "slow", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("error") && text.contains("forever"), "{text}");
    s.write_config("[profile dev\n");
    let (code, text) = diagnose(&s, "dev", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "error malformed {}, line 1",
            s.config_file().display()
        )),
        "{text}"
    );
}

#[test]
fn diagnose_checks_the_cache_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let cache = s.cache_dir().display().to_string();
    let (_, text) = diagnose(&s, "dev", &[]);
    assert!(
        text.contains(&format!("ok    cache {cache} (not created yet)")),
        "{text}"
    );
    run(s.runas().arg("dev"), LIMIT).ok();
    let (_, text) = diagnose(&s, "dev", &[]);
    assert!(
        text.contains(&format!("ok    cache {cache} is private")),
        "{text}"
    );

    std::fs::set_permissions(s.cache_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, text) = diagnose(&s, "dev", &[]);
    assert!(
        text.contains(&format!(
            "warn  cache {cache} is mode 755, readable by others: chmod 700 {cache}"
        )),
        "{text}"
    );
    std::fs::set_permissions(s.cache_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = s
        .cache_files()
        .into_iter()
        .find(|f| f.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, text) = diagnose(&s, "dev", &[]);
    assert!(
        text.contains(&format!(
            "warn  cache files readable by others: chmod 600 {}",
            file.display()
        )),
        "{text}"
    );
}
