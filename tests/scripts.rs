//! The repository's own shell scripts: lint-clean, and the demo really works.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bash_scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [".ci/run", "tests/setup", "tests/run", "demo/run"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    for entry in std::fs::read_dir(root().join("bench"))
        .unwrap()
        .chain(std::fs::read_dir(root().join("tests/idp")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sh") {
            files.push(path);
        }
    }
    files
}

fn check(tool: &str, args: &[&str], files: &[PathBuf]) {
    let out = Command::new(tool)
        .args(args)
        .args(files)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{tool} (installed by tests/setup): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scripts_pass_shellcheck_and_shfmt() {
    let files = bash_scripts();
    check("shellcheck", &["-x", "--enable=all"], &files);
    check("shfmt", &["-d"], &files);
}

#[test]
fn demo_opens_a_shell_that_talks_to_the_local_aws() {
    let bin_dir = runas_bin().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(root().join("demo/run"));
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", std::env::temp_dir())
        // The demo sets itself up; under the tests it may only check, never install.
        .env("RUNAS_SETUP_CHECK", "1")
        .stdin(Stdio::piped());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"runas use dev\necho \"seg=$RUNAS_PROMPT\"\naws-runas -w dev\necho \"moto=$AWS_ENDPOINT_URL\"\nexit\n")
        .unwrap();
    let out = wait_output(child, Duration::from_secs(120));
    assert!(
        out.contains("Arn: arn:aws:sts::123456789012:assumed-role/dev/"),
        "{out}"
    );
    assert!(
        out.contains("seg=dev 1h") || out.contains("seg=dev 59m"),
        "runas is loaded: {out}"
    );
    let url = out
        .lines()
        .find_map(|l| l.strip_prefix("moto="))
        .expect("endpoint printed")
        .trim()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        ureq::get(&format!("{url}/moto-api/")).call().is_err(),
        "moto still running after the demo shell exited"
    );
}

fn wait_output(child: std::process::Child, limit: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)
        }
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("demo did not finish within {limit:?}");
        }
    }
}

/// Runs `bench/NAME` in smoke mode (a few runs, its own checks still made) on the debug build.
/// One at a time: a benchmark shares the machine with nothing of ours.
fn bench_smoke(name: &str) -> String {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("bench").join(name))
        .arg(runas_bin())
        .env_clear()
        .env("PATH", path_with_venv())
        .env("HOME", std::env::temp_dir())
        .env("BENCH_SMOKE", "1")
        .stdin(Stdio::null());
    let out = run(&mut cmd, Duration::from_secs(300));
    assert_eq!(
        out.code,
        Some(0),
        "bench/{name} failed:\n{}{}",
        out.stdout,
        out.stderr
    );
    out.stdout
}

#[test]
fn bench_core_runs_and_checks_one_sts_call_per_cold_burst() {
    let out = bench_smoke("core.sh");
    assert!(
        out.contains("cache hit (-O json dev) vs /bin/true"),
        "{out}"
    );
    assert!(
        out.contains("16 concurrent cold callers vs 1 cold caller"),
        "{out}"
    );
    // Smoke mode: two runs, no warm-up; each makes one GetSessionToken and one AssumeRole.
    assert!(
        out.contains("STS calls in 2 runs of 16 cold callers: 2 GetSessionToken, 2 AssumeRole"),
        "{out}"
    );
}

#[test]
fn bench_oidc_runs_and_checks_token_reuse_and_one_sign_in_per_burst() {
    let out = bench_smoke("oidc.sh");
    for row in [
        "password sign-in (cold: no cache, no cookies)",
        "cached ID token, new role credentials",
        "refresh-token renewal, new role credentials",
        "16 concurrent cold callers (whole burst)",
    ] {
        assert!(out.contains(row), "no '{row}' in:\n{out}");
    }
    // Smoke mode: two runs, no warm-up; the script itself fails on IdP requests for a cached
    // token and on more than one sign-in per burst.
    assert!(
        out.contains("password sign-ins in 2 bursts of 16 cold callers: 2"),
        "{out}"
    );
}

#[test]
fn bench_ssm_runs_and_every_transfer_arrives_whole() {
    let out = bench_smoke("ssm.sh");
    for row in [
        "direct loopback TCP to the source",
        "aws-runas ssm forward through the stand-in",
        "aws-runas RSS while forwarding",
    ] {
        assert!(out.contains(row), "no '{row}' in:\n{out}");
    }
    let forwarded = out
        .lines()
        .find(|l| l.contains("aws-runas ssm forward through the stand-in"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|rate| rate.parse::<f64>().ok());
    assert!(forwarded.is_some_and(|r| r > 0.0), "{out}");
}

#[test]
fn bench_prompt_runs_and_reports_its_spread() {
    let out = bench_smoke("prompt.sh");
    assert!(out.contains("min/median/max over 2 paired runs"), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(shell))
            .unwrap_or_else(|| panic!("no {shell} row:\n{out}"));
        // Three min/median/max triples, in order, whatever their sign.
        let triples: Vec<Vec<f64>> = row
            .split_whitespace()
            .filter(|f| f.matches('/').count() == 2)
            .map(|f| f.split('/').map(|x| x.parse().unwrap()).collect())
            .collect();
        assert_eq!(triples.len(), 3, "{row}");
        for t in &triples {
            assert!(t[0] <= t[1] && t[1] <= t[2], "not min/median/max: {row}");
        }
    }
}

#[test]
fn bench_saml_runs_and_counts_requests_at_the_identity_providers() {
    let out = bench_smoke("saml.sh");
    for idp in ["ssp", "llng"] {
        for row in [
            "sign-in with a live IdP session vs cache hit",
            "cold sign-in (password) vs live IdP session",
            "cold sign-in (password) vs cache hit",
        ] {
            assert!(
                out.contains(&format!("{idp}: {row}")),
                "no '{idp}: {row}' in:\n{out}"
            );
        }
        // Smoke mode: two runs of each sign-in kind, no warm-up: four AssumeRoleWithSAML.
        assert!(
            out.contains(&format!("{idp}: AssumeRoleWithSAML calls in 4 sign-ins: 4")),
            "{out}"
        );
        assert!(
            out.contains(&format!("{idp}: session sign-in: "))
                && out.contains(", 0 password posts"),
            "{out}"
        );
    }
}
