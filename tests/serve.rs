//! Local credential endpoints, end to end: exec mode's endpoint, `serve ecs`, `serve ec2` and
//! the profile page, with the real AWS CLI and boto3 as clients, against moto.

mod common;

use std::process::Command;
use std::time::Duration;

use common::served::*;
use common::*;

/// `program` in the sandbox with `endpoint_env` pointing it at an endpoint, and nothing to shadow
/// it; its output.
fn client(s: &Sandbox, program: &str, args: &[&str], endpoint_env: &[(&str, &str)]) -> String {
    let mut cmd = s.command(program);
    cmd.args(args)
        .envs(endpoint_env.iter().copied())
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    run(&mut cmd, LIMIT).ok().stdout
}

const AWS_ARN: &[&str] = &[
    "sts",
    "get-caller-identity",
    "--query",
    "Arn",
    "--output",
    "text",
];

/// The identity the real AWS CLI gets from the ECS endpoint at `uri`.
fn aws_arn_through(s: &Sandbox, uri: &str, token: &str) -> String {
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token),
    ];
    client(s, &aws_cli(), AWS_ARN, &env).trim().to_owned()
}

const BOTO3_ARN: &str = "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])";

#[test]
fn exec_mode_hands_the_command_an_endpoint_not_keys() {
    let s = Sandbox::new();
    let script = format!(
        "echo \"key=${{AWS_ACCESS_KEY_ID-none}}\"; echo \"uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI\"; \
         aws sts get-caller-identity --query Arn --output text; python3 -c \"{BOTO3_ARN}\"; exit 7"
    );
    let out = run(
        s.runas()
            .args(["dev", "sh", "-c", &script])
            .env("AWS_ACCESS_KEY_ID", "AKIASTALE")
            .env("AWS_SECRET_ACCESS_KEY", "stale"),
        LIMIT,
    );
    assert_eq!(out.code, Some(7), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "key=none", "static keys reached the command");
    assert!(
        lines[1].starts_with("uri=http://127.0.0.1:"),
        "{}",
        lines[1]
    );
    assert_assumed_role(lines[2], "dev");
    assert_assumed_role(lines[3], "dev");
}

#[test]
fn aws_runas_inside_an_exec_mode_command_still_finds_the_users_files() {
    let s = Sandbox::new();
    let inner = format!(
        "echo \"creds=$AWS_SHARED_CREDENTIALS_FILE\"; '{}' -w chain",
        runas_bin().display()
    );
    let out = run(s.runas().args(["dev", "sh", "-c", &inner]), LIMIT).ok();
    assert!(out.stdout.contains("creds=/dev/null"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("Arn: arn:aws:sts::123456789012:assumed-role/chain/"),
        "{}",
        out.stdout
    );
}

/// Fetches the endpoint twice, some seconds apart, and prints both access key ids.
const TWO_FETCHES: &str = r#"
import json, os, time, urllib.request
def key():
    request = urllib.request.Request(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        headers={"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
    return json.load(urllib.request.urlopen(request))["AccessKeyId"]
first = key()
time.sleep(4)
print(first, key())
"#;

#[test]
fn a_command_outliving_the_refresh_window_gets_new_keys() {
    let s = Sandbox::new();
    let out = run(
        s.runas()
            .args(["-a", "15m", "dev", "python3", "-c", TWO_FETCHES])
            .env("RUNAS_REFRESH_WINDOW", "14m57s"),
        LIMIT,
    )
    .ok();
    let keys: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(keys.len(), 2, "{}", out.stdout);
    assert!(keys[0].starts_with("ASIA") && keys[1].starts_with("ASIA"));
    assert_ne!(keys[0], keys[1], "the endpoint served stale keys");
}

#[test]
fn serve_ecs_with_real_clients_and_guards() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/credentials"));
    assert_eq!(token.len(), 64);

    assert_assumed_role(&aws_arn_through(&s, &uri, &token), "dev");
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.as_str()),
    ];
    assert_assumed_role(
        client(&s, "python3", &["-c", BOTO3_ARN], &env).trim(),
        "dev",
    );

    assert_eq!(status_of("GET", &uri, &[]), 401, "no token");
    assert_eq!(status_of("GET", &uri, &[("Authorization", "guess")]), 403);
    let (status, _) = send(
        "GET",
        &uri,
        &[("Authorization", &token), ("Host", "attacker.example:80")],
        None,
    );
    assert_eq!(status, 403, "foreign Host");
    for relayed in [
        ("X-Forwarded-For", "10.0.0.1"),
        ("Forwarded", "for=10.0.0.1"),
    ] {
        assert_eq!(
            status_of("GET", &uri, &[("Authorization", &token), relayed]),
            403,
            "{relayed:?}"
        );
    }
    let (status, body) = send(
        "GET",
        &format!("{uri}/chain"),
        &[("Authorization", &token)],
        None,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        "GET",
        &format!("{uri}/nope"),
        &[("Authorization", &token)],
        None,
    );
    assert_eq!(status, 500);
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap()
            .contains("profile 'nope' not found"),
        "{body}"
    );

    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("aws-runas: stopped"), "{log}");
}

