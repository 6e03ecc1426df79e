//! Web identity password sign-in at Okta, OneLogin, ForgeRock AM, Keycloak and Azure AD, end to
//! end: the built binary signs in through each provider's API (or Keycloak's login form, or
//! Azure AD's sign-in pages), gets the ID token, and moto's AssumeRoleWithWebIdentity turns it
//! into role credentials the AWS CLI accepts. Okta, OneLogin, AM and Azure AD are the loopback
//! stand-ins the SAML tests use too (`tests/standins/`: each one's header describes the
//! protocol it was written from, its OpenID side included); Keycloak is the real oidc-provider
//! in Keycloak's URL layout, plus a stand-in for its one-time-code step here. Every stand-in's
//! token endpoint checks the PKCE verifier against the challenge and hands each code out once,
//! and its authorization endpoint echoes `state`: a client that got either wrong would get no
//! ID token.

#[path = "standins/azuread.rs"]
mod azuread;
mod common;
#[path = "standins/forgerock.rs"]
mod forgerock;
#[path = "standins/idp_server.rs"]
mod idp_server;
#[allow(dead_code)] // this binary uses part of the harness
#[path = "idp/oidc_provider.rs"]
mod oidc_provider;
#[path = "standins/okta.rs"]
mod okta;
#[path = "standins/onelogin.rs"]
mod onelogin;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::{assert_assumed_role, eval_in_sh, json, run, Output, Sandbox, LIMIT};
use idp_server::{authorize, field, html, reply, token, Idp, Req, State, CLIENT};

const DEV: &str = "arn:aws:iam::123456789012:role/Dev";
const OPS: &str = "arn:aws:iam::123456789012:role/Ops";

// ---------------------------------------------------------------------------------------------
// Keycloak's one-time-code step (the real Keycloak answers the login with a 302 to the
// redirect URI, which v3 rejects), realm corp, no discovery document served.

fn kc_form(
    base: &str,
    st: &mut State,
    login: Vec<(String, String)>,
    otp: bool,
    error: &str,
) -> tiny_http::ResponseBox {
    let session_code = st.secret("kc-session-");
    st.logins.insert(session_code.clone(), login);
    let action = format!(
        "{base}/realms/corp/login-actions/authenticate?session_code={session_code}&amp;execution=e1&amp;client_id={CLIENT}&amp;tab_id=t1"
    );
    let inputs = if otp {
        r#"<input id="otp" name="otp" autocomplete="off" type="text">"#
    } else {
        r#"<input id="username" name="username" type="text"><input id="password" name="password" type="password"><input type="hidden" id="id-hidden-input" name="credentialId">"#
    };
    let id = if otp {
        "kc-otp-login-form"
    } else {
        "kc-form-login"
    };
    html(&format!(
        r#"<html><body><span id="input-error">{error}</span><form id="{id}" action="{action}" method="post">{inputs}<input type="submit" name="login" value="Sign In"></form></body></html>"#
    ))
}

/// kim signs in with kim-password, then the code 123456.
fn keycloak(base: &str, st: &mut State, req: &Req) -> tiny_http::ResponseBox {
    let issuer = format!("{base}/realms/corp");
    match req.path.as_str() {
        "/realms/corp/protocol/openid-connect/auth" => {
            kc_form(base, st, req.query.clone(), false, "")
        }
        "/realms/corp/login-actions/authenticate" if req.method == "POST" => {
            let Some(login) = req.query("session_code").and_then(|c| st.logins.remove(c)) else {
                return html("<html>Your login attempt timed out.</html>");
            };
            let form = req.form();
            if let Some(code) = field(&form, "otp") {
                return match login.iter().find(|(k, _)| k == "kc-user") {
                    Some((_, user)) if code == "123456" => {
                        let user = user.clone();
                        let identity = st.secret("kc-identity-");
                        let cookie = format!("KEYCLOAK_IDENTITY={identity}; Path=/realms/corp/");
                        authorize(st, &login, &user, &[("set-cookie", &cookie)])
                    }
                    _ => kc_form(base, st, login, true, "Invalid authenticator code."),
                };
            }
            st.password_posts += 1;
            match (field(&form, "username"), field(&form, "password")) {
                (Some("kim"), Some("kim-password")) => {
                    let mut login = login;
                    login.push(("kc-user".into(), "kim".into()));
                    kc_form(base, st, login, true, "")
                }
                _ => kc_form(base, st, login, false, "Invalid username or password."),
            }
        }
        "/realms/corp/protocol/openid-connect/token" => token(&issuer, st, req),
        _ => reply(404, "Not Found".into(), &[]),
    }
}

