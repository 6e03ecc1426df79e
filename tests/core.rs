//! End-to-end: the built binary against a real moto server and the real AWS CLI.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn exports(sandbox: &Sandbox, args: &[&str]) -> String {
    run(sandbox.runas().args(args), LIMIT).ok().stdout
}

#[test]
fn exported_credentials_are_the_role_to_the_aws_cli() {
    let s = Sandbox::new();
    let out = exports(&s, &["dev"]);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWSRUNAS_PROFILE",
    ] {
        assert!(
            out.contains(&format!("export {var}='")),
            "{var} missing:\n{out}"
        );
    }
    assert_eq!(eval_in_sh(&out, "AWS_REGION"), "eu-west-1");
    let expiration = eval_in_sh(&out, "AWS_CREDENTIAL_EXPIRATION");
    assert!(
        expiration.ends_with('Z') && expiration.len() == 20,
        "{expiration}"
    );

    let script = format!(
        "eval \"$1\" && exec {} sts get-caller-identity --output json",
        aws_cli()
    );
    let out = run(s.command("sh").args(["-c", &script, "sh", &out]), LIMIT).ok();
    let arn = json(&out.stdout)["Arn"].as_str().unwrap().to_owned();
    assert_assumed_role(&arn, "dev");
}

#[test]
fn second_call_is_served_from_the_cache_and_refresh_forces_one_call() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let first = exports(&s, &["dev"]);
    assert_eq!(s.moto.count("AssumeRole"), 1, "{:?}", s.moto.recorded());
    assert_eq!(s.moto.count("GetCallerIdentity"), 1, "session name lookup");

    s.moto.start_recording();
    let second = run(s.runas().args(["-v", "dev"]), LIMIT).ok();
    assert_eq!(second.stdout, first);
    assert!(
        s.moto.recorded().is_empty(),
        "cache hit called AWS: {:?}",
        s.moto.recorded()
    );
    assert!(second.stderr.contains("cache hit"), "{}", second.stderr);
    assert!(
        !second.stderr.contains("async runtime"),
        "a cache hit must not start the runtime: {}",
        second.stderr
    );

    let refreshed = exports(&s, &["-r", "dev"]);
    assert_eq!(s.moto.count("AssumeRole"), 1);
    assert_eq!(
        s.moto.recorded().len(),
        1,
        "the identity is cached for good"
    );
    assert_ne!(
        eval_in_sh(&refreshed, "AWS_ACCESS_KEY_ID"),
        eval_in_sh(&first, "AWS_ACCESS_KEY_ID")
    );
}

#[test]
fn concurrent_cold_callers_make_one_sts_call_each_and_share_it() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let keys = json_key_ids(run_concurrently(
        (0..16)
            .map(|_| {
                let mut cmd = s.runas();
                cmd.args(["-O", "json", "mfa"]).env("MFA_CODE", "123456");
                cmd
            })
            .collect(),
    ));
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(s.moto.count("GetSessionToken"), 1);
    assert_eq!(s.moto.count("AssumeRole"), 1);
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("TokenCode=123456"), "{session}");
    assert!(
        session.contains("SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice"),
        "{session}"
    );
}

#[test]
fn json_output_works_as_credential_process_for_the_aws_cli() {
    let s = Sandbox::new();
    let config = format!(
        "{CONFIG}\n[profile via-process]\ncredential_process = '{}' -O json dev\nregion = eu-west-1\n",
        runas_bin().display()
    );
    s.write_config(&config);
    let out = run(
        s.aws().args([
            "sts",
            "get-caller-identity",
            "--output",
            "json",
            "--profile",
            "via-process",
        ]),
        LIMIT,
    )
    .ok();
    let arn = json(&out.stdout)["Arn"].as_str().unwrap().to_owned();
    assert_assumed_role(&arn, "dev");
}

#[test]
fn mfa_without_a_terminal_fails_fast_and_says_what_to_do() {
    let s = Sandbox::new();
    s.moto.start_recording();
    // setsid: no controlling terminal at all, as under credential_process from a daemon.
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(runas_bin())
        .arg("mfa")
        .env_clear()
        .envs(s.env())
        .stdin(Stdio::null());
    // Waiting for an answer nobody can give would hang: LIMIT is the guard.
    let err = run(&mut cmd, LIMIT).one_line_error();
    assert!(err.contains("profile 'mfa' needs an MFA code"), "{err}");
    assert!(err.contains("-o") && err.contains("MFA_CODE"), "{err}");
    assert!(s.moto.recorded().is_empty(), "no STS call before the code");
}

