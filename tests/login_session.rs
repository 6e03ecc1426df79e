//! End-to-end: `login_session` profiles (`aws login`, AWS CLI 2.32+), the built binary reading
//! the login cache and renewing an entry at a loopback stand-in of the Sign-In token endpoint
//! (tests/standins/signin.py, which checks the DPoP proof and spends refresh tokens once), with
//! moto for the role assumed over it.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const SESSION: &str = "arn:aws:sts::123456789012:assumed-role/Admin/alice";
const REFRESH: &str = "rt-initial-refresh-token-0123456789";
const KEY_ID: &str = "ASIALOGINSESSION0001";
const SECRET: &str = "login-secret-do-not-print-0123456789abcd";
const TOKEN: &str = "login-session-token-do-not-print";

/// The stand-in, stopped when dropped.
struct Standin(PythonStandin);

impl Standin {
    fn start() -> Self {
        Standin(PythonStandin::start("signin.py", &[REFRESH]))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn admin(&self, path: &str, body: serde_json::Value) {
        self.0.admin(path, body)
    }

    fn state(&self) -> serde_json::Value {
        self.0.state()
    }

    fn renewals(&self) -> u64 {
        self.state()["renewals"].as_u64().unwrap()
    }

    fn requests(&self) -> u64 {
        self.state()["requests"].as_u64().unwrap()
    }

    fn refuse(&self, code: &str) {
        self.admin("refuse", serde_json::json!({ "error": code }))
    }
}

const CONFIG: &str = "[profile signedin]\n\
    login_session = arn:aws:sts::123456789012:assumed-role/Admin/alice\n\
    region = eu-west-1\n\
    \n\
    [profile deploy]\n\
    role_arn = arn:aws:iam::123456789012:role/deploy\n\
    source_profile = signedin\n\
    region = eu-west-1\n";

/// A P-256 key as `aws login` keeps it: SEC 1 PEM (`EC PRIVATE KEY`).
fn ec_pem() -> String {
    let out = Command::new(venv_bin("python3"))
        .args([
            "-c",
            "from cryptography.hazmat.primitives.asymmetric import ec\n\
             from cryptography.hazmat.primitives import serialization as s\n\
             k = ec.generate_private_key(ec.SECP256R1())\n\
             print(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode(), end='')",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn entry_path(sandbox: &Sandbox) -> PathBuf {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(SESSION.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sandbox
        .home()
        .join(".aws/login/cache")
        .join(format!("{hex}.json"))
}

/// An entry expiring `expires_in` from now (negative: expired).
fn write_entry(sandbox: &Sandbox, expires_in: i64) -> serde_json::Value {
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(expires_in);
    let entry = serde_json::json!({
        "accessToken": {
            "accessKeyId": KEY_ID,
            "secretAccessKey": SECRET,
            "sessionToken": TOKEN,
            "accountId": "123456789012",
            "expiresAt": jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", expires).unwrap(),
        },
        "tokenType": "aws_sigv4",
        "refreshToken": REFRESH,
        "identityToken": "id-token-kept-as-is",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "dpopKey": ec_pem(),
        "signInRegion": "eu-west-1",
    });
    let path = entry_path(sandbox);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, entry.to_string()).unwrap();
    entry
}

fn setup() -> (Sandbox, Standin) {
    (Sandbox::with_files(CONFIG, ""), Standin::start())
}

fn runas(sandbox: &Sandbox, standin: &Standin) -> Command {
    let mut cmd = sandbox.runas();
    cmd.env("AWS_ENDPOINT_URL_SIGNIN", standin.url());
    cmd
}

fn keys_of(out: &Output) -> (String, String) {
    let v = json(&out.stdout);
    (
        v["AccessKeyId"].as_str().unwrap().to_owned(),
        v["SessionToken"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn valid_entry_gives_its_keys_without_renewing() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, 600);
    let out = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(keys_of(&out), (KEY_ID.to_owned(), TOKEN.to_owned()));
    assert_eq!(standin.requests(), 0);
    assert!(
        sandbox.cache_files().iter().all(|p| {
            !std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains(SECRET)
        }),
        "the login keys were copied into our cache"
    );
}

#[test]
fn role_over_login_session_is_assumed_with_its_keys() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, 600);
    sandbox.moto.start_recording();
    let out = run(
        runas(&sandbox, &standin).args(["-O", "json", "deploy"]),
        LIMIT,
    )
    .ok();
    assert_ne!(keys_of(&out).0, KEY_ID);
    assert_eq!(sandbox.moto.signers("AssumeRole"), vec![KEY_ID.to_owned()]);
    assert_eq!(standin.requests(), 0);
}

#[test]
fn expired_entry_is_renewed_once_and_written_back() {
    let (sandbox, standin) = setup();
    let before = write_entry(&sandbox, -60);
    let out = run(
        runas(&sandbox, &standin).args(["-v", "-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(standin.renewals(), 1, "{:?}", standin.state());
    let path = entry_path(&sandbox);
    assert_eq!(mode(&path), 0o600);
    let after = json(&std::fs::read_to_string(&path).unwrap());
    let (key, token) = keys_of(&out);
    assert_eq!(after["accessToken"]["accessKeyId"], key.as_str());
    assert_eq!(after["accessToken"]["sessionToken"], token.as_str());
    assert_eq!(after["accessToken"]["accountId"], "123456789012");
    assert_ne!(after["refreshToken"], REFRESH);
    for kept in [
        "dpopKey",
        "clientId",
        "signInRegion",
        "identityToken",
        "tokenType",
    ] {
        assert_eq!(after[kept], before[kept], "{kept} not kept");
    }
    let expires: jiff::Timestamp = after["accessToken"]["expiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires > jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10));
    // Nothing secret reaches the log, old or new.
    let issued = standin.state()["issued"].clone();
    for secret in issued
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .chain([SECRET, TOKEN, REFRESH])
    {
        assert!(
            !out.stderr.contains(secret),
            "secret on stderr: {}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("PRIVATE KEY"));
    // The renewed entry is taken as it is.
    let again = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(keys_of(&again).0, key);
    assert_eq!(standin.renewals(), 1);
}

#[test]
fn concurrent_cold_callers_renew_once() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, -60);
    let keys = json_key_ids(run_concurrently(
        (0..8)
            .map(|_| {
                let mut cmd = runas(&sandbox, &standin);
                cmd.args(["-O", "json", "signedin"]);
                cmd
            })
            .collect(),
    ));
    assert_eq!(standin.renewals(), 1, "{:?}", standin.state());
    assert_eq!(standin.state()["refused"], serde_json::json!([]));
    assert!(keys.iter().all(|k| k == &keys[0]));
}

#[test]
fn refused_renewal_is_one_line_naming_aws_login() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, -60);
    let before = std::fs::read(entry_path(&sandbox)).unwrap();
    standin.refuse("TOKEN_EXPIRED");
    let err = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("aws login"), "{err}");
    assert!(err.contains("TOKEN_EXPIRED"), "{err}");
    assert!(err.contains("signedin"), "{err}");
    assert_eq!(std::fs::read(entry_path(&sandbox)).unwrap(), before);
}

#[test]
fn spent_refresh_token_is_one_line_naming_aws_login() {
    let (sandbox, standin) = setup();
    let entry = write_entry(&sandbox, -60);
    run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    // The old entry back: its refresh token was spent.
    std::fs::write(entry_path(&sandbox), entry.to_string()).unwrap();
    let err = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("aws login"), "{err}");
    assert_eq!(standin.renewals(), 1);
}

#[test]
fn malformed_entries_are_one_line() {
    let (sandbox, standin) = setup();
    let path = entry_path(&sandbox);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{not json").unwrap();
    let err = run(runas(&sandbox, &standin).args(["signedin"]), LIMIT).one_line_error();
    assert!(
        err.contains("malformed") && err.contains("signedin"),
        "{err}"
    );

    let mut entry = write_entry(&sandbox, -60);
    entry["dpopKey"] =
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n".into();
    std::fs::write(&path, entry.to_string()).unwrap();
    let err = run(runas(&sandbox, &standin).args(["signedin"]), LIMIT).one_line_error();
    assert!(err.contains("dpopKey"), "{err}");

    std::fs::remove_file(&path).unwrap();
    let err = run(runas(&sandbox, &standin).args(["signedin"]), LIMIT).one_line_error();
    assert!(err.contains("aws login"), "{err}");
    assert_eq!(standin.requests(), 0);
}

#[test]
fn diagnose_says_expiry_and_renewability() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, 600);
    let out = run(
        runas(&sandbox, &standin).args(["diagnose", "signedin"]),
        LIMIT,
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("login session"))
        .unwrap_or_else(|| panic!("{}{}", out.stdout, out.stderr))
        .to_owned();
    assert!(
        line.contains("expire at") && line.contains("renewable"),
        "{line}"
    );
    assert!(!out.stdout.contains(SECRET) && !out.stdout.contains(REFRESH));
    assert_eq!(standin.requests(), 0);
}

/// boto3 through botocore's own `LoginProvider`, printing the access key it signs with. The
/// venv has no awscrt (botocore[crt]), whose `EC` botocore signs the DPoP proof with: a stand-in
/// of those four calls on `cryptography` takes its place, the proof itself stays botocore's.
const BOTO3_LOGIN: &str = r#"
import botocore.credentials as bc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

class Key:
    def __init__(self, key):
        self.key = key
    def get_public_coords(self):
        n = self.key.public_key().public_numbers()
        return n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big")
    def sign(self, digest):
        return self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))

