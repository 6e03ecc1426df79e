//! End-to-end: v3's mode flags (-u -l -m -D -w -e) are one choice. Two of them, or one with a
//! command to run, is an error naming both — not the first of them winning silently. A profile
//! named like a subcommand is reached past `--`, and a command line that means it says so.

mod common;

use common::*;

#[test]
fn two_mode_flags_or_a_mode_flag_with_a_command_are_refused() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let flags = [
        ("-u", "--update"),
        ("-l", "--list-roles"),
        ("-m", "--list-mfa"),
        ("-D", "--diagnose"),
        ("-w", "--whoami"),
        ("-e", "--expiration"),
    ];
    for (i, (a, a_long)) in flags.iter().enumerate() {
        for (b, b_long) in &flags[i + 1..] {
            let out = run(s.runas().args([a, b, "dev"]), LIMIT);
            assert_eq!(out.code, Some(2), "{a} {b}: {}", out.stderr);
            let err = out.one_line_error();
            assert!(
                err.contains(a_long) && err.contains(b_long),
                "{a} {b}: {err}"
            );
        }
        let out = run(s.runas().args([a, "dev", "printenv"]), LIMIT);
        assert_eq!(out.code, Some(2), "{a} with a command: {}", out.stderr);
        let err = out.one_line_error();
        assert!(err.contains(a_long) && err.contains("COMMAND"), "{err}");
    }
    assert!(s.moto.recorded().is_empty(), "nothing ran");
}

#[test]
fn one_mode_flag_does_its_one_thing() {
    let s = Sandbox::new();
    let whoami = run(s.runas().args(["-w", "dev"]), LIMIT).ok().stdout;
    assert!(whoami.contains("Arn: arn:aws:sts::"), "{whoami}");
    let expiration = run(s.runas().args(["-e", "dev"]), LIMIT).ok().stdout;
    assert!(!expiration.contains("Arn:"), "{expiration}");
}

/// Every word `--help` lists as a subcommand or an alias: the table below grows with the CLI.
fn subcommand_words() -> Vec<String> {
    let out = std::process::Command::new(runas_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let section = help
        .split("\nCommands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("--help lists its commands");
    // An entry starts at two spaces of indentation; its wrapped lines are indented deeper.
    let mut entries: Vec<String> = Vec::new();
    for line in section.lines() {
        match line.strip_prefix("  ") {
            Some(start) if !start.starts_with(' ') => entries.push(start.to_owned()),
            _ => entries.last_mut().unwrap().push_str(line),
        }
    }
    let mut words = Vec::new();
    for entry in entries {
        words.push(entry.split_whitespace().next().unwrap().to_owned());
        let aliases = entry
            .split_once("[alias: ")
            .or_else(|| entry.split_once("[aliases: "))
            .map(|(_, rest)| rest.split(']').next().unwrap().to_owned());
        for alias in aliases.iter().flat_map(|a| a.split(',')) {
            words.push(alias.split_whitespace().collect());
        }
    }
    words
}

/// What the line `aws-runas: 'WORD' is a subcommand and also a profile: for the profile, run
/// COMMAND; …` tells to run, as words.
fn suggested(err: &str) -> Vec<String> {
    let command = err
        .split_once(", run ")
        .and_then(|(_, rest)| rest.split_once("; for the subcommand"))
        .unwrap_or_else(|| panic!("no command suggested: {err}"))
        .0;
    shell_words::split(command).unwrap()
}

#[test]
fn a_profile_named_like_any_subcommand_is_reached_past_a_double_dash_and_said_so() {
    let words = subcommand_words();
    for expected in [
        "list", "ls", "diagnose", "serve", "ssm", "password", "sso", "help",
    ] {
        assert!(words.iter().any(|w| w == expected), "{expected}: {words:?}");
    }
    let mut config = CONFIG.to_owned();
    for word in &words {
        config.push_str(&format!(
            "\n[profile {word}]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/{word}\nsource_profile = alice\n"
        ));
    }
    let s = Sandbox::with_files(&config, CREDENTIALS);
    for word in &words {
        // A command after the name: no subcommand takes these words, so none parses.
        let out = run(
            s.runas().args(["-E", word, "printenv", "AWSRUNAS_PROFILE"]),
            LIMIT,
        );
        assert_eq!(out.code, Some(2), "{word}: {}", out.stderr);
        let err = out.one_line_error();
        assert!(
            err.starts_with(&format!(
                "aws-runas: '{word}' is a subcommand and also a profile: for the profile, run "
            )),
            "{word}: {err}"
        );
        let mut fix = suggested(&err);
        assert_eq!(
            fix,
            [
                "aws-runas",
                "-E",
                "--",
                word,
                "printenv",
                "AWSRUNAS_PROFILE"
            ],
            "{word}: {err}"
        );
        s.moto.start_recording();
        fix[0] = runas_bin().display().to_string();
        let out = run(s.command(&fix[0]).args(&fix[1..]), LIMIT).ok();
        assert_eq!(out.stdout.trim(), word, "{word}");
        let assume = s.moto.request("AssumeRole");
        assert!(
            assume.contains(&format!("role%2F{word}&")),
            "{word}: {assume}"
        );
    }

    // The example of the issue: credentials for credential_process.
    let err = run(s.runas().args(["-O", "json", "sso"]), LIMIT).one_line_error();
    let mut fix = suggested(&err);
    assert_eq!(fix, ["aws-runas", "-O", "json", "--", "sso"], "{err}");
    fix[0] = runas_bin().display().to_string();
    let out = run(s.command(&fix[0]).args(&fix[1..]), LIMIT).ok();
    assert_eq!(json(&out.stdout)["Version"], 1);

    // Secrets typed on the command line, in each form clap takes, are not repeated.
    let typed = [
        "-P",
        "hunter2",
        "--otp=123456",
        "-sXext-id",
        "-E",
        "sso",
        "printenv",
    ];
    let err = run(s.runas().args(typed), LIMIT).one_line_error();
    for secret in ["hunter2", "123456", "ext-id"] {
        assert!(!err.contains(secret), "{err}");
    }
    assert!(
        err.contains("run aws-runas -P <PASSWORD> --otp=<CODE> -sX<ID> -E -- sso printenv;"),
        "{err}"
    );

    // diagnose names each shadowed profile, with the way to reach it.
    let report = run(s.runas().args(["diagnose", "dev"]), LIMIT).stdout;
    for word in &words {
        let line = format!("warn  profile '{word}' has the name of a subcommand: ");
        let found = report.lines().find(|l| l.starts_with(&line));
        assert!(
            found.is_some_and(|l| l.contains(&format!("run aws-runas -- {word} "))),
            "{word}: {report}"
        );
    }
    assert!(!report.contains("profile 'dev' has the name"), "{report}");

    // Without such a profile, clap's own message.
    let plain = s.dir.path().join("plain-config");
    std::fs::write(&plain, CONFIG).unwrap();
    let err = run(
        s.runas()
            .env("AWS_CONFIG_FILE", &plain)
            .args(["-E", "sso", "printenv"]),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("unrecognized subcommand 'printenv'") && !err.contains("also a profile"),
        "{err}"
    );
}
