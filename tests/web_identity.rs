//! End-to-end: `web_identity_token_file` + `role_arn` profiles (as on EKS and CI runners), the
//! built binary against moto's AssumeRoleWithWebIdentity and the real AWS CLI.

mod common;

use common::*;

fn setup(session_name: &str) -> (Sandbox, std::path::PathBuf) {
    let s = Sandbox::with_files("", "");
    let token = s.dir.path().join("token");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl\n",
    )
    .unwrap();
    s.write_config(&format!(
        "[profile ci]\n\
         web_identity_token_file = {}\n\
         role_arn = arn:aws:iam::{ACCOUNT}:role/ci\n\
         {session_name}\
         region = eu-west-1\n\
         \n\
         [profile deploy]\n\
         role_arn = arn:aws:iam::{ACCOUNT}:role/deploy\n\
         source_profile = ci\n",
        token.display()
    ));
    (s, token)
}

/// The headers of the recorded request whose body holds `action` (moto records both).
fn headers_of(s: &Sandbox, action: &str) -> serde_json::Value {
    use base64::Engine;
    let text = ureq::get(&format!(
        "{}/moto-api/recorder/download-recording",
        s.moto.url()
    ))
    .call()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            let raw = v["body"].as_str().unwrap_or_default();
            let body = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| raw.to_owned());
            body.contains(&format!("Action={action}&"))
        })
        .map(|v| v["headers"].clone())
        .unwrap_or_else(|| panic!("no {action} recorded"))
}

fn caller_arn(s: &Sandbox, exports: &str) -> String {
    let script = format!(
        "eval \"$1\" && exec {} sts get-caller-identity --output json",
        aws_cli()
    );
    let out = run(s.command("sh").args(["-c", &script, "sh", exports]), LIMIT).ok();
    json(&out.stdout)["Arn"].as_str().unwrap().to_owned()
}

