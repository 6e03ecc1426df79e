//! Web identity sign-in (OIDC) end to end: the built binary against a real OpenID provider
//! (oidc-provider on loopback) and moto's AssumeRoleWithWebIdentity, read back by the AWS CLI.

mod common;
#[path = "idp/oidc_provider.rs"]
mod oidc_provider;

use common::{assert_assumed_role, eval_in_sh, json, run, runas_bin, Sandbox, LIMIT};
use oidc_provider::{OidcProvider, CLIENT_ID, PASSWORD, USERNAME};

const DEV: &str = "arn:aws:iam::123456789012:role/Dev";
const OPS: &str = "arn:aws:iam::123456789012:role/Ops";

fn config(op: &OidcProvider, extra: &str) -> String {
    format!(
        "[profile idp]\nweb_identity_auth_url = {}\nweb_identity_client_id = {CLIENT_ID}\n\
         web_identity_redirect_uri = app:/callback\nweb_identity_username = {USERNAME}\nregion = us-east-1\n\n\
         [profile dev]\nsource_profile = idp\nrole_arn = {DEV}\n\n\
         [profile ops]\nsource_profile = idp\nrole_arn = {OPS}\n\n{extra}",
        op.issuer()
    )
}

fn setup(extra: &str) -> (OidcProvider, Sandbox) {
    let op = OidcProvider::start();
    let sandbox = Sandbox::with_files(&config(&op, extra), "");
    sandbox.moto.start_recording();
    (op, sandbox)
}

/// The identity STS sees for the credentials in `exports` (through the real AWS CLI).
fn identity(sandbox: &Sandbox, exports: &str) -> String {
    let mut aws = sandbox.aws();
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        aws.env(var, eval_in_sh(exports, var));
    }
    let out = run(
        aws.args(["sts", "get-caller-identity", "--region", "us-east-1"]),
        LIMIT,
    )
    .ok();
    json(&out.stdout)["Arn"].as_str().unwrap().to_owned()
}

#[test]
fn password_sign_in_gives_role_credentials_and_the_id_token_is_reused() {
    let (op, sandbox) = setup("");
    let out = run(
        sandbox.runas().env("WEB_PASSWORD", PASSWORD).arg("dev"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Dev");
    assert!(
        arn.ends_with("/alice"),
        "session named after the user: {arn}"
    );
    assert_eq!(op.password_posts(), 1);
    assert_eq!(op.token_posts(), 1, "one code exchange");
    let call = sandbox.moto.request("AssumeRoleWithWebIdentity");
    assert!(
        call.contains("WebIdentityToken=ey"),
        "an ID token (JWT) was sent"
    );

    // The credentials are cached: no IdP request, no STS call.
    let before = op.requests();
    let again = run(sandbox.runas().arg("dev"), LIMIT).ok();
    assert_eq!(again.stdout, out.stdout);
    // Another role of the same person at the same provider: the cached ID token, with zero
    // requests to the IdP and no password.
    let ops = run(sandbox.runas().arg("ops"), LIMIT).ok();
    assert_assumed_role(&identity(&sandbox, &ops.stdout), "Ops");
    assert_eq!(op.requests(), before, "no request reached the IdP");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);

    // Everything cached is private, and the ID token sits in its own entry.
    let files = sandbox.cache_files();
    let token = files
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("idtoken_")
        })
        .expect("a cached ID token");
    assert_eq!(common::mode(token), 0o600);
}

#[test]
fn credential_process_gets_the_role_through_the_aws_cli() {
    let bin = runas_bin();
    let (op, sandbox) = setup(&format!(
        "[profile viacli]\ncredential_process = {} -O json dev\nregion = us-east-1\n",
        bin.display()
    ));
    let out = run(
        sandbox.aws().env("WEB_PASSWORD", PASSWORD).args([
            "sts",
            "get-caller-identity",
            "--profile",
            "viacli",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Dev");
    assert_eq!(op.password_posts(), 1);
}

#[test]
fn a_wrong_password_is_one_line_and_tried_once() {
    let (op, sandbox) = setup("");
    let err = run(
        sandbox.runas().env("WEB_PASSWORD", "not-it").arg("dev"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert_eq!(op.password_posts(), 1, "no retry");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);
}

#[test]
fn without_a_terminal_no_password_is_asked_for() {
    let (op, sandbox) = setup("");
    let err = run(sandbox.runas().arg("dev"), LIMIT).one_line_error();
    assert!(
        err.contains("password") && err.contains("runas use dev"),
        "{err}"
    );
    assert_eq!(op.password_posts(), 0);
}

#[test]
fn configuration_mistakes_name_what_is_missing() {
    let sandbox = Sandbox::with_files(
        "[profile noclient]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_redirect_uri = app:/cb\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile noredirect]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile norole]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\n\n\
         [profile both]\nsaml_auth_url = https://saml.example.org/sso\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile badflow]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nweb_identity_flow = magic\nrole_arn = arn:aws:iam::123456789012:role/R\n\n\
         [profile browser]\nweb_identity_auth_url = https://idp.example.org\nweb_identity_client_id = c\nweb_identity_redirect_uri = app:/cb\nweb_identity_flow = browser\nrole_arn = arn:aws:iam::123456789012:role/R\n",
        "",
    );
    let cases = [
        ("noclient", "web_identity_client_id"),
        ("noredirect", "web_identity_redirect_uri"),
        ("norole", "role_arn"),
        ("both", "saml_auth_url"),
        ("badflow", "web_identity_flow = 'magic'"),
        ("browser", "http://127.0.0.1"),
    ];
    for (profile, expected) in cases {
        let err = run(sandbox.runas().arg(profile), LIMIT).one_line_error();
        assert!(
            err.contains(&format!("'{profile}'")) && err.contains(expected),
            "{profile}: {err}"
        );
    }
    // -W with -C and -T on the command line make any profile sign in there.
    let err = run(
        sandbox
            .runas()
            .args(["-W", "https://other.example.org", "-C", "c", "noredirect"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("web_identity_redirect_uri"), "{err}");
}
