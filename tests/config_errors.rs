//! Every error the config files and the environment can cause, end to end on the binary, fed a
//! secret: each must fail with one printable line that names where the fault is and never holds
//! the secret, a control byte, or an unbounded value.

mod common;

use common::{run, Output, LIMIT};

const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY";
/// Enough of the secret to recognise it even cut short.
const SECRET_PART: &str = "wJalrXUtnFEMI";
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const ROLE: &str = "arn:aws:iam::123456789012:role/r";

struct Case {
    what: &'static str,
    config: String,
    credentials: String,
    env: Vec<(&'static str, String)>,
    target: &'static str,
    /// Text the one line must contain: the file, line, profile or variable at fault.
    names: &'static [&'static str],
}

fn case(
    what: &'static str,
    config: &str,
    credentials: &str,
    target: &'static str,
    names: &'static [&'static str],
) -> Case {
    Case {
        what,
        config: config.into(),
        credentials: credentials.into(),
        env: vec![],
        target,
        names,
    }
}

fn keys(profile: &str) -> String {
    format!("[{profile}]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n")
}

fn cases() -> Vec<Case> {
    let role = |src: &str| format!("[profile r]\nrole_arn = {ROLE}\nsource_profile = {src}\n");
    let mut cases = vec![
        case("a credentials line without '='", "", &format!("[a]\naws_access_key_id = {KEY_ID}\naws_secret_access_key {SECRET}\n"), "a", &["credentials, line 3"]),
        case("a config line without '='", &format!("[profile a]\naws_secret_access_key {SECRET}\n"), "", "a", &["config, line 2"]),
        case("CR-only line ends", "", &format!("[a]\raws_access_key_id = {KEY_ID}\raws_secret_access_key {SECRET}\r"), "a", &["credentials, line 3"]),
        case("a setting before any section", "", &format!("aws_secret_access_key = {SECRET}\n"), "a", &["credentials, line 1"]),
        case("a secret as a key name", "", &format!("[a]\n{SECRET}\n"), "a", &["credentials, line 2"]),
        case("a duplicate key", "", &format!("{}aws_secret_access_key = {SECRET}x\n", keys("a")), "a", &["credentials, line 4", "first on line 3"]),
        case("a duplicate section", "", &format!("{}{}", keys("a"), keys("a")), "a", &["credentials, line 4", "[a]"]),
        case("an indented block that is not settings", "", &format!("[a]\ns3 =\n  {SECRET}\n"), "a", &["credentials, line 2"]),
        case("a control byte in the key id", "", &format!("[a]\naws_access_key_id = AKIA\u{1}{SECRET}\naws_secret_access_key = {SECRET}\n"), "a", &["profile 'a'", "line 2", "access key id"]),
        case("a continuation line after the key id", "", &format!("{}  {SECRET}\n", keys("a").replace("\naws_secret", "\n  more\naws_secret")), "a", &["profile 'a'", "access key id"]),
        case("a space in the secret", "", &format!("[a]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET} {SECRET}\n"), "a", &["profile 'a'", "line 3", "secret access key"]),
        case("an escape sequence in the token", "", &format!("{}aws_session_token = {SECRET}\u{1b}[2J\n", keys("a")), "a", &["profile 'a'", "line 4", "session token"]),
        case("only a secret", "", &format!("[a]\naws_secret_access_key = {SECRET}\n"), "a", &["profile 'a'", "aws_access_key_id is missing"]),
        case("a secret as role_arn", "", &format!("{}[r]\nrole_arn = {SECRET}\nsource_profile = a\n", keys("a")), "r", &["profile 'r'", "role_arn", "line 5"]),
        case("a secret as source_profile", "", &format!("{}[r]\nrole_arn = {ROLE}\nsource_profile = {SECRET}\n", keys("a")), "r", &["profile 'r'", "source_profile"]),
        case("a secret as duration_seconds", "", &format!("{}[r]\nrole_arn = {ROLE}\nsource_profile = a\nduration_seconds = {SECRET}\n", keys("a")), "r", &["profile 'r'", "duration_seconds"]),
        case("a secret as credential_source", "", &format!("[r]\nrole_arn = {ROLE}\ncredential_source = {SECRET}\n"), "r", &["profile 'r'", "credential_source"]),
        case("a secret as role_session_name", "", &format!("{}[r]\nrole_arn = {ROLE}\nsource_profile = a\nrole_session_name = {SECRET}/\n", keys("a")), "r", &["profile 'r'", "role_session_name"]),
        case("a secret as region", "", &format!("{}region = {SECRET}/\n", keys("a")), "a", &["profile 'a'", "region"]),
        case("a control byte in external_id", "", &format!("{}[r]\nrole_arn = {ROLE}\nsource_profile = a\nexternal_id = {SECRET}\u{0}\n", keys("a")), "r", &["profile 'r'", "external_id"]),
        case("a source profile without keys", &role("a"), &format!("[a]\nregion = eu-west-1\nnote = {SECRET}\n"), "r", &["profile 'a' has no credentials"]),
        case("a cycle through the credentials file", "", &format!("[r]\nrole_arn = {ROLE}\nsource_profile = r2\n[r2]\nrole_arn = {ROLE}\nsource_profile = r\naws_session_token = {SECRET}\n"), "r", &["cycle"]),
        case("a megabyte value in the config file", &format!("[profile r]\nrole_arn = arn:{}\u{1b}[31m\nsource_profile = a\n", "x".repeat(1 << 20)), &keys("a"), "r", &["profile 'r'", "role_arn", "…"]),
        case("a 5,000-profile cycle", &(0..5000).map(|i| format!("[profile p{i}]\nrole_arn = {ROLE}\nsource_profile = p{}\n", (i + 1) % 5000)).collect::<String>(), "", "p0", &["p0 -> p1 -> p2 -> p3 -> ... (4996 more) -> p0"]),
        Case {
            // An empty variable counts as unset, so the file's endpoint_url is the one used.
            env: vec![("AWS_ENDPOINT_URL", String::new())],
            ..case("a control byte in endpoint_url", "[profile a]\nendpoint_url = http://127.0.0.1:9\u{1b}[2J\n", &keys("a"), "a", &["profile 'a'", "endpoint_url"])
        },
        case("a profile name with control bytes", "", &keys("a"), "a\u{1b}]0;x\u{7}", &["not found"]),
        case("a key id in the config file, its secret in the credentials file", &format!("[profile a]\naws_access_key_id = {KEY_ID}\n"), &format!("[a]\naws_secret_access_key = {SECRET}\n"), "a", &["profile 'a'", "/config: aws_access_key_id is set", "is in /", "/credentials", "one file"]),
        Case {
            env: vec![("AWS_SHARED_CREDENTIALS_FILE", "/".into())],
            ..case("a directory named as the credentials file", "", &keys("a"), "a", &["cannot read / (named by AWS_SHARED_CREDENTIALS_FILE): it is a directory"])
        },
    ];
    let env_case = |what, env: Vec<(&'static str, String)>, names| {
        let mut c = case(what, "", &keys("default"), ROLE, names);
        c.env = env;
        c
    };
    cases.extend([
        env_case(
            "a bad AWS_SECRET_ACCESS_KEY",
            vec![
                ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
                ("AWS_SECRET_ACCESS_KEY", format!("{SECRET}\n{SECRET}")),
            ],
            &["AWS_SECRET_ACCESS_KEY"],
        ),
        env_case(
            "a bad AWS_ACCESS_KEY_ID",
            vec![
                ("AWS_ACCESS_KEY_ID", format!("{SECRET}\u{1b}")),
                ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ],
            &["AWS_ACCESS_KEY_ID"],
        ),
        env_case(
            "a bad AWS_SESSION_TOKEN",
            vec![
                ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
                ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
                ("AWS_SESSION_TOKEN", format!("{SECRET} x")),
            ],
            &["AWS_SESSION_TOKEN"],
        ),
        env_case(
            "a malformed AWS_ENDPOINT_URL with a session token about",
            vec![
                ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
                ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
                ("AWS_SESSION_TOKEN", SECRET.into()),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9/\u{1}".into()),
            ],
            &["AWS_ENDPOINT_URL"],
        ),
        env_case(
            "an MFA code beside a config error",
            vec![
                ("MFA_CODE", "SECRET123456".into()),
                ("AWS_REGION", "eu-west-1\u{1b}[2J".into()),
            ],
            &["AWS_REGION"],
        ),
    ]);
    cases
}

