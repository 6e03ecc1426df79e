//! SAML sign-in end to end: the built binary against a real SimpleSAMLphp IdP (and
//! LemonLDAP::NG, and the loopback stand-ins of Okta, OneLogin, ForgeRock AM and Azure AD in
//! `tests/standins/`, which the web identity tests share) and moto's AssumeRoleWithSAML, read
//! back by the real AWS CLI.

#[path = "standins/azuread.rs"]
mod azuread;
mod common;
#[path = "standins/forgerock.rs"]
mod forgerock;
#[path = "standins/idp_server.rs"]
mod idp_server;
#[path = "idp/llng.rs"]
mod llng;
#[path = "standins/okta.rs"]
mod okta;
#[path = "standins/onelogin.rs"]
mod onelogin;
#[path = "idp/ssp.rs"]
mod ssp;

use std::process::Stdio;

use common::{
    assert_assumed_role, eval_in_sh, json, private_ca, run, runas_bin, Sandbox, TlsProxy, LIMIT,
};
use ssp::Ssp;

const ADMIN: &str = "arn:aws:iam::123456789012:role/Admin";

fn config(ssp: &Ssp, extra: &str) -> String {
    format!(
        "[profile idp]\nsaml_auth_url = {}\nsaml_username = alice\nregion = us-east-1\n\n\
         [profile admin]\nsource_profile = idp\nrole_arn = {ADMIN}\n\n{extra}",
        ssp.url()
    )
}

fn setup(extra: &str) -> (Ssp, Sandbox) {
    let ssp = Ssp::start();
    let sandbox = Sandbox::with_files(&config(&ssp, extra), "");
    sandbox.moto.start_recording();
    (ssp, sandbox)
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
fn sign_in_gives_role_credentials_the_aws_cli_accepts_and_caches_them() {
    let (ssp, sandbox) = setup("");
    let out = run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .arg("admin"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Admin");
    assert!(arn.ends_with("/alice@example.org"), "{arn}");
    assert_eq!(ssp.password_posts(), 1);
    let idp_requests = ssp.requests();

    // Within the credentials' life: no IdP request, no STS call, no password needed.
    let again = run(sandbox.runas().arg("admin"), LIMIT).ok();
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(ssp.requests(), idp_requests);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    let saml = sandbox.moto.request("AssumeRoleWithSAML");
    assert!(
        saml.contains("PrincipalArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FLocalSSP"),
        "{saml}"
    );

    // The cookie jar is private.
    let jar = sandbox
        .cache_files()
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("idp_cookies_")
        })
        .expect("a cookie jar");
    assert_eq!(common::mode(&jar), 0o600);
}

