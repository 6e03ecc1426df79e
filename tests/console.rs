//! `aws-runas console`: the built binary against moto for STS and a loopback stand-in of the
//! console's federation endpoint (`AWS_ENDPOINT_URL_SIGNIN`) that checks what the real one
//! checks: the session's three fields, temporary credentials only, `SessionDuration` where AWS
//! takes it, and single-use sign-in tokens it issued.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;

/// What the stand-in answers `getSigninToken` with.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tokens,
    Html400,
    NotJson,
    Huge,
}

#[derive(Default)]
struct State {
    issued: HashSet<String>,
    /// Key ids of the sessions it gave tokens for, with their `SessionDuration`.
    sessions: Vec<(String, Option<u64>)>,
    /// Destinations of the logins it served.
    logins: Vec<String>,
    /// Why it refused requests.
    refused: Vec<String>,
    /// Every request's query string, to look for secrets that should not be there.
    queries: Vec<String>,
}

struct Federation {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Rules {
    mode: Mode,
    /// Credentials from GetFederationToken: AWS refuses `SessionDuration` with them.
    federation_token: bool,
    /// Key ids taken besides `ASIA…` ones: moto's GetFederationToken answers with a fixed AKIA
    /// id where AWS's starts with ASIA.
    also_taken: Vec<String>,
}

impl Federation {
    fn start(rules: Rules) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: the drop sets `stop`, and every wait is 50 ms at most.
            while !st.load(Ordering::SeqCst) {
                if let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(50)) {
                    let (status, body, location) = answer(&rules, &s, request.url());
                    let mut response =
                        tiny_http::Response::from_data(body).with_status_code(status);
                    if let Some(l) = location {
                        response.add_header(tiny_http::Header::from_bytes("Location", l).unwrap());
                    }
                    let _ = request.respond(response);
                }
            }
        });
        Federation {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

type Answer = (u16, Vec<u8>, Option<String>);

fn refused(state: &mut State, why: String) -> Answer {
    state.refused.push(why);
    (400, b"<html>refused</html>".to_vec(), None)
}

/// The endpoint's answer to one request: status, body, Location.
fn answer(rules: &Rules, state: &Mutex<State>, url: &str) -> Answer {
    let mut state = state.lock().unwrap();
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    state.queries.push(query.to_owned());
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if !url.starts_with("/federation?") {
        return refused(&mut state, format!("path {url}"));
    }
    match get("Action").as_deref() {
        Some("getSigninToken") => {}
        Some("login") => {
            let token = get("SigninToken").unwrap_or_default();
            if !state.issued.remove(&token) {
                return refused(&mut state, "login with a token not issued, or used".into());
            }
            let destination = get("Destination").unwrap_or_default();
            state.logins.push(destination.clone());
            return (302, Vec::new(), Some(destination));
        }
        other => return refused(&mut state, format!("action {other:?}")),
    }
    match rules.mode {
        Mode::Tokens => {}
        Mode::Html400 => return (400, b"<html><body>Bad request</body></html>".to_vec(), None),
        Mode::NotJson => return (200, b"<html>not json</html>".to_vec(), None),
        Mode::Huge => return (200, vec![b'{'; 10 << 20], None),
    }
    let Some(session) = get("Session") else {
        return refused(&mut state, "no Session".into());
    };
    let Ok(session) = serde_json::from_str::<serde_json::Value>(&session) else {
        return refused(&mut state, "Session is not JSON".into());
    };
    let field = |k: &str| {
        session[k]
            .as_str()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (Some(id), Some(_), Some(_)) = (
        field("sessionId"),
        field("sessionKey"),
        field("sessionToken"),
    ) else {
        return refused(&mut state, "Session without its three fields".into());
    };
    if !(id.starts_with("ASIA") || rules.also_taken.contains(&id)) {
        return refused(&mut state, format!("key id {id} is not a temporary one"));
    }
    let duration = match get("SessionDuration") {
        None => None,
        Some(_) if rules.federation_token => {
            return refused(
                &mut state,
                "SessionDuration with GetFederationToken credentials".into(),
            )
        }
        Some(d) => match d.parse::<u64>() {
            Ok(d) if (900..=43_200).contains(&d) => Some(d),
            _ => return refused(&mut state, format!("SessionDuration {d}")),
        },
    };
    state.sessions.push((id, duration));
    let token = random_token();
    state.issued.insert(token.clone());
    let body = serde_json::json!({ "SigninToken": token }).to_string();
    (200, body.into_bytes(), None)
}

fn role_rules() -> Rules {
    Rules {
        mode: Mode::Tokens,
        federation_token: false,
        also_taken: vec![],
    }
}

/// `Action=login`'s query, from a printed URL.
fn login_params(url: &str) -> Vec<(String, String)> {
    let parsed = url::Url::parse(url.trim()).unwrap();
    parsed.query_pairs().into_owned().collect()
}

fn param(params: &[(String, String)], k: &str) -> String {
    params
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {k} in {params:?}"))
}

/// Follows the printed URL as a browser would: the stand-in lets the token in once.
fn login(url: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    agent.get(url.trim()).call().unwrap().status().as_u16()
}

fn console(sandbox: &Sandbox, federation: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = sandbox.runas();
    // `-v` is the top command line's, before the subcommand.
    let verbose = args.iter().filter(|a| **a == "-v");
    cmd.env("AWS_ENDPOINT_URL_SIGNIN", federation)
        .args(verbose)
        .arg("console")
        .args(args.iter().filter(|a| **a != "-v"));
    cmd
}

/// Every secret the sandbox's credentials (long-term and temporary) hold: none may show.
fn assert_no_secrets(sandbox: &Sandbox, texts: &[&str]) {
    let mut secrets = vec!["alice/secret+key".to_owned()];
    for file in sandbox.cache_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for k in [
            "SecretAccessKey",
            "SessionToken",
            "secret_access_key",
            "session_token",
        ] {
            collect(&v, k, &mut secrets);
        }
    }
    for text in texts {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret shows in {text:?}");
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            assert!(!text.contains(&encoded), "a secret shows in {text:?}");
        }
    }
}