#[test]
fn config_errors_are_one_line_and_never_show_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (i, c) in cases().into_iter().enumerate() {
        let files = dir.path().join(i.to_string());
        std::fs::create_dir(&files).unwrap();
        let config = files.join("config");
        let credentials = files.join("credentials");
        std::fs::write(&config, &c.config).unwrap();
        std::fs::write(&credentials, &c.credentials).unwrap();
        let mut cmd = std::process::Command::new(common::runas_bin());
        cmd.env_clear()
            .env("HOME", dir.path())
            .env("RUNAS_CACHE_DIR", dir.path().join("cache"))
            // Nothing should reach the network; if something does, it fails at once.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .envs(c.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .arg(c.target);
        let out: Output = run(&mut cmd, LIMIT);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            !all.contains(SECRET_PART),
            "{}: the secret is shown: {all}",
            c.what
        );
        assert!(
            !all.contains("SECRET123456"),
            "{}: the MFA code is shown: {all}",
            c.what
        );
        let line = out.one_line_error();
        assert!(
            !line.contains(|ch: char| ch.is_control()),
            "{}: control bytes: {line:?}",
            c.what
        );
        assert!(
            line.chars().count() < 600,
            "{}: {} characters",
            c.what,
            line.chars().count()
        );
        for name in c.names {
            assert!(
                line.contains(name),
                "{}: {line:?} does not say {name:?}",
                c.what
            );
        }
    }
}