#[test]
fn credential_process_exec_whoami_and_expiration_work_for_saml_profiles() {
    let bin = runas_bin();
    let (ssp, sandbox) = setup(&format!(
        "[profile viacli]\ncredential_process = {} -O json admin\nregion = us-east-1\n",
        bin.display()
    ));
    // credential_process: the AWS CLI runs us, we sign in.
    let out = run(
        sandbox.aws().env("SAML_PASSWORD", "alice-password").args([
            "sts",
            "get-caller-identity",
            "--profile",
            "viacli",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Admin");
    // Exec mode, -w and -e reuse those credentials: one sign-in in all.
    let out = run(
        sandbox.runas().args([
            "admin",
            common::aws_cli().as_str(),
            "sts",
            "get-caller-identity",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Admin");
    // The IdP password is not handed on to the command.
    let out = run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .env("RUNAS_PASSWORD", "alice-password")
            .args([
                "admin",
                "sh",
                "-c",
                "echo ${SAML_PASSWORD:-unset} ${RUNAS_PASSWORD:-unset}",
            ]),
        LIMIT,
    )
    .ok();
    assert_eq!(out.stdout.trim(), "unset unset");
    let out = run(sandbox.runas().args(["-w", "admin"]), LIMIT).ok();
    assert!(
        out.stdout.contains("assumed-role/Admin/alice@example.org"),
        "{}",
        out.stdout
    );
    let out = run(sandbox.runas().args(["-e", "admin"]), LIMIT).ok();
    assert!(
        out.stdout.starts_with("Credentials will expire on "),
        "{}",
        out.stdout
    );
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    // -r signs in again; the live IdP session means no password this time.
    run(sandbox.runas().args(["-r", "admin"]), LIMIT).ok();
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);
    assert_eq!(ssp.password_posts(), 1);
}

#[test]
fn wrong_password_is_one_clear_line_after_one_attempt() {
    let (ssp, sandbox) = setup("");
    let err = run(
        sandbox.runas().env("SAML_PASSWORD", "not-it").arg("admin"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'admin'"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert_eq!(ssp.password_posts(), 1, "no retry");
    // No password anywhere and no terminal: say where one can come from.
    let err = run(sandbox.runas().arg("admin"), LIMIT).one_line_error();
    assert!(
        err.contains("the password for http://127.0.0.1:")
            && err.contains("no terminal can answer: store it with `aws-runas password admin`"),
        "{err}"
    );
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
}

/// Moves the expiry of every cached role credential into the past, as time would.
fn expire_cached_roles(sandbox: &Sandbox) {
    for path in sandbox.cache_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("role_") && name.ends_with(".json") {
            let mut entry = json(&std::fs::read_to_string(&path).unwrap());
            entry["value"]["expiration"] = "2020-01-01T00:00:00Z".into();
            std::fs::write(&path, entry.to_string()).unwrap();
        }
    }
}

#[test]
fn expired_credentials_with_a_live_idp_session_need_no_password() {
    let (ssp, sandbox) = setup("");
    run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .arg("admin"),
        LIMIT,
    )
    .ok();
    expire_cached_roles(&sandbox);
    // No password anywhere now, and no terminal: only the IdP session can sign in.
    let out = run(sandbox.runas().arg("admin"), LIMIT).ok();
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Admin");
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);
    assert_eq!(
        ssp.password_posts(),
        1,
        "the cookie jar carried the IdP session"
    );
}

#[test]
fn sixteen_concurrent_callers_make_one_sign_in() {
    let (ssp, sandbox) = setup("");
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .runas()
                .env("SAML_PASSWORD", "alice-password")
                .args(["-O", "json", "admin"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
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
    assert_eq!(ssp.password_posts(), 1);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
}

#[test]
fn jump_role_is_assumed_with_saml_then_the_target_from_it() {
    let (ssp, sandbox) = setup(
        "[profile target]\nsource_profile = idp\njump_role_arn = arn:aws:iam::123456789012:role/Admin\n\
         role_arn = arn:aws:iam::123456789012:role/Target\n",
    );
    let out = run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .arg("target"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_eq!(
        arn,
        "arn:aws:sts::123456789012:assumed-role/Target/alice@example.org"
    );
    let saml = sandbox.moto.request("AssumeRoleWithSAML");
    assert!(
        saml.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FAdmin"),
        "{saml}"
    );
    assert_eq!(sandbox.moto.count("AssumeRole"), 1);
    assert_eq!(ssp.password_posts(), 1);
    // The -J flag does the same for a profile without jump_role_arn.
    let out = run(
        sandbox
            .runas()
            .args(["-J", "arn:aws:iam::123456789012:role/Admin", "admin"])
            .env("SAML_PASSWORD", "alice-password"),
        LIMIT,
    )
    .ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.org"
    );
}

#[test]
fn several_roles_and_no_terminal_lists_them() {
    let (ssp, sandbox) = setup(
        "[profile nope]\nsource_profile = idp\nrole_arn = arn:aws:iam::123456789012:role/Nope\n",
    );
    // bob's assertion offers two roles and the profile names none.
    let err = run(
        sandbox
            .runas()
            .args(["-U", "bob", "idp"])
            .env("SAML_PASSWORD", "bob-password"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("offers several roles and no terminal can answer"),
        "{err}"
    );
    assert!(
        err.contains(ADMIN) && err.contains("arn:aws:iam::123456789012:role/ReadOnly"),
        "{err}"
    );
    // A role the assertion does not grant is named with those it does.
    let err = run(sandbox.runas().args(["-U", "bob", "nope"]), LIMIT).one_line_error();
    assert!(
        err.contains("grants no role arn:aws:iam::123456789012:role/Nope; it offers"),
        "{err}"
    );
    assert!(err.contains(ADMIN), "{err}");
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
    assert_eq!(
        ssp.password_posts(),
        1,
        "the second call reused the IdP session"
    );
}

/// Waits (at most 10 s) until the unlocked daemon owns the Secret Service name: a client that
/// came first would have D-Bus start a second, locked, daemon.
/// Runs `script` in a private D-Bus session with a real Secret Service, `$PORT` the IdP's.
fn in_keyring_session(sandbox: &Sandbox, ssp: &Ssp, script: &str) -> common::Output {
    common::in_keyring_session(sandbox, &[("PORT", ssp.port.to_string())], script)
}

#[test]
fn password_round_trip_through_the_secret_service() {
    let (ssp, sandbox) = setup("");
    let out = in_keyring_session(
        &sandbox,
        &ssp,
        r#"printf 'alice-password\n' | "$RUNAS" password admin || exit 11
        printf 'stored:'; secret-tool lookup service "aws-runas http://127.0.0.1:$PORT" username alice; echo
        "$RUNAS" admin >/dev/null || exit 12
        printf 'wrong\n' | "$RUNAS" pw admin || exit 13
        rm "$RUNAS_CACHE_DIR"/idp_cookies_*
        "$RUNAS" -r admin && exit 14
        exit 0"#,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("stored:alice-password"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("the password in the OS keyring is not the right one: update it with `aws-runas password admin`"),
        "{}",
        out.stderr
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    assert_eq!(
        ssp.password_posts(),
        2,
        "the keyring's password, then the wrong one"
    );
}

#[test]
fn without_a_keyring_one_line_says_so_and_other_ways_still_work() {
    let (_ssp, sandbox) = setup("");
    let mut cmd = sandbox.runas();
    cmd.args(["password", "admin"]).stdin(Stdio::piped());
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
        .write_all(b"alice-password\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("no OS keyring is available"), "{err}");
    assert!(!err.contains("alice-password"), "{err}");
    run(
        sandbox.runas().args(["-P", "alice-password", "admin"]),
        LIMIT,
    )
    .ok();
}

#[test]
fn verbose_output_holds_no_password_assertion_cookie_or_secret_key() {
    let (_ssp, sandbox) = setup("");
    let out = run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .args(["-vv", "admin"]),
        LIMIT,
    )
    .ok();
    let log = &out.stderr;
    assert!(
        log.contains("AssumeRoleWithSAML"),
        "-vv logged nothing useful: {log}"
    );
    assert!(!log.contains("alice-password"));
    // base64 of "<samlp:Response": the start of any assertion SimpleSAMLphp sends.
    assert!(
        !log.contains("PHNhbWxwOlJlc3BvbnNl"),
        "assertion in the log"
    );
    assert!(!log.contains("AuthState="), "IdP state tokens in the log");
    let secret = eval_in_sh(&out.stdout, "AWS_SECRET_ACCESS_KEY");
    assert!(!log.contains(&secret), "secret key in the log");
    let jar = sandbox
        .cache_files()
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("idp_cookies_")
        })
        .expect("a cookie jar");
    let jar: serde_json::Value = json(&std::fs::read_to_string(jar).unwrap());
    let values: Vec<String> = jar
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["raw_cookie"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    assert!(!values.is_empty(), "no cookies saved: {jar}");
    for raw in values {
        let value = raw
            .split(';')
            .next()
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(!log.contains(&value), "cookie {raw} in the log");
    }
}

/// How a stub IdP answers a request: (its base URL, the request, its body) to a response.
type Respond = fn(&str, &tiny_http::Request, &str) -> tiny_http::ResponseBox;

/// A hostile or broken IdP on loopback: answers every request with `respond`, stopped on drop.
struct Stub {
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    fn start(respond: Respond) -> Self {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let s = server.clone();
        let thread = std::thread::spawn(move || {
            for mut request in s.incoming_requests() {
                let base = format!("http://{}", s.server_addr());
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
                let response = respond(&base, &request, &body);
                let _ = request.respond(response);
            }
        });
        Stub {
            server,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/sso", self.server.server_addr())
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn html(body: &str) -> tiny_http::ResponseBox {
    tiny_http::Response::from_string(body)
        .with_header(
            "Content-Type: text/html"
                .parse::<tiny_http::Header>()
                .unwrap(),
        )
        .boxed()
}

fn redirect(to: &str) -> tiny_http::ResponseBox {
    tiny_http::Response::empty(302)
        .with_header(
            format!("Location: {to}")
                .parse::<tiny_http::Header>()
                .unwrap(),
        )
        .boxed()
}

#[test]
fn broken_and_hostile_identity_providers_give_one_clear_line() {
    let cases: [(Respond, &str); 6] = [
        (|_, r, _| redirect(r.url()), "redirects more than 10 times"),
        (
            |_, _, _| redirect("javascript:alert(1)"),
            "which is not a web page",
        ),
        (
            |_, _, _| html(&"x".repeat(5 * 1024 * 1024)),
            "reading the page at",
        ),
        (
            |_, _, _| html("<html><p>Maintenance</p></html>"),
            "no sign-in form and no SAML response at http://127.0.0.1:",
        ),
        (
            |_, _, _| html(r#"<form method="post"><input name="SAMLResponse" value="%%%"></form>"#),
            "SAML response is not base64",
        ),
        (
            |_, _, _| {
                html(
                    r#"<form method="get" action="/login"><input name="u"><input type="password" name="p"></form>"#,
                )
            },
            "would send the password in its URL (method GET): not sending it",
        ),
    ];
    // A profile without saml_auth_url: -S makes it sign in.
    let sandbox = Sandbox::with_files(
        &format!("[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\n"),
        "",
    );
    sandbox.moto.start_recording();
    for (respond, expected) in cases {
        let stub = Stub::start(respond);
        let err = run(
            sandbox
                .runas()
                .args(["-S", &stub.url(), "-U", "alice", "-P", "pw-secret", "plain"]),
            LIMIT,
        )
        .one_line_error();
        assert!(err.contains(expected), "expected '{expected}': {err}");
        assert!(!err.contains("pw-secret"), "{err}");
    }
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
}

/// Writes a script that sets the sandbox environment and then runs `body`.
fn script(s: &Sandbox, body: &str) -> String {
    let mut text = String::from("#!/bin/sh\n");
    for (k, v) in s.env() {
        text.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    text.push_str(body);
    let path = s.dir.path().join("script.sh");
    std::fs::write(&path, text).unwrap();
    format!("sh '{}'", path.display())
}

#[test]
fn password_and_role_are_asked_on_the_terminal_without_echo() {
    use common::tmux::Tmux;
    use std::time::Duration;
    let (_ssp, sandbox) = setup("");
    let dir = sandbox.dir.path().display().to_string();
    let body = format!(
        "'{bin}' -U bob -O json idp >'{dir}/out' 2>'{dir}/err'; echo EXIT=$?\nsleep 60\n",
        bin = runas_bin().display()
    );
    let tmux = Tmux::start(sandbox.dir.path(), &script(&sandbox, &body));
    tmux.wait_for("the password prompt", Duration::from_secs(30), |s| {
        s.contains("Password for bob at http://127.0.0.1:")
    });
    tmux.type_line("bob-password");
    let screen = tmux.wait_for("the role choice", Duration::from_secs(30), |s| {
        s.contains("Role number: ")
    });
    assert!(
        !screen.contains("bob-password"),
        "the password was echoed: {screen}"
    );
    assert!(screen.contains(&format!("1) {ADMIN}")), "{screen}");
    assert!(
        screen.contains("2) arn:aws:iam::123456789012:role/ReadOnly"),
        "{screen}"
    );
    tmux.type_line("2");
    tmux.wait_for("the end", Duration::from_secs(30), |s| s.contains("EXIT="));
    // moto refuses assertions with two roles (HTTP 500), but the choice reached STS.
    let saml = sandbox.moto.request("AssumeRoleWithSAML");
    assert!(
        saml.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FReadOnly"),
        "{saml}"
    );
}

/// A password typed on the terminal is offered to the keyring (and not kept when declined);
/// a keyring password the IdP rejects makes one more sign-in with a password typed on the
/// terminal, which then replaces the stored one when the person agrees.
#[test]
fn typed_passwords_are_offered_to_the_keyring_and_a_rejected_one_is_asked_again() {
    use common::tmux::Tmux;
    use std::time::Duration;
    let limit = Duration::from_secs(30);
    let (ssp, sandbox) = setup("");
    let dir = sandbox.dir.path();
    let lookup = format!(
        "secret-tool lookup service 'aws-runas http://127.0.0.1:{}' username alice",
        ssp.port
    );
    let inner = format!(
        "echo -n unlock | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n\
         {wait}\n\
         '{bin}' -w admin >/dev/null; echo FIRST=$?\n\
         printf 'KEPT=%s\\n' \"$({lookup})\"\n\
         rm -f \"$RUNAS_CACHE_DIR\"/*.json\n\
         printf 'wrong\\n' | '{bin}' password admin >/dev/null || echo STORE-FAILED\n\
         '{bin}' -w admin >/dev/null; echo SECOND=$?\n\
         printf 'STORED=%s\\n' \"$({lookup})\"\n\
         sleep 60\n",
        wait = common::WAIT_FOR_SECRETS,
        bin = runas_bin().display(),
    );
    std::fs::write(dir.join("inner.sh"), inner).unwrap();
    let body = format!("exec dbus-run-session -- sh '{}/inner.sh'\n", dir.display());
    let tmux = Tmux::start(dir, &script(&sandbox, &body));
    tmux.wait_for("the password prompt", limit, |s| {
        s.contains("Password for alice at http://127.0.0.1:")
    });
    tmux.type_line("alice-password");
    tmux.wait_for("the offer to keep it", limit, |s| {
        s.contains("Keep this password in the OS keyring for next time? [y/N]")
    });
    tmux.type_line("n");
    let screen = tmux.wait_for("the first sign-in", limit, |s| s.contains("KEPT="));
    assert!(screen.contains("FIRST=0"), "{screen}");
    assert!(
        screen.contains("KEPT=\n") || screen.ends_with("KEPT="),
        "kept though declined: {screen}"
    );
    let screen = tmux.wait_for("the password asked again", limit, |s| {
        s.matches("Password for alice at http://127.0.0.1:").count() == 2
    });
    assert!(
        screen.contains("rejected the password in the OS keyring; type the current one"),
        "{screen}"
    );
    tmux.type_line("alice-password");
    tmux.wait_for("the offer to replace it", limit, |s| {
        s.contains("Replace the password in the OS keyring with this one? [y/N]")
    });
    tmux.type_line("y");
    let screen = tmux.wait_for("the second sign-in", limit, |s| s.contains("STORED="));
    assert!(screen.contains("SECOND=0"), "{screen}");
    assert!(screen.contains("STORED=alice-password"), "{screen}");
    assert!(!screen.contains("STORE-FAILED"), "{screen}");
    // Two sign-ins with a password, and the rejected one: three password posts, no storm.
    assert_eq!(ssp.password_posts(), 3, "{screen}");
}

#[test]
fn duration_is_capped_at_what_the_identity_provider_allows() {
    let (_ssp, sandbox) = setup(&format!(
        "[profile long]\nsource_profile = idp\nrole_arn = {ADMIN}\ncredentials_duration = 4h\n"
    ));
    run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .arg("long"),
        LIMIT,
    )
    .ok();
    // alice's assertion says SessionDuration 3600.
    let saml = sandbox.moto.request("AssumeRoleWithSAML");
    assert!(saml.contains("DurationSeconds=3600"), "{saml}");
}

/// A form IdP with a one-time-code step (as Keycloak's): login form, then an `otp` form whose
/// right answer is 123456, then the SAMLResponse page with a one-role assertion moto accepts.
fn otp_idp(_: &str, request: &tiny_http::Request, body: &str) -> tiny_http::ResponseBox {
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let field = |name: &str| fields.get(name).map(String::as_str);
    match request.url() {
        "/sso" => html(
            r#"<form id="kc-form-login" method="post" action="/login?session_code=x"><input name="username" type="text">
            <input name="password" type="password"><input type="hidden" name="credentialId" value=""></form>"#,
        ),
        u if u.starts_with("/login") && field("password") == Some("carol-password") => html(
            r#"<form id="kc-otp-login-form" method="post" action="/otp"><input id="otp" name="otp" type="text"></form>"#,
        ),
        "/otp" if field("otp") == Some("123456") => saml_page("carol"),
        "/otp" => html(
            r#"<p>Invalid authenticator code.</p><form method="post" action="/otp"><input id="otp" name="otp" type="text"></form>"#,
        ),
        _ => html(
            r#"<p>Invalid username or password.</p><form method="post" action="/login"><input name="username"><input name="password" type="password"></form>"#,
        ),
    }
}

/// The page an IdP posts on to AWS: a one-role assertion (which moto accepts) for `user`,
/// entity-encoded as Okta writes it.
fn saml_page(user: &str) -> tiny_http::ResponseBox {
    use base64::Engine as _;
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion IssueInstant="2026-01-01T00:00:00Z"><saml:Subject><saml:NameID>{user}</saml:NameID></saml:Subject><saml:AttributeStatement>
        <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>{ADMIN},arn:aws:iam::123456789012:saml-provider/Stub</saml:AttributeValue></saml:Attribute>
        <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>{user}</saml:AttributeValue></saml:Attribute>
        </saml:AttributeStatement></saml:Assertion></samlp:Response>"#
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    html(&format!(
        r#"<form method="post" action="https://signin.aws.amazon.com/saml"><input type="hidden" name="SAMLResponse" value="{}"></form>"#,
        b64.replace('=', "&#x3D;").replace('+', "&#x2b;")
    ))
}

#[test]
fn one_time_code_step_of_a_form_identity_provider() {
    let stub = Stub::start(otp_idp);
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile kc]\nsaml_auth_url = {}\nsaml_username = carol\nrole_arn = {ADMIN}\nregion = us-east-1\n\
             [profile strict]\nsource_profile = kc\nmfa_type = none\n",
            stub.url()
        ),
        "",
    );
    sandbox.moto.start_recording();
    let with = |code: &str, profile: &str| {
        let mut cmd = sandbox.runas();
        cmd.env("SAML_PASSWORD", "carol-password");
        if !code.is_empty() {
            cmd.args(["-o", code]);
        }
        cmd.arg(profile);
        run(&mut cmd, LIMIT)
    };
    let err = with("654321", "kc").one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let err = with("", "kc").one_line_error();
    assert!(err.contains("no terminal can answer"), "{err}");
    let err = with("123456", "strict").one_line_error();
    assert!(err.contains("mfa_type = none"), "{err}");
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
    let out = with("123456", "kc").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/carol"
    );
}

#[test]
fn okta_sign_in_with_code_push_and_session_reuse() {
    let idp = okta::start();
    let url = format!("{}{}", idp.base(), okta::APP);
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile okta]\nsaml_auth_url = {url}\nsaml_provider = okta\nrole_arn = {ADMIN}\nregion = us-east-1\n\
             [profile code]\nsource_profile = okta\nmfa_type = code\n\
             [profile push]\nsource_profile = okta\nmfa_type = push\n\
             [profile detected]\nsaml_auth_url = {url}\nrole_arn = {ADMIN}\nregion = us-east-1\n"
        ),
        "",
    );
    sandbox.moto.start_recording();
    let sign_in = |args: &[&str], password: &str| {
        let mut cmd = sandbox.runas();
        if !password.is_empty() {
            cmd.env("SAML_PASSWORD", password);
        }
        run(cmd.args(args), LIMIT)
    };
    // No saml_provider and a host that names none: Okta's header gives it away.
    let out = sign_in(&["-v", "-U", "dave", "detected"], "dave-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: Okta"),
        "{}",
        out.stderr
    );
    for jar in sandbox.cache_files() {
        if jar.to_string_lossy().contains("idp_cookies_") {
            std::fs::remove_file(jar).unwrap();
        }
    }
    let err = sign_in(&["-U", "dave", "okta"], "nope").one_line_error();
    assert!(err.contains("rejected the password for 'dave'"), "{err}");
    let out = sign_in(&["-U", "dave", "okta"], "dave-password").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/dave"
    );
    // The sid cookie signs in again without the Authn API (and without a password).
    let before = idp.password_posts();
    sign_in(&["-r", "-U", "dave", "okta"], "").ok();
    assert_eq!(idp.password_posts(), before, "the Okta session was reused");

    let err = sign_in(&["-U", "erin", "-o", "000000", "code"], "erin-password").one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(&["-U", "erin", "-o", "123456", "code"], "erin-password").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/erin"
    );
    // erin's Okta session would answer at once: forget it, so the push is asked for.
    for jar in sandbox.cache_files() {
        if jar.to_string_lossy().contains("idp_cookies_") {
            std::fs::remove_file(jar).unwrap();
        }
    }
    let out = sign_in(&["-U", "erin", "push"], "erin-password").ok();
    assert!(
        out.stderr.contains("approve the Okta push") && out.stderr.contains("choose 42"),
        "{}",
        out.stderr
    );
    assert_eq!(idp.polls(), 3, "polled until approved");
    // diagnose checks roles with a password at hand, but never sends a push to do it.
    for jar in sandbox.cache_files() {
        if jar.to_string_lossy().contains("idp_cookies_") {
            std::fs::remove_file(jar).unwrap();
        }
    }
    let out = sign_in(&["-U", "erin", "diagnose", "push"], "erin-password");
    assert!(
        out.stdout
            .contains("info  roles not checked: signing in may send an MFA push (mfa_type Push)"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout
            .contains("ok    provider Okta, as saml_provider (or -R) names it"),
        "{}",
        out.stdout
    );
    assert_eq!(idp.polls(), 3, "no push was sent");
    let out = sign_in(&["-U", "dave", "diagnose", "detected"], "dave-password");
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("ok    provider Okta, detected from the identity provider's answer")
            && out
                .stdout
                .contains(&format!("ok    the assertion grants role_arn {ADMIN}")),
        "{}",
        out.stdout
    );

    // A push denied, one timed out, a locked account: one line each (after the push prompt).
    let err = push_error(sign_in(&["-U", "rita", "push"], "rita-password"));
    assert!(
        err.contains("the Okta push was denied on the device"),
        "{err}"
    );
    let err = push_error(sign_in(&["-U", "tom", "push"], "tom-password"));
    assert!(
        err.contains("the Okta push was not answered on the device in time"),
        "{err}"
    );
    let err = sign_in(&["-U", "lou", "okta"], "lou-password").one_line_error();
    assert!(err.contains("has locked the account 'lou'"), "{err}");
}