fn collect(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if k == key && s.len() > 8 => out.push(s.to_owned()),
                    _ => collect(v, key, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect(v, key, out)),
        _ => {}
    }
}

#[test]
fn a_role_profile_prints_a_login_url_with_a_token_the_endpoint_issued() {
    let sandbox = Sandbox::new();
    let federation = Federation::start(role_rules());
    let out = run(
        &mut console(&sandbox, &federation.url(), &["dev", "--print"]),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let params = login_params(&out.stdout);
    assert!(out
        .stdout
        .starts_with(&format!("{}/federation?", federation.url())));
    assert_eq!(param(&params, "Action"), "login");
    assert_eq!(param(&params, "Issuer"), "aws-runas");
    assert_eq!(
        param(&params, "Destination"),
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
    );
    let token = param(&params, "SigninToken");
    {
        let state = federation.state();
        assert!(state.issued.contains(&token), "a token the stand-in issued");
        assert_eq!(state.sessions.len(), 1, "{:?}", state.refused);
        let (id, duration) = &state.sessions[0];
        assert!(id.starts_with("ASIA"), "{id}");
        assert_eq!(*duration, Some(3600), "a role session's length");
    }
    assert_eq!(login(&out.stdout), 302);
    assert_eq!(login(&out.stdout), 400, "a sign-in token is good once");
    assert_no_secrets(&sandbox, &[&out.stdout, &out.stderr]);
}

#[test]
fn the_destination_is_the_region_console_a_service_or_a_given_url() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!("{CONFIG}\n[profile gov]\nrole_arn = arn:aws:iam::123456789012:role/gov\nsource_profile = alice\nregion = us-gov-west-1\n"));
    let federation = Federation::start(role_rules());
    let destination = |args: &[&str]| {
        let out = run(&mut console(&sandbox, &federation.url(), args), LIMIT).ok();
        param(&login_params(&out.stdout), "Destination")
    };
    assert_eq!(
        destination(&["dev", "--print", "--service", "s3"]),
        "https://console.aws.amazon.com/s3/home?region=eu-west-1"
    );
    let given = "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:";
    assert_eq!(
        destination(&["dev", "--print", "--destination", given]),
        given
    );
    assert_eq!(
        destination(&["gov", "--print"]),
        "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
    );
    // Refused before any credential is fetched.
    let line = run(
        &mut console(
            &sandbox,
            &federation.url(),
            &["dev", "--destination", "http://example.com/"],
        ),
        LIMIT,
    )
    .one_line_error();
    assert!(line.contains("https"), "{line}");
    assert_eq!(federation.state().queries.len(), 3);
}

