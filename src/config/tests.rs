//! Resolution rules, checked on parsed text (no files, no environment).

use std::path::Path;
use std::time::Duration;

use super::*;

fn profiles(config: &str, credentials: &str) -> Profiles {
    let c = files::parse(config).unwrap();
    let k = files::parse(credentials).unwrap();
    Profiles::from_files(
        Some(&c),
        Path::new("/home/u/.aws/config"),
        Some(&k),
        Path::new("/home/u/.aws/credentials"),
    )
}

const CREDS: &str = "[default]\naws_access_key_id = AKIADEFAULT00001\naws_secret_access_key = s1\n\n[user]\naws_access_key_id = AKIAUSER00000001\naws_secret_access_key = s2\n";

/// The keys `r` starts from (a test failure if it signs in instead).
fn keys(r: &Resolved) -> &Keys {
    match &r.root {
        Root::Keys(keys) => keys,
        other => panic!("not keys: {other:?}"),
    }
}

fn no_env() -> Environment {
    Environment::default()
}

#[test]
fn role_chain_resolves_from_source_to_leaf_with_inherited_settings() {
    let p = profiles(
        "[profile base]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/u\n\n\
         [profile user]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/u\n\n\
         [profile mid]\nrole_arn = arn:aws:iam::222222222222:role/mid\nsource_profile = user\n\n\
         [profile leaf]\nrole_arn = arn:aws:iam::333333333333:role/leaf\nsource_profile = mid\nexternal_id = ext\nduration_seconds = 7200\n",
        CREDS,
    );
    let r = p.resolve("leaf", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(keys(&r).origin, SourceOrigin::Profile("user".into()));
    assert_eq!(keys(&r).credentials.access_key_id, "AKIAUSER00000001");
    let arns: Vec<_> = r.hops.iter().map(|h| h.role_arn.as_str()).collect();
    assert_eq!(
        arns,
        [
            "arn:aws:iam::222222222222:role/mid",
            "arn:aws:iam::333333333333:role/leaf"
        ]
    );
    assert_eq!(r.hops[1].external_id.as_deref(), Some("ext"));
    assert_eq!(r.hops[1].duration, Duration::from_secs(7200));
    assert_eq!(r.hops[0].duration, DEFAULT_ROLE_DURATION);
    assert_eq!(r.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        r.mfa_serial.as_deref(),
        Some("arn:aws:iam::111111111111:mfa/u")
    );
    assert_eq!(r.session_duration, DEFAULT_SESSION_DURATION);
}

#[test]
fn flags_beat_environment_beats_files() {
    let p = profiles(
        "[profile r]\nrole_arn = arn:aws:iam::333333333333:role/r\nsource_profile = user\nregion = us-west-2\ncredentials_duration = 2h\n",
        CREDS,
    );
    let env = Environment::from([("AWS_REGION", "ap-south-1")]);
    let overrides = Overrides {
        role_duration: Some(Duration::from_secs(900)),
        external_id: Some("flag-ext".into()),
        ..Default::default()
    };
    let r = p.resolve("r", &overrides, &env).unwrap();
    assert_eq!(r.region.as_deref(), Some("ap-south-1"));
    assert_eq!(r.hops[0].duration, Duration::from_secs(900));
    assert_eq!(r.hops[0].external_id.as_deref(), Some("flag-ext"));
    let r = p.resolve("r", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(r.hops[0].duration, Duration::from_secs(7200));
    assert_eq!(r.region.as_deref(), Some("us-west-2"));
}

#[test]
fn botocore_section_rules() {
    let p = profiles(
        "[default]\nregion = a\n\n[profile default]\nregion = b\n\n[dev]\nregion = c\n",
        "[dev]\naws_access_key_id = AKIADEV000000001\naws_secret_access_key = x\n\
         [default]\naws_access_key_id = AKIADEF000000001\naws_secret_access_key = y\n",
    );
    let r = p
        .resolve("default", &Overrides::default(), &no_env())
        .unwrap();
    assert_eq!(r.region.as_deref(), Some("b"), "[profile default] wins");
    // [dev] in the config file is not a profile: its region is not used.
    let r = p.resolve("dev", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(r.region, None);
    assert_eq!(keys(&r).credentials.access_key_id, "AKIADEV000000001");
}

#[test]
fn unprefixed_config_section_gets_a_hint() {
    let p = profiles(
        "[staging]\nrole_arn = arn:aws:iam::123456789012:role/x\n",
        "",
    );
    let err = p
        .resolve("staging", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("[profile staging]"), "{err}");
    assert!(err.contains("/home/u/.aws/config"), "{err}");
}

#[test]
fn cycles_are_reported_with_the_profiles_named() {
    let p = profiles(
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = c\n\
         [profile c]\nrole_arn = arn:aws:iam::123456789012:role/c\nsource_profile = a\n",
        "",
    );
    let err = p
        .resolve("a", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "source_profile cycle: a -> b -> c -> a");
}

#[test]
fn self_sourced_profile_uses_its_own_keys() {
    let p = profiles(
        "[profile me]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = me\n",
        "[me]\naws_access_key_id = AKIAME0000000001\naws_secret_access_key = x\n",
    );
    let r = p.resolve("me", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(keys(&r).credentials.access_key_id, "AKIAME0000000001");
    assert_eq!(r.hops.len(), 1);
}

#[test]
fn role_arn_as_profile_takes_env_keys_then_default() {
    let p = profiles("[default]\nregion = eu-north-1\n", CREDS);
    let arn = "arn:aws:iam::123456789012:role/direct";
    let r = p.resolve(arn, &Overrides::default(), &no_env()).unwrap();
    assert_eq!(keys(&r).credentials.access_key_id, "AKIADEFAULT00001");
    assert_eq!(r.hops[0].role_arn, arn);
    assert_eq!(r.region.as_deref(), Some("eu-north-1"));
    let env = Environment::from([
        ("AWS_ACCESS_KEY_ID", "AKIAENV000000001"),
        ("AWS_SECRET_ACCESS_KEY", "e"),
    ]);
    let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
    assert_eq!(keys(&r).origin, SourceOrigin::Environment);
    // Keys that aws-runas itself exported are role credentials, never a source.
    let env = Environment::from([
        ("AWS_ACCESS_KEY_ID", "ASIAOURS00000001"),
        ("AWS_SECRET_ACCESS_KEY", "e"),
        ("AWSRUNAS_PROFILE", "other"),
    ]);
    let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
    assert_eq!(keys(&r).credentials.access_key_id, "AKIADEFAULT00001");
}

#[test]
fn bad_values_name_the_profile_and_value() {
    let p = profiles(
        "[profile a]\nrole_arn = arn:aws:iam::12:role/x\nsource_profile = user\n\
         [profile b]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = user\nduration_seconds = soon\n\
         [profile c]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = nowhere\n\
         [profile d]\nregion = x\n",
        CREDS.to_owned().as_str(),
    );
    let err = |n: &str| {
        p.resolve(n, &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string()
    };
    assert!(err("a").contains("profile 'a': role_arn = 'arn:aws:iam::12:role/x' is invalid"));
    assert!(err("b").contains("profile 'b': duration_seconds = 'soon'"));
    assert!(err("c").contains("source_profile 'nowhere'"));
    // Keys may be in the keyring, which resolving never reads: fetching says when they are not.
    let d = p.resolve("d", &Overrides::default(), &no_env()).unwrap();
    assert!(matches!(&d.root, Root::Keyring(k) if k.profile == "d"));
    let Root::Keyring(k) = d.root else {
        unreachable!()
    };
    assert!(k
        .none_error()
        .to_string()
        .starts_with("profile 'd' has no credentials"));
    assert!(err("zzz")
        .starts_with("profile 'zzz' not found in /home/u/.aws/config or /home/u/.aws/credentials"));
    assert!(p
        .resolve("arn:aws:iam::123:role/", &Overrides::default(), &no_env())
        .is_err());
}

#[test]
fn syntax_errors_name_the_line() {
    let err = |t: &str| files::parse(t).unwrap_err();
    assert_eq!(err("[default]\nregion = x\n[profile dev\n").0, 3);
    assert_eq!(err("[default]\nthis is not a setting\n").0, 2);
    assert_eq!(err("region = x\n[default]\n").0, 1);
    let ok = files::parse(
        "# top\n[default]\n  ; indented comment\ns3 =\n  max_concurrent_requests = 4\nregion: x\n",
    )
    .unwrap();
    let s3 = &ok.sections[0]
        .1
        .iter()
        .find(|(k, _)| k == "s3")
        .unwrap()
        .1
        .value;
    assert!(!s3.contains("comment") && s3.contains("max_concurrent_requests"));
}

#[test]
fn half_written_keys_are_an_error() {
    let p = profiles("", "[k]\naws_access_key_id = AKIAX00000000001\n");
    let err = p
        .resolve("k", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert!(err.contains("aws_secret_access_key is missing"), "{err}");
    assert!(err.contains("/home/u/.aws/credentials"), "{err}");
}

#[test]
fn keys_come_from_one_file_as_botocore_reads_them() {
    let resolve = |config: &str, credentials: &str| {
        profiles(config, credentials)
            .resolve("k", &Overrides::default(), &no_env())
            .map(|r| keys(&r).credentials.clone())
            .map_err(|e| e.to_string())
    };
    // A key id in one file and its secret in the other: one line naming both files.
    let err = resolve(
        "[profile k]\naws_access_key_id = AKIAX00000000001\n",
        "[k]\naws_secret_access_key = s\n",
    )
    .unwrap_err();
    assert_eq!(
        err,
        "profile 'k' in /home/u/.aws/config: aws_access_key_id is set but aws_secret_access_key is missing (aws_secret_access_key is in /home/u/.aws/credentials, but botocore and aws-runas take both keys from one file)"
    );
    // The credentials file's key id without its secret: the config file's pair is not used.
    let err = resolve(
        "[profile k]\naws_access_key_id = AKIAC00000000001\naws_secret_access_key = c\n",
        "[k]\naws_access_key_id = AKIAX00000000001\n",
    )
    .unwrap_err();
    assert!(
        err.starts_with("profile 'k' in /home/u/.aws/credentials: aws_access_key_id is set"),
        "{err}"
    );
    // No key id in the credentials file: the config file's keys and token, whole.
    let creds = resolve(
        "[profile k]\naws_access_key_id = ASIAC00000000001\naws_secret_access_key = c\naws_session_token = ct\n",
        "[k]\naws_secret_access_key = x\naws_session_token = xt\n",
    )
    .unwrap();
    assert_eq!(
        (
            creds.secret_access_key.as_str(),
            creds.session_token.as_deref()
        ),
        ("c", Some("ct"))
    );
    // The token of the keys' file only, aws_security_token first.
    let creds = resolve(
        "[profile k]\naws_session_token = ct\n",
        "[k]\naws_access_key_id = ASIAX00000000001\naws_secret_access_key = x\n",
    )
    .unwrap();
    assert_eq!(creds.session_token, None);
    let creds = resolve(
        "",
        "[k]\naws_access_key_id = ASIAX00000000001\naws_secret_access_key = x\naws_session_token = a\naws_security_token = b\n",
    )
    .unwrap();
    assert_eq!(creds.session_token.as_deref(), Some("b"));
}

#[test]
fn profile_variables_set_to_nothing_are_refused() {
    let name = |pairs: &[(&str, &str)]| {
        let mut env = Environment::from([("X", "x")]);
        for (k, v) in pairs {
            env = env.with_var(k, v);
        }
        default_profile_name(&env).map_err(|e| e.to_string())
    };
    assert_eq!(name(&[]).as_deref(), Ok("default"));
    assert_eq!(name(&[("AWS_DEFAULT_PROFILE", "b")]).as_deref(), Ok("b"));
    assert_eq!(
        name(&[("AWS_PROFILE", "a"), ("AWS_DEFAULT_PROFILE", "b")]).as_deref(),
        Ok("a")
    );
    for pairs in [
        &[("AWS_PROFILE", "")][..],
        &[("AWS_PROFILE", ""), ("AWS_DEFAULT_PROFILE", "b")],
        &[("AWS_PROFILE", "a"), ("AWS_DEFAULT_PROFILE", "")],
    ] {
        let err = name(pairs).unwrap_err();
        assert!(err.contains("is set but empty"), "{err}");
    }
    // One that `runas use` set is aws-runas's own, not configuration.
    assert_eq!(
        name(&[
            ("AWS_PROFILE", ""),
            (crate::environment::OURS, "AWS_PROFILE")
        ])
        .as_deref(),
        Ok("default")
    );
}

#[test]
fn file_variables_expand_and_an_empty_one_is_no_file() {
    let env = |pairs: &[(&str, &str)]| {
        let mut env = Environment::from([("HOME", "/home/u")]);
        for (k, v) in pairs {
            env = env.with_var(k, v);
        }
        env
    };
    let at = |e: &Environment| config_file(e).path;
    assert_eq!(at(&env(&[])), Some("/home/u/.aws/config".into()));
    assert_eq!(
        at(&env(&[("D", "/d"), ("AWS_CONFIG_FILE", "$D/${D}/~/$NOPE")])),
        Some("/d//d/~/$NOPE".into())
    );
    assert_eq!(
        at(&env(&[("AWS_CONFIG_FILE", "~/c")])),
        Some("/home/u/c".into())
    );
    assert_eq!(at(&env(&[("AWS_CONFIG_FILE", "")])), None);
    assert_eq!(
        credentials_file(&env(&[("AWS_SHARED_CREDENTIALS_FILE", "")])),
        FileLocation {
            path: None,
            variable: Some("AWS_SHARED_CREDENTIALS_FILE")
        }
    );
    // Exec mode's own variable holds a path expanded already.
    assert_eq!(
        at(&env(&[
            (REAL_CONFIG_FILE, "/r/$D"),
            ("D", "/d"),
            ("AWS_CONFIG_FILE", "/c")
        ])),
        Some("/r/$D".into())
    );

    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().display().to_string();
    let err = Profiles::load(&env(&[("AWS_CONFIG_FILE", &named)]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!("cannot read {named} (named by AWS_CONFIG_FILE): it is a directory, not a file")
    );
    // Nothing there, or a path through a file: an empty file, as to botocore.
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    for missing in [dir.path().join("none"), file.join("config")] {
        let named = missing.display().to_string();
        assert!(Profiles::load(&env(&[("AWS_CONFIG_FILE", &named)])).is_ok());
    }
    let none = Profiles::load(&env(&[
        ("AWS_CONFIG_FILE", ""),
        ("AWS_SHARED_CREDENTIALS_FILE", ""),
    ]))
    .unwrap();
    let err = none
        .resolve("a", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "profile 'a' not found in any file (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are empty)"
    );
}

#[test]
fn endpoint_url_follows_the_aws_cli_precedence() {
    let p = profiles(
        "[profile e]\nendpoint_url = http://file\n",
        "[e]\naws_access_key_id = AKIAEEEEEEEEEEEE\naws_secret_access_key = B\n",
    );
    let get = |env: Environment| {
        p.resolve("e", &Overrides::default(), &env)
            .unwrap()
            .sts_endpoint
    };
    assert_eq!(get(no_env()).as_deref(), Some("http://file"));
    assert_eq!(
        get(Environment::from([("AWS_ENDPOINT_URL", "http://all")])).as_deref(),
        Some("http://all")
    );
    assert_eq!(
        get(Environment::from([
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_ENDPOINT_URL_STS", "http://sts")
        ]))
        .as_deref(),
        Some("http://sts")
    );
    assert_eq!(
        get(Environment::from([
            ("AWS_ENDPOINT_URL", "http://all"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        ])),
        None
    );
}

#[test]
fn values_are_taken_verbatim() {
    let p = profiles(
        "",
        "[w]\naws_access_key_id = AKIAWWWWWWWWWWWW\naws_secret_access_key = \"Q\"C:\\keys\\x\n",
    );
    let r = p.resolve("w", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(keys(&r).credentials.access_key_id, "AKIAWWWWWWWWWWWW");
    assert_eq!(keys(&r).credentials.secret_access_key, "\"Q\"C:\\keys\\x");
}

#[test]
fn a_source_profile_with_keys_starts_the_chain() {
    // `mid` has keys and a role: reached through source_profile, its keys sign the leaf's
    // AssumeRole and its own role is not assumed (botocore and the SDKs agree).
    let p = profiles(
        "[profile mid]\nrole_arn = arn:aws:iam::222222222222:role/mid\nsource_profile = user\n\
         [profile leaf]\nrole_arn = arn:aws:iam::333333333333:role/leaf\nsource_profile = mid\n",
        &format!("{CREDS}[mid]\naws_access_key_id = AKIAMID000000001\naws_secret_access_key = m\n"),
    );
    let r = p.resolve("leaf", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(keys(&r).origin, SourceOrigin::Profile("mid".into()));
    assert_eq!(keys(&r).credentials.access_key_id, "AKIAMID000000001");
    let arns: Vec<_> = r.hops.iter().map(|h| h.role_arn.as_str()).collect();
    assert_eq!(arns, ["arn:aws:iam::333333333333:role/leaf"]);
    // Asked for itself, `mid` still assumes its role.
    let r = p.resolve("mid", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(r.hops.len(), 1);
    assert_eq!(keys(&r).credentials.access_key_id, "AKIAUSER00000001");
}

#[test]
fn default_and_profile_default_the_later_wins_whole() {
    let p = profiles(
        "[profile default]\nregion = b\nmfa_serial = arn:aws:iam::111111111111:mfa/u\n[default]\nregion = a\n",
        CREDS,
    );
    let r = p
        .resolve("default", &Overrides::default(), &no_env())
        .unwrap();
    assert_eq!(r.region.as_deref(), Some("a"));
    assert_eq!(r.mfa_serial, None, "sections are not merged");
}

#[test]
fn credentials_file_values_win_key_by_key() {
    let p = profiles(
        "[profile x]\nregion = eu-west-1\nrole_session_name = fromconfig\nrole_arn = arn:aws:iam::111111111111:role/c\nsource_profile = user\n",
        &format!("{CREDS}[x]\nrole_arn = arn:aws:iam::111111111111:role/k\n"),
    );
    let r = p.resolve("x", &Overrides::default(), &no_env()).unwrap();
    assert_eq!(r.hops[0].role_arn, "arn:aws:iam::111111111111:role/k");
    assert_eq!(r.hops[0].session_name.as_deref(), Some("fromconfig"));
    assert_eq!(r.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn bad_keys_are_refused_where_read_without_showing_them() {
    let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
    for (creds, what) in [
        (format!("[k]\naws_access_key_id = AKIA\u{1}BCDEFGHIJKLMN\naws_secret_access_key = {secret}\n"), "access key id"),
        (format!("[k]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n  {secret}\naws_secret_access_key = {secret}\n"), "access key id"),
        (format!("[k]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret} x\n"), "secret access key"),
        (format!("[k]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {secret}\naws_session_token = {secret}\u{1b}[2J\n"), "session token"),
    ] {
        let err = profiles("", &creds)
            .resolve("k", &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("not a valid {what}")), "{err}");
        assert!(err.starts_with("profile 'k' in /home/u/.aws/credentials, line "), "{err}");
        assert!(!err.contains(secret) && !err.contains("AKIAIOSFODNN7EXAMPLE"), "{err}");
    }
    let env = Environment::from([
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "has\nnewline"),
    ]);
    let err = profiles("", "")
        .resolve(
            "arn:aws:iam::123456789012:role/r",
            &Overrides::default(),
            &env,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("environment variable AWS_SECRET_ACCESS_KEY is not a valid"),
        "{err}"
    );
    assert!(!err.contains("newline"), "{err}");
}

#[test]
fn messages_never_hold_credentials_file_values_and_cut_the_rest() {
    let secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
    let p = profiles(
        &format!(
            "[profile long]\nrole_arn = arn:{}\u{1b}[31m\nsource_profile = user\n",
            "x".repeat(1_000_000)
        ),
        &format!(
            "{CREDS}[c]\nrole_arn = {secret}\nsource_profile = user\n\
             [d]\nrole_arn = arn:aws:iam::123456789012:role/d\nsource_profile = {secret}\n\
             [e]\nrole_arn = arn:aws:iam::123456789012:role/e\nsource_profile = user\nduration_seconds = {secret}\n"
        ),
    );
    for name in ["c", "d", "e"] {
        let err = p
            .resolve(name, &Overrides::default(), &no_env())
            .unwrap_err()
            .to_string();
        assert!(!err.contains(secret), "{err}");
        assert!(err.contains("/home/u/.aws/credentials"), "{err}");
    }
    let err = p
        .resolve("long", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert!(err.len() < 400 && !err.contains('\u{1b}'), "{err}");
}

#[test]
fn long_cycles_are_shortened() {
    let n = 5000;
    let config: String = (0..n)
        .map(|i| {
            format!(
                "[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = p{}\n",
                (i + 1) % n
            )
        })
        .collect();
    let err = profiles(&config, "")
        .resolve("p0", &Overrides::default(), &no_env())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "source_profile cycle: p0 -> p1 -> p2 -> p3 -> ... (4996 more) -> p0"
    );
}

/// Generated input: INI-shaped text and environments, to check that nothing panics and that every
/// error is one printable line.
mod generated {
    use proptest::prelude::*;

    use super::*;

    fn piece() -> impl Strategy<Value = String> {
        const FIXED: &[&str] = &[
            "[",
            "]",
            "=",
            ":",
            "#",
            ";",
            " ",
            "  ",
            "\t",
            "\n",
            "\n",
            "\n",
            "\r\n",
            "\r",
            "profile ",
            "default",
            "DEFAULT",
            "role_arn",
            "source_profile",
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "region",
            "duration_seconds",
            "credentials_duration",
            "credential_source",
            "Environment",
            "mfa_serial",
            "external_id",
            "role_session_name",
            "endpoint_url",
            "refresh_window",
            "arn:aws:iam::123456789012:role/r",
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            "1h",
            "900",
            "a",
            "b",
            "\u{0}",
            "\u{1b}",
            "\"",
            "'",
            "\\",
            "\u{1c}",
            "é",
        ];
        prop_oneof![
            4 => proptest::sample::select(FIXED).prop_map(str::to_owned),
            1 => "[a-c]{1,3}",
            1 => any::<char>().prop_map(String::from),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..120).prop_map(|v| v.concat())
    }

    /// Text that mostly parses, so the resolver sees real chains: headers, settings of the keys
    /// it reads, continuation lines and comments, with generated values.
    fn structured() -> impl Strategy<Value = String> {
        const HEADERS: &[&str] = &[
            "default",
            "profile default",
            "profile a",
            "profile b",
            "a",
            "b",
            "DEFAULT",
        ];
        const KEYS: &[&str] = &[
            "role_arn",
            "source_profile",
            "aws_session_token",
            "region",
            "duration_seconds",
            "credentials_duration",
            "credential_source",
            "mfa_serial",
            "external_id",
            "role_session_name",
            "endpoint_url",
            "refresh_window",
            "session_token_duration",
        ];
        const VALUES: &[&str] = &[
            "a",
            "b",
            "default",
            "arn:aws:iam::123456789012:role/r",
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            "1h",
            "900",
            "eu-west-1",
            "Environment",
            "x y",
            "",
        ];
        // A value: mostly plausible, sometimes a generated piece kept on its line.
        let value = prop_oneof![
            3 => proptest::sample::select(VALUES).prop_map(str::to_owned),
            1 => piece().prop_map(|p| p.replace(['\n', '\r'], "")),
        ];
        // Sections and keys unique (strict parsing refuses repeats), each section's keys
        // indented alike or not, with a key pair or not; most values plausible for their key.
        let section = (
            prop::collection::btree_map(
                proptest::sample::select(KEYS),
                (value, proptest::bool::weighted(0.7)),
                0..8,
            ),
            proptest::sample::select(&["", "  ", "\t"][..]),
            any::<bool>(),
            proptest::bool::weighted(0.6),
        );
        prop::collection::btree_map(proptest::sample::select(HEADERS), section, 1..5).prop_map(
            |sections| {
                let mut text = String::new();
                for (header, (keys, indent, comment, key_pair)) in sections {
                    text.push_str(&format!("[{header}]\n"));
                    if key_pair {
                        text.push_str(&format!(
                            "{indent}aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
                             {indent}aws_secret_access_key = secret\n"
                        ));
                    }
                    for (k, (v, plausible)) in keys {
                        let v = if plausible { plausible_value(k) } else { &v };
                        text.push_str(&format!("{indent}{k} = {v}\n"));
                        if comment {
                            text.push_str("# comment\n");
                        }
                    }
                }
                text
            },
        )
    }

    fn plausible_value(key: &str) -> &'static str {
        match key {
            "role_arn" => "arn:aws:iam::123456789012:role/r",
            "source_profile" => "a",
            "credential_source" => "Environment",
            "region" => "eu-west-1",
            "mfa_serial" => "arn:aws:iam::123456789012:mfa/u",
            "endpoint_url" => "http://127.0.0.1:1",
            "role_session_name" => "me",
            "external_id" => "ext",
            "aws_session_token" => "token",
            _ => "900",
        }
    }

    fn one_line(message: &str) -> bool {
        !message.is_empty() && !message.contains(|c: char| c.is_control())
    }

    fn environment() -> impl Strategy<Value = Vec<(&'static str, String)>> {
        const NAMES: &[&str] = &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "RUNAS_REFRESH_WINDOW",
            "AWS_ENDPOINT_URL",
        ];
        prop::collection::vec((proptest::sample::select(NAMES), text()), 0..4)
    }

    fn env_of(pairs: &[(&'static str, String)]) -> Environment {
        let at = |i: usize| {
            pairs
                .get(i)
                .map_or(("UNUSED", ""), |(k, v)| (*k, v.as_str()))
        };
        Environment::from([at(0), at(1), at(2), at(3)])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn the_reader_never_panics_and_errors_are_one_line(t in text()) {
            match files::parse(&t) {
                Ok(_) => {}
                Err((line, message)) => {
                    prop_assert!(one_line(&message), "{message:?}");
                    prop_assert!(line >= 1 && line <= t.split(['\n', '\r']).count(), "{line}");
                }
            }
        }

        #[test]
        fn the_resolver_never_panics_and_errors_are_one_line(
            config in prop_oneof![1 => text(), 4 => structured()],
            credentials in prop_oneof![1 => text(), 4 => structured()],
            env in environment(),
            target in prop_oneof![
                Just("default".to_owned()), Just("a".to_owned()), Just("b".to_owned()),
                Just("arn:aws:iam::123456789012:role/r".to_owned()), "\\PC{0,12}",
            ],
            role_duration in proptest::option::of(0u64..100_000),
        ) {
            let (Ok(c), Ok(k)) = (files::parse(&config), files::parse(&credentials)) else {
                return Ok(());
            };
            let p = Profiles::from_files(Some(&c), Path::new("c"), Some(&k), Path::new("k"));
            let overrides = Overrides {
                role_duration: role_duration.map(Duration::from_secs),
                ..Default::default()
            };
            if let Err(e) = p.resolve(&target, &overrides, &env_of(&env)) {
                let message = e.to_string();
                prop_assert!(one_line(&message), "{message:?}");
                prop_assert!(message.chars().count() < 1000, "{message:?}");
            }
        }

        #[test]
        fn durations_never_panic_and_errors_are_one_line(t in prop_oneof![text(), "[0-9.hmsuµn+-]{0,20}"]) {
            if let Err(e) = crate::duration::parse(&t) {
                let message = e.to_string();
                prop_assert!(one_line(&message), "{message:?}");
            }
        }
    }
}