#[test]
fn lemonldap_ng_sign_in_wrong_password_and_session_reuse() {
    // A second real IdP with other habits: fields `user` and `password`, the form posting back
    // to its own URL (`action="#"`), a 200 login page with no redirect.
    let idp = llng::Llng::start();
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile llng]\nsaml_auth_url = {}\nsaml_username = dwho\nrole_arn = {ADMIN}\nregion = us-east-1\n",
            idp.url()
        ),
        "",
    );
    sandbox.moto.start_recording();
    let err = run(
        sandbox.runas().env("SAML_PASSWORD", "nope").arg("llng"),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("rejected the password for 'dwho'"), "{err}");
    let out = run(
        sandbox.runas().env("SAML_PASSWORD", "dwho").arg("llng"),
        LIMIT,
    )
    .ok();
    let arn = identity(&sandbox, &out.stdout);
    assert_assumed_role(&arn, "Admin");
    assert_eq!(idp.password_posts(), 2);
    // Expired credentials, a live portal session: no password needed.
    expire_cached_roles(&sandbox);
    run(sandbox.runas().arg("llng"), LIMIT).ok();
    assert_eq!(idp.password_posts(), 2);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);
}

#[test]
fn onelogin_sign_in_with_code_and_push() {
    let idp = onelogin::start();
    let base = idp.base();
    let token = "aWQ6c2VjcmV0"; // base64("id:secret")
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile ol]\nsaml_auth_url = {base}/trust/saml2/launch/9?app_id=777&token={token}\nsaml_provider = onelogin\n\
             role_arn = {ADMIN}\nregion = us-east-1\n\
             [profile badclient]\nsaml_auth_url = {base}/trust/saml2/launch/9?app_id=777&token=bm9wZQ==\nsaml_provider = onelogin\n\
             [profile code]\nsource_profile = ol\nmfa_type = code\n"
        ),
        "",
    );
    sandbox.moto.start_recording();
    let sign_in = |args: &[&str], password: &str| {
        let mut cmd = sandbox.runas();
        cmd.env("SAML_PASSWORD", password).args(args);
        run(&mut cmd, LIMIT)
    };
    let err = sign_in(&["-U", "frank", "badclient"], "frank-password").one_line_error();
    assert!(
        err.contains("API credentials") && err.contains("Authentication Failure"),
        "{err}"
    );
    assert!(
        !err.contains(token) && !err.contains("bm9wZQ"),
        "the client secret leaked: {err}"
    );
    let err = sign_in(&["-U", "frank", "ol"], "nope").one_line_error();
    assert!(err.contains("rejected the password for 'frank'"), "{err}");
    let out = sign_in(&["-U", "frank", "ol"], "frank-password").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/frank"
    );
    let err = sign_in(&["-U", "gina", "-o", "000000", "code"], "gina-password").one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    sign_in(&["-U", "gina", "-o", "123456", "code"], "gina-password").ok();
    let out = sign_in(&["-U", "gina", "ol"], "gina-password").ok();
    assert!(
        out.stderr.contains("approve the OneLogin Protect push"),
        "{}",
        out.stderr
    );
    assert_eq!(idp.polls(), 3, "polled until approved");
    let err = push_error(sign_in(&["-U", "rita", "ol"], "rita-password"));
    assert!(
        err.contains(
            "the OneLogin Protect push was not approved: Failed authentication with this factor"
        ),
        "{err}"
    );
    let err = sign_in(&["-U", "lou", "ol"], "lou-password").one_line_error();
    assert!(err.contains("has locked the account 'lou'"), "{err}");
}