#[test]
fn serve_ec2_speaks_imdsv2_and_refuses_what_it_should() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ec2", "dev"]);
    let endpoint = served.var("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str())];
    assert_assumed_role(client(&s, &aws_cli(), AWS_ARN, &env).trim(), "dev");
    assert_assumed_role(
        client(&s, "python3", &["-c", BOTO3_ARN], &env).trim(),
        "dev",
    );

    let token_url = format!("{endpoint}latest/api/token");
    let creds_url = format!("{endpoint}latest/meta-data/iam/security-credentials/");
    let ttl = "X-aws-ec2-metadata-token-ttl-seconds";
    let (status, token) = send("PUT", &token_url, &[(ttl, "60")], None);
    assert_eq!(status, 200);
    let with_token = [("X-aws-ec2-metadata-token", token.as_str())];
    assert_eq!(
        send("GET", &creds_url, &with_token, None),
        (200, "dev".to_owned())
    );
    let (status, body) = send("GET", &format!("{creds_url}dev"), &with_token, None);
    assert_eq!(status, 200);
    assert_eq!(json(&body)["Code"], "Success");

    assert_eq!(
        status_of("GET", &creds_url, &[]),
        401,
        "IMDSv1 is off by default"
    );
    assert_eq!(
        status_of("GET", &creds_url, &[("X-aws-ec2-metadata-token", "forged")]),
        401
    );
    let (status, short) = send("PUT", &token_url, &[(ttl, "1")], None);
    assert_eq!(status, 200, "{short}");
    assert_eq!(
        send(
            "GET",
            &creds_url,
            &[("X-aws-ec2-metadata-token", short.as_str())],
            None
        ),
        (200, "dev".to_owned()),
        "the short token works before it expires"
    );
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        status_of("GET", &creds_url, &[("X-aws-ec2-metadata-token", &short)]),
        401,
        "expired token"
    );
    assert_eq!(status_of("PUT", &token_url, &[(ttl, "0")]), 400);
    assert_eq!(
        status_of(
            "PUT",
            &token_url,
            &[(ttl, "60"), ("X-Forwarded-For", "10.0.0.1")]
        ),
        403
    );
    assert_eq!(
        status_of(
            "GET",
            &creds_url,
            &[
                ("X-aws-ec2-metadata-token", &token),
                ("X-Forwarded-For", "1.2.3.4")
            ]
        ),
        403
    );
    assert_eq!(
        status_of(
            "GET",
            &creds_url,
            &[
                ("X-aws-ec2-metadata-token", &token),
                ("Forwarded", "for=1.2.3.4")
            ]
        ),
        403
    );
    assert_eq!(
        status_of(
            "GET",
            &creds_url,
            &[
                ("X-aws-ec2-metadata-token", &token),
                ("Host", "evil.example")
            ]
        ),
        403
    );
    drop(served);

    let v1 = Served::start(&s, &["ec2", "--imdsv1", "dev"]);
    let endpoint = v1.var("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    let (status, body) = send(
        "GET",
        &format!("{endpoint}latest/meta-data/iam/security-credentials/"),
        &[],
        None,
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "dev"),
        "IMDSv1 when opted in"
    );
}