// ---------------------------------------------------------------------------------------------

/// Profiles signing in at `url` as the provider `provider`: dev and ops (two roles, one ID
/// token), code and push (mfa_type).
fn config(url: &str, provider: &str) -> String {
    format!(
        "[profile idp]\nweb_identity_auth_url = {url}\nweb_identity_client_id = {CLIENT}\n\
         web_identity_redirect_uri = app:/callback\nweb_identity_provider = {provider}\nregion = us-east-1\n\n\
         [profile dev]\nsource_profile = idp\nrole_arn = {DEV}\n\n\
         [profile ops]\nsource_profile = idp\nrole_arn = {OPS}\n\n\
         [profile code]\nsource_profile = idp\nrole_arn = {DEV}\nmfa_type = code\n\n\
         [profile push]\nsource_profile = idp\nrole_arn = {DEV}\nmfa_type = push\n"
    )
}

fn setup(url: &str, provider: &str) -> Sandbox {
    let sandbox = Sandbox::with_files(&config(url, provider), "");
    sandbox.moto.start_recording();
    sandbox
}

fn sign_in(sandbox: &Sandbox, args: &[&str], password: &str) -> Output {
    let mut cmd = sandbox.runas();
    if !password.is_empty() {
        cmd.env("WEB_PASSWORD", password);
    }
    run(cmd.args(args), LIMIT)
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

#[track_caller]
fn assert_signed_in_as(sandbox: &Sandbox, out: &Output, role: &str, user: &str) {
    let arn = identity(sandbox, &out.stdout);
    assert_assumed_role(&arn, role);
    assert!(arn.ends_with(&format!("/{user}")), "{arn}");
}

/// A failed push: the prompt to approve it, then one line saying why, nothing else.
#[track_caller]
fn push_refused(out: Output, prompt: &str) -> String {
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(
        out.code.is_some() && !out.stderr.contains("panicked"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", out.stderr);
    assert!(lines[0].contains(prompt), "{:?}", out.stderr);
    lines[1].to_owned()
}

/// `-vv` as it must be: useful, and without any password, token, code, cookie or state the
/// stand-in handed out, the ID token (or any part of it), or the secret key.
#[track_caller]
fn assert_quiet(log: &str, passwords: &[&str], secrets: &[String], stdout: &str) {
    assert!(
        log.contains("AssumeRoleWithWebIdentity") && log.contains("IdP: POST"),
        "-vv logged nothing useful: {log}"
    );
    for p in passwords {
        assert!(!log.contains(p), "password in the log");
    }
    assert!(!secrets.is_empty());
    for secret in secrets {
        for part in secret.split('.') {
            assert!(!log.contains(part), "{secret} (or part of it) in the log");
        }
    }
    for marker in [
        "code=",
        "code_verifier",
        "state=",
        "sessionToken",
        "session_token=",
    ] {
        assert!(!log.contains(marker), "{marker} in the log");
    }
    let secret = eval_in_sh(stdout, "AWS_SECRET_ACCESS_KEY");
    assert!(!log.contains(&secret), "secret key in the log");
}

/// What every provider must do: a wrong password is one line and no STS call; a sign-in (at
/// -vv, quiet) gives the role; another role needs no request to the IdP (the cached ID token).
#[track_caller]
fn password_wrong_right_and_cached(idp: &Idp, sandbox: &Sandbox, user: &str, password: &str) {
    let err = sign_in(sandbox, &["-U", user, "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains(&format!("rejected the password for '{user}'"))
            && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert_eq!(idp.password_posts(), 1, "tried once");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);

    let out = sign_in(sandbox, &["-vv", "-U", user, "dev"], password).ok();
    assert_signed_in_as(sandbox, &out, "Dev", user);
    assert_quiet(&out.stderr, &[password], &idp.secrets(), &out.stdout);

    let before = idp.requests();
    let ops = sign_in(sandbox, &["-U", user, "ops"], "").ok();
    assert_signed_in_as(sandbox, &ops, "Ops", user);
    assert_eq!(
        idp.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);
}

#[test]
fn okta_password_code_push_and_the_cached_id_token() {
    let idp = okta::start();
    let sandbox = setup(&format!("{}/oauth2/default", idp.base()), "okta");
    password_wrong_right_and_cached(&idp, &sandbox, "dave", "dave-password");

    let err = sign_in(&sandbox, &["-U", "lou", "dev"], "lou-password").one_line_error();
    assert!(err.contains("has locked the account 'lou'"), "{err}");

    let err = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "000000", "code"],
        "erin-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "123456", "code"],
        "erin-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "erin");

    let out = sign_in(&sandbox, &["-U", "paul", "push"], "paul-password").ok();
    assert!(
        out.stderr.contains("approve the Okta push"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "paul");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "rex", "push"], "rex-password"),
        "approve the Okta push",
    );
    assert!(
        err.contains("the Okta push was denied on the device"),
        "{err}"
    );
}

#[test]
fn okta_org_server_without_discovery_and_an_ignored_session_token() {
    // The org authorization server (`/oauth2`) has no discovery document below it: v3's
    // `/v1/authorize` and `/v1/token` are appended.
    let idp = okta::start();
    let sandbox = setup(&format!("{}/oauth2", idp.base()), "okta");
    let out = sign_in(&sandbox, &["-U", "dave", "dev"], "dave-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "dave");
    // Okta sends the authorization request to its sign-in page instead of the redirect URI.
    let err = sign_in(&sandbox, &["-U", "nina", "dev"], "nina-password").one_line_error();
    assert!(
        err.contains("profile 'dev'")
            && err.contains("did not send them back to the redirect URI")
            && err.contains("/login/login.htm"),
        "{err}"
    );
    assert!(
        !err.contains("okta-session-") && !err.contains("fromURI"),
        "{err}"
    );
    // An answer written to fool the terminal: one line, escapes shown, not obeyed.
    let err = sign_in(&sandbox, &["-U", "eve", "dev"], "eve-password").one_line_error();
    assert!(
        err.contains("HTTP 429: API call exceeded rate limit"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
    // A redirect with another state than the one sent: its code is never used.
    let tokens = idp.token_posts();
    let err = sign_in(&sandbox, &["-U", "mallory", "dev"], "mallory-password").one_line_error();
    assert!(
        err.contains("profile 'dev'") && err.contains("another state"),
        "{err}"
    );
    assert!(!err.contains("forged-code"), "{err}");
    assert_eq!(idp.token_posts(), tokens, "no code exchanged");
}

#[test]
fn okta_and_am_are_told_by_their_answers_without_web_identity_provider() {
    let okta = okta::start();
    let sandbox = setup(&format!("{}/oauth2/default", okta.base()), "auto");
    let out = sign_in(&sandbox, &["-v", "-U", "dave", "dev"], "dave-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: Okta"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "dave");

    let am = forgerock::start();
    let sandbox = setup(&format!("{}{}", am.base(), forgerock::OAUTH2), "auto");
    let out = sign_in(&sandbox, &["-v", "-U", "hank", "dev"], "hänk-pässword").ok();
    assert!(
        out.stderr.contains("identity provider detected: ForgeRock"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "hank");
}

#[test]
fn onelogin_password_code_push_and_the_cached_id_token() {
    let idp = onelogin::start();
    let token = STANDARD.encode("id:secret");
    let sandbox = setup(&format!("{}/oidc/2?token={token}", idp.base()), "onelogin");
    // The API client's secret in the URL is as secret as the rest.
    idp.state.lock().unwrap().secrets.push(token.clone());
    password_wrong_right_and_cached(&idp, &sandbox, "frank", "frank-password");

    let err = sign_in(
        &sandbox,
        &["-U", "gina", "-o", "000000", "code"],
        "gina-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "gina", "-o", "123456", "code"],
        "gina-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "gina");

    let out = sign_in(&sandbox, &["-U", "pia", "push"], "pia-password").ok();
    assert!(
        out.stderr.contains("approve the OneLogin Protect push"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "pia");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "hal", "push"], "hal-password"),
        "approve the OneLogin Protect push",
    );
    assert!(err.contains("push was not approved"), "{err}");

    // A locked account: the one line SAML's OneLogin sign-in gives.
    let err = sign_in(&sandbox, &["-U", "lou", "dev"], "lou-password").one_line_error();
    assert!(
        err.contains("profile 'dev'")
            && err.contains(
                "has locked the account 'lou' (too many failed sign-ins): wait, or ask its administrators"
            ),
        "{err}"
    );
}

#[test]
fn onelogin_push_turns_a_spinner_on_the_terminal_until_approved() {
    use common::tmux::Tmux;
    use std::time::Duration;
    let idp = onelogin::start();
    let token = STANDARD.encode("id:secret");
    let sandbox = setup(&format!("{}/oidc/2?token={token}", idp.base()), "onelogin");
    let dir = sandbox.dir.path().display().to_string();
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in sandbox.env() {
        script.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    script.push_str(&format!(
        "export WEB_PASSWORD=kim-password\n'{bin}' -U kim -O json push >'{dir}/out'; echo EXIT=$?\nsleep 60\n",
        bin = common::runas_bin().display()
    ));
    let path = sandbox.dir.path().join("script.sh");
    std::fs::write(&path, script).unwrap();
    let tmux = Tmux::start(sandbox.dir.path(), &format!("sh '{}'", path.display()));
    let screen = tmux.wait_for("the spinner", Duration::from_secs(30), |s| {
        s.contains("waiting for the push to be approved")
    });
    assert!(
        screen.contains("approve the OneLogin Protect push"),
        "{screen}"
    );
    idp.approve_pushes();
    let screen = tmux.wait_for("the end", Duration::from_secs(30), |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("waiting for the push"),
        "the spinner was left on the screen: {screen}"
    );
    let out = std::fs::read_to_string(sandbox.dir.path().join("out")).unwrap();
    assert!(json(&out)["SessionToken"].is_string(), "{out}");
}

#[test]
fn onelogin_with_a_wrong_api_client_is_one_line_without_its_secret() {
    let idp = onelogin::start();
    let token = STANDARD.encode("id:wrong");
    let sandbox = setup(&format!("{}/oidc/2?token={token}", idp.base()), "onelogin");
    let err = sign_in(&sandbox, &["-U", "frank", "dev"], "frank-password").one_line_error();
    assert!(
        err.contains("API credentials") && err.contains("Authentication Failure"),
        "{err}"
    );
    assert!(!err.contains(&token), "the client secret leaked: {err}");
    assert_eq!(idp.password_posts(), 0);
}

#[test]
fn forgerock_password_code_push_and_the_cached_id_token() {
    let idp = forgerock::start();
    let sandbox = setup(&format!("{}{}", idp.base(), forgerock::OAUTH2), "forgerock");
    // A non-ASCII password travels RFC 2047-encoded in its header.
    password_wrong_right_and_cached(&idp, &sandbox, "hank", "hänk-pässword");

    let err = sign_in(
        &sandbox,
        &["-U", "ivy", "-o", "000000", "code"],
        "ivy-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "ivy", "-o", "123456", "code"],
        "ivy-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "ivy");

    let out = sign_in(&sandbox, &["-U", "ida", "push"], "ida-password").ok();
    assert!(
        out.stderr.contains("approve the sign-in on your device"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "ida");
    assert_eq!(idp.polls(), 3, "polled until approved");

    let err = push_refused(
        sign_in(&sandbox, &["-U", "ivan", "push"], "ivan-password"),
        "approve the sign-in on your device",
    );
    assert!(err.contains("push was denied or expired"), "{err}");
}

#[test]
fn keycloak_realm_url_signs_in_at_its_login_form() {
    use oidc_provider::{OidcProvider, CLIENT_ID, PASSWORD, USERNAME};
    let op = OidcProvider::start_with(&[("KEYCLOAK_ROUTES", "1"), ("MOUNT_PATH", "/realms/test")]);
    let sandbox = Sandbox::with_files(
        &config(&op.issuer(), "keycloak").replace(CLIENT, CLIENT_ID),
        "",
    );
    sandbox.moto.start_recording();
    let err = sign_in(&sandbox, &["-U", USERNAME, "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains(&format!("rejected the password for '{USERNAME}'")),
        "{err}"
    );
    assert_eq!(op.password_posts(), 1);
    let out = sign_in(&sandbox, &["-vv", "-U", USERNAME, "dev"], PASSWORD).ok();
    assert_signed_in_as(&sandbox, &out, "Dev", USERNAME);
    assert!(
        out.stderr
            .contains("/realms/test/protocol/openid-connect/auth"),
        "Keycloak's endpoints: {}",
        out.stderr
    );
    let cached = sandbox
        .cache_files()
        .into_iter()
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("idtoken_") && name.ends_with(".json")
        })
        .expect("a cached ID token");
    let id_token = json(&std::fs::read_to_string(cached).unwrap())["value"]["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_quiet(&out.stderr, &[PASSWORD], &[id_token], &out.stdout);

    let before = op.requests();
    let ops = sign_in(&sandbox, &["-U", USERNAME, "ops"], "").ok();
    assert_signed_in_as(&sandbox, &ops, "Ops", USERNAME);
    assert_eq!(
        op.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
}

#[test]
fn keycloak_one_time_code_step_and_the_302_after_it() {
    let idp = Idp::start(keycloak);
    let sandbox = setup(&format!("{}/realms/corp", idp.base()), "keycloak");
    let err = sign_in(&sandbox, &["-U", "kim", "-o", "123456", "code"], "nope").one_line_error();
    assert!(err.contains("rejected the password for 'kim'"), "{err}");
    let err = sign_in(
        &sandbox,
        &["-U", "kim", "-o", "000000", "code"],
        "kim-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "kim", "-o", "123456", "code"],
        "kim-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "kim");
    let before = idp.requests();
    sign_in(&sandbox, &["-U", "kim", "ops"], "").ok();
    assert_eq!(
        idp.requests(),
        before,
        "the cached ID token: no request to the IdP"
    );
}

// ---------------------------------------------------------------------------------------------
// Azure AD / Entra ID: the authorization request starts the sign-in pages the SAML client walks
// (tests/standins/azuread.rs, shared with tests/saml.rs).

/// The stand-ins' SAML answer (their SAML side is the SAML tests'), which no web identity
/// sign-in reaches.
fn saml_page(_: &str) -> tiny_http::ResponseBox {
    reply(500, "no SAML here".into(), &[])
}

/// Everything cached but the IdP's session cookies: the next run signs in again.
fn forget_tokens_and_credentials(sandbox: &Sandbox) {
    for file in sandbox.cache_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("idp_cookies_") && name.ends_with(".json") {
            std::fs::remove_file(file).unwrap();
        }
    }
}

#[test]
fn azure_ad_password_push_code_lockout_and_the_cached_id_token() {
    assert_eq!(azuread::OIDC_CLIENT, CLIENT);
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");

    let err = sign_in(&sandbox, &["-U", "alice", "dev"], "not-the-password").one_line_error();
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'dev'"),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    assert_eq!(aad.password_posts(), 1, "tried once");
    assert_eq!(aad.token_posts(), 0);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 0);

    let out = sign_in(&sandbox, &["-vv", "-U", "alice", "dev"], "alice-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert!(
        out.stderr.contains("/t-1234/oauth2/v2.0/authorize"),
        "Azure AD's endpoints from its discovery document: {}",
        out.stderr
    );
    assert_quiet(
        &out.stderr,
        &["alice-password"],
        &aad.secrets(),
        &out.stdout,
    );
    for marker in ["ESTSAUTH", "flowToken", "passwd"] {
        assert!(!out.stderr.contains(marker), "{marker} in the log");
    }
    assert_eq!(aad.token_posts(), 1);

    let before = aad.requests();
    let ops = sign_in(&sandbox, &["-U", "alice", "ops"], "").ok();
    assert_signed_in_as(&sandbox, &ops, "Ops", "alice");
    assert_eq!(
        aad.requests(),
        before,
        "the cached ID token: no request to Azure AD"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 2);

    let err = sign_in(&sandbox, &["-U", "ivan", "dev"], "ivan-password").one_line_error();
    assert!(err.contains("has locked the account 'ivan'"), "{err}");

    let out = sign_in(&sandbox, &["-U", "frank", "push"], "frank-password").ok();
    assert!(
        out.stderr.contains("approve the Azure AD sign-in") && out.stderr.contains("choose 42"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "frank");

    let out = sign_in(&sandbox, &["-U", "gus", "push"], "gus-password");
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    let (last, prompts) = lines.split_last().expect("an error line");
    assert!(
        prompts
            .iter()
            .all(|l| l.starts_with("aws-runas: approve")
                || l.starts_with("aws-runas: on your device")),
        "more than the push prompts and one error: {:?}",
        out.stderr
    );
    assert!(
        last.contains("the Azure AD push was denied on the device"),
        "{last}"
    );

    let tokens = aad.token_posts();
    let err = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "000000", "code"],
        "erin-password",
    )
    .one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    assert!(!err.contains("000000"), "{err}");
    let out = sign_in(
        &sandbox,
        &["-U", "erin", "-o", "246810", "code"],
        "erin-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "erin");
    assert_eq!(
        aad.token_posts(),
        tokens + 1,
        "only the signed-in code traded"
    );
}

#[test]
fn azure_ad_detected_a_live_session_skips_the_password_and_form_post_answers_are_read() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "auto");
    let out = sign_in(&sandbox, &["-v", "-U", "alice", "dev"], "alice-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: AzureAd"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));

    // The ID token gone, Azure AD's session cookie kept: the authorization request answers at
    // once, with no password (none is given, and no terminal could be asked).
    forget_tokens_and_credentials(&sandbox);
    let out = sign_in(&sandbox, &["-U", "alice", "dev"], "").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));
    assert_eq!(aad.token_posts(), 2);

    // Azure AD answering with its auto-post form: read, never posted (the redirect URI is
    // not a page to load).
    aad.answer_with_form_post();
    let out = sign_in(
        &sandbox,
        &["-U", "sam", "-o", "246810", "code"],
        "sam-password",
    )
    .ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "sam");
    forget_tokens_and_credentials(&sandbox);
    let out = sign_in(&sandbox, &["-U", "sam", "code"], "").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "sam");
    assert_eq!(aad.token_posts(), 4);
}