#[test]
fn forgerock_sign_in_with_code_push_and_session_reuse() {
    let idp = forgerock::start();
    let url = format!("{}{}", idp.base(), forgerock::AUTHENTICATE);
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile am]\nsaml_auth_url = {url}\nsaml_provider = forgerock\nrole_arn = {ADMIN}\nregion = us-east-1\n\
             [profile code]\nsource_profile = am\nmfa_type = code\n\
             [profile push]\nsource_profile = am\nmfa_type = push\n"
        ),
        "",
    );
    sandbox.moto.start_recording();
    let sign_in = |args: &[&str], password: &str| {
        let mut cmd = sandbox.runas();
        if !password.is_empty() {
            cmd.env("SAML_PASSWORD", password);
        }
        run(cmd.args(args), LIMIT)
    };
    let err = sign_in(&["-U", "hank", "am"], "nope").one_line_error();
    assert!(err.contains("rejected the password for 'hank'"), "{err}");
    // A non-ASCII password travels RFC 2047-encoded in its header.
    let out = sign_in(&["-U", "hank", "am"], "hänk-pässword").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/hank"
    );
    // The SSO token (set as AM's cookie) signs in again without the password.
    sign_in(&["-r", "-U", "hank", "am"], "").ok();
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);

    let err = sign_in(&["-U", "ivy", "-o", "000000", "code"], "ivy-password").one_line_error();
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in(&["-U", "ivy", "-o", "123456", "code"], "ivy-password").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/ivy"
    );
    for jar in sandbox.cache_files() {
        if jar.to_string_lossy().contains("idp_cookies_") {
            std::fs::remove_file(jar).unwrap();
        }
    }
    let out = sign_in(&["-U", "ivy", "push"], "ivy-password").ok();
    assert!(
        out.stderr.contains("approve the sign-in on your device"),
        "{}",
        out.stderr
    );
    assert_eq!(idp.polls(), 3, "polled until approved");
    let err = push_error(sign_in(&["-U", "rita", "push"], "rita-password"));
    assert!(
        err.contains("the AM push was denied or expired on the device"),
        "{err}"
    );
    let err = sign_in(&["-U", "lou", "am"], "lou-password").one_line_error();
    assert!(err.contains("has locked the account 'lou'"), "{err}");
}

