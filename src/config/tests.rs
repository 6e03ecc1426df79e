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
    assert_eq!(r.source.origin, SourceOrigin::Profile("user".into()));
    assert_eq!(r.source.credentials.access_key_id, "AKIAUSER00000001");
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
    assert_eq!(r.source.credentials.access_key_id, "AKIADEV000000001");
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
    assert_eq!(r.source.credentials.access_key_id, "AKIAME0000000001");
    assert_eq!(r.hops.len(), 1);
}

#[test]
fn role_arn_as_profile_takes_env_keys_then_default() {
    let p = profiles("[default]\nregion = eu-north-1\n", CREDS);
    let arn = "arn:aws:iam::123456789012:role/direct";
    let r = p.resolve(arn, &Overrides::default(), &no_env()).unwrap();
    assert_eq!(r.source.credentials.access_key_id, "AKIADEFAULT00001");
    assert_eq!(r.hops[0].role_arn, arn);
    assert_eq!(r.region.as_deref(), Some("eu-north-1"));
    let env = Environment::from([
        ("AWS_ACCESS_KEY_ID", "AKIAENV000000001"),
        ("AWS_SECRET_ACCESS_KEY", "e"),
    ]);
    let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
    assert_eq!(r.source.origin, SourceOrigin::Environment);
    // Keys that aws-runas itself exported are role credentials, never a source.
    let env = Environment::from([
        ("AWS_ACCESS_KEY_ID", "ASIAOURS00000001"),
        ("AWS_SECRET_ACCESS_KEY", "e"),
        ("AWSRUNAS_PROFILE", "other"),
    ]);
    let r = p.resolve(arn, &Overrides::default(), &env).unwrap();
    assert_eq!(r.source.credentials.access_key_id, "AKIADEFAULT00001");
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
    assert!(err("d").starts_with("profile 'd' has no credentials"));
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
    assert_eq!(r.source.credentials.access_key_id, "AKIAWWWWWWWWWWWW");
    assert_eq!(r.source.credentials.secret_access_key, "\"Q\"C:\\keys\\x");
}
