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
    let mut files: Vec<PathBuf> = [
        ".ci/run",
        "tests/setup",
        "tests/run",
        "demo/run",
        "demo/lib.sh",
    ]
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

/// The demo with stdin and stdout piped: what the tests type into its shell, and what it shows.
/// A benchmark or a demo (each starts a dozen processes and waits on them with bounds) runs
/// alone among this file's tests: a benchmark shares the machine with nothing of ours.
fn machine_to_ourselves() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawn_demo() -> std::process::Child {
    let bin_dir = runas_bin().parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(root().join("demo/run"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", std::env::temp_dir())
        // The demo sets itself up; under the tests it may only check, never install.
        .env("RUNAS_SETUP_CHECK", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What the demo's shell prints for `echo "NAME=..."`.
fn printed<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in:\n{out}"))
        .trim()
}

/// The shell line that prints where each of the demo's services listens.
const PRINT_SERVICES: &str = "echo \"moto=$AWS_ENDPOINT_URL\"; echo \"sso=$SSO_URL\"; \
     echo \"ssm=$SSM_URL\"; echo \"web=http://127.0.0.1:$DEMO_WEB_PORT\"; echo \"ssp=$SSP_URL\"\n";

/// Starts `ssm forward` to the demo's web server in the background, and prints its local port.
const START_FORWARD: &str = r#"aws-runas ssm forward dev "Name:web:${DEMO_WEB_PORT}" 2>"${HOME}/forward.log" &
for _ in $(seq 600); do fwd="$(sed -n 's/^Port \([0-9]*\) opened.*/\1/p' "${HOME}/forward.log")"; [[ -n "${fwd}" ]] && break; sleep 0.1; done
echo "forward=http://127.0.0.1:${fwd}"
echo "forward-pid=$!"
"#;

fn forward_port(out: &str) -> u16 {
    let url = printed(out, "forward");
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no forward port: {url}"))
}

/// The loopback ports of the services the demo printed (SimpleSAMLphp's only when it runs).
fn service_ports(out: &str) -> Vec<(String, u16)> {
    ["moto", "sso", "ssm", "web", "ssp"]
        .iter()
        .filter_map(|name| {
            let url = printed(out, name);
            if *name == "ssp" && url.is_empty() {
                return None;
            }
            let port = url
                .strip_prefix("http://127.0.0.1:")
                .unwrap_or_else(|| panic!("{name} not on loopback: {url}"))
                .split('/')
                .next()
                .unwrap()
                .parse()
                .unwrap_or_else(|_| panic!("{name}: {url}"));
            Some((name.to_string(), port))
        })
        .collect()
}

/// Whether the process still runs (a zombie has ended).
fn running(pid: &str) -> bool {
    let out = Command::new("ps")
        .args(["-o", "stat=", "-p", pid])
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&out.stdout);
    !stat.trim().is_empty() && !stat.trim().starts_with('Z')
}

/// The forward started in the demo's shell has ended, not only closed its port: it ended its
/// session while the stand-in was still there to take it.
#[track_caller]
fn assert_forward_ended(out: &str) {
    let pid = printed(out, "forward-pid");
    assert!(!running(pid), "the ssm forward ({pid}) outlived the demo");
}

#[track_caller]
fn assert_all_stopped(ports: &[(String, u16)]) {
    for (name, port) in ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", *port)).is_err(),
            "{name} (port {port}) still answers after the demo ended"
        );
    }
}

#[test]
fn demo_opens_a_shell_that_talks_to_the_local_aws() {
    let _turn = machine_to_ourselves();
    let mut child = spawn_demo();
    use std::io::Write;
    let script = String::from(PRINT_SERVICES)
        + r#"runas use dev
echo "seg=$RUNAS_PROMPT"
aws-runas -w dev
aws-runas sso login demo-sso
runas use demo-sso
echo "sso-arn=$(aws sts get-caller-identity --query Arn --output text)"
runas off
aws-runas -w demo-web
sh -c 'kill -INT $$'; echo "local-int=$?"
aws-runas ssm shell dev Name:web <<'REMOTE'
echo remote-$((6*7))
sh -c 'kill -INT $$'
echo "remote-int=$?"
exit 3
REMOTE
echo "ssm-status=$?"
"# + START_FORWARD
        + r#"echo "page=$(curl -fsS "http://127.0.0.1:${fwd}/")"
[[ -z "${SSP_URL}" ]] || SAML_PASSWORD=alice-password aws-runas -w demo-saml
exit
"#;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = wait_output(child, Duration::from_secs(180));
    // IAM keys and roles, as before.
    assert!(
        out.contains("Arn: arn:aws:sts::123456789012:assumed-role/dev/"),
        "{out}"
    );
    assert!(
        out.contains("seg=dev 1h") || out.contains("seg=dev 59m"),
        "runas is loaded: {out}"
    );
    // Identity Center: the device code is shown, the demo approves it, the AWS CLI sees the role.
    assert!(out.contains("and confirm the code "), "{out}");
    assert!(out.contains("aws-runas: signed in to "), "{out}");
    assert_eq!(
        printed(&out, "sso-arn"),
        "arn:aws:sts::123456789012:assumed-role/Admin/sso-user"
    );
    // The token file profile.
    assert!(
        out.contains("Arn: arn:aws:sts::123456789012:assumed-role/ci/"),
        "{out}"
    );
    // SSM: a remote shell found by its Name tag runs the command. As with the real agent, a
    // shell session carries no exit status (only command sessions do): it ends as a success.
    assert!(out.contains("remote-42"), "{out}");
    assert_eq!(printed(&out, "ssm-status"), "0");
    // Ctrl-C (SIGINT) stops what runs in the demo's shell, and in the remote one.
    assert_eq!(printed(&out, "local-int"), "130");
    assert!(out.contains("remote-int=130"), "{out}");
    // ... and a forwarded port reaches the demo's web server through the tunnel.
    let forward = printed(&out, "forward").to_owned();
    assert_ne!(forward, printed(&out, "web"), "curl went around the tunnel");
    assert_eq!(
        printed(&out, "page"),
        "Hello from the demo's web server, through Session Manager."
    );
    // SAML against SimpleSAMLphp when tests/setup installed it; else the tour says so.
    if printed(&out, "ssp").is_empty() {
        assert!(out.contains("SimpleSAMLphp is not installed"), "{out}");
    } else {
        assert!(
            out.contains("Arn: arn:aws:sts::123456789012:assumed-role/Admin/alice@example.org"),
            "{out}"
        );
    }
    // Nothing outlives the shell: the services, and the forward started in it.
    let mut ports = service_ports(&out);
    ports.push(("the ssm forward".into(), forward_port(&out)));
    assert_all_stopped(&ports);
    assert_forward_ended(&out);
}