#[test]
fn diagnose_takes_the_saml_url_flag_as_every_command_does() {
    // A keyless role profile is a SAML profile once -S names the IdP: diagnose resolves it the
    // way `aws-runas -S URL corp` would, and asks nobody (the IdP address does not exist).
    let s = Sandbox::with_files(
        "[profile corp]\nregion = eu-west-1\nrole_arn = arn:aws:iam::123456789012:role/Admin\n",
        "",
    );
    let out = run(
        s.runas()
            .args(["-S", "https://idp.invalid/saml", "diagnose", "corp"]),
        LIMIT,
    );
    assert!(
        out.stdout
            .contains("source: SAML sign-in at https://idp.invalid/saml"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("needs source_profile"),
        "{}",
        out.stdout
    );
}

/// Deletes the saved IdP cookie jars: the next sign-in finds no IdP session.
fn forget_idp_sessions(sandbox: &Sandbox) {
    for jar in sandbox.cache_files() {
        if jar.to_string_lossy().contains("idp_cookies_") {
            std::fs::remove_file(jar).unwrap();
        }
    }
}

/// A failed sign-in after a push was asked for: the push prompts, then one line of error.
#[track_caller]
fn push_error(out: common::Output) -> String {
    assert_ne!(out.code, Some(0), "should have failed: {}", out.stdout);
    assert!(
        out.code.is_some() && !out.stderr.contains("panicked"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "printed on failure: {}", out.stdout);
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
    (*last).to_owned()
}

/// Profiles at the Azure AD stand-in: `aad` (provider named, or detected when `provider` is
/// empty) and, from it, `code`, `push` and `strict` (`mfa_type = none`).
fn azure_sandbox(aad: &azuread::AzureAd, provider: &str) -> Sandbox {
    let provider = if provider.is_empty() {
        String::new()
    } else {
        format!("saml_provider = {provider}\n")
    };
    let sandbox = Sandbox::with_files(
        &format!(
            "[profile aad]\nsaml_auth_url = {}\n{provider}role_arn = {ADMIN}\nregion = us-east-1\n\
             [profile code]\nsource_profile = aad\nmfa_type = code\n\
             [profile push]\nsource_profile = aad\nmfa_type = push\n\
             [profile strict]\nsource_profile = aad\nmfa_type = none\n",
            aad.url()
        ),
        "",
    );
    sandbox.moto.start_recording();
    sandbox
}

fn sign_in_as(sandbox: &Sandbox, args: &[&str], password: &str) -> common::Output {
    let mut cmd = sandbox.runas();
    if !password.is_empty() {
        cmd.env("SAML_PASSWORD", password);
    }
    run(cmd.args(args), LIMIT)
}

#[test]
fn azure_ad_sign_in_is_detected_cached_and_a_live_session_skips_the_password() {
    let aad = azuread::AzureAd::start();
    // No saml_provider, and a loopback host: Azure AD's x-ms-request-id header gives it away.
    let sandbox = azure_sandbox(&aad, "");
    let out = sign_in_as(&sandbox, &["-v", "-U", "alice", "aad"], "alice-password").ok();
    assert!(
        out.stderr.contains("identity provider detected: AzureAd"),
        "{}",
        out.stderr
    );
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/alice"
    );
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));

    // Within the credentials' life: no IdP request at all.
    let requests = aad.requests();
    let again = sign_in_as(&sandbox, &["-U", "alice", "aad"], "").ok();
    assert_eq!(again.stdout, out.stdout);
    assert_eq!(aad.requests(), requests);

    // Expired role credentials, a live Azure AD session (the KMSI cookie): no password needed.
    expire_cached_roles(&sandbox);
    let out = sign_in_as(&sandbox, &["-U", "alice", "aad"], "").ok();
    assert_assumed_role(&identity(&sandbox, &out.stdout), "Admin");
    assert_eq!((aad.password_posts(), aad.sign_ins()), (1, 1));
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);

    // A session Azure AD has revoked: back to the password, which nobody can give here.
    aad.revoke_sessions();
    let err = sign_in_as(&sandbox, &["-r", "-U", "alice", "aad"], "").one_line_error();
    assert!(
        err.contains("the password for") && err.contains("no terminal can answer"),
        "{err}"
    );
}