#[test]
fn session_flag_gives_session_token_credentials_with_its_duration() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let out = exports(&s, &["-s", "-d", "1h30m", "-o", "654321", "mfa"]);
    let calls = s.moto.recorded();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("Action=GetSessionToken"));
    assert!(calls[0].contains("DurationSeconds=5400"), "{}", calls[0]);
    assert!(calls[0].contains("TokenCode=654321"), "{}", calls[0]);
    assert_eq!(eval_in_sh(&out, "AWSRUNAS_PROFILE"), "mfa");
}

#[test]
fn role_duration_external_id_and_env_variables_reach_sts() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let out = run(
        s.runas()
            .args(["-X", "ext-42", "-O", "json", "dev"])
            .env("CREDENTIALS_DURATION", "2h"),
        LIMIT,
    )
    .ok();
    let assume = s.moto.request("AssumeRole");
    assert!(assume.contains("DurationSeconds=7200"), "{assume}");
    assert!(assume.contains("ExternalId=ext-42"), "{assume}");
    assert!(
        assume.contains("RoleSessionName=moto"),
        "IAM user name from the caller: {assume}"
    );
    let expiration: jiff::Timestamp = json(&out.stdout)["Expiration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expiration.duration_since(jiff::Timestamp::now()).as_secs();
    assert!((7000..=7200).contains(&left), "{left}");
}

#[test]
fn role_arn_works_as_a_profile_with_the_mfa_flag() {
    let s = Sandbox::with_files(CONFIG, &CREDENTIALS.replace("[alice]", "[default]"));
    s.moto.start_recording();
    let out = exports(
        &s,
        &[
            "-M",
            MFA_SERIAL,
            "-o",
            "111222",
            "arn:aws:iam::123456789012:role/direct",
        ],
    );
    assert_eq!(
        eval_in_sh(&out, "AWSRUNAS_PROFILE"),
        "arn:aws:iam::123456789012:role/direct"
    );
    assert_eq!(s.moto.count("GetSessionToken"), 1);
    let assume = s.moto.request("AssumeRole");
    assert!(assume.contains("role%2Fdirect"), "{assume}");
}

#[test]
fn role_chains_are_assumed_hop_by_hop() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let out = run(s.runas().args(["-w", "chain"]), LIMIT).ok();
    assert!(
        out.stdout
            .contains("Arn: arn:aws:sts::123456789012:assumed-role/chain/"),
        "{}",
        out.stdout
    );
    assert_eq!(s.moto.count("AssumeRole"), 2);
}

#[test]
fn expiration_and_whoami() {
    let s = Sandbox::new();
    let out = run(s.runas().args(["-e", "dev"]), LIMIT).ok();
    assert!(
        out.stdout.starts_with("Credentials will expire on "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("UTC (in 59m") || out.stdout.contains("UTC (in 1h)"),
        "{}",
        out.stdout
    );
    let out = run(s.runas().args(["-w", "-O", "json", "dev"]), LIMIT).ok();
    let id = json(&out.stdout);
    assert_eq!(id["Account"], ACCOUNT);
    assert!(id["Arn"].as_str().unwrap().contains(":assumed-role/dev/"));
    assert!(id["UserId"].as_str().unwrap().contains(':'));
}

#[test]
fn env_exec_mode_passes_credentials_exit_code_and_nothing_stale() {
    let s = Sandbox::new();
    let out = run(
        s.runas()
            .args([
                "-E",
                "dev",
                "sh",
                "-c",
                "echo \"$AWSRUNAS_PROFILE|${AWS_PROFILE-unset}|$AWS_SESSION_TOKEN|$AWS_REGION\"; exit 42",
            ])
            .env("AWS_PROFILE", "alice")
            .env("AWS_SESSION_TOKEN", "stale-token"),
        LIMIT,
    );
    assert_eq!(out.code, Some(42), "{}", out.stderr);
    let fields: Vec<&str> = out.stdout.trim().split('|').collect();
    assert_eq!(fields[0], "dev");
    assert_eq!(fields[1], "unset", "AWS_PROFILE leaked into the child");
    assert!(fields[2].len() > 20 && fields[2] != "stale-token");
    assert_eq!(fields[3], "eu-west-1");

    let out = run(s.runas().args(["dev", "no-such-command-here"]), LIMIT);
    assert_eq!(out.code, Some(127));
    assert!(
        out.stderr.contains("cannot run 'no-such-command-here'"),
        "{}",
        out.stderr
    );
}

#[test]
fn exec_mode_lets_signals_reach_the_command() {
    let s = Sandbox::new();
    let mut child = s
        .runas()
        .args([
            "dev",
            "sh",
            "-c",
            "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "signal did not reach the command"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(3));
}

#[test]
fn awkward_values_survive_eval() {
    let name = "it's $HOME `id` \\ \"q\"";
    // Botocore splits `profile NAME` like a shell line: such a name is written double-quoted.
    let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
    let config = format!("{CONFIG}\n[profile \"{quoted}\"]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = alice\n");
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let out = exports(&s, &[name]);
    assert_eq!(eval_in_sh(&out, "AWSRUNAS_PROFILE"), name);
    let bash = Command::new("bash")
        .args([
            "--norc",
            "-euc",
            "eval \"$1\"; printf %s \"$AWSRUNAS_PROFILE\"",
            "bash",
            &out,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(bash.stdout).unwrap(), name);
}

#[test]
fn verbose_logs_never_show_secrets() {
    let s = Sandbox::new();
    let out = run(
        s.runas().args(["-vv", "-O", "json", "-o", "975310", "mfa"]),
        LIMIT,
    )
    .ok();
    let creds = json(&out.stdout);
    assert!(
        out.stderr.contains("AssumeRole"),
        "-vv logs the calls: {}",
        out.stderr
    );
    for secret in [
        creds["SecretAccessKey"].as_str().unwrap(),
        creds["SessionToken"].as_str().unwrap(),
        "alice/secret+key",
        "975310",
    ] {
        assert!(
            !out.stderr.contains(secret),
            "secret {secret} in log:\n{}",
            out.stderr
        );
    }
}

#[test]
fn cache_is_private_and_atomic() {
    let s = Sandbox::new();
    exports(&s, &["dev"]);
    assert_eq!(mode(&s.cache_dir()), 0o700);
    let files = s.cache_files();
    assert!(files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "json")));
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(".tmp"), "temporary file left: {name}");
    }
}

