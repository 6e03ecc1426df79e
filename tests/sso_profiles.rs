//! End-to-end: `aws-runas sso profiles SESSION`, the built binary against the IAM Identity
//! Center stand-in (tests/standins/sso.py) paging one item at a time; the AWS CLI and boto3 read
//! what it writes, and the completion script offers it.

mod common;

use std::process::Command;

use common::*;

const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// The stand-in, stopped when dropped.
struct Standin(PythonStandin);

impl Standin {
    fn start() -> Self {
        Standin(PythonStandin::start("sso.py", &[]))
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

    fn count(&self, op: &str) -> u64 {
        self.state()["counts"][op].as_u64().unwrap_or(0)
    }

    /// `accounts`: (id, name, roles).
    fn assign(&self, accounts: &[(&str, &str, &[&str])]) {
        let list: Vec<_> = accounts
            .iter()
            .map(|(id, name, _)| serde_json::json!({ "accountId": id, "accountName": name }))
            .collect();
        let roles: serde_json::Map<String, serde_json::Value> = accounts
            .iter()
            .map(|(id, _, roles)| ((*id).to_owned(), serde_json::json!(roles)))
            .collect();
        self.admin(
            "assignments",
            serde_json::json!({ "accounts": list, "roles": roles }),
        );
    }
}

fn runas(s: &Sandbox, standin: &Standin) -> Command {
    let mut cmd = s.runas();
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", standin.url())
        .env("AWS_ENDPOINT_URL_SSO", standin.url());
    cmd
}

/// The user's own file: CRLF line endings, a comment, a profile, the session.
fn user_config() -> String {
    format!(
        "# my own settings\r\n[profile mine]\r\nregion = us-east-1\r\n\r\n[sso-session corp]\r\nsso_start_url = {START_URL}\r\nsso_region = eu-west-1\r\nsso_registration_scopes = sso:account:access\r\n"
    )
}

fn two_accounts_three_roles(standin: &Standin) {
    standin.assign(&[
        ("111111111111", "Prod Env", &["ReadOnly", "Admin"]),
        ("222222222222", "Sandbox", &["Developer"]),
    ]);
}

/// A stand-in paging one item at a time, and a token for session `corp` in the cache.
fn signed_in(config: &str) -> (Sandbox, Standin) {
    let s = Sandbox::with_files(config, "");
    let standin = Standin::start();
    standin.admin(
        "config",
        serde_json::json!({ "auto_approve": true, "page_size": 1 }),
    );
    two_accounts_three_roles(&standin);
    run(
        runas(&s, &standin).args(["sso", "login", "--sso-session", "corp", "--use-device-code"]),
        LIMIT,
    )
    .ok();
    (s, standin)
}

fn profile(name: &str, account: &str, role: &str, eol: &str) -> String {
    format!(
        "[profile {name}]{eol}sso_session = corp{eol}sso_account_id = {account}{eol}sso_role_name = {role}{eol}region = eu-west-1{eol}"
    )
}

fn block(profiles: &[String], eol: &str) -> String {
    format!(
        "# BEGIN aws-runas sso profiles corp (generated: edits here are replaced){eol}{}# END aws-runas sso profiles corp{eol}",
        profiles.join(eol)
    )
}

fn read(s: &Sandbox) -> String {
    std::fs::read_to_string(s.config_file()).unwrap()
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn profiles_are_written_once_kept_byte_identical_and_follow_the_assignments() {
    let (s, standin) = signed_in(&user_config());
    set_mode(&s.config_file(), 0o640);
    let (accounts, roles) = (
        standin.count("ListAccounts"),
        standin.count("ListAccountRoles"),
    );
    run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).ok();
    let crlf = "\r\n";
    let first_block = block(
        &[
            profile("Prod-Env.Admin", "111111111111", "Admin", crlf),
            profile("Prod-Env.ReadOnly", "111111111111", "ReadOnly", crlf),
            profile("Sandbox.Developer", "222222222222", "Developer", crlf),
        ],
        crlf,
    );
    let first = read(&s);
    assert_eq!(first, format!("{}\r\n{first_block}", user_config()));
    assert_eq!(mode(&s.config_file()), 0o640, "the file's mode is kept");
    // Page size 1: two ListAccounts pages, then one ListAccountRoles page per role.
    assert_eq!(standin.count("ListAccounts") - accounts, 2);
    assert_eq!(standin.count("ListAccountRoles") - roles, 3);

    let out = run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).ok();
    assert_eq!(read(&s), first, "a second run changes no byte");
    assert!(out.stderr.contains("unchanged"), "{}", out.stderr);
    let dry = run(
        runas(&s, &standin).args(["sso", "profiles", "corp", "--dry-run"]),
        LIMIT,
    )
    .ok();
    assert_eq!(dry.stdout, "", "no change, no diff");

