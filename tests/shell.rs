//! Shell integration, run in the real shells under strict flags against moto; the snippets
//! linted as the shell tools see them; generated completions and man pages kept current.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{program} (installed by tests/setup): {e}"))
}

#[track_caller]
fn assert_clean(what: &str, out: std::process::Output) {
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn snippets_pass_their_shells_linters() {
    assert_clean(
        "shellcheck",
        tool("shellcheck", &["--enable=all", "shell/aws-runas.bash"]),
    );
    assert_clean("shfmt", tool("shfmt", &["-d", "shell/aws-runas.bash"]));
    // shfmt has no zsh dialect; zsh itself checks the syntax.
    assert_clean("zsh -n", tool("zsh", &["-n", "shell/aws-runas.zsh"]));
    assert_clean(
        "fish -n",
        tool("fish", &["--no-execute", "shell/aws-runas.fish"]),
    );
    let indented = Command::new("fish_indent")
        .stdin(std::fs::File::open(root().join("shell/aws-runas.fish")).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(indented.stdout).unwrap(),
        std::fs::read_to_string(root().join("shell/aws-runas.fish")).unwrap(),
        "fish_indent would change shell/aws-runas.fish"
    );
    // The generated completion scripts at least parse in their shells.
    assert_clean(
        "bash -n",
        tool("bash", &["-n", "completions/aws-runas.bash"]),
    );
    assert_clean("zsh -n", tool("zsh", &["-n", "completions/_aws-runas"]));
    assert_clean(
        "fish -n",
        tool("fish", &["--no-execute", "completions/aws-runas.fish"]),
    );
}

/// Compares a generated file with the committed one, or rewrites it with UPDATE_GENERATED=1.
fn check_generated(committed: &Path, generated: &[u8], stale: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(committed, generated).unwrap();
    } else if std::fs::read(committed).ok().as_deref() != Some(generated) {
        stale.push(committed.display().to_string());
    }
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let mut stale = Vec::new();
    for (shell, file) in [
        ("bash", "aws-runas.bash"),
        ("zsh", "_aws-runas"),
        ("fish", "aws-runas.fish"),
        ("powershell", "_aws-runas.ps1"),
    ] {
        let out = Command::new(runas_bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        check_generated(
            &root().join("completions").join(file),
            &out.stdout,
            &mut stale,
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    assert!(Command::new(runas_bin())
        .arg("man")
        .arg(tmp.path())
        .status()
        .unwrap()
        .success());
    let mut generated: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    generated.sort();
    for name in &generated {
        let page = std::fs::read(tmp.path().join(name)).unwrap();
        check_generated(&root().join("man").join(name), &page, &mut stale);
    }
    let mut committed: Vec<String> = std::fs::read_dir(root().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    committed.sort();
    assert_eq!(
        committed, generated,
        "man/ holds pages the binary no longer makes"
    );
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run UPDATE_GENERATED=1 cargo test --test shell"
    );
}

const CONFIG_WITH_WEST: &str = "\n[profile west]\nrole_arn = arn:aws:iam::123456789012:role/west\nsource_profile = alice\nregion = us-west-2\n";

fn sandbox() -> Sandbox {
    Sandbox::with_files(&format!("{CONFIG}{CONFIG_WITH_WEST}"), CREDENTIALS)
}

/// A shell of the sandbox with the built binary first on PATH.
fn shell(s: &Sandbox, program: &str, args: &[&str]) -> Command {
    let bin_dir = runas_bin().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = s.command(program);
    cmd.env("PATH", path).args(args);
    cmd
}

/// Lines `KEY=VALUE` printed by a script, as a lookup.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} not printed:\n{out}"))
}

const POSIX_SCRIPT: &str = r#"
out=$(eval "$(aws-runas init SHELL)"; eval "$(aws-runas init SHELL)" 2>&1)
echo "init_output=${out}"
eval "$(aws-runas init SHELL)"
eval "$(aws-runas init SHELL)"
echo "hooks=HOOKS"
runas use dev
echo "profile=${AWSRUNAS_PROFILE}"
echo "arn=$(aws sts get-caller-identity --query Arn --output text)"
echo "region=${AWS_REGION}"
echo "prompt=$(runas prompt)"
echo "status=$(runas use)"
key=${AWS_ACCESS_KEY_ID}
if runas use no-such-profile 2>/dev/null; then echo "bad=accepted"; fi
echo "unchanged=$([ "${AWS_ACCESS_KEY_ID}" = "${key}" ] && echo yes)"
runas use west
echo "west_region=${AWS_REGION}"
runas off
echo "after_off=${AWS_ACCESS_KEY_ID-}${AWS_SECRET_ACCESS_KEY-}${AWS_SESSION_TOKEN-}${AWSRUNAS_PROFILE-}${AWS_REGION-}${AWSRUNAS_VARS-}"
echo "kept=${KEEP_ME}"
echo "prompt_after_off=$(runas prompt)"
"#;

fn check_posix_run(out: &Output) {
    let out = &out.stdout;
    assert_eq!(field(out, "init_output"), "", "init is quiet");
    assert_eq!(
        field(out, "hooks"),
        "__runas_hook",
        "the hook is added once"
    );
    assert_eq!(field(out, "profile"), "dev");
    assert!(
        field(out, "arn").starts_with("arn:aws:sts::123456789012:assumed-role/dev/"),
        "{out}"
    );
    assert_eq!(field(out, "region"), "eu-west-1");
    let prompt = field(out, "prompt");
    assert!(prompt == "dev 1h" || prompt == "dev 59m", "{prompt}");
    assert!(field(out, "status").starts_with(&format!("{prompt} (expires 20")));
    assert_eq!(
        field(out, "unchanged"),
        "yes",
        "a failed use changed the shell"
    );
    assert!(!out.contains("bad=accepted"));
    assert_eq!(
        field(out, "west_region"),
        "us-west-2",
        "switching takes the new region"
    );
    assert_eq!(field(out, "after_off"), "");
    assert_eq!(
        field(out, "kept"),
        "mine",
        "off removed a variable it did not set"
    );
    assert_eq!(field(out, "prompt_after_off"), "");
}

#[test]
fn bash_integration_under_strict_flags() {
    let s = sandbox();
    let script = POSIX_SCRIPT
        .replace("SHELL", "bash")
        .replace("HOOKS", "${PROMPT_COMMAND}");
    let out = run(
        shell(
            &s,
            "bash",
            &[
                "--norc",
                "--noprofile",
                "-e",
                "-u",
                "-o",
                "pipefail",
                "-c",
                &script,
            ],
        )
        .env("KEEP_ME", "mine"),
        LIMIT,
    )
    .ok();
    check_posix_run(&out);
}

#[test]
fn zsh_integration_under_strict_flags() {
    let s = sandbox();
    let script = POSIX_SCRIPT
        .replace("SHELL", "zsh")
        .replace("HOOKS", "${precmd_functions[*]}");
    let out = run(
        shell(&s, "zsh", &["--no-rcs", "-e", "-u", "-c", &script]).env("KEEP_ME", "mine"),
        LIMIT,
    )
    .ok();
    check_posix_run(&out);
}

#[test]
fn fish_integration() {
    let s = sandbox();
    let script = r#"
set out (aws-runas init fish | source; aws-runas init fish | source 2>&1)
echo "init_output=$out"
aws-runas init fish | source
aws-runas init fish | source
echo "hooks="(functions --handlers-type generic | string match -r 'fish_prompt __runas_hook' | count)
runas use dev
echo "profile=$AWSRUNAS_PROFILE"
echo "arn="(aws sts get-caller-identity --query Arn --output text)
echo "region=$AWS_REGION"
echo "prompt="(runas prompt)
echo "status="(runas use)
set key $AWS_ACCESS_KEY_ID
if runas use no-such-profile 2>/dev/null; echo bad=accepted; end
test "$AWS_ACCESS_KEY_ID" = "$key"; and echo unchanged=yes
runas use west
echo "west_region=$AWS_REGION"
runas off
echo "after_off=$AWS_ACCESS_KEY_ID$AWS_SECRET_ACCESS_KEY$AWS_SESSION_TOKEN$AWSRUNAS_PROFILE$AWS_REGION$AWSRUNAS_VARS"
echo "kept=$KEEP_ME"
echo "prompt_after_off="(runas prompt | string collect -a)
"#;
    let out = run(
        shell(&s, "fish", &["--no-config", "-c", script]).env("KEEP_ME", "mine"),
        LIMIT,
    )
    .ok();
    let text = out.stdout.replace("hooks=1", "hooks=__runas_hook");
    check_posix_run(&Output {
        stdout: text,
        ..out
    });
}

#[test]
fn a_region_the_user_set_is_theirs() {
    let s = sandbox();
    let script = r#"
eval "$(aws-runas init bash)"
runas use dev
echo "region=${AWS_REGION} vars=${AWSRUNAS_VARS}"
runas off
echo "after=${AWS_REGION}"
"#;
    let out = run(
        shell(&s, "bash", &["--norc", "-eu", "-c", script]).env("AWS_REGION", "ap-south-1"),
        LIMIT,
    )
    .ok();
    let listed = field(&out.stdout, "region");
    let (region, vars) = listed.split_once(" vars=").unwrap();
    assert_eq!(region, "ap-south-1");
    assert!(
        vars.split(' ').any(|v| v == "AWS_ACCESS_KEY_ID"),
        "{listed}"
    );
    assert!(
        !vars.split(' ').any(|v| v == "AWS_REGION"),
        "took over the user's region: {listed}"
    );
    assert_eq!(field(&out.stdout, "after"), "ap-south-1");
}

#[test]
fn bash_keeps_an_existing_prompt_command_string_or_array() {
    let s = sandbox();
    let script = r#"
PROMPT_COMMAND='echo one'
eval "$(aws-runas init bash)"; eval "$(aws-runas init bash)"
echo "string=${PROMPT_COMMAND}"
unset PROMPT_COMMAND
PROMPT_COMMAND=('echo a' 'echo b')
eval "$(aws-runas init bash)"; eval "$(aws-runas init bash)"
echo "array=${PROMPT_COMMAND[*]}"
"#;
    let out = run(
        &mut shell(&s, "bash", &["--norc", "-eu", "-c", script]),
        LIMIT,
    )
    .ok();
    assert_eq!(field(&out.stdout, "string"), "echo one;__runas_hook");
    assert_eq!(field(&out.stdout, "array"), "echo a echo b __runas_hook");
}

#[test]
fn powershell_snippet_snapshot() {
    // PowerShell is not in the registries this project reaches: its snippet is checked as text.
    let out = Command::new(runas_bin())
        .args(["init", "powershell"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout)
        .unwrap()
        .replace(&runas_bin().display().to_string(), "<BIN>");
    let snapshot = root().join("tests/snapshots/init-powershell.ps1");
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&snapshot, &text).unwrap();
    }
    assert_eq!(text, std::fs::read_to_string(&snapshot).unwrap());
    assert!(text.contains("$global:__runas_bin = '<BIN>'"));
    // Strict mode forbids reading unset variables: state is only read through __runas_var.
    for line in text.lines() {
        let reads_state =
            line.contains("$global:__RUNAS_") && !line.trim_start().starts_with("$global:__RUNAS_");
        assert!(!reads_state, "reads a global that may be unset: {line}");
    }
}

#[test]
fn powershell_statements_set_session_state() {
    let s = sandbox();
    let out = run(
        s.runas().args(["__export", "powershell", "--", "dev"]),
        LIMIT,
    )
    .ok();
    let text = out.stdout;
    assert!(text.contains("$Env:AWS_ACCESS_KEY_ID = 'ASIA"), "{text}");
    assert!(text.contains("$Env:AWSRUNAS_PROFILE = 'dev'"), "{text}");
    assert!(text.contains("$global:__RUNAS_ARGS = @('dev')"), "{text}");
    assert!(
        text.contains("Remove-Variable -Name __RUNAS_PENDING -Scope Global"),
        "{text}"
    );
}

/// The state file `runas use` set up, from its statements.
fn state_file(statements: &str) -> PathBuf {
    let line = statements
        .lines()
        .find(|l| l.contains("__RUNAS_STATE"))
        .expect("state file set");
    PathBuf::from(line.rsplit(' ').next().unwrap().trim_matches('\''))
}

/// `aws-runas __export fish --refresh STATE --at AT --shell-pid PID -- dev`, as the fish
/// snippet starts it, run to completion.
fn refresher(s: &Sandbox, state: &Path, at: i64, shell_pid: &str) {
    let (state, at) = (state.display().to_string(), at.to_string());
    let args = [
        "__export",
        "fish",
        "--refresh",
        &state,
        "--at",
        &at,
        "--shell-pid",
        shell_pid,
        "--",
        "dev",
    ];
    run(s.runas().args(args), LIMIT).ok();
}

#[test]
fn fish_background_refresher_waits_for_its_time_and_its_shell() {
    let s = sandbox();
    let used = run(s.runas().args(["__export", "fish", "--", "dev"]), LIMIT).ok();
    let state = state_file(&used.stdout);
    assert!(state.exists());
    let now = jiff::Timestamp::now().as_second();
    let me = std::process::id().to_string();

    // Its shell is gone: it gives up without refreshing or writing anything.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id().to_string();
    gone.wait().unwrap();
    // Waiting out the hour would hang past LIMIT, which `refresher` guards.
    refresher(&s, &state, now + 3600, &gone_pid);
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "");

    // Its time has come and its shell is here: the statements land in the state file.
    refresher(&s, &state, now, &me);
    let written = std::fs::read_to_string(&state).unwrap();
    assert!(
        written.contains("set -gx AWS_ACCESS_KEY_ID 'ASIA"),
        "{written}"
    );
    assert_eq!(mode(&state), 0o600);

    // A state file retired by `runas off` or a newer `runas use` stops it too.
    std::fs::remove_file(&state).unwrap();
    refresher(&s, &state, now, &me);
    assert!(!state.exists(), "wrote into a retired state file");
}