class EC:
    @staticmethod
    def new_key_from_der_data(der):
        return Key(serialization.load_der_private_key(der, None))
    @staticmethod
    def decode_der_signature_to_padded_pair(sig, pad_to):
        r, s = utils.decode_dss_signature(sig)
        return r.to_bytes(pad_to, "big") + s.to_bytes(pad_to, "big")

bc.EC = EC
import boto3
creds = boto3.Session(profile_name="signedin").get_credentials()
print(creds.method, creds.get_frozen_credentials().access_key)
"#;

fn boto3(sandbox: &Sandbox, standin: &Standin) -> String {
    let mut cmd = sandbox.command(venv_bin("python3"));
    cmd.env("AWS_ENDPOINT_URL_SIGNIN", standin.url())
        .args(["-c", BOTO3_LOGIN]);
    run(&mut cmd, LIMIT).ok().stdout.trim().to_owned()
}

#[test]
fn standin_renews_for_botocore() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, -60);
    let said = boto3(&sandbox, &standin);
    assert_eq!(standin.renewals(), 1, "{:?}", standin.state());
    let after = json(&std::fs::read_to_string(entry_path(&sandbox)).unwrap());
    let key = after["accessToken"]["accessKeyId"].as_str().unwrap();
    assert_eq!(said, format!("login {key}"));
    // And aws-runas takes botocore's renewal as it is.
    let out = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(keys_of(&out).0, key);
    assert_eq!(standin.requests(), 1);
}

#[test]
fn botocore_takes_our_renewal_as_it_is() {
    let (sandbox, standin) = setup();
    write_entry(&sandbox, -60);
    let out = run(
        runas(&sandbox, &standin).args(["-O", "json", "signedin"]),
        LIMIT,
    )
    .ok();
    assert_eq!(
        boto3(&sandbox, &standin),
        format!("login {}", keys_of(&out).0)
    );
    assert_eq!(standin.requests(), 1);
}
