//! Every environment variable of the flag table, the profile settings and the cache's defaults,
//! end to end: the built binary against moto, each claim of the README checked by what STS
//! received or what a user sees.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// One row of the variable table: set `var` to `value`, run `args`, check what happened.
struct Case {
    var: &'static str,
    value: &'static str,
    args: &'static [&'static str],
    check: fn(&Sandbox, &Output),
}

const MFA_ARN_FORM: &str = "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice";

fn ok(out: &Output) {
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
}

const CASES: &[Case] = &[
    Case {
        var: "MFA_SERIAL",
        value: MFA_SERIAL,
        args: &["dev"],
        check: |s, out| {
            ok(out);
            let session = s.moto.request("GetSessionToken");
            assert!(session.contains(MFA_ARN_FORM), "{session}");
            assert!(session.contains("TokenCode=123456"), "{session}");
            assert_eq!(s.moto.count("AssumeRole"), 1);
        },
    },
    Case {
        var: "EXTERNAL_ID",
        value: "ext-from-env",
        args: &["dev"],
        check: |s, out| {
            ok(out);
            let assume = s.moto.request("AssumeRole");
            assert!(assume.contains("ExternalId=ext-from-env"), "{assume}");
        },
    },
    Case {
        var: "RUNAS_ENV_CREDENTIALS",
        value: "1",
        args: &[
            "dev",
            "sh",
            "-c",
            "echo \"${AWS_ACCESS_KEY_ID-none}|${AWS_CONTAINER_CREDENTIALS_FULL_URI-none}\"",
        ],
        check: |_, out| {
            ok(out);
            let (key, uri) = out.stdout.trim().split_once('|').unwrap();
            assert!(key.starts_with("ASIA"), "{}", out.stdout);
            assert_eq!(uri, "none", "an endpoint as well as keys");
        },
    },
    Case {
        var: "RUNAS_OUTPUT_FORMAT",
        value: "json",
        args: &["dev"],
        check: |_, out| {
            ok(out);
            let creds = json(&out.stdout);
            assert_eq!(creds["Version"], 1);
            assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
        },
    },
    Case {
        var: "RUNAS_OUTPUT_FORMAT",
        value: "fish",
        args: &["dev"],
        check: |_, out| {
            ok(out);
            assert!(
                out.stdout.contains("set -gx AWS_ACCESS_KEY_ID 'ASIA"),
                "{}",
                out.stdout
            );
        },
    },
    Case {
        var: "RUNAS_OUTPUT_FORMAT",
        value: "powershell",
        args: &["dev"],
        check: |_, out| {
            ok(out);
            assert!(
                out.stdout.contains("$Env:AWS_ACCESS_KEY_ID = 'ASIA"),
                "{}",
                out.stdout
            );
        },
    },
    Case {
        var: "RUNAS_SESSION_CREDENTIALS",
        value: "1",
        args: &["mfa"],
        check: |s, out| {
            ok(out);
            assert_eq!(s.moto.count("GetSessionToken"), 1);
            assert_eq!(s.moto.count("AssumeRole"), 0, "a role was assumed");
        },
    },
    Case {
        var: "RUNAS_VERBOSE",
        value: "1",
        args: &["dev"],
        check: |_, out| {
            ok(out);
            assert!(out.stderr.contains("AssumeRole"), "no log: {}", out.stderr);
        },
    },
    Case {
        var: "AWS_PROFILE",
        value: "dev",
        args: &[],
        check: |_, out| {
            ok(out);
            assert_eq!(eval_in_sh(&out.stdout, "AWSRUNAS_PROFILE"), "dev");
        },
    },
    Case {
        var: "AWS_DEFAULT_PROFILE",
        value: "chain",
        args: &[],
        check: |_, out| {
            ok(out);
            assert_eq!(eval_in_sh(&out.stdout, "AWSRUNAS_PROFILE"), "chain");
        },
    },
    Case {
        var: "SESSION_TOKEN_DURATION",
        value: "2h",
        args: &["mfa"],
        check: |s, out| {
            ok(out);
            let session = s.moto.request("GetSessionToken");
            assert!(session.contains("DurationSeconds=7200"), "{session}");
        },
    },
    Case {
        var: "CREDENTIALS_DURATION",
        value: "90m",
        args: &["dev"],
        check: |s, out| {
            ok(out);
            let assume = s.moto.request("AssumeRole");
            assert!(assume.contains("DurationSeconds=5400"), "{assume}");
        },
    },
    Case {
        var: "MFA_CODE",
        value: "424242",
        args: &["mfa"],
        check: |s, out| {
            ok(out);
            let session = s.moto.request("GetSessionToken");
            assert!(session.contains("TokenCode=424242"), "{session}");
        },
    },
];

