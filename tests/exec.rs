//! Exec mode as the README describes it, end to end: what the command's environment holds
//! (and does not), the files hidden from it, the `$SHELL -i -c` fallback in each shell, `-E`
//! replacing the process, and signals — TERM/HUP sent to aws-runas, Ctrl-C from a real terminal.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::*;

/// `echo NAME=${NAME-unset}` for each name, one line each.
fn print_vars(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("echo \"{n}=${{{n}-unset}}\""))
        .collect::<Vec<_>>()
        .join("; ")
}

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} not printed:\n{out}"))
}

const CONTAINER: [&str; 4] = [
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// The caller's container-credential variables, as inside a container or under another tool.
fn with_foreign_container_vars(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://169.254.170.2/foreign",
    )
    .env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/foreign")
    .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "foreign-token")
    .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/foreign/token")
    .env("AWS_ACCESS_KEY_ID", "AKIASTALE")
    .env("AWS_SECRET_ACCESS_KEY", "stale")
    .env("AWS_PROFILE", "alice")
    .env("AWS_DEFAULT_PROFILE", "alice")
}

#[test]
fn endpoint_mode_replaces_foreign_container_variables_and_stale_keys() {
    let s = Sandbox::new();
    let mut names = CONTAINER.to_vec();
    names.extend([
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
    ]);
    let script = print_vars(&names);
    let out = run(
        with_foreign_container_vars(s.runas().args(["dev", "sh", "-c", &script])),
        LIMIT,
    )
    .ok();
    let o = &out.stdout;
    assert!(
        field(o, "AWS_CONTAINER_CREDENTIALS_FULL_URI").starts_with("http://127.0.0.1:"),
        "{o}"
    );
    assert_ne!(
        field(o, "AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        "foreign-token"
    );
    for gone in [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ] {
        assert_eq!(field(o, gone), "unset", "{gone} reached the command:\n{o}");
    }
    assert_eq!(field(o, "AWS_REGION"), "eu-west-1");
}

#[test]
fn env_mode_strips_every_container_variable_and_replaces_the_process() {
    let s = Sandbox::new();
    let script = format!("echo PID=$$; {}", print_vars(&CONTAINER));
    let child = with_foreign_container_vars(s.runas().args(["-E", "dev", "sh", "-c", &script]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = String::from_utf8(out.stdout).unwrap();
    // On Unix aws-runas execs the command: the shell has aws-runas's pid.
    assert_eq!(field(&o, "PID"), pid.to_string(), "not replaced:\n{o}");
    for name in CONTAINER {
        assert_eq!(field(&o, name), "unset", "{name} reached the command:\n{o}");
    }
}

#[test]
fn credentials_file_is_hidden_and_the_config_only_when_its_default_has_credentials() {
    let s = Sandbox::new();
    let names = [
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "AWSRUNAS_SHARED_CREDENTIALS_FILE",
        "AWSRUNAS_CONFIG_FILE",
    ];
    let script = print_vars(&names);
    let out = run(s.runas().args(["dev", "sh", "-c", &script]), LIMIT).ok();
    let o = &out.stdout;
    assert_eq!(field(o, "AWS_SHARED_CREDENTIALS_FILE"), "/dev/null");
    assert_eq!(
        field(o, "AWSRUNAS_SHARED_CREDENTIALS_FILE"),
        s.credentials_file().display().to_string()
    );
    assert_eq!(
        field(o, "AWS_CONFIG_FILE"),
        "unset",
        "config hidden needlessly"
    );
    assert_eq!(field(o, "AWSRUNAS_CONFIG_FILE"), "unset");

    // A [default] profile with keys of its own would shadow the endpoint: the config is hidden.
    s.write_config(&format!(
        "{CONFIG}\n[default]\naws_access_key_id = AKIADEFAULTINCONFIG1\naws_secret_access_key = d\nregion = eu-west-1\n"
    ));
    let out = run(s.runas().args(["dev", "sh", "-c", &script]), LIMIT).ok();
    let o = &out.stdout;
    assert_eq!(field(o, "AWS_CONFIG_FILE"), "/dev/null");
    assert_eq!(
        field(o, "AWSRUNAS_CONFIG_FILE"),
        s.config_file().display().to_string()
    );

    // So the AWS CLI in the command is the role, and an aws-runas in it still finds every
    // profile through the real paths.
    let inner = format!(
        "{aws} sts get-caller-identity --query Arn --output text; '{bin}' -w chain",
        aws = aws_cli(),
        bin = runas_bin().display()
    );
    let out = run(s.runas().args(["dev", "sh", "-c", &inner]), LIMIT).ok();
    let mut lines = out.stdout.lines();
    assert_assumed_role(lines.next().unwrap(), "dev");
    assert!(
        out.stdout
            .contains("Arn: arn:aws:sts::123456789012:assumed-role/chain/"),
        "{}",
        out.stdout
    );
}

/// An alias the user defined in `shell`'s rc file runs through `$SHELL -i -c`.
fn alias_runs_through(shell: &str) {
    let s = Sandbox::new();
    let home = s.home();
    let (rc, line) = match shell {
        "bash" => (".bashrc", "alias hello='echo HELLO-$AWSRUNAS_PROFILE'"),
        "zsh" => (".zshrc", "alias hello='echo HELLO-$AWSRUNAS_PROFILE'"),
        "fish" => (
            ".config/fish/config.fish",
            "function hello; echo HELLO-$AWSRUNAS_PROFILE $argv; end",
        ),
        "sh" => (".shrc", "alias hello='echo HELLO-$AWSRUNAS_PROFILE'"),
        _ => unreachable!(),
    };
    let path = home.join(rc);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let program = Command::new("sh")
        .args(["-c", &format!("command -v {shell}")])
        .output()
        .unwrap();
    let program = String::from_utf8(program.stdout).unwrap().trim().to_owned();
    assert!(!program.is_empty(), "{shell} not installed (tests/setup)");
    let out = run(
        s.runas()
            .args(["dev", "hello", "world"])
            .env("SHELL", &program)
            // POSIX sh reads $ENV when interactive.
            .env("ENV", home.join(".shrc")),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{shell}: {}", out.stderr);
    assert!(
        out.stdout.lines().any(|l| l == "HELLO-dev world"),
        "{shell}: {}\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn an_alias_runs_through_bash() {
    alias_runs_through("bash");
}

#[test]
fn an_alias_runs_through_zsh() {
    alias_runs_through("zsh");
}

#[test]
fn a_function_runs_through_fish() {
    alias_runs_through("fish");
}

#[test]
fn an_alias_runs_through_sh() {
    alias_runs_through("sh");
}

/// Sends `signal` to aws-runas while it runs a command that traps it, which exits `code`.
fn signal_reaches_the_command(signal: &str, code: i32) {
    let s = Sandbox::new();
    let mut child = s
        .runas()
        .args([
            "dev",
            "sh",
            "-c",
            &format!("trap 'exit {code}' {signal}; echo ready; while :; do sleep 0.1; done"),
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
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{signal} did not reach the command");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(code), "the command's status is ours");
}

#[test]
fn hup_sent_to_aws_runas_reaches_the_command() {
    signal_reaches_the_command("HUP", 4);
}

#[test]
fn term_sent_to_aws_runas_reaches_the_command() {
    signal_reaches_the_command("TERM", 3);
}

#[test]
fn ctrl_c_in_a_terminal_reaches_the_command_and_its_status_comes_back() {
    let s = Sandbox::new();
    let mut text = String::from("#!/bin/sh\n");
    for (k, v) in s.env() {
        text.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    // An interactive shell, as a person has: the command line runs as its foreground job.
    text.push_str("PS1='$ ' exec bash --norc --noprofile -i\n");
    let script = s.dir.path().join("ctrl-c.sh");
    std::fs::write(&script, text).unwrap();
    let tmux = Tmux::start(s.dir.path(), &format!("sh '{}'", script.display()));
    tmux.type_line(&format!(
        "'{}' dev sh -c 'trap \"echo GOT-INT; exit 5\" INT; echo READY; while :; do sleep 0.1; done'; echo \"STATUS=$?\"",
        runas_bin().display()
    ));
    // Lines of output only, not the echoed command line that mentions them.
    let line = |screen: &str, text: &str| screen.lines().any(|l| l.trim_end() == text);
    tmux.wait_for("the command", LIMIT, |screen| line(screen, "READY"));
    tmux.send_keys(&["C-c"]);
    let screen = tmux.wait_for("the status", LIMIT, |screen| {
        screen.lines().any(|l| l.starts_with("STATUS="))
    });
    assert!(screen.lines().any(|l| l.ends_with("GOT-INT")), "{screen}");
    assert!(line(&screen, "STATUS=5"), "{screen}");
    assert!(!screen.contains("aws-runas:"), "{screen}");
}