#[test]
fn azure_ad_mfa_states_end_in_success_or_one_clear_line() {
    let aad = azuread::AzureAd::start();
    let sandbox = azure_sandbox(&aad, "azuread");
    let fails =
        |args: &[&str], password: &str| sign_in_as(&sandbox, args, password).one_line_error();

    let err = fails(&["-U", "alice", "aad"], "not-it");
    assert!(
        err.contains("rejected the password for 'alice'") && err.contains("profile 'aad'"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert_eq!(aad.password_posts(), 1, "no retry");
    let err = fails(&["-U", "ivan", "aad"], "ivan-password");
    assert!(err.contains("has locked the account 'ivan'"), "{err}");
    // A user Azure AD does not know is told apart before any password is sent.
    let err = fails(&["-U", "mallory", "aad"], "whatever");
    assert!(err.contains("knows no user 'mallory'"), "{err}");
    assert_eq!(aad.password_posts(), 2);

    // Push, approved at the third EndAuth; the number to match is shown.
    let polls = aad.end_auth_calls();
    let out = sign_in_as(&sandbox, &["-U", "frank", "aad"], "frank-password").ok();
    assert!(
        out.stderr
            .contains("approve the Azure AD sign-in on your device")
            && out.stderr.contains("choose 42"),
        "{}",
        out.stderr
    );
    assert_eq!(aad.end_auth_calls() - polls, 3, "polled until approved");
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/frank"
    );
    let err = push_error(sign_in_as(&sandbox, &["-U", "gus", "push"], "gus-password"));
    assert!(
        err.contains("the Azure AD push was denied on the device"),
        "{err}"
    );
    let err = push_error(sign_in_as(&sandbox, &["-U", "hal", "aad"], "hal-password"));
    assert!(err.contains("not answered on the device in time"), "{err}");
    // A push still pending when the next poll would come after aws-runas's bound: given up.
    let err = push_error(sign_in_as(
        &sandbox,
        &["-U", "judy", "aad"],
        "judy-password",
    ));
    assert!(
        err.contains("the Azure AD push was not answered within 60s"),
        "{err}"
    );
    let err = fails(&["-U", "gus", "strict"], "gus-password");
    assert!(err.contains("asks for MFA but mfa_type = none"), "{err}");
    assert_eq!(
        sandbox.moto.count("AssumeRoleWithSAML"),
        1,
        "only frank's sign-in went on"
    );

    // Codes: none to be had without a terminal, a wrong one, the right one.
    let err = fails(&["-U", "erin", "code"], "erin-password");
    assert!(err.contains("no terminal can answer"), "{err}");
    let err = fails(&["-U", "erin", "-o", "000000", "code"], "erin-password");
    assert!(err.contains("rejected the one-time code"), "{err}");
    let out = sign_in_as(
        &sandbox,
        &["-U", "erin", "-o", "246810", "code"],
        "erin-password",
    )
    .ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/erin"
    );
    // mfa_type auto takes the user's default method: sam's is a text message.
    let out = sign_in_as(
        &sandbox,
        &["-U", "sam", "-o", "246810", "aad"],
        "sam-password",
    )
    .ok();
    assert!(!out.stderr.contains("approve"), "{}", out.stderr);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 3);
}