/// Runs `args` with `vars` and a cache of its own, recording what moto receives.
fn run_with(s: &Sandbox, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let cache = tempfile::tempdir().unwrap();
    s.moto.start_recording();
    let mut cmd = s.runas();
    cmd.args(args).env("RUNAS_CACHE_DIR", cache.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd, LIMIT)
}

#[test]
fn every_variable_of_the_flag_table_takes_effect() {
    let s = Sandbox::new();
    for case in CASES {
        // MFA-needing rows get their code the documented way, except the row about MFA_CODE.
        let mut vars = vec![(case.var, case.value)];
        if case.var != "MFA_CODE" {
            vars.push(("MFA_CODE", "123456"));
        }
        let out = run_with(&s, case.args, &vars);
        eprintln!("{}={}: checking", case.var, case.value);
        (case.check)(&s, &out);
    }
}

/// v3's sign-in variables, one row each: `diagnose PROFILE` reports the resolved sign-in
/// settings without signing in (the identity providers are closed ports: nothing answers, nothing
/// is asked), and each row's text is absent without its variable.
#[test]
fn every_sign_in_variable_takes_effect() {
    let idp = ClosedPort::new();
    let env_idp = ClosedPort::new();
    let op = ClosedPort::new();
    let env_op = ClosedPort::new();
    let target = format!("arn:aws:iam::{ACCOUNT}:role/target");
    let web = |name: &str, lines: &str| format!("\n[profile {name}]\n{lines}role_arn = {target}\n");
    let url = format!("web_identity_auth_url = {}/op\n", op.url());
    let client = "web_identity_client_id = file-client\n";
    let redirect = "web_identity_redirect_uri = app:/callback\n";
    let config = [
        CONFIG.to_owned(),
        format!(
            "\n[profile saml]\nsaml_auth_url = {}/saml\nrole_arn = {target}\n",
            idp.url()
        ),
        web("web", &format!("{url}{client}{redirect}")),
        web("web-no-url", &format!("{client}{redirect}")),
        web("web-no-client", &format!("{url}{redirect}")),
        web("web-no-redirect", &format!("{url}{client}")),
    ]
    .concat();
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let env_idp_url = format!("{}/from-env", env_idp.url());
    let env_op_url = format!("{}/from-env", env_op.url());
    let jump = format!("arn:aws:iam::{ACCOUNT}:role/jump");
    let rows: Vec<(&str, &str, &str, Vec<String>)> = vec![
        (
            "SAML_AUTH_URL",
            &env_idp_url,
            "dev",
            vec![format!("source: SAML sign-in at {env_idp_url} as ")],
        ),
        (
            "SAML_USERNAME",
            "saml-user",
            "saml",
            vec!["as saml-user (".into()],
        ),
        (
            "SAML_PROVIDER",
            "okta",
            "saml",
            vec!["(Okta provider)".into()],
        ),
        (
            "RUNAS_USERNAME",
            "runas-user",
            "saml",
            vec!["as runas-user (".into()],
        ),
        (
            "RUNAS_PROVIDER",
            "onelogin",
            "saml",
            vec!["(OneLogin provider)".into()],
        ),
        (
            "JUMP_ROLE_ARN",
            &jump,
            "saml",
            vec![
                format!("assume with SAML: {jump} ("),
                format!("assume: {target} (profile 'saml'"),
            ],
        ),
        (
            "WEB_AUTH_URL",
            &env_op_url,
            "web-no-url",
            vec![format!("source: web identity sign-in at {env_op_url} (")],
        ),
        (
            "WEB_CLIENT_ID",
            "env-client",
            "web-no-client",
            vec!["(client env-client, ".into()],
        ),
        (
            "WEB_REDIRECT_URI",
            "http://127.0.0.1:8400/env-callback",
            "web-no-redirect",
            vec!["redirect URI http://127.0.0.1:8400/env-callback, ".into()],
        ),
        (
            "WEB_USERNAME",
            "web-user",
            "web",
            vec!["Password flow) as web-user\n".into()],
        ),
        (
            "WEB_PROVIDER",
            "forgerock",
            "web",
            vec!["ForgeRock provider".into()],
        ),
    ];
    for (var, value, profile, expected) in rows {
        let diagnose = |vars: &[(&str, &str)]| {
            let out = run_with(&s, &["diagnose", profile], vars);
            assert!(!out.stderr.contains("panicked"), "{var}: {}", out.stderr);
            out.stdout
        };
        let with = diagnose(&[(var, value)]);
        let without = diagnose(&[]);
        for text in &expected {
            assert!(
                with.contains(text.as_str()),
                "{var}={value}: no {text:?} in\n{with}"
            );
            assert!(
                !without.contains(text.as_str()),
                "{var}: {text:?} without it:\n{without}"
            );
        }
    }
    // Of a flag's variables the first set one wins, as in v3; an empty one is unset.
    let profiles_own = format!(
        "source: SAML sign-in at {}/saml as (asked) (Auto provider)\nassume with SAML: {target} (",
        idp.url()
    );
    let users = [("SAML_USERNAME", "saml-user"), ("WEB_USERNAME", "web-user")];
    for (vars, expected) in [
        (
            &[("RUNAS_USERNAME", "runas-user"), users[0], users[1]][..],
            "as runas-user (",
        ),
        (
            &[("RUNAS_USERNAME", ""), users[0], users[1]],
            "as saml-user (",
        ),
        (&[("SAML_USERNAME", ""), users[1]], "as web-user ("),
        (
            &[
                ("RUNAS_PROVIDER", ""),
                ("SAML_PROVIDER", "okta"),
                ("WEB_PROVIDER", "onelogin"),
            ],
            "(Okta provider)",
        ),
        (
            &[("SAML_AUTH_URL", ""), ("JUMP_ROLE_ARN", "")],
            &profiles_own,
        ),
        (
            &[("SESSION_TOKEN_DURATION", ""), ("RUNAS_OUTPUT_FORMAT", "")],
            &profiles_own,
        ),
    ] {
        let out = run_with(&s, &["diagnose", "saml"], vars);
        assert!(
            out.stdout.contains(expected),
            "{vars:?}: no {expected:?} in\n{}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(
        s.moto.recorded().is_empty(),
        "diagnose signed in or called AWS"
    );
}

#[test]
fn aws_profile_beats_aws_default_profile_and_a_named_profile_beats_both() {
    let s = Sandbox::new();
    let both = [("AWS_PROFILE", "dev"), ("AWS_DEFAULT_PROFILE", "chain")];
    let out = run_with(&s, &[], &both).ok();
    assert_eq!(eval_in_sh(&out.stdout, "AWSRUNAS_PROFILE"), "dev");
    let out = run_with(&s, &["mfa"], &[both[0], both[1], ("MFA_CODE", "123456")]).ok();
    assert_eq!(eval_in_sh(&out.stdout, "AWSRUNAS_PROFILE"), "mfa");
}

/// The README's boolean variables: true unless empty or one of the false words, in any case.
#[test]
fn boolean_variables_are_false_only_for_the_documented_words() {
    let s = Sandbox::new();
    let falsy = ["", "0", "false", "no", "off", "n", "f", "FALSE", "Off", "N"];
    let truthy = ["1", "true", "yes", "on", "y", "TRUE", "anything"];
    for (values, session) in [(&falsy[..], false), (&truthy[..], true)] {
        for value in values {
            run_with(&s, &["dev"], &[("RUNAS_SESSION_CREDENTIALS", value)]).ok();
            assert_eq!(
                s.moto.count("AssumeRole"),
                usize::from(!session),
                "RUNAS_SESSION_CREDENTIALS={value:?}"
            );
            assert_eq!(
                s.moto.count("GetSessionToken"),
                usize::from(session),
                "RUNAS_SESSION_CREDENTIALS={value:?}"
            );
        }
    }
}

#[test]
fn flags_beat_environment_variables_which_beat_the_files() {
    let config = format!(
        "{CONFIG}\n[profile ext]\nrole_arn = arn:aws:iam::123456789012:role/ext\nsource_profile = alice\nexternal_id = from-file\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    for (args, vars, expected) in [
        (&["ext"][..], &[][..], "from-file"),
        (&["ext"][..], &[("EXTERNAL_ID", "from-env")][..], "from-env"),
        (
            &["-X", "from-flag", "ext"][..],
            &[("EXTERNAL_ID", "from-env")][..],
            "from-flag",
        ),
    ] {
        run_with(&s, args, vars).ok();
        let assume = s.moto.request("AssumeRole");
        assert!(
            assume.contains(&format!("ExternalId={expected}&")) || assume.ends_with(expected),
            "{args:?} {vars:?}: {assume}"
        );
    }
}

#[test]
fn aws_config_file_names_another_config() {
    let s = Sandbox::new();
    let other = s.dir.path().join("other-config");
    std::fs::write(
        &other,
        "[profile elsewhere]\nrole_arn = arn:aws:iam::123456789012:role/elsewhere\nsource_profile = alice\nregion = ap-south-1\n",
    )
    .unwrap();
    let out = run_with(
        &s,
        &["elsewhere"],
        &[("AWS_CONFIG_FILE", &other.display().to_string())],
    )
    .ok();
    assert_eq!(eval_in_sh(&out.stdout, "AWS_REGION"), "ap-south-1");
    assert!(s.moto.request("AssumeRole").contains("role%2Felsewhere"));
    // And the default one is then not read.
    let err = run_with(
        &s,
        &["dev"],
        &[("AWS_CONFIG_FILE", &other.display().to_string())],
    )
    .one_line_error();
    assert!(err.contains("profile 'dev' not found"), "{err}");
}

#[test]
fn output_fish_is_sourced_by_a_real_fish() {
    let s = Sandbox::new();
    let script = format!(
        "'{}' -O fish dev | source; and {} sts get-caller-identity --query Arn --output text",
        runas_bin().display(),
        aws_cli()
    );
    let out = run(
        s.command("fish").args(["--no-config", "-c", &script]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(out.stdout.trim(), "dev");
}

#[test]
fn version_flag() {
    let s = Sandbox::new();
    for flag in ["-V", "--version"] {
        let out = run(s.runas().arg(flag), LIMIT).ok();
        assert_eq!(
            out.stdout,
            format!("aws-runas {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn credential_source_environment_assumes_the_role_with_the_environment_keys() {
    let config = format!(
        "{CONFIG}\n[profile from-env]\nrole_arn = arn:aws:iam::123456789012:role/from-env\ncredential_source = Environment\nregion = eu-west-1\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let keys = [
        ("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00042"),
        ("AWS_SECRET_ACCESS_KEY", "env/secret"),
    ];
    let out = run_with(&s, &["-w", "from-env"], &keys).ok();
    assert!(
        out.stdout
            .contains("Arn: arn:aws:sts::123456789012:assumed-role/from-env/"),
        "{}",
        out.stdout
    );
    let out = run_with(&s, &["diagnose", "from-env"], &keys);
    assert!(
        out.stdout
            .contains("source: keys AKIA…0042 from the environment"),
        "{}",
        out.stdout
    );
    // Without keys in the environment: one line, naming the profile.
    let err = run_with(&s, &["from-env"], &[]).one_line_error();
    assert!(err.contains("from-env"), "{err}");
}

#[test]
fn role_session_name_and_session_token_duration_settings_reach_sts() {
    let config = format!(
        "{CONFIG}\n[profile named]\nrole_arn = arn:aws:iam::123456789012:role/named\nsource_profile = alice\nrole_session_name = my-session\n\
         [profile long-mfa]\nrole_arn = arn:aws:iam::123456789012:role/mfa\nsource_profile = alice\nmfa_serial = {MFA_SERIAL}\nsession_token_duration = 3h\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let out = run_with(&s, &["-w", "named"], &[]).ok();
    assert!(
        out.stdout
            .contains("Arn: arn:aws:sts::123456789012:assumed-role/named/my-session"),
        "{}",
        out.stdout
    );
    assert!(s
        .moto
        .request("AssumeRole")
        .contains("RoleSessionName=my-session"));

    run_with(&s, &["long-mfa"], &[("MFA_CODE", "123456")]).ok();
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("DurationSeconds=10800"), "{session}");
    // The flag beats the setting.
    run_with(&s, &["-d", "1h", "long-mfa"], &[("MFA_CODE", "123456")]).ok();
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("DurationSeconds=3600"), "{session}");
}

#[test]
fn default_cache_directory_is_private_under_the_home_cache() {
    let s = Sandbox::new();
    // No RUNAS_CACHE_DIR, no XDG_CACHE_HOME: the platform default under this HOME.
    let runas = || {
        let mut cmd = s.runas();
        cmd.env_remove("RUNAS_CACHE_DIR")
            .env_remove("XDG_CACHE_HOME");
        cmd
    };
    s.moto.start_recording();
    let first = run(runas().arg("dev"), LIMIT).ok();
    let dir = s.home().join(".cache/aws-runas");
    assert!(dir.is_dir(), "no cache in {}", dir.display());
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    assert!(!s.cache_dir().exists(), "wrote to RUNAS_CACHE_DIR's place");
    let calls = s.moto.recorded().len();
    let second = run(runas().arg("dev"), LIMIT).ok();
    assert_eq!(second.stdout, first.stdout, "not served from the cache");
    assert_eq!(
        s.moto.recorded().len(),
        calls,
        "the second call went to AWS"
    );
}

/// Gets `profile`'s credentials through an STS whose answers expire `window + 20s` after issue,
/// then asks again every second: every call that started before the refresh point (20s after
/// issue) must be a cache hit, and the first new keys must come from a call that ended after
/// it. The bounds are logical (a slow machine makes calls later, never earlier), so no wall
/// clock limit is asserted beyond the hang guard.
fn check_refresh_point(s: &Sandbox, profile: &str, window: Duration, vars: &[(&str, &str)]) {
    const MARGIN: u64 = 20;
    let sts = ShortLivedSts::start(&s.moto, window + Duration::from_secs(MARGIN));
    let call = || {
        let mut cmd = s.runas();
        cmd.args(["-O", "json", profile])
            .env("AWS_ENDPOINT_URL", &sts.url);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = run(&mut cmd, LIMIT).ok();
        json(&out.stdout)["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let t0 = Instant::now();
    let first = call();
    let t1 = Instant::now();
    // Expiry is in whole seconds: allow 2s of rounding either way.
    let earliest = t0 + Duration::from_secs(MARGIN - 2);
    let latest = t1 + Duration::from_secs(MARGIN + 2);
    let mut hits = 0;
    loop {
        let started = Instant::now();
        let key = call();
        let ended = Instant::now();
        if key != first {
            assert!(
                ended >= earliest,
                "refreshed {:?} after issue, before the window of {window:?} was reached",
                ended - t0
            );
            break;
        }
        assert!(
            started <= latest,
            "still a cache hit {:?} after issue, past the window of {window:?}",
            started - t1
        );
        hits += 1;
        assert!(
            t0.elapsed() < Duration::from_secs(MARGIN + 120),
            "hang guard"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        hits > 0,
        "no call was served from the cache before the window"
    );
}

#[test]
fn default_refresh_window_is_15_minutes() {
    let s = Sandbox::new();
    check_refresh_point(&s, "dev", Duration::from_secs(15 * 60), &[]);
}

#[test]
fn refresh_window_variable_sets_the_window() {
    let s = Sandbox::new();
    check_refresh_point(
        &s,
        "dev",
        Duration::from_secs(30 * 60),
        &[("RUNAS_REFRESH_WINDOW", "30m")],
    );
}

#[test]
fn refresh_window_setting_sets_the_window_and_the_variable_beats_it() {
    let config = format!(
        "{CONFIG}\n[profile windowed]\nrole_arn = arn:aws:iam::123456789012:role/windowed\nsource_profile = alice\nrefresh_window = 45m\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    check_refresh_point(&s, "windowed", Duration::from_secs(45 * 60), &[]);
    let s = Sandbox::with_files(&config, CREDENTIALS);
    check_refresh_point(
        &s,
        "windowed",
        Duration::from_secs(20 * 60),
        &[("RUNAS_REFRESH_WINDOW", "20m")],
    );
}

#[test]
fn a_window_as_long_as_the_lifetime_counts_as_half() {
    let s = Sandbox::new();
    // 40s credentials and a 1h window: refreshed once 20s remain, i.e. 20s after issue.
    let sts = ShortLivedSts::start(&s.moto, Duration::from_secs(40));
    let call = || {
        let out = run(
            s.runas()
                .args(["-O", "json", "dev"])
                .env("AWS_ENDPOINT_URL", &sts.url)
                .env("RUNAS_REFRESH_WINDOW", "1h"),
            LIMIT,
        )
        .ok();
        json(&out.stdout)["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let t0 = Instant::now();
    let first = call();
    let t1 = Instant::now();
    let second = call();
    if Instant::now() < t1 + Duration::from_secs(18) {
        assert_eq!(
            first, second,
            "refreshed at once: the window was not halved"
        );
    }
    loop {
        let key = call();
        if key != first {
            assert!(t0.elapsed() >= Duration::from_secs(18), "refreshed early");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "never refreshed");
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn without_a_profile_or_variable_the_default_profile_is_used() {
    let config = format!(
        "{CONFIG}\n[default]\nrole_arn = arn:aws:iam::123456789012:role/fallback\nsource_profile = alice\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let out = run_with(&s, &[], &[]).ok();
    assert_eq!(eval_in_sh(&out.stdout, "AWSRUNAS_PROFILE"), "default");
    assert!(s.moto.request("AssumeRole").contains("role%2Ffallback"));
}

#[test]
fn one_mfa_session_serves_every_role_and_long_roles_use_the_code_directly() {
    let config = format!(
        "{CONFIG}\n[profile mfa2]\nrole_arn = arn:aws:iam::123456789012:role/mfa2\nsource_profile = alice\nmfa_serial = {MFA_SERIAL}\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    s.moto.start_recording();
    run(s.runas().args(["-o", "123456", "mfa"]), LIMIT).ok();
    // The second role needs no code: no terminal and none given, and it still works.
    let mut cmd = Command::new("setsid");
    cmd.arg("-w")
        .arg(runas_bin())
        .arg("mfa2")
        .env_clear()
        .envs(s.env())
        .stdin(std::process::Stdio::null());
    run(&mut cmd, LIMIT).ok();
    assert_eq!(s.moto.count("GetSessionToken"), 1);
    assert_eq!(s.moto.count("AssumeRole"), 2);
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("DurationSeconds=43200"), "12h: {session}");

    // Over an hour: assumed directly with the code, no session token.
    s.moto.start_recording();
    run(s.runas().args(["-a", "2h", "-o", "654321", "mfa2"]), LIMIT).ok();
    assert_eq!(s.moto.count("GetSessionToken"), 0);
    let assume = s.moto.request("AssumeRole");
    assert!(
        assume.contains("TokenCode=654321") && assume.contains(MFA_ARN_FORM),
        "{assume}"
    );
    assert!(assume.contains("DurationSeconds=7200"), "{assume}");
}

#[test]
fn profiles_follow_botocores_rules() {
    let config = format!(
        "[profile alice]\nregion = eu-west-1\naws_access_key_id = AKIACONFIGLOSES00001\naws_secret_access_key = c\nsession_token_duration = 2h\nmfa_serial = {MFA_SERIAL}\n\
         [profile inherits]\nrole_arn = arn:aws:iam::123456789012:role/inherits\nsource_profile = alice\n\
         [profile selfie]\nrole_arn = arn:aws:iam::123456789012:role/selfie\nsource_profile = selfie\n\
         [profile secs]\nrole_arn = arn:aws:iam::123456789012:role/secs\nsource_profile = bob\nduration_seconds = 1800\n\
         [profile via-setting]\nrole_arn = arn:aws:iam::123456789012:role/via\nsource_profile = bob\nendpoint_url = ENDPOINT\n"
    );
    let credentials = format!(
        "{CREDENTIALS}[selfie]\naws_access_key_id = AKIASELFIE0000000001\naws_secret_access_key = s\n\
         [bob]\naws_access_key_id = AKIABOB0000000000001\naws_secret_access_key = b\n"
    );
    let s = Sandbox::with_files(&config, &credentials);
    s.write_config(&config.replace("ENDPOINT", &s.moto.url()));

    // The credentials file's keys win over the config file's; mfa_serial, region and the
    // session token duration come from the profile the role builds on.
    let out = run_with(&s, &["inherits"], &[("MFA_CODE", "123456")]).ok();
    assert_eq!(s.moto.signers("GetSessionToken"), ["AKIAALICEEXAMPLE0001"]);
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains(MFA_ARN_FORM), "{session}");
    assert!(session.contains("DurationSeconds=7200"), "{session}");
    assert_eq!(eval_in_sh(&out.stdout, "AWS_REGION"), "eu-west-1");

    // A profile naming itself assumes its role with its own keys.
    run_with(&s, &["selfie"], &[]).ok();
    assert_eq!(s.moto.signers("AssumeRole"), ["AKIASELFIE0000000001"]);

    // duration_seconds, and Go-style and bare-number durations on the command line.
    run_with(&s, &["secs"], &[]).ok();
    assert!(s
        .moto
        .request("AssumeRole")
        .contains("DurationSeconds=1800"));
    for value in ["1.5h", "5400", "1h30m", "90m"] {
        run_with(&s, &["-a", value, "secs"], &[]).ok();
        let assume = s.moto.request("AssumeRole");
        assert!(assume.contains("DurationSeconds=5400"), "{value}: {assume}");
    }

    // endpoint_url in the profile, with no endpoint variable at all.
    let mut cmd = s.runas();
    cmd.arg("via-setting")
        .env_remove("AWS_ENDPOINT_URL")
        .env("RUNAS_CACHE_DIR", s.dir.path().join("c2"));
    s.moto.start_recording();
    run(&mut cmd, LIMIT).ok();
    assert_eq!(s.moto.count("AssumeRole"), 1);
}

#[test]
fn endpoint_and_file_variables() {
    let s = Sandbox::new();
    let closed = ClosedPort::new();
    // AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL.
    let moto = s.moto.url();
    let out = run_with(
        &s,
        &["dev"],
        &[
            ("AWS_ENDPOINT_URL", &closed.url()),
            ("AWS_ENDPOINT_URL_STS", &moto),
        ],
    );
    ok(&out);
    assert_eq!(s.moto.count("AssumeRole"), 1);

    // AWS_SHARED_CREDENTIALS_FILE names another credentials file.
    let other = s.dir.path().join("other-credentials");
    std::fs::write(
        &other,
        "[alice]\naws_access_key_id = AKIAOTHERFILE0000001\naws_secret_access_key = o\n",
    )
    .unwrap();
    run_with(
        &s,
        &["dev"],
        &[("AWS_SHARED_CREDENTIALS_FILE", &other.display().to_string())],
    )
    .ok();
    assert_eq!(s.moto.signers("AssumeRole"), ["AKIAOTHERFILE0000001"]);
}