/// `runas use sso` means the profile `sso`, never the subcommand: when it is used, and when the
/// prompt hook refreshes it with the arguments it keeps.
#[test]
fn runas_use_a_profile_named_like_a_subcommand_in_bash() {
    let config = format!(
        "{CONFIG}\n[profile sso]\nrole_arn = arn:aws:iam::123456789012:role/sso\nsource_profile = alice\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let script = r#"
eval "$(aws-runas init bash)"
runas use sso
echo "profile=${AWSRUNAS_PROFILE}"
echo "arn=$(aws sts get-caller-identity --query Arn --output text)"
echo "prompt=$(runas prompt)"
# What the hook runs when the refresh time comes, with what `runas use` kept.
command "${__runas_bin}" __export bash --refresh "${__RUNAS_STATE}" -- "${__RUNAS_ARGS[@]}"
echo "refreshed=$(grep -c "^export AWSRUNAS_PROFILE='sso'$" "${__RUNAS_STATE}")"
"#;
    let out = run(
        &mut shell(
            &s,
            "bash",
            &[
                "--norc",
                "--noprofile",
                "-e",
                "-u",
                "-o",
                "pipefail",
                "-c",
                script,
            ],
        ),
        LIMIT,
    )
    .ok();
    assert_eq!(field(&out.stdout, "profile"), "sso");
    assert!(
        field(&out.stdout, "arn").starts_with("arn:aws:sts::123456789012:assumed-role/sso/"),
        "{}",
        out.stdout
    );
    assert!(
        field(&out.stdout, "prompt").starts_with("sso "),
        "{}",
        out.stdout
    );
    assert_eq!(field(&out.stdout, "refreshed"), "1", "{}", out.stdout);
}

/// `runas` with anything but use/off/prompt is aws-runas itself, in every shell.
#[test]
fn runas_passes_other_arguments_to_aws_runas() {
    let s = sandbox();
    for (program, args, init) in [
        (
            "bash",
            &["--norc", "-eu", "-c"][..],
            "eval \"$(aws-runas init bash)\"",
        ),
        (
            "zsh",
            &["--no-rcs", "-eu", "-c"][..],
            "eval \"$(aws-runas init zsh)\"",
        ),
        (
            "fish",
            &["--no-config", "-c"][..],
            "aws-runas init fish | source",
        ),
    ] {
        let script = format!("{init}\nrunas -w dev\nrunas -e dev\n");
        let mut args = args.to_vec();
        args.push(&script);
        let out = run(&mut shell(&s, program, &args), LIMIT).ok();
        assert!(
            out.stdout
                .contains("Arn: arn:aws:sts::123456789012:assumed-role/dev/"),
            "{program}: {}",
            out.stdout
        );
        assert!(
            out.stdout.contains("Credentials will expire on "),
            "{program}: {}",
            out.stdout
        );
    }
}
