//! Access keys in the OS keyring (`aws-runas keys`), end to end on the binary: a real Secret
//! Service (gnome-keyring in a private D-Bus session, never the user's own), moto as IAM and STS,
//! the AWS CLI reading what aws-runas exports and what is left of the credentials file.

mod common;

use std::process::Command;

use common::*;

const CONFIG: &str = "[profile bob]\nregion = us-east-1\n\n[profile other]\nregion = eu-west-1\n";

/// Runs tests/fixtures/keys.py against the sandbox's moto.
fn iam(s: &Sandbox, args: &[&str]) -> String {
    let out = Command::new(venv_bin("python3"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keys.py"
        ))
        .arg(s.moto.url())
        .args(args)
        .env_clear()
        .output()
        .expect("python3 with boto3 (tests/setup installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new IAM user `bob` in moto with `count` keys: (id, secret) each.
fn bob(s: &Sandbox, count: usize) -> Vec<(String, String)> {
    s.moto.start_recording();
    iam(s, &["create", "bob", &count.to_string()])
        .lines()
        .map(|l| {
            let (id, secret) = l.split_once(' ').unwrap();
            (id.to_owned(), secret.to_owned())
        })
        .collect()
}

fn bob_keys(s: &Sandbox) -> Vec<String> {
    iam(s, &["list", "bob"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn keyring_keys_get_a_session_token_and_a_cache_hit_never_opens_the_keyring() {
    let s = Sandbox::with_files(CONFIG, "");
    let (id, secret) = bob(&s, 1).remove(0);
    let out = in_keyring_session(
        &s,
        &[("KEY_ID", id.clone()), ("KEY_SECRET", secret.clone())],
        r#"AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$KEY_SECRET "$RUNAS" keys add bob || exit 11
        printf 'list:'; "$RUNAS" keys list || exit 12
        exports=$("$RUNAS" bob) || exit 13
        ( eval "$exports"; aws sts get-caller-identity --output text --query Arn ) || exit 14
        "$RUNAS" -r bob aws sts get-caller-identity --output text --query Account || exit 15"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("list:bob\t{id}\n")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&secret) && !out.stderr.contains(&secret));
    assert!(out.stdout.contains("arn:aws:sts::"), "{}", out.stdout);
    assert!(
        out.stdout.contains("123456789012\n"),
        "exec: {}",
        out.stdout
    );
    assert_eq!(s.moto.signers("GetSessionToken"), vec![id.clone(), id]);
    // Nothing of the keys went to a file.
    assert_eq!(std::fs::read_to_string(s.credentials_file()).unwrap(), "");
    // No D-Bus at all now: the cached session token still serves.
    let out = run(s.runas().arg("bob"), LIMIT).ok();
    assert!(out.stdout.contains("AWS_SESSION_TOKEN"), "{}", out.stdout);
    assert_eq!(s.moto.count("GetSessionToken"), 2);
    // A refresh needs the keys: one line, naming what is missing.
    let err = run(s.runas().args(["-r", "bob"]), LIMIT).one_line_error();
    assert!(
        err.contains("profile 'bob' has no credentials")
            && err.contains("no OS keyring is available"),
        "{err}"
    );
}

#[test]
fn keyring_keys_are_a_role_chains_source_profile_in_exec_mode_too() {
    let s = Sandbox::with_files(
        &format!("{CONFIG}[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = bob\n"),
        "",
    );
    let (id, secret) = bob(&s, 1).remove(0);
    let out = in_keyring_session(
        &s,
        &[("KEY_ID", id.clone()), ("KEY_SECRET", secret)],
        r#"AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$KEY_SECRET "$RUNAS" keys add bob || exit 11
        "$RUNAS" -O json dev >/dev/null || exit 12
        "$RUNAS" -r dev aws sts get-caller-identity --query Arn --output text || exit 13"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    // Exec mode's endpoint served the role to the AWS CLI.
    assert_assumed_role(out.stdout.trim(), "dev");
    assert_eq!(s.moto.signers("AssumeRole"), vec![id.clone(), id]);
}

#[test]
fn without_a_keyring_adding_keys_says_so_in_one_line() {
    let s = Sandbox::with_files(CONFIG, "");
    let err = run(
        s.runas()
            .args(["keys", "add", "bob"])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
            ),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("no OS keyring is available") && err.contains("credentials file still work"),
        "{err}"
    );
    assert!(!err.contains("wJalr"), "{err}");
    let err = run(
        s.runas()
            .args(["keys", "add", "bob"])
            .env("AWS_ACCESS_KEY_ID", "not-a-key")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
            ),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("AWS_ACCESS_KEY_ID is not a valid access key id"),
        "{err}"
    );
    // No terminal and no variables: how to give the keys.
    let err = run(s.runas().args(["keys", "add", "bob"]), LIMIT).one_line_error();
    assert!(
        err.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
}

#[test]
fn import_moves_the_keys_and_keeps_every_other_byte() {
    let s = Sandbox::with_files(CONFIG, "");
    let (id, secret) = bob(&s, 1).remove(0);
    let before = format!(
        "# my keys\r\n[other]\r\naws_access_key_id = AKIAOTHEREXAMPLE0001\r\naws_secret_access_key = other/secret\r\n\r\n[bob]\r\n; bob's\r\naws_access_key_id = {id}\r\naws_secret_access_key = {secret}\r\n[last]\r\nx = 1\r\n"
    );
    std::fs::write(s.credentials_file(), &before).unwrap();
    let out = in_keyring_session(
        &s,
        &[],
        r#""$RUNAS" keys import bob || exit 11
        "$RUNAS" bob >/dev/null || exit 12
        printf 'list:'; "$RUNAS" keys list"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("list:bob\t{id}\n")),
        "{}",
        out.stdout
    );
    let after = std::fs::read_to_string(s.credentials_file()).unwrap();
    assert_eq!(
        after,
        "# my keys\r\n[other]\r\naws_access_key_id = AKIAOTHEREXAMPLE0001\r\naws_secret_access_key = other/secret\r\n\r\n[bob]\r\n; bob's\r\n[last]\r\nx = 1\r\n"
    );
    assert_eq!(mode(&s.credentials_file()), 0o600);
    assert_eq!(s.moto.signers("GetSessionToken"), vec![id]);
    // The AWS CLI still reads the other profiles.
    let out = run(
        s.aws().args([
            "configure",
            "get",
            "aws_access_key_id",
            "--profile",
            "other",
        ]),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.trim(), "AKIAOTHEREXAMPLE0001");
}

#[test]
fn rotate_from_the_credentials_file() {
    let s = Sandbox::with_files(CONFIG, "");
    let (old, secret) = bob(&s, 1).remove(0);
    let before = format!(
        "# keep\r\n[bob]\r\naws_access_key_id = {old}\r\naws_secret_access_key = {secret}\r\n\r\n[other]\r\nregion = x\r\n"
    );
    std::fs::write(s.credentials_file(), &before).unwrap();
    let out = run(s.runas().args(["keys", "rotate", "bob"]), LIMIT).ok();
    let keys = bob_keys(&s);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let new = &keys[0];
    assert_ne!(new, &old);
    assert!(
        out.stderr.contains(new) && out.stderr.contains(&old),
        "{}",
        out.stderr
    );
    let after = std::fs::read_to_string(s.credentials_file()).unwrap();
    assert!(after.starts_with(&format!(
        "# keep\r\n[bob]\r\naws_access_key_id = {new}\r\naws_secret_access_key = "
    )));
    assert!(after.ends_with("\r\n\r\n[other]\r\nregion = x\r\n"));
    assert!(!after.contains(&secret));
    // The AWS CLI signs with the new key, and IAM knows it as bob's.
    let out = run(
        s.aws().args([
            "sts",
            "get-caller-identity",
            "--profile",
            "bob",
            "--output",
            "text",
            "--query",
            "Arn",
        ]),
        LIMIT,
    )
    .ok();
    assert!(out.stdout.contains(":user/bob"), "{}", out.stdout);
    assert_eq!(s.moto.signers("GetCallerIdentity").last(), Some(new));
}

#[test]
fn rotate_in_the_keyring() {
    let s = Sandbox::with_files(CONFIG, "");
    let (old, secret) = bob(&s, 1).remove(0);
    let out = in_keyring_session(
        &s,
        &[("KEY_ID", old.clone()), ("KEY_SECRET", secret)],
        r#"AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$KEY_SECRET "$RUNAS" keys add bob || exit 11
        "$RUNAS" keys rotate bob || exit 12
        printf 'list:'; "$RUNAS" keys list || exit 13
        "$RUNAS" -r bob >/dev/null || exit 14"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let keys = bob_keys(&s);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let new = &keys[0];
    assert_ne!(new, &old);
    assert!(
        out.stdout.contains(&format!("list:bob\t{new}\n")),
        "{}",
        out.stdout
    );
    assert_eq!(s.moto.signers("GetSessionToken").last(), Some(new));
}

#[test]
fn rotate_at_the_two_key_limit_changes_nothing() {
    let s = Sandbox::with_files(CONFIG, "");
    let keys = bob(&s, 2);
    let before = format!(
        "[bob]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        keys[0].0, keys[0].1
    );
    std::fs::write(s.credentials_file(), &before).unwrap();
    let err = run(s.runas().args(["keys", "rotate", "bob"]), LIMIT).one_line_error();
    assert!(
        err.contains("two access keys") && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(s.credentials_file()).unwrap(),
        before
    );
    assert_eq!(bob_keys(&s).len(), 2);
}

#[test]
fn a_malformed_keyring_item_is_one_line() {
    let s = Sandbox::with_files(CONFIG, "");
    let out = in_keyring_session(
        &s,
        &[],
        r#"printf 'not keys' | secret-tool store --label=x service 'aws-runas access keys' username bob || exit 11
        "$RUNAS" bob"#,
    );
    assert_ne!(out.code, Some(0));
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let ours: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("dbus-daemon"))
        .collect();
    assert_eq!(ours.len(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("entry for profile 'bob'") && out.stderr.contains("is malformed"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not keys"), "{}", out.stderr);
}

#[test]
fn keys_in_the_file_and_the_keyring_are_refused() {
    let s = Sandbox::with_files(
        CONFIG,
        "[bob]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x/y\n",
    );
    let err = run(
        s.runas()
            .args(["keys", "add", "bob"])
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPL2")
            .env("AWS_SECRET_ACCESS_KEY", "secret"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("profile 'bob' has keys in") && err.contains("credentials"),
        "{err}"
    );
}

#[test]
fn a_locked_keyring_nobody_can_unlock_fails_fast_in_one_line() {
    let s = Sandbox::with_files(CONFIG, "");
    let (id, secret) = bob(&s, 1).remove(0);
    // secret-tool may crash after locking (libsecret): the lock holds all the same.
    let out = in_keyring_session(
        &s,
        &[
            ("KEY_ID", id),
            ("KEY_SECRET", secret),
            ("AWSRUNAS_KEYRING_TIMEOUT", "5".into()),
        ],
        r#"AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$KEY_SECRET "$RUNAS" keys add bob || exit 11
        secret-tool lock --collection=login >/dev/null 2>&1
        err=$("$RUNAS" bob 2>&1 >/dev/null) && exit 12
        printf '%s\n' "$err" >&2
        exit 0"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let ours: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("aws-runas:") && !l.contains("stored key"))
        .collect();
    assert_eq!(ours.len(), 1, "{}", out.stderr);
    assert!(
        ours[0].contains("profile 'bob'") && ours[0].contains("keyring is locked"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// Moto knows no IAM user behind a session token's key, so its IAM refuses the call: which is
/// how a refused CreateAccessKey is seen to change nothing.
#[test]
fn rotate_with_mfa_calls_iam_through_the_session_token_and_a_refusal_changes_nothing() {
    let s = Sandbox::with_files(
        "[profile bob]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/bob\n",
        "",
    );
    let (old, secret) = bob(&s, 1).remove(0);
    let before = format!("[bob]\naws_access_key_id = {old}\naws_secret_access_key = {secret}\n");
    std::fs::write(s.credentials_file(), &before).unwrap();
    let err = run(
        s.runas()
            .args(["keys", "rotate", "bob"])
            .env("MFA_CODE", "123456"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("profile 'bob'") && err.contains("CreateAccessKey"),
        "{err}"
    );
    assert!(s
        .moto
        .request("GetSessionToken")
        .contains("TokenCode=123456"));
    // Signed with the session's key (moto's sessions have AKIA ids), not the long-term one.
    assert_eq!(s.moto.signers("GetSessionToken"), vec![old.clone()]);
    let signers = s.moto.signers("CreateAccessKey");
    assert!(signers.last().is_some_and(|k| *k != old), "{signers:?}");
    assert_eq!(
        std::fs::read_to_string(s.credentials_file()).unwrap(),
        before
    );
    assert_eq!(bob_keys(&s), vec![old]);
}