#[test]
fn azure_ad_tenant_url_without_discovery_and_a_forged_state() {
    // No discovery document below the tenant: v3's `/TENANT/oauth2/v2.0/...` are used.
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.tenant_url(), "azuread");
    let out = sign_in(&sandbox, &["-v", "-U", "alice", "dev"], "alice-password").ok();
    assert!(
        out.stderr.contains("no OpenID discovery document"),
        "{}",
        out.stderr
    );
    assert_signed_in_as(&sandbox, &out, "Dev", "alice");

    // A redirect carrying another state than the one sent: refused before any token request.
    let tokens = aad.token_posts();
    let err = sign_in(&sandbox, &["-U", "oscar", "dev"], "oscar-password").one_line_error();
    assert!(
        err.contains("profile 'dev'") && err.contains("another state"),
        "{err}"
    );
    assert!(!err.contains("code-"), "{err}");
    assert_eq!(aad.token_posts(), tokens, "no code exchanged");
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}

#[test]
fn azure_ad_federated_users_an_unassigned_user_and_an_unknown_client() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");
    // Azure AD sends a federated user to their own IdP's login form; its answer comes back to
    // Azure AD, which ends the authorization request as for its own users.
    let err = sign_in(&sandbox, &["-U", "fed@corp.example", "dev"], "not-it").one_line_error();
    assert!(err.contains("rejected the password"), "{err}");
    let out = sign_in(&sandbox, &["-U", "fed@corp.example", "dev"], "fed-password").ok();
    assert_signed_in_as(&sandbox, &out, "Dev", "fed@corp.example");

    // A user the application is not assigned to: Azure AD's error page, one line.
    let err = sign_in(&sandbox, &["-U", "pat", "dev"], "pat-password").one_line_error();
    assert!(
        err.contains("'pat' is not assigned to the application") && err.contains("AADSTS50105"),
        "{err}"
    );

    // A client id the tenant does not know: Azure AD's error page, one line with its code.
    let sandbox = Sandbox::with_files(
        &config(&aad.issuer(), "azuread").replace(CLIENT, "not-registered"),
        "",
    );
    let posts = aad.password_posts();
    let err = sign_in(&sandbox, &["-U", "alice", "dev"], "alice-password").one_line_error();
    assert!(
        err.contains("profile 'dev'")
            && err.contains("knows no such application")
            && err.contains("AADSTS700016"),
        "{err}"
    );
    assert_eq!(aad.password_posts(), posts, "no password sent");
}

#[test]
fn azure_ad_sixteen_concurrent_callers_make_one_sign_in_one_push_and_one_code_exchange() {
    let aad = azuread::AzureAd::start();
    let sandbox = setup(&aad.issuer(), "azuread");
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .runas()
                .env("WEB_PASSWORD", "frank-password")
                .args(["-O", "json", "-U", "frank", "push"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            o.stdout, outputs[0].stdout,
            "everyone got the same credentials"
        );
    }
    let pushes = outputs
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("approve the Azure AD sign-in"))
        .count();
    assert_eq!(pushes, 1);
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));
    assert_eq!(aad.token_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithWebIdentity"), 1);
}