#[test]
fn corrupt_cache_file_is_a_miss_with_a_warning() {
    let s = Sandbox::new();
    let first = exports(&s, &["dev"]);
    let entry = s
        .cache_files()
        .into_iter()
        .find(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("role_dev")
        })
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::write(&entry, "{ not json").unwrap();
    let out = run(s.runas().arg("dev"), LIMIT).ok();
    assert!(
        out.stderr
            .contains("warning: ignoring unreadable cache file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&entry.display().to_string()));
    assert_ne!(out.stdout, first, "fetched anew");
    let again = run(s.runas().arg("dev"), LIMIT).ok();
    assert!(
        again.stderr.is_empty(),
        "the rewritten entry reads cleanly: {}",
        again.stderr
    );
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn a_killed_refresher_never_blocks_the_next_call() {
    let s = Sandbox::new();
    // An endpoint that accepts connections and never answers: the refresher hangs holding the lock.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_url = format!("http://{}", black_hole.local_addr().unwrap());
    let mut refresher = s
        .runas()
        .arg("dev")
        .env("AWS_ENDPOINT_URL", &hole_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = refresher.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let holder = s
            .cache_files()
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "lock"))
            .any(|f| std::fs::read_to_string(f).unwrap_or_default() == pid);
        if holder && black_hole.set_nonblocking(true).is_ok() && black_hole.accept().is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "refresher never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    refresher.kill().unwrap(); // SIGKILL: no cleanup code runs
    refresher.wait().unwrap();

    // A lock left held would make this wait forever: LIMIT is the guard.
    let out = run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
    assert!(json(&out.stdout)["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    let again = run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
    assert_eq!(again.stdout, out.stdout, "the replaced entry is read back");
}

#[test]
fn bad_input_gets_one_clear_line() {
    let s = Sandbox::new();
    let cfg = s.config_file().display().to_string();

    // Malformed INI: the file and line are named.
    s.write_config("[profile dev\nrole_arn = x\n");
    let err = run(s.runas().arg("dev"), LIMIT).one_line_error();
    assert!(
        err.contains(&cfg) && err.contains("line 1:") && err.contains("missing ']'"),
        "{err}"
    );

    s.write_config(CONFIG);
    let err = run(s.runas().arg("nope"), LIMIT).one_line_error();
    assert!(
        err.contains("profile 'nope' not found in") && err.contains(&cfg),
        "{err}"
    );

    s.write_config(&format!(
        "{CONFIG}\n[profile loop1]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = loop2\n\
         [profile loop2]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = loop1\n\
         [profile nokeys]\nregion = us-east-1\n\
         [profile badarn]\nrole_arn = arn:aws:iam::123:role\nsource_profile = alice\n"
    ));
    let err = run(s.runas().arg("loop1"), LIMIT).one_line_error();
    assert!(
        err.contains("source_profile cycle: loop1 -> loop2 -> loop1"),
        "{err}"
    );
    let err = run(s.runas().arg("nokeys"), LIMIT).one_line_error();
    assert!(err.contains("profile 'nokeys' has no credentials"), "{err}");
    let err = run(s.runas().arg("badarn"), LIMIT).one_line_error();
    assert!(
        err.contains("profile 'badarn': role_arn = 'arn:aws:iam::123:role' is invalid"),
        "{err}"
    );
    let err = run(s.runas().arg("arn:aws:iam::1:role/x"), LIMIT).one_line_error();
    assert!(err.contains("'arn:aws:iam::1:role/x'"), "{err}");

    let err = run(s.runas().args(["-a", "5x", "dev"]), LIMIT).one_line_error();
    assert!(
        err.contains("'5x'") && err.contains("--role-duration"),
        "{err}"
    );
    let err = run(
        s.runas().arg("dev").env("SESSION_TOKEN_DURATION", "soon"),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("'soon'"), "{err}");
    let err = run(s.runas().args(["-a", "5m", "dev"]), LIMIT).one_line_error();
    assert!(
        err.contains("role duration 5m for 'dev' is outside what AWS allows"),
        "{err}"
    );
    let err = run(s.runas().args(["-o", "12ab", "mfa"]), LIMIT).one_line_error();
    assert!(
        err.contains("MFA code from -o / MFA_CODE is not 6 digits"),
        "{err}"
    );

    std::fs::write(
        s.credentials_file(),
        "[alice]\naws_access_key_id = AKIAONLY\n",
    )
    .unwrap();
    let err = run(s.runas().arg("dev"), LIMIT).one_line_error();
    assert!(err.contains("aws_secret_access_key is missing"), "{err}");

    // Nothing was half-written by any of these.
    assert!(s.cache_files().iter().all(|f| !f
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(".tmp")));
}

#[test]
fn sts_errors_name_the_profile() {
    let s = Sandbox::new();
    // An endpoint nobody listens on: a transport error, not a hang (LIMIT guards that).
    let closed = ClosedPort::new();
    let err = run(
        s.runas().arg("dev").env("AWS_ENDPOINT_URL", closed.url()),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("profile 'alice'") || err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(err.contains("STS"), "{err}");

    // A service error from an STS that checks keys: moto in auth mode rejects unknown ones.
    let strict = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let err = run(
        s.runas()
            .args(["-X", "e", "dev"])
            .env("AWS_ENDPOINT_URL", strict.url()),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("profile 'alice'") && err.contains("InvalidClientTokenId"),
        "{err}"
    );
}

/// A parent may start us with stdout and stderr closed (a daemon, `>&-`): the files a run opens
/// (config, lock, cache entry, the credentials file for `-c`) must never take their place and
/// receive the credentials printed for the caller.
#[test]
fn closed_standard_streams_never_let_output_into_files() {
    let s = Sandbox::new();
    let out = run(
        s.command("sh").args([
            "-c",
            r#""$0" -c -O json dev >&- 2>&-; echo "exit $?""#,
            &runas_bin().display().to_string(),
        ]),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.trim(), "exit 0", "{}", out.stderr);

    let mut files = s.cache_files();
    files.extend([s.credentials_file(), s.config_file()]);
    for file in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            !text.contains("\"Version\""),
            "printed credentials landed in {}:\n{text}",
            file.display()
        );
    }
    let hit = run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
    assert!(
        json(&hit.stdout)["AccessKeyId"].is_string(),
        "{}",
        hit.stdout
    );
    let credentials = std::fs::read_to_string(s.credentials_file()).unwrap();
    assert!(credentials.contains("[dev-awsrunas]"), "{credentials}");
}

/// A reader that goes away (`aws-runas -O json dev | head -c0`, a credential_process caller
/// that timed out) must not kill the process with SIGPIPE: the write fails, the run ends with an
/// exit code of its own, and nothing panics.
#[cfg(unix)]
#[test]
fn a_reader_that_went_away_is_no_sigpipe_death() {
    use std::os::unix::process::ExitStatusExt;
    let s = Sandbox::new();
    exports(&s, &["dev"]);
    for args in [
        &["-O", "json", "dev"][..],
        &["--version"],
        &["completions", "zsh"],
    ] {
        let (ours, reader) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(reader);
        let out = s
            .runas()
            .args(args)
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(ours)))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), None, "{args:?}: {:?}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