    // The user's own lines after the block, then the portal's assignments change.
    let tail = "\r\n# after\r\n[profile after]\r\nregion = us-west-2\r\n";
    std::fs::write(s.config_file(), format!("{first}{tail}")).unwrap();
    standin.assign(&[
        ("111111111111", "Prod Env", &["Admin"]),
        ("222222222222", "Sandbox", &["Developer"]),
        ("333333333333", "Data", &["Analyst"]),
    ]);
    let before = read(&s);
    let dry = run(
        runas(&s, &standin).args(["sso", "profiles", "corp", "--dry-run"]),
        LIMIT,
    )
    .ok();
    assert_eq!(read(&s), before, "--dry-run writes nothing");
    let path = s.config_file().display().to_string();
    assert!(
        dry.stdout.starts_with(&format!("--- {path}\n+++ {path}\n")),
        "{}",
        dry.stdout
    );
    let changed: Vec<&str> = dry.stdout.lines().skip(2).collect();
    assert!(
        changed.contains(&"-[profile Prod-Env.ReadOnly]")
            && changed.contains(&"+[profile Data.Analyst]")
            && changed.contains(&"+sso_account_id = 333333333333")
            && !changed
                .iter()
                .any(|l| l.contains("mine") || l.contains("after")),
        "{}",
        dry.stdout
    );
    assert!(changed.iter().all(|l| l.starts_with(['-', '+'])));

    run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).ok();
    let second_block = block(
        &[
            profile("Data.Analyst", "333333333333", "Analyst", crlf),
            profile("Prod-Env.Admin", "111111111111", "Admin", crlf),
            profile("Sandbox.Developer", "222222222222", "Developer", crlf),
        ],
        crlf,
    );
    assert_eq!(
        read(&s),
        format!("{}\r\n{second_block}{tail}", user_config()),
        "the block alone changed"
    );

    // botocore reads every generated profile: boto3 lists them, the AWS CLI reads each (its v1
    // has no `configure list-profiles`), boto3 signs in with one.
    let listed = run(
        s.command("python3").args([
            "-c",
            "import boto3\nprint('\\n'.join(sorted(boto3.Session().available_profiles)))",
        ]),
        LIMIT,
    )
    .ok();
    assert_eq!(
        listed.stdout,
        "Data.Analyst\nProd-Env.Admin\nSandbox.Developer\nafter\nmine\n"
    );
    for (name, role) in [
        ("Data.Analyst", "Analyst"),
        ("Prod-Env.Admin", "Admin"),
        ("Sandbox.Developer", "Developer"),
    ] {
        let out = run(
            s.aws()
                .args(["configure", "get", "sso_role_name", "--profile", name]),
            LIMIT,
        )
        .ok();
        assert_eq!(out.stdout.trim_end(), role, "{name}");
    }
    let script = "import sys, boto3\n\
s = boto3.Session(profile_name=sys.argv[1])\n\
c = s.get_credentials().get_frozen_credentials()\n\
print(c.access_key, s.region_name)\n";
    let before = standin.count("GetRoleCredentials");
    let out = run(
        s.command("python3")
            .env("AWS_ENDPOINT_URL_SSO", standin.url())
            .args(["-c", script, "Data.Analyst"]),
        LIMIT,
    )
    .ok();
    assert!(
        out.stdout.starts_with("ASIA") && out.stdout.trim_end().ends_with(" eu-west-1"),
        "{}",
        out.stdout
    );
    assert_eq!(standin.count("GetRoleCredentials"), before + 1);

    // Completion offers a generated profile like any other.
    let bin_dir = runas_bin().parent().unwrap().display().to_string();
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!(
        "export PATH='{bin_dir}':\"$PATH\"\nsource '{root}/completions/aws-runas.bash'\nCOMP_WORDS=(aws-runas Data)\nCOMP_CWORD=1\n_aws_runas_with_profiles\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    );
    let out = run(s.command("bash").args(["--norc", "-c", &script]), LIMIT).ok();
    assert_eq!(out.stdout, "Data.Analyst\n");
}