#[test]
fn a_burst_of_requests_is_answered_from_memory_without_sts_calls() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    s.moto.start_recording();
    let (connections, per_connection) = (32, 64);
    let keys: Vec<String> = (0..connections)
        .map(|_| {
            let (uri, token) = (uri.clone(), token.clone());
            std::thread::spawn(move || {
                // One agent per thread: its requests share one kept-alive connection.
                let agent = agent();
                (0..per_connection)
                    .map(|_| {
                        let mut response = agent
                            .get(&uri)
                            .header("Authorization", &token)
                            .call()
                            .unwrap();
                        assert_eq!(response.status().as_u16(), 200);
                        let body = response.body_mut().read_to_string().unwrap();
                        json(&body)["AccessKeyId"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(keys.len(), connections * per_connection);
    assert!(keys.iter().all(|k| k == &keys[0]));
    assert!(
        s.moto.recorded().is_empty(),
        "STS calls during the burst: {:?}",
        s.moto.recorded()
    );
}

#[test]
fn profile_page_switches_refreshes_and_asks_for_mfa_only_to_its_own_origin() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let auth = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let base = uri.trim_end_matches("/credentials").to_owned();
    let host = base.trim_start_matches("http://").to_owned();

    let (page_base, page_token) = served.page_token();
    assert_eq!(page_base, base);
    assert_eq!(page_token.len(), 64);
    assert_ne!(
        page_token, auth,
        "the page must not hand out the credential token"
    );
    assert_eq!(
        status_of("GET", &format!("{base}/"), &[("Host", "evil.example")]),
        403
    );

    let api = |method: &str, path: &str, body: Option<&str>, origin: Option<&str>| {
        let mut headers = vec![
            ("X-Runas-Token", page_token.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(o) = origin {
            headers.push(("Origin", o));
        }
        send(method, &format!("{base}{path}"), &headers, body)
    };
    assert_eq!(
        status_of("GET", &format!("{base}/list-profiles"), &[]),
        403,
        "no page token"
    );
    assert_eq!(
        api(
            "POST",
            "/profile",
            Some(r#"{"profile":"chain"}"#),
            Some("http://evil.example")
        )
        .0,
        403
    );
    let (status, list) = api(
        "GET",
        "/list-profiles",
        None,
        Some(&format!("http://{host}")),
    );
    assert_eq!(status, 200);
    let listed = json(&list);
    let names: Vec<&str> = listed["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for p in ["alice", "chain", "dev", "mfa"] {
        assert!(names.contains(&p), "{list}");
    }

    // Switch: the endpoint's default credentials are now the chain role's.
    let (status, body) = api("POST", "/profile", Some(r#"{"profile":"chain"}"#), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["profile"], "chain");
    assert_assumed_role(&aws_arn_through(&s, &uri, &auth), "chain");

    // Refresh now: new keys.
    let key = |served_uri: &str| {
        json(&send("GET", served_uri, &[("Authorization", &auth)], None).1)["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = key(&uri);
    assert_eq!(api("POST", "/refresh", Some("{}"), None).0, 200);
    assert_ne!(key(&uri), before);

    // A profile whose refresh needs an MFA code: the page is told, and the code it sends works.
    let (status, body) = api("POST", "/profile", Some(r#"{"profile":"mfa"}"#), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["needs_mfa"], true, "{body}");
    assert_eq!(status_of("GET", &uri, &[("Authorization", &auth)]), 500);
    s.moto.start_recording();
    let (status, body) = api("POST", "/mfa", Some(r#"{"code":"424242"}"#), None);
    assert_eq!(status, 200, "{body}");
    assert!(
        json(&body)["expiration"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    assert!(s
        .moto
        .request("GetSessionToken")
        .contains("TokenCode=424242"));
    assert!(key(&uri).starts_with("ASIA"));

    let (code, log) = served.stop();
    assert_eq!(code, Some(0));
    assert!(
        !log.contains(&auth) && !log.contains(&page_token),
        "a token in the log:\n{log}"
    );
}

#[test]
fn server_logs_requests_at_verbose_without_secrets() {
    let s = Sandbox::new();
    let served = Served::start_with(s.runas().args(["-v", "serve", "ecs", "dev"]));
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let token = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let (_, body) = send("GET", &uri, &[("Authorization", &token)], None);
    let secret = json(&body)["SecretAccessKey"].as_str().unwrap().to_owned();
    send("GET", &uri, &[("Authorization", "wrong")], None);
    let (_, log) = served.stop();
    assert!(log.contains("GET /credentials -> 200"), "{log}");
    assert!(log.contains("GET /credentials -> 403"), "{log}");
    for leaked in [token.as_str(), secret.as_str(), "wrong"] {
        assert!(!log.contains(leaked), "{leaked} in the log:\n{log}");
    }
}

#[test]
fn a_command_that_is_not_a_program_runs_through_the_users_shell_so_aliases_work() {
    let s = Sandbox::new();
    std::fs::write(
        s.home().join(".bashrc"),
        "shopt -s expand_aliases\nalias whoiam='aws sts get-caller-identity --query Arn --output text'\n",
    )
    .unwrap();
    let out = run(
        s.runas().args(["dev", "whoiam"]).env("SHELL", "/bin/bash"),
        LIMIT,
    )
    .ok();
    assert_assumed_role(out.stdout.trim(), "dev");
    // A program on PATH is run directly, not through the shell.
    let out = run(
        s.runas()
            .args(["dev", "sh", "-c", "echo $0"])
            .env("SHELL", "/bin/bash"),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.trim(), "sh");
}

#[test]
fn profile_page_in_a_real_browser_switches_the_served_profile() {
    let s = Sandbox::new();
    let served = Served::start(&s, &["ecs", "dev"]);
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let auth = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let page = served.page_address();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/page.py");
    let seen = run(
        Command::new("python3").args([script, page.as_str(), "chain"]),
        Duration::from_secs(120),
    )
    .ok();
    let seen = json(&seen.stdout);
    let listed: Vec<&str> = seen["listed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for profile in ["alice", "chain", "dev", "mfa"] {
        assert!(listed.contains(&profile), "{seen}");
    }
    assert_eq!(seen["first"], "dev");
    assert_eq!(seen["switched"], "chain");
    assert!(
        seen["expiration"].as_str().unwrap().ends_with('Z'),
        "{seen}"
    );
    assert_assumed_role(&aws_arn_through(&s, &uri, &auth), "chain");
}

#[test]
fn serve_switches_between_profiles_whose_sts_is_behind_different_private_cas() {
    let s = Sandbox::new();
    let moto_port: u16 = s.moto.url().rsplit(':').next().unwrap().parse().unwrap();
    // Each profile's STS behind its own private CA, each CA named only by its profile.
    let fronts: Vec<(std::path::PathBuf, TlsProxy)> = ["one", "two"]
        .iter()
        .map(|name| {
            let dir = s.dir.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let [ca, cert, key] = private_ca(&dir);
            (ca, TlsProxy::start(&cert, &key, moto_port))
        })
        .collect();
    let profile = |name: &str, front: &TlsProxy, ca: &std::path::Path| {
        format!(
            "[profile {name}]\nrole_arn = arn:aws:iam::123456789012:role/{name}\nsource_profile = alice\nendpoint_url = https://127.0.0.1:{}\nca_bundle = {}\n\n",
            front.port,
            ca.display()
        )
    };
    let (ca_one, one) = &fronts[0];
    let (ca_two, two) = &fronts[1];
    s.write_config(&format!(
        "{CONFIG}\n{}{}{}",
        profile("one", one, ca_one),
        profile("two", two, ca_two),
        // Two's endpoint with one's CA: each profile trusts its own bundle, not every bundle seen.
        profile("mixed", two, ca_one),
    ));
    s.moto.start_recording();
    // The endpoints come from the profiles, not from the sandbox's variable.
    let served = Served::start_with(
        s.runas()
            .env_remove("AWS_ENDPOINT_URL")
            .args(["serve", "ecs", "one"]),
    );
    let uri = served.var("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    let auth = served.var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    assert_assumed_role(&aws_arn_through(&s, &uri, &auth), "one");

    let (base, page_token) = served.page_token();
    let switch = |profile: &str| {
        let (status, body) = send(
            "POST",
            &format!("{base}/profile"),
            &[
                ("X-Runas-Token", page_token.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(&format!(r#"{{"profile":"{profile}"}}"#)),
        );
        assert_eq!(status, 200, "{body}");
        json(&body)
    };
    let status = switch("two");
    assert!(status["error"].is_null(), "{status}");
    assert_assumed_role(&aws_arn_through(&s, &uri, &auth), "two");

    let status = switch("mixed");
    let error = status["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!(
            "the certificate of 127.0.0.1:{} is not signed by a CA this machine trusts",
            two.port
        )),
        "{status}"
    );
    // And back: the first profile's bundle still serves it.
    let status = switch("one");
    assert!(status["error"].is_null(), "{status}");
    assert_eq!(s.moto.count("AssumeRole"), 2);
    let (code, _) = served.stop();
    assert_eq!(code, Some(0));
}