#[test]
fn azure_ad_sixteen_concurrent_callers_make_one_sign_in_and_one_push() {
    let aad = azuread::AzureAd::start();
    let sandbox = azure_sandbox(&aad, "azuread");
    let children: Vec<_> = (0..16)
        .map(|_| {
            sandbox
                .runas()
                .env("SAML_PASSWORD", "frank-password")
                .args(["-O", "json", "-U", "frank", "aad"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
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
    assert_eq!(aad.end_auth_calls(), 3);
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
}

#[test]
fn azure_ad_verbose_output_holds_no_password_code_assertion_or_cookie() {
    let aad = azuread::AzureAd::start();
    let sandbox = azure_sandbox(&aad, "azuread");
    let out = sign_in_as(
        &sandbox,
        &["-vv", "-U", "erin", "-o", "246810", "code"],
        "erin-password",
    )
    .ok();
    let log = &out.stderr;
    assert!(
        log.contains("signing in at") && log.contains("AssumeRoleWithSAML"),
        "-vv logged nothing useful: {log}"
    );
    for secret in [
        "erin-password",
        "246810",
        // base64 of "<samlp:Response": the start of the assertion.
        "PHNhbWxwOlJlc3BvbnNl",
        "SAMLRequest=",
        "estsauth-",
        "canary-",
        "-endauth",
        "eyJ0eXAi",
    ] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    let secret = eval_in_sh(&out.stdout, "AWS_SECRET_ACCESS_KEY");
    assert!(!log.contains(&secret), "secret key in the log");
    let jar = sandbox
        .cache_files()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("idp_cookies_"))
        .expect("a cookie jar");
    assert_eq!(common::mode(&jar), 0o600);
    assert!(std::fs::read_to_string(&jar).unwrap().contains("estsauth-"));
    forget_idp_sessions(&sandbox);
}

#[test]
fn hostile_azure_ad_pages_give_one_clear_line() {
    let cases: [(Respond, &str); 4] = [
        // JSON nested deeper than any parser goes: no page aws-runas knows.
        (
            |_, _, _| {
                html(&format!(
                    "<script>$Config={}{};</script>",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ))
            },
            "no sign-in form and no SAML response at http://127.0.0.1:",
        ),
        // A page name and error code carrying terminal escapes: shown without them.
        (
            |_, _, _| {
                html(
                    r#"<script>$Config={"pgid":"Evil\u001b[2J","sErrorCode":"9\u001b]0;pwn\u0007"};</script>"#,
                )
            },
            "Azure AD's page Evil2J at http://127.0.0.1:",
        ),
        // "Stay signed in?" for ever: bounded.
        (
            |_, _, _| {
                html(
                    r#"<script>$Config={"pgid":"KmsiInterrupt","sFT":"x","sCtx":"y","urlPost":"/kmsi"};</script>"#,
                )
            },
            "kept asking for more after",
        ),
        // A password form posting to something that is not a web page.
        (
            |_, _, _| {
                html(
                    r#"<script>$Config={"pgid":"ConvergedSignIn","sFT":"x","sCtx":"y","urlPost":"javascript:alert(1)"};</script>"#,
                )
            },
            "not sending it",
        ),
    ];
    let sandbox = Sandbox::with_files(
        &format!("[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\n"),
        "",
    );
    sandbox.moto.start_recording();
    for (respond, expected) in cases {
        let stub = Stub::start(respond);
        let out = run(
            sandbox.runas().args([
                "-S",
                &stub.url(),
                "-R",
                "azuread",
                "-U",
                "alice",
                "-P",
                "pw-secret",
                "plain",
            ]),
            LIMIT,
        );
        assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
        let err = out.one_line_error();
        assert!(err.contains(expected), "expected '{expected}': {err}");
        assert!(!err.contains("pw-secret"), "{err}");
    }
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);
}

#[test]
fn azure_ad_push_turns_a_spinner_on_the_terminal_until_approved() {
    use common::tmux::Tmux;
    use std::time::Duration;
    let aad = azuread::AzureAd::start();
    let sandbox = azure_sandbox(&aad, "azuread");
    let dir = sandbox.dir.path().display().to_string();
    let body = format!(
        "export SAML_PASSWORD=kim-password\n'{bin}' -U kim -O json aad >'{dir}/out'; echo EXIT=$?\nsleep 60\n",
        bin = runas_bin().display()
    );
    let tmux = Tmux::start(sandbox.dir.path(), &script(&sandbox, &body));
    let screen = tmux.wait_for("the spinner", Duration::from_secs(30), |s| {
        s.contains("waiting for the push to be approved")
    });
    assert!(screen.contains("choose 42"), "{screen}");
    aad.approve_pushes();
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
fn azure_ad_federated_users_sign_in_at_their_own_identity_provider() {
    let aad = azuread::AzureAd::start();
    let sandbox = azure_sandbox(&aad, "azuread");
    let user = "fed@corp.example";
    let err = sign_in_as(&sandbox, &["-U", user, "aad"], "not-it").one_line_error();
    assert!(
        err.contains(&format!("rejected the password for '{user}'")) && err.contains("/adfs/ls/"),
        "{err}"
    );
    assert!(!err.contains("not-it"), "{err}");
    assert_eq!(aad.password_posts(), 1, "no retry");
    let out = sign_in_as(&sandbox, &["-U", user, "aad"], "fed-password").ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        format!("arn:aws:sts::123456789012:assumed-role/Admin/{user}")
    );
    // Azure AD's own session then serves the next sign-in: neither IdP sees a password.
    expire_cached_roles(&sandbox);
    sign_in_as(&sandbox, &["-U", user, "aad"], "").ok();
    assert_eq!((aad.password_posts(), aad.sign_ins()), (2, 1));
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 2);
}

#[test]
fn a_role_arn_stands_where_the_profile_goes_with_the_saml_url_flag() {
    // No profile at all: `-S URL ROLE_ARN cmd`, as v3 allows, signs in and assumes that role
    // from the assertion's roles.
    let ssp = Ssp::start();
    let sandbox = Sandbox::with_files("", "");
    sandbox.moto.start_recording();
    let flags = ["-S", &ssp.url(), "-U", "alice", "-P", "alice-password"];
    let out = run(
        sandbox.runas().args(flags).args([
            ADMIN,
            common::aws_cli().as_str(),
            "sts",
            "get-caller-identity",
            "--region",
            "us-east-1",
        ]),
        LIMIT,
    )
    .ok();
    assert_assumed_role(json(&out.stdout)["Arn"].as_str().unwrap(), "Admin");
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
    // A role the assertion does not grant: one line that lists the ones it does.
    let err = run(
        sandbox
            .runas()
            .args(flags)
            .arg("arn:aws:iam::123456789012:role/Nope"),
        LIMIT,
    )
    .one_line_error();
    assert!(
        err.contains("grants no role arn:aws:iam::123456789012:role/Nope; it offers")
            && err.contains(ADMIN),
        "{err}"
    );
    // Without -S a bare role ARN still needs keys to assume it with.
    let err = run(sandbox.runas().arg(ADMIN), LIMIT).one_line_error();
    assert!(
        err.contains("profile 'default' has no credentials"),
        "{err}"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 1);
}

/// A login form whose server's clock is `offset` off ours.
fn skewed_login(offset: jiff::SignedDuration) -> tiny_http::ResponseBox {
    let date = (jiff::Timestamp::now() + offset)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let form = r#"<form method="post" action="/login"><input name="u"><input type="password" name="p"></form>"#;
    let mut response = html(form);
    response.add_header(
        format!("Date: {date}")
            .parse::<tiny_http::Header>()
            .unwrap(),
    );
    response
}

/// `aws-runas FLAGS diagnose PROFILE`.
fn diagnose(sandbox: &Sandbox, flags: &[&str], profile: &str) -> common::Output {
    run(
        sandbox.runas().args(flags).args(["diagnose", profile]),
        LIMIT,
    )
}

#[test]
fn diagnose_checks_a_saml_profile_at_its_identity_provider() {
    let (ssp, sandbox) = setup(
        "[profile nope]\nsource_profile = idp\nrole_arn = arn:aws:iam::123456789012:role/Nope\n",
    );
    let idp = format!("http://127.0.0.1:{}/saml2/idp/SSOService.php", ssp.port);
    // No password at hand and no IdP session: everything but the roles, and nobody is asked.
    let out = diagnose(&sandbox, &[], "admin");
    let report = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(0), "{report}");
    for line in [
        format!("ok    the identity provider at {idp} answers (HTTP "),
        "ok    provider Form, detected from the identity provider's answer".to_owned(),
        "info  no OS keyring is available".to_owned(),
        "ok    clock within ".to_owned(),
        "info  roles not checked: the identity provider wants the password and none is at hand without a prompt".to_owned(),
    ] {
        assert!(report.contains(&line), "expected '{line}' in:\n{report}");
    }
    assert_eq!(ssp.password_posts(), 0);

    // With a password at hand: the assertion's roles are checked.
    let out = run(
        sandbox
            .runas()
            .env("SAML_PASSWORD", "alice-password")
            .args(["diagnose", "admin"]),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains(&format!("ok    the assertion grants role_arn {ADMIN}")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("alice-password"), "{}", out.stdout);
    // A role the IdP does not grant, found with the live IdP session (no password this time).
    let out = diagnose(&sandbox, &[], "nope");
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "error the assertion does not grant role_arn arn:aws:iam::123456789012:role/Nope; it grants {ADMIN}"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        ssp.password_posts(),
        1,
        "the second check reused the session"
    );
    assert_eq!(
        sandbox.moto.count("AssumeRoleWithSAML"),
        0,
        "diagnose assumes no role"
    );

    // A password in the OS keyring is found, never shown.
    let out = in_keyring_session(
        &sandbox,
        &ssp,
        r#"printf 'alice-password\n' | "$RUNAS" password admin || exit 11
        "$RUNAS" diagnose admin"#,
    );
    assert!(
        out.stdout.contains(&format!(
            "ok    the OS keyring holds a password for alice at http://127.0.0.1:{}",
            ssp.port
        )),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains("alice-password"), "{}", out.stdout);
}