#[test]
fn a_name_template_and_a_region_go_to_the_file_aws_config_file_names() {
    let (s, standin) = signed_in(&user_config());
    // The session comes from the usual file; AWS_CONFIG_FILE names where the profiles go.
    let other = s.home().join("other/config");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, user_config().replace("\r\n", "\n")).unwrap();
    run(
        runas(&s, &standin)
            .env("AWS_CONFIG_FILE", &other)
            .args([
                "sso",
                "profiles",
                "corp",
                "--name",
                "{account_id}-{role_name}",
            ])
            .args(["--region", "us-west-2"]),
        LIMIT,
    )
    .ok();
    let text = std::fs::read_to_string(&other).unwrap();
    let lf = |name: &str, account: &str, role: &str| {
        profile(name, account, role, "\n").replace("eu-west-1", "us-west-2")
    };
    assert_eq!(
        text,
        format!(
            "{}\n{}",
            user_config().replace("\r\n", "\n"),
            block(
                &[
                    lf("111111111111-Admin", "111111111111", "Admin"),
                    lf("111111111111-ReadOnly", "111111111111", "ReadOnly"),
                    lf("222222222222-Developer", "222222222222", "Developer"),
                ],
                "\n"
            )
        )
    );
    assert_eq!(read(&s), user_config(), "the default file is untouched");

    // A config file linked from elsewhere (a dotfiles repository) stays a link to the new text.
    let dotfiles = s.home().join("dotfiles-config");
    std::fs::write(&dotfiles, user_config()).unwrap();
    std::fs::remove_file(s.config_file()).unwrap();
    std::os::unix::fs::symlink(&dotfiles, s.config_file()).unwrap();
    run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).ok();
    assert!(std::fs::symlink_metadata(s.config_file())
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&dotfiles)
        .unwrap()
        .contains("[profile Sandbox.Developer]"));

    // A file that does not exist holds no session to sign in with.
    let new = s.home().join("fresh/config");
    let err = run(
        runas(&s, &standin)
            .env("AWS_CONFIG_FILE", &new)
            .args(["sso", "profiles", "corp"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("[sso-session corp]"), "{err}");
    assert!(!new.exists());
}

#[test]
fn a_collision_or_a_users_profile_of_that_name_is_one_line_and_nothing_is_written() {
    let (s, standin) = signed_in(&user_config());
    standin.assign(&[
        ("111111111111", "Twin", &["Admin"]),
        ("222222222222", "Twin", &["Admin"]),
    ]);
    let err = run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).one_line_error();
    assert!(
        err.contains("'Twin.Admin'")
            && err.contains("account 111111111111 role Admin")
            && err.contains("account 222222222222 role Admin"),
        "{err}"
    );
    assert_eq!(read(&s), user_config());

    two_accounts_three_roles(&standin);
    let config = format!(
        "{}[profile Sandbox.Developer]\r\nregion = x\r\n",
        user_config()
    );
    s.write_config(&config);
    let err = run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).one_line_error();
    assert!(
        err.contains("'Sandbox.Developer'") && err.contains("outside the generated block"),
        "{err}"
    );
    assert_eq!(read(&s), config);

    // Botocore would merge a credentials file section of that name into the generated profile.
    s.write_config(&user_config());
    std::fs::write(
        s.credentials_file(),
        "[Prod-Env.Admin]\naws_access_key_id = AKIAX\n",
    )
    .unwrap();
    let err = run(runas(&s, &standin).args(["sso", "profiles", "corp"]), LIMIT).one_line_error();
    assert!(
        err.contains("'Prod-Env.Admin'") && err.contains("credentials"),
        "{err}"
    );
    assert_eq!(read(&s), user_config());

    let err = run(
        runas(&s, &standin).args(["sso", "profiles", "corp", "--name", "{oops}"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("{oops}"), "{err}");
}

#[test]
fn without_a_terminal_or_a_token_it_says_to_sign_in_with_the_session() {
    let s = Sandbox::with_files(&user_config(), "");
    let standin = Standin::start();
    // Were a sign-in started, it would be approved at once and the command succeed.
    standin.admin("config", serde_json::json!({ "auto_approve": true }));
    let mut cmd = s.command("setsid");
    cmd.env("AWS_ENDPOINT_URL_SSO_OIDC", standin.url())
        .env("AWS_ENDPOINT_URL_SSO", standin.url())
        .arg("-w")
        .arg(runas_bin())
        .args(["sso", "profiles", "corp"]);
    let err = run(&mut cmd, LIMIT).one_line_error();
    assert!(
        err.contains("sso-session 'corp'")
            && err.contains("run `aws-runas sso login --sso-session corp`"),
        "{err}"
    );
    assert_eq!(standin.count("RegisterClient"), 0);
    assert_eq!(read(&s), user_config());
    let err = run(runas(&s, &standin).args(["sso", "profiles", "nope"]), LIMIT).one_line_error();
    assert!(err.contains("[sso-session nope]"), "{err}");
}