#[test]
fn an_iam_user_signs_in_through_get_federation_token_without_session_duration() {
    let sandbox = Sandbox::new();
    let federation = Federation::start(Rules {
        mode: Mode::Tokens,
        federation_token: true,
        also_taken: vec!["AKIAIOSFODNN7EXAMPLE".into()],
    });
    sandbox.moto.start_recording();
    let out = run(
        &mut console(&sandbox, &federation.url(), &["alice", "--print", "-v"]),
        LIMIT,
    )
    .ok();
    assert_eq!(sandbox.moto.count("GetFederationToken"), 1);
    assert_eq!(sandbox.moto.count("GetSessionToken"), 0);
    let request = sandbox
        .moto
        .recorded()
        .into_iter()
        .find(|r| r.contains("Action=GetFederationToken"))
        .unwrap();
    let params: Vec<(String, String)> = url::form_urlencoded::parse(request.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(param(&params, "Name"), "alice");
    assert_eq!(param(&params, "DurationSeconds"), "43200");
    let policy: serde_json::Value = serde_json::from_str(&param(&params, "Policy")).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "*");
    {
        let state = federation.state();
        assert_eq!(state.sessions.len(), 1, "{:?}", state.refused);
        assert_eq!(state.sessions[0].1, None);
    }
    assert_eq!(
        param(&login_params(&out.stdout), "Destination"),
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
    );
    assert_eq!(login(&out.stdout), 302);
    let fed_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    assert!(!out.stdout.contains(fed_secret) && !out.stderr.contains(fed_secret));
    assert!(!out.stdout.contains("AQoDYXdzEPT") && !out.stderr.contains("AQoDYXdzEPT"));
    assert_no_secrets(&sandbox, &[&out.stdout, &out.stderr]);
}

#[test]
fn browser_gets_exactly_the_url_and_nothing_is_printed() {
    let sandbox = Sandbox::new();
    let federation = Federation::start(role_rules());
    let argv = sandbox.dir.path().join("argv");
    let script = sandbox.dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{0}.tmp'\nmv '{0}.tmp' '{0}'\n",
            argv.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(
        console(&sandbox, &federation.url(), &["dev", "-v"]).env("BROWSER", &script),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout, "", "nothing on stdout when a browser opens");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !argv.exists() {
        assert!(Instant::now() < deadline, "the browser never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    let args = std::fs::read_to_string(&argv).unwrap();
    assert_eq!(args.lines().count(), 1, "{args}");
    let token = param(&login_params(&args), "SigninToken");
    assert!(federation.state().issued.contains(&token));
    assert!(
        !out.stderr.contains(&token),
        "the sign-in token only in the URL"
    );
    assert_no_secrets(&sandbox, &[&out.stdout, &out.stderr, &args]);

    // Told not to open one: the URL is printed, and the browser never runs.
    std::fs::remove_file(&argv).unwrap();
    let out = run(
        console(&sandbox, &federation.url(), &["dev"])
            .env("BROWSER", &script)
            .env("RUNAS_NO_BROWSER", "1"),
        LIMIT,
    )
    .ok();
    let token = param(&login_params(&out.stdout), "SigninToken");
    assert!(federation.state().issued.contains(&token));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!argv.exists(), "the browser ran");
}

#[test]
fn refusals_are_one_line_each() {
    let sandbox = Sandbox::new();
    let closed = ClosedPort::new();
    for (mode, want) in [
        (Mode::Html400, "HTTP 400"),
        (Mode::NotJson, "without a sign-in token"),
        (Mode::Huge, "larger than 4 MiB"),
    ] {
        let federation = Federation::start(Rules {
            mode,
            ..role_rules()
        });
        let out = run(
            &mut console(&sandbox, &federation.url(), &["dev", "--print", "-v"]),
            LIMIT,
        );
        assert_ne!(out.code, Some(0));
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert_no_secrets(&sandbox, &[&out.stderr]);
        let line = run(
            &mut console(&sandbox, &federation.url(), &["dev", "--print"]),
            LIMIT,
        )
        .one_line_error();
        assert!(line.contains(want), "{line}");
        assert!(
            line.contains("'dev'") && line.contains("127.0.0.1"),
            "{line}"
        );
        assert!(!line.contains("html"), "never the body: {line}");
    }
    let line = run(
        &mut console(&sandbox, &closed.url(), &["dev", "--print"]),
        LIMIT,
    )
    .one_line_error();
    assert!(line.contains("'dev'"), "{line}");
    assert!(
        line.contains("AWS_ENDPOINT_URL_SIGNIN") && !line.contains("AWS_ENDPOINT_URL,"),
        "{line}"
    );
}

#[test]
fn diagnose_says_how_console_signs_in() {
    let sandbox = Sandbox::new();
    let info = |profile: &str| {
        let out = run(sandbox.runas().args(["diagnose", profile]), LIMIT);
        out.stdout
            .lines()
            .find(|l| l.contains("console:"))
            .unwrap_or_else(|| panic!("no console line: {}", out.stdout))
            .to_owned()
    };
    assert!(info("dev").contains("temporary credentials"));
    assert!(info("alice").contains("GetFederationToken"));
    sandbox.write_config(&CONFIG.replace(
        "[profile alice]\n",
        &format!("[profile alice]\nmfa_serial = {MFA_SERIAL}\n"),
    ));
    let line = info("alice");
    assert!(line.contains("no MFA"), "{line}");
}