#[test]
fn diagnose_reports_an_unreachable_or_skewed_identity_provider() {
    let sandbox = Sandbox::with_files(
        &format!("[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\n"),
        "",
    );
    // A closed port: one error line naming the IdP, exit 1, within the bound.
    let closed = common::probe_port();
    let url = format!("http://127.0.0.1:{closed}/sso");
    let out = diagnose(&sandbox, &["-S", &url, "-U", "alice"], "plain");
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or_default();
    assert!(
        line.contains(&format!(
            "cannot reach the identity provider: http://127.0.0.1:{closed}/sso"
        )),
        "{}",
        out.stdout
    );

    let behind = Stub::start(|_, _, _| skewed_login(jiff::SignedDuration::from_secs(-630)));
    let out = diagnose(&sandbox, &["-S", &behind.url(), "-U", "alice"], "plain");
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("error this clock is 10m"),
        "{}",
        out.stdout
    );
    let ahead = Stub::start(|_, _, _| skewed_login(jiff::SignedDuration::from_secs(150)));
    let out = diagnose(&sandbox, &["-S", &ahead.url(), "-U", "alice"], "plain");
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("warn  this clock is 2m")
            && out
                .stdout
                .contains("off the identity provider's (AWS allows 5m)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("info  roles not checked"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_identity_provider_and_endpoints_behind_a_private_ca() {
    let sandbox = Sandbox::with_files(
        &format!("[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\n"),
        "",
    );
    sandbox.moto.start_recording();
    let [ca, cert, key] = private_ca(sandbox.dir.path());
    let stub = Stub::start(|_, request, _| match request.url() {
        "/version" => html("99.0.0"),
        _ => saml_page("carol"),
    });
    let stub_port = stub.url()["http://127.0.0.1:".len()..]
        .trim_end_matches("/sso")
        .parse()
        .unwrap();
    let idp = TlsProxy::start(&cert, &key, stub_port);
    let url = format!("https://127.0.0.1:{}/sso", idp.port);
    let sign_in = |extra: &[(&str, &str)], args: &[&str]| {
        let mut cmd = sandbox.runas();
        cmd.envs(extra.iter().copied())
            .args(["-S", &url, "-U", "carol", "-P", "pw", "-R", "form"])
            .args(args);
        run(&mut cmd, LIMIT)
    };

    // Without the CA: one line naming the host and the fix.
    let err = sign_in(&[], &["plain"]).one_line_error();
    assert!(
        err.contains(&format!("https://127.0.0.1:{}/sso: the certificate of 127.0.0.1 is not signed by a CA this machine trusts", idp.port))
            && err.contains("set AWS_CA_BUNDLE (or ca_bundle in the profile) to that CA's PEM file"),
        "{err}"
    );
    let out = sign_in(&[], &["diagnose", "plain"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout
            .contains("error cannot reach the identity provider: https://127.0.0.1:"),
        "{}",
        out.stdout
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 0);

    // With it, from the environment: the sign-in goes through.
    let bundle = ca.to_str().unwrap();
    let out = sign_in(&[("AWS_CA_BUNDLE", bundle)], &["plain"]).ok();
    assert_eq!(
        identity(&sandbox, &out.stdout),
        "arn:aws:sts::123456789012:assumed-role/Admin/carol"
    );
    // ... or from the profile, as botocore reads ca_bundle.
    sandbox.write_config(&format!(
        "[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\nca_bundle = {bundle}\n"
    ));
    let out = sign_in(&[], &["diagnose", "plain"]);
    assert!(
        out.stdout.contains(&format!(
            "ok    the identity provider at {url} answers (HTTP 200)"
        )),
        "{}{}",
        out.stdout,
        out.stderr
    );
    // A bundle that is not one: one line naming it and where it was set.
    let err = sign_in(
        &[("AWS_CA_BUNDLE", "/nonexistent/ca.pem")],
        &["-r", "plain"],
    )
    .one_line_error();
    assert!(
        err.contains("the CA bundle /nonexistent/ca.pem (AWS_CA_BUNDLE) cannot be read"),
        "{err}"
    );

    // The update check trusts the same roots.
    let version = format!("https://127.0.0.1:{}/version", idp.port);
    let err = run(
        sandbox.runas().env("RUNAS_UPDATE_URL", &version).arg("-u"),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("set AWS_CA_BUNDLE"), "{err}");
    let out = run(
        sandbox
            .runas()
            .env("RUNAS_UPDATE_URL", &version)
            .env("AWS_CA_BUNDLE", bundle)
            .arg("-u"),
        LIMIT,
    )
    .ok();
    assert!(
        out.stdout.contains("aws-runas 99.0.0 is available"),
        "{}",
        out.stdout
    );

    // The SDK's clients (STS here) trust the bundle too: moto behind the same private CA, the
    // bundle named by the profile's ca_bundle (still in the config), then by AWS_CA_BUNDLE.
    let moto_port = sandbox
        .moto
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let sts = TlsProxy::start(&cert, &key, moto_port);
    let endpoint = format!("https://127.0.0.1:{}", sts.port);
    sign_in(&[("AWS_ENDPOINT_URL", &endpoint)], &["-r", "plain"]).ok();
    sandbox.write_config(&format!(
        "[profile plain]\nrole_arn = {ADMIN}\nregion = us-east-1\n"
    ));
    sign_in(
        &[("AWS_CA_BUNDLE", bundle), ("AWS_ENDPOINT_URL", &endpoint)],
        &["-r", "plain"],
    )
    .ok();
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 3);
    // An endpoint signed by another private CA: the IdP step works, STS says what to do.
    let other = sandbox.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let [_, other_cert, other_key] = private_ca(&other);
    let other_sts = TlsProxy::start(&other_cert, &other_key, moto_port);
    let other_endpoint = format!("https://127.0.0.1:{}", other_sts.port);
    let err = sign_in(
        &[
            ("AWS_CA_BUNDLE", bundle),
            ("AWS_ENDPOINT_URL", &other_endpoint),
        ],
        &["-r", "plain"],
    )
    .one_line_error();
    assert!(
        err.contains(&format!("STS AssumeRoleWithSAML failed: the certificate of 127.0.0.1:{} is not signed by a CA this machine trusts", other_sts.port))
            && err.contains("set AWS_CA_BUNDLE"),
        "{err}"
    );
    assert_eq!(sandbox.moto.count("AssumeRoleWithSAML"), 3);
}