#[test]
fn killing_the_demo_stops_its_shell_and_every_service() {
    use std::io::{BufRead, BufReader, Write};
    let _turn = machine_to_ourselves();
    let mut child = spawn_demo();
    let mut stdin = child.stdin.take().unwrap();
    // A job in the shell too: the hangup the demo sends its shell ends it (and nothing else).
    stdin
        .write_all((String::from(PRINT_SERVICES) + START_FORWARD + "echo ready=1\n").as_bytes())
        .unwrap();
    // The shell waits for more input (stdin stays open) when the demo is killed.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    while !out.contains("ready=1") {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("the demo's shell did not start:\n{out}"));
        out.push_str(&line);
        out.push('\n');
    }
    let mut ports = service_ports(&out);
    ports.push(("the ssm forward".into(), forward_port(&out)));
    for (name, port) in &ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok(),
            "{name} is not up"
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = wait_status(&mut child, Duration::from_secs(60));
    drop(stdin);
    assert!(!status.success(), "{status:?}");
    assert_all_stopped(&ports);
    assert_forward_ended(&out);
}

fn wait_status(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("demo did not end within {limit:?} of its kill");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
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

/// Where cargo and rustup live, for a benchmark that builds a baseline program while HOME is a
/// throwaway one.
fn rust_toolchain_homes() -> Vec<(&'static str, std::path::PathBuf)> {
    let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")]
        .into_iter()
        .map(|(name, default)| {
            let dir = std::env::var_os(name).map_or_else(|| home.join(default), Into::into);
            (name, dir)
        })
        .collect()
}

/// Runs `bench/NAME` in smoke mode (a few runs, its own checks still made) on the debug build,
/// alone (see `machine_to_ourselves`).
fn bench_smoke(name: &str) -> String {
    let _turn = machine_to_ourselves();
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("bench").join(name))
        .arg(runas_bin())
        .env_clear()
        .env("PATH", path_with_venv())
        .env("HOME", std::env::temp_dir())
        .envs(rust_toolchain_homes())
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
    // Start-up beside a hello-world built in the run; a smoke run builds no commit from clean.
    for row in [
        "hello-world",
        "hello-world, no runtime start",
        "now: --version",
        "now: cache hit",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
}

#[test]
fn bench_keys_runs_and_checks_a_keyring_rooted_hit_needs_no_keyring() {
    let out = bench_smoke("keys.sh");
    for row in [
        "cache hit, keyring-rooted vs file-rooted role",
        "cold fetch, keyring-rooted vs file-rooted role",
        "a keyring-rooted cache hit with no keyring reachable: ok",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
}

#[test]
fn bench_console_runs_and_checks_one_token_request_and_no_sts_call_per_run() {
    let out = bench_smoke("console.sh");
    for row in [
        "console --print, warm cache, vs a cache hit",
        "aws login session renewal vs a cache hit",
        "in 2 console runs: 2 sign-in token requests, 0 STS calls; in 2 renewals: 2 token grants",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
}

#[test]
fn bench_sso_profiles_runs_and_counts_the_pages_it_takes() {
    let out = bench_smoke("sso_profiles.sh");
    for row in [
        "sso profiles, 50 accounts x 3 roles, written, vs a hit",
        "sso profiles, nothing to change, vs a cache hit",
        "per run: 3 ListAccounts pages, 50 ListAccountRoles pages; 150 profiles written",
    ] {
        assert!(out.contains(row), "{row}: {out}");
    }
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