#[test]
fn the_token_assumes_the_role_unsigned_with_the_session_name_and_is_cached() {
    let (s, _) = setup("role_session_name = pipeline-42\n");
    s.moto.start_recording();
    let exports = run(s.runas().arg("ci"), LIMIT).ok().stdout;
    assert_eq!(
        caller_arn(&s, &exports),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci/pipeline-42")
    );
    let request = s.moto.request("AssumeRoleWithWebIdentity");
    assert!(request.contains("RoleSessionName=pipeline-42"), "{request}");
    assert!(
        request.contains("WebIdentityToken=eyJhbGciOiJSUzI1NiJ9"),
        "{request}"
    );
    let headers = headers_of(&s, "AssumeRoleWithWebIdentity");
    assert!(
        headers.get("Authorization").is_none() && headers.get("authorization").is_none(),
        "signed: {headers}"
    );
    // A second run is served from the cache.
    run(s.runas().arg("ci"), LIMIT).ok();
    assert_eq!(s.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn a_rotated_token_file_is_used_at_once() {
    let (s, token) = setup("");
    s.moto.start_recording();
    let first = run(s.runas().args(["-O", "json", "ci"]), LIMIT).ok().stdout;
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb3RhdGVkIn0.c2ln\n",
    )
    .unwrap();
    let second = run(s.runas().args(["-O", "json", "ci"]), LIMIT).ok().stdout;
    assert_eq!(s.moto.count("AssumeRoleWithWebIdentity"), 2);
    assert_ne!(json(&first)["AccessKeyId"], json(&second)["AccessKeyId"]);
    let requests = s.moto.recorded();
    assert!(
        requests.last().unwrap().contains("eyJzdWIiOiJyb3RhdGVkIn0"),
        "the new token was sent"
    );
}

#[test]
fn a_role_on_top_and_exec_mode_reach_the_aws_cli() {
    let (s, _) = setup("");
    let out = run(
        s.runas().args([
            "deploy",
            &aws_cli(),
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "deploy");
}

/// EKS (IRSA) and every pod identity webhook project the token as Kubernetes projects any
/// volume: `token -> ..data/token`, `..data -> ..TIMESTAMP`, and a rotation swaps `..data`.
/// The platform's links are followed; a FIFO behind one is still refused, at once.
#[test]
fn a_token_projected_through_kubernetes_symlinks_is_read_and_a_fifo_behind_one_is_not() {
    use std::os::unix::fs::symlink;
    let s = Sandbox::with_files("", "");
    let volume = s.dir.path().join("serviceaccount");
    let project = |stamp: &str, token: &str| {
        let dir = volume.join(stamp);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), token).unwrap();
        // As the kubelet swaps it: a new link renamed over the old one.
        let tmp = volume.join("..data_tmp");
        symlink(stamp, &tmp).unwrap();
        std::fs::rename(&tmp, volume.join("..data")).unwrap();
    };
    project(
        "..2026_12_04_10_00_00.123",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2lnbmF0dXJl\n",
    );
    let token = volume.join("token");
    symlink("..data/token", &token).unwrap();
    s.write_config(&format!(
        "[profile pod]\nweb_identity_token_file = {}\nrole_arn = arn:aws:iam::{ACCOUNT}:role/pod\nregion = eu-west-1\n",
        token.display()
    ));
    s.moto.start_recording();
    let out = run(s.runas().args(["-O", "json", "pod"]), LIMIT).ok();
    assert!(
        json(&out.stdout)["AccessKeyId"].is_string(),
        "{}",
        out.stdout
    );
    assert!(s
        .moto
        .request("AssumeRoleWithWebIdentity")
        .contains("eyJzdWIiOiJwb2QifQ"));

    // Rotated by the kubelet: the new token is read through the same links.
    project(
        "..2026_12_04_11_00_00.456",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyb3RhdGVkIn0.c2ln\n",
    );
    run(s.runas().args(["-O", "json", "pod"]), LIMIT).ok();
    assert_eq!(s.moto.count("AssumeRoleWithWebIdentity"), 2);
    assert!(s
        .moto
        .recorded()
        .last()
        .unwrap()
        .contains("eyJzdWIiOiJyb3RhdGVkIn0"));

    // A FIFO in the token's place: nothing would ever write to it, and a read would wait.
    let fifo = volume.join("..2026_12_04_12_00_00.789/token");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let tmp = volume.join("..data_tmp");
    symlink("..2026_12_04_12_00_00.789", &tmp).unwrap();
    std::fs::rename(&tmp, volume.join("..data")).unwrap();
    let err = run(s.runas().args(["-r", "pod"]), LIMIT).one_line_error();
    assert!(
        err.contains("'pod'")
            && err.contains(&token.display().to_string())
            && err.contains("not a regular file"),
        "{err}"
    );
    assert_eq!(s.moto.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn a_missing_or_empty_token_file_is_one_line_naming_it() {
    let (s, token) = setup("");
    std::fs::remove_file(&token).unwrap();
    let err = run(s.runas().arg("ci"), LIMIT).one_line_error();
    assert!(
        err.contains("'ci'") && err.contains(&token.display().to_string()),
        "{err}"
    );
    std::fs::write(&token, "two\nlines\n").unwrap();
    let err = run(s.runas().arg("ci"), LIMIT).one_line_error();
    assert!(err.contains("not a token"), "{err}");
    assert!(
        !err.contains("two"),
        "the file's content stays out of the message: {err}"
    );
    s.write_config("[profile ci]\nweb_identity_token_file = /x\n");
    let err = run(s.runas().arg("ci"), LIMIT).one_line_error();
    assert!(err.contains("role_arn"), "{err}");
}

#[test]
fn the_variables_eks_sets_are_used_for_the_profile_asked_for() {
    let (s, token) = setup("");
    s.write_config("[default]\nregion = eu-west-1\n");
    s.moto.start_recording();
    let out = run(
        s.runas()
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ROLE_ARN", format!("arn:aws:iam::{ACCOUNT}:role/pod"))
            .env("AWS_ROLE_SESSION_NAME", "pod-7")
            .args(["-O", "json"]),
        LIMIT,
    )
    .ok();
    assert!(json(&out.stdout)["AccessKeyId"].is_string());
    let request = s.moto.request("AssumeRoleWithWebIdentity");
    assert!(
        request.contains("RoleSessionName=pod-7") && request.contains("role%2Fpod"),
        "{request}"
    );

    // Exec mode: the command's SDK uses what aws-runas hands it, not the variables itself.
    run(
        s.runas()
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ROLE_ARN", format!("arn:aws:iam::{ACCOUNT}:role/pod"))
            .args(["-r", "default", &aws_cli(), "sts", "get-caller-identity"]),
        LIMIT,
    )
    .ok();
    assert_eq!(
        s.moto.count("AssumeRoleWithWebIdentity"),
        2,
        "one per aws-runas run, none by the AWS CLI"
    );
}

/// A pod or CI runner with no AWS files at all: the platform's variables are the default
/// profile, as botocore takes them; a profile named but missing is still an error.
#[test]
fn without_any_aws_file_the_variables_are_the_default_profile() {
    let s = Sandbox::with_files("", "");
    std::fs::remove_file(s.home().join(".aws/config")).ok();
    std::fs::remove_file(s.home().join(".aws/credentials")).ok();
    let token = s.dir.path().join("token");
    std::fs::write(
        &token,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl\n",
    )
    .unwrap();
    let pod = |cmd: &mut std::process::Command| {
        cmd.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
            .env("AWS_ROLE_ARN", format!("arn:aws:iam::{ACCOUNT}:role/pod"))
            .env("AWS_REGION", "eu-west-1");
    };
    let mut cmd = s.runas();
    pod(&mut cmd);
    let out = run(cmd.args(["-O", "env"]), LIMIT).ok();
    let arn = caller_arn(&s, &out.stdout);
    assert!(
        arn.starts_with(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/pod/")),
        "{arn}"
    );
    let mut cmd = s.runas();
    pod(&mut cmd);
    let err = run(cmd.env("AWS_PROFILE", "nope").args(["-O", "json"]), LIMIT).one_line_error();
    assert!(err.contains("profile 'nope' not found"), "{err}");
}
