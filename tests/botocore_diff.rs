//! Differential test: the same config and credentials files, resolved by the aws-runas binary
//! (against moto, its requests recorded) and by botocore itself (tests/botocore_resolve.py, one
//! Python process for every case). Compared: success or failure, the keys that sign the first
//! call, each AssumeRole's role ARN, external id, configured session name and duration, and the
//! region; keys handed out as they are (temporary ones) are compared whole. Fixed cases pin the
//! rules botocore is known for, the file variables (`$VAR`, `~`, empty, a directory), keys split
//! across the files and an empty `AWS_PROFILE` among them; seeded random ones (comments,
//! continuation lines, indentation, tabs, CRLF and CR, key case, duplicates, `[default]` against
//! `[profile default]`, credentials against config, split keys, environment, file variables,
//! chains) look for the rest.
//! `DIFF_SEED` and `DIFF_CASES` choose other random cases, `DIFF_RUNAS_BIN` another binary.
//!
//! aws-runas's deliberate differences (README) are allowed where they apply, and counted.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use common::{run, Moto, LIMIT};
use serde_json::{json, Value};

const ENV_KEY: &str = "AKIAENVIRONMENT00001";
/// A case's value for a variable that is not to be set at all.
const UNSET: &str = "{unset}";

#[derive(Clone, Debug)]
struct Case {
    config: String,
    credentials: String,
    /// `None`: no profile named, so `AWS_PROFILE` and its kin choose.
    target: Option<String>,
    /// `{dir}` in a value stands for the case's directory, which is also its HOME; [`UNSET`]
    /// removes the variable.
    env: Vec<(String, String)>,
    /// More files under the case's directory, as (relative path, text).
    files: Vec<(String, String)>,
}

impl Case {
    fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    fn untargeted(mut self) -> Self {
        self.target = None;
        self
    }

    fn file(mut self, path: &str, text: &str) -> Self {
        self.files.push((path.into(), text.into()));
        self
    }

    /// The environment both sides get, past the defaults, `{dir}` filled in.
    fn env_in(&self, dir: &Path) -> Vec<(String, String)> {
        let dir = dir.to_str().unwrap();
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{dir}", dir)))
            .collect()
    }
}

/// What one side resolved, in comparable form.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Failed(String),
    Resolved {
        region: Option<String>,
        /// The key that signs the first STS call (the root of the chain), or the key handed out
        /// when no call is made.
        root: String,
        hops: Vec<Hop>,
        /// Temporary keys handed out as they are, with no STS call: their secret and token.
        handed: Option<(String, Option<String>)>,
    },
}

#[derive(Clone, Debug, PartialEq)]
struct Hop {
    /// The root key for the first hop; later hops are signed by the previous hop's keys.
    signer: String,
    role_arn: String,
    external_id: Option<String>,
    session_name: Option<String>,
    duration: u64,
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &["default", "a", "b", "c"];

fn key_id(prefix: &str, name: &str) -> String {
    format!("{prefix}{:0>12}", name.to_uppercase())
}

/// One profile's settings before they are written out, in the order chosen.
struct Plan {
    config: Vec<(String, String)>,
    credentials: Vec<(String, String)>,
}

fn plan_profile(rng: &mut SplitMix, name: &str) -> Plan {
    let mut config = Vec::new();
    let mut credentials = Vec::new();
    if rng.chance(60) {
        let arn = format!("arn:aws:iam::123456789012:role/R{name}");
        config.push(("role_arn".into(), arn));
        if rng.chance(12) {
            config.push(("credential_source".into(), "Environment".into()));
        } else {
            config.push(("source_profile".into(), rng.pick(NAMES).to_string()));
        }
        if rng.chance(10) {
            let arn = format!("arn:aws:iam::123456789012:role/K{name}");
            credentials.push(("role_arn".into(), arn));
        }
    }
    let in_credentials = rng.chance(55);
    if in_credentials {
        credentials.push(("aws_access_key_id".into(), key_id("AKIACRED", name)));
        credentials.push(("aws_secret_access_key".into(), format!("secret/{name}+")));
    }
    // Keys in the config file too, now and then beside the credentials file's (which win).
    if rng.chance(if in_credentials { 10 } else { 20 }) {
        config.push(("aws_access_key_id".into(), key_id("AKIACONF", name)));
        config.push(("aws_secret_access_key".into(), format!("conf/{name}")));
    }
    // Now and then half a pair in either file: botocore never pairs keys across the files.
    if rng.chance(6) {
        let half = if rng.chance(50) {
            ("aws_access_key_id".to_owned(), key_id("AKIAHALF", name))
        } else {
            ("aws_secret_access_key".to_owned(), format!("half/{name}"))
        };
        if rng.chance(50) {
            credentials.retain(|(k, _)| *k != half.0);
            credentials.push(half);
        } else {
            config.retain(|(k, _)| *k != half.0);
            config.push(half);
        }
    }
    if rng.chance(40) {
        let region = rng
            .pick(&["eu-west-1", "us-east-2", "ap-south-1"])
            .to_string();
        config.push(("region".into(), region));
    }
    if rng.chance(20) {
        config.push(("external_id".into(), format!("ext-{name}")));
    }
    if rng.chance(20) {
        config.push(("role_session_name".into(), format!("s-{name}")));
    }
    if rng.chance(20) {
        let d = rng.pick(&["900", "1800", "3600", "7200"]).to_string();
        config.push(("duration_seconds".into(), d));
    }
    let n = config.len();
    for i in (1..n).rev() {
        config.swap(i, rng.below(i + 1));
    }
    Plan {
        config,
        credentials,
    }
}

fn config_header(rng: &mut SplitMix, name: &str) -> String {
    let header = if name == "default" {
        rng.pick(&["[default]", "[default]", "[profile default]"])
            .to_string()
    } else {
        match rng.below(100) {
            0..=69 => format!("[profile {name}]"),
            70..=77 => format!("[profile \"{name}\"]"),
            78..=84 => format!("[profile  {name}]"),
            85..=89 => format!("[{name}]"),
            90..=93 => format!("[ profile {name}]"),
            94..=96 => format!("[profile {name} x]"),
            _ => format!("[profile{name} {name}]"),
        }
    };
    let comment = match rng.below(10) {
        0 => " # team account",
        1 => "  ; note [x]",
        _ => "",
    };
    format!("{header}{comment}")
}

fn key_name(rng: &mut SplitMix, key: &str) -> String {
    match rng.below(14) {
        0 => key.to_uppercase(),
        1 => {
            let mut c = key.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        _ => key.to_owned(),
    }
}

/// Writes a section's settings with generated layout: delimiters, indentation, comments,
/// blank lines, and now and then a key indented under the one before it (a continuation line).
fn write_section(
    rng: &mut SplitMix,
    out: &mut Vec<String>,
    header: String,
    keys: &[(String, String)],
) {
    out.push(header);
    let base = rng.pick(&["", "", "", "  ", "\t"]).to_string();
    for (k, v) in keys {
        if rng.chance(8) {
            out.push(
                rng.pick(&["# note", "; note", "  # indented note", ""])
                    .to_string(),
            );
        }
        let indent = if rng.chance(4) {
            format!("{base}    ")
        } else {
            base.clone()
        };
        let delimiter = rng.pick(&[" = ", " = ", "=", ": ", " =\t", "\t= "]);
        let trailing = if rng.chance(10) { " " } else { "" };
        out.push(format!(
            "{indent}{}{delimiter}{v}{trailing}",
            key_name(rng, k)
        ));
    }
    if rng.chance(3) {
        // A duplicate key, differing only in case: strict configparser refuses the file.
        if let Some((k, v)) = keys.first() {
            out.push(format!("{base}{} = {v}", k.to_uppercase()));
        }
    }
    for _ in 0..rng.below(3) {
        out.push(rng.pick(&["", "  ", "# between"]).to_string());
    }
}

fn line_ending(rng: &mut SplitMix) -> &'static str {
    match rng.below(10) {
        0..=6 => "\n",
        7 | 8 => "\r\n",
        _ => "\r",
    }
}

fn random_case(rng: &mut SplitMix) -> Case {
    let mut config_sections = Vec::new();
    let mut credential_sections = Vec::new();
    for name in NAMES {
        let plan = plan_profile(rng, name);
        if !plan.config.is_empty() {
            let header = config_header(rng, name);
            config_sections.push((header, plan.config.clone()));
            if *name == "default" && rng.chance(15) {
                // Both spellings of the default profile: the later one wins whole.
                let other = vec![("region".to_owned(), "sa-east-1".to_owned())];
                config_sections.push(("[profile default]".into(), other));
            }
        }
        if !plan.credentials.is_empty() {
            credential_sections.push((format!("[{name}]"), plan.credentials));
        }
    }
    if rng.chance(5) {
        config_sections.push((
            "[DEFAULT]".into(),
            vec![("region".into(), "ca-central-1".into())],
        ));
    }
    if rng.chance(3) && !config_sections.is_empty() {
        let dup = config_sections[rng.below(config_sections.len())].clone();
        config_sections.push(dup);
    }
    for sections in [&mut config_sections, &mut credential_sections] {
        let n = sections.len();
        for i in (1..n).rev() {
            sections.swap(i, rng.below(i + 1));
        }
    }
    let render = |rng: &mut SplitMix, sections: Vec<(String, Vec<(String, String)>)>| {
        let mut lines = Vec::new();
        if rng.chance(10) {
            lines.push("# aws settings".to_owned());
        }
        for (header, keys) in sections {
            write_section(rng, &mut lines, header, &keys);
        }
        let ending = line_ending(rng);
        let mut text = lines.join(ending);
        text.push_str(ending);
        text
    };
    let config = render(rng, config_sections);
    let credentials = render(rng, credential_sections);
    let mut env = Vec::new();
    if rng.chance(20) {
        env.push(("AWS_DEFAULT_REGION".to_owned(), "eu-central-1".to_owned()));
    }
    if rng.chance(5) {
        env.push(("AWS_REGION".to_owned(), "us-west-2".to_owned()));
    }
    if rng.chance(25) {
        env.push(("AWS_ACCESS_KEY_ID".to_owned(), ENV_KEY.to_owned()));
        env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "env/secret".to_owned()));
    }
    // The same files, named the ways botocore expands.
    if rng.chance(10) {
        let named = rng.pick(&["~/config", "$HOME/config", "${HOME}/config", "~/./config"]);
        env.push(("AWS_CONFIG_FILE".to_owned(), named.to_string()));
    }
    if rng.chance(10) {
        let named = rng.pick(&["~/credentials", "$HOME/credentials", "{dir}/credentials"]);
        env.push(("AWS_SHARED_CREDENTIALS_FILE".to_owned(), named.to_string()));
    }
    let target = if rng.chance(3) {
        "zzz".to_owned()
    } else {
        rng.pick(NAMES).to_string()
    };
    Case {
        config,
        credentials,
        target: Some(target),
        env,
        files: vec![],
    }
}

fn fixed(config: &str, credentials: &str, target: &str) -> Case {
    Case {
        config: config.into(),
        credentials: credentials.into(),
        target: Some(target.into()),
        env: vec![],
        files: vec![],
    }
}

const KEYS_A: &str = "[a]\naws_access_key_id = AKIACRED0000000000A\naws_secret_access_key = sa\n";
const ROLE: &str = "role_arn = arn:aws:iam::123456789012:role/Rx\n";

/// The rules the issue found, each one case.
fn fixed_cases() -> Vec<Case> {
    vec![
        // A comment after a section header.
        fixed(&format!("[profile x] # team account\n{ROLE}source_profile = a\nregion = eu-west-1\n"), KEYS_A, "x"),
        // Key names in any case.
        fixed("[profile x]\nROLE_ARN = arn:aws:iam::123456789012:role/Rx\nSource_Profile = a\nRegion = eu-west-1\n", "[a]\nAWS_ACCESS_KEY_ID = AKIACRED0000000000A\nAws_Secret_Access_Key = sa\n", "x"),
        // Keys indented alike are keys; one indented deeper continues the value above.
        fixed(&format!("[profile x]\n  {ROLE}  source_profile = a\n  region = eu-west-1\n"), KEYS_A, "x"),
        fixed(&format!("[profile x]\nsource_profile = a\n{ROLE}  region = eu-west-1\n"), KEYS_A, "x"),
        // [default] and [profile default]: the later wins whole.
        fixed("[default]\nregion = eu-west-1\nexternal_id = ext-1\n[profile default]\nregion = us-east-2\n", "[default]\naws_access_key_id = AKIACRED000DEFAULT\naws_secret_access_key = s\n", "default"),
        fixed("[profile default]\nregion = us-east-2\n[default]\nregion = eu-west-1\n", "[default]\naws_access_key_id = AKIACRED000DEFAULT\naws_secret_access_key = s\n", "default"),
        // Duplicate sections and keys.
        fixed("[profile a]\nregion = eu-west-1\n[profile a]\nregion = us-east-2\n", KEYS_A, "a"),
        fixed("[profile a]\nregion = eu-west-1\nREGION = us-east-2\n", KEYS_A, "a"),
        fixed("", &format!("{KEYS_A}[a]\nregion = x\n"), "a"),
        // The credentials file wins key by key.
        fixed(&format!("[profile x]\n{ROLE}source_profile = a\nexternal_id = ext-c\n"), &format!("{KEYS_A}[x]\nrole_arn = arn:aws:iam::123456789012:role/Kx\n"), "x"),
        // A middle profile with keys and a role starts the chain.
        fixed(&format!("[profile x]\n{ROLE}source_profile = m\n[profile m]\nrole_arn = arn:aws:iam::123456789012:role/Rm\nsource_profile = a\n"), &format!("{KEYS_A}[m]\naws_access_key_id = AKIACRED0000000000M\naws_secret_access_key = sm\n"), "x"),
        // A profile that names itself as its source.
        fixed(&format!("[profile a]\n{ROLE}source_profile = a\n"), KEYS_A, "a"),
        // CR-only line ends, tabs, [DEFAULT].
        fixed("[DEFAULT]\rregion = ca-central-1\r[profile x]\rrole_arn\t=\tarn:aws:iam::123456789012:role/Rx\rsource_profile = a\r", KEYS_A, "x"),
        // Quoted and odd headers.
        fixed(&format!("[profile \"x\"]\n{ROLE}source_profile = a\n"), KEYS_A, "x"),
        fixed(&format!("[profilex x]\n{ROLE}source_profile = a\n"), KEYS_A, "x"),
        fixed(&format!("[ profile x]\n{ROLE}source_profile = a\n"), KEYS_A, "x"),
        // Chains, cycles, missing sources.
        fixed(&format!("[profile x]\n{ROLE}source_profile = y\nduration_seconds = 900\n[profile y]\nrole_arn = arn:aws:iam::123456789012:role/Ry\nsource_profile = a\nrole_session_name = s-y\nduration_seconds = 1800\n"), KEYS_A, "x"),
        fixed(&format!("[profile x]\n{ROLE}source_profile = y\n[profile y]\nrole_arn = arn:aws:iam::123456789012:role/Ry\nsource_profile = x\n"), KEYS_A, "x"),
        fixed(&format!("[profile x]\n{ROLE}source_profile = nowhere\n"), KEYS_A, "x"),
        // A malformed line.
        fixed("[profile a]\nregion eu-west-1\n", KEYS_A, "a"),
    ]
}

const CONF_KEYS_A: &str =
    "[profile a]\naws_access_key_id = AKIACONF0000000000A\naws_secret_access_key = ca\n";

/// Issue 21's last differences, each one case: how the file variables are read, keys split
/// across the two files, and the profile variables set to nothing.
fn variable_and_split_key_cases() -> Vec<Case> {
    let via_a = format!("[profile x]\n{ROLE}source_profile = a\nregion = eu-west-1\n");
    // What the default files say, to tell them from the ones the variables name.
    let home_keys = "[a]\naws_access_key_id = AKIAHOME0000000000A\naws_secret_access_key = h\n";
    let home_config = "[profile a]\nregion = ap-south-1\n";
    vec![
        // `$VAR`, `${VAR}` and `~` in the file variables, as Python expands them.
        fixed("", KEYS_A, "a")
            .env("D", "{dir}")
            .env("AWS_SHARED_CREDENTIALS_FILE", "$D/credentials"),
        fixed(&via_a, KEYS_A, "x")
            .env("D", "{dir}")
            .env("AWS_CONFIG_FILE", "${D}/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "~/credentials"),
        // Variables first, then `~`: a value may bring the `~`.
        fixed(&via_a, KEYS_A, "x")
            .env("T", "~")
            .env("AWS_CONFIG_FILE", "$T/config"),
        // A variable set to nothing is set; one that is not set stays as written (no such file).
        fixed(&via_a, KEYS_A, "x")
            .env("EMPTY", "")
            .env("AWS_CONFIG_FILE", "{dir}$EMPTY/config"),
        fixed(&via_a, KEYS_A, "x").env("AWS_CONFIG_FILE", "{dir}/$NO_SUCH_VARIABLE/config"),
        fixed(&via_a, KEYS_A, "x").env("AWS_SHARED_CREDENTIALS_FILE", "${NO_SUCH_VARIABLE}"),
        // `~USER` of nobody stays as written.
        fixed(&via_a, KEYS_A, "x").env("AWS_CONFIG_FILE", "~no-such-user-here/config"),
        // Set to nothing: no file at all, never the default one.
        fixed(CONF_KEYS_A, KEYS_A, "a")
            .env("AWS_SHARED_CREDENTIALS_FILE", "")
            .file(".aws/credentials", home_keys),
        fixed("", KEYS_A, "a")
            .env("AWS_CONFIG_FILE", "")
            .file(".aws/config", home_config),
        fixed("", KEYS_A, "a")
            .env("AWS_CONFIG_FILE", "")
            .env("AWS_SHARED_CREDENTIALS_FILE", "")
            .file(".aws/credentials", home_keys),
        // Unset: the default files under HOME.
        fixed("", "", "a")
            .env("AWS_CONFIG_FILE", UNSET)
            .env("AWS_SHARED_CREDENTIALS_FILE", UNSET)
            .file(".aws/config", home_config)
            .file(".aws/credentials", home_keys),
        // A directory where a file should be (aws-runas refuses it: README).
        fixed(CONF_KEYS_A, KEYS_A, "a").env("AWS_SHARED_CREDENTIALS_FILE", "{dir}"),
        fixed("", KEYS_A, "a").env("AWS_CONFIG_FILE", "$HOME"),
        // A path through a file is no file.
        fixed("", KEYS_A, "a").env("AWS_CONFIG_FILE", "{dir}/credentials/config"),
        // A key id in one file, its secret in the other: never a pair.
        fixed(
            "[profile a]\naws_access_key_id = AKIACONF0000000000A\n",
            "[a]\naws_secret_access_key = sa\n",
            "a",
        ),
        fixed(
            "[profile a]\naws_secret_access_key = ca\n",
            "[a]\naws_access_key_id = AKIACRED0000000000A\n",
            "a",
        ),
        fixed(
            &format!("{via_a}[profile a]\naws_access_key_id = AKIACONF0000000000A\n"),
            "[a]\naws_secret_access_key = sa\n",
            "x",
        ),
        // The credentials file's key id without its secret: the config file's pair is not used.
        fixed(CONF_KEYS_A, "[a]\naws_access_key_id = AKIACRED0000000000A\n", "a"),
        fixed(
            &format!("{via_a}{CONF_KEYS_A}"),
            "[a]\naws_access_key_id = AKIACRED0000000000A\n",
            "x",
        ),
        // Without a key id there, the config file's keys, token and all: a lone secret in the
        // credentials file does not replace theirs.
        fixed(
            "[profile a]\naws_access_key_id = ASIACONF0000000000A\naws_secret_access_key = conf-secret\naws_session_token = conf-token\n",
            "[a]\naws_secret_access_key = cred-secret\naws_session_token = cred-token\n",
            "a",
        ),
        // The token comes from the keys' file, aws_security_token first.
        fixed(
            "",
            "[a]\naws_access_key_id = ASIACRED0000000000A\naws_secret_access_key = sa\naws_session_token = session-token\naws_security_token = security-token\n",
            "a",
        ),
        fixed(
            "[profile a]\naws_session_token = conf-token\n",
            "[a]\naws_access_key_id = ASIACRED0000000000A\naws_secret_access_key = sa\n",
            "a",
        ),
        // The profile variables: set to nothing is refused, never read as `default`.
        fixed("", &format!("{KEYS_A}[default]\naws_access_key_id = AKIACRED000DEFAULT\naws_secret_access_key = s\n"), "a")
            .untargeted()
            .env("AWS_PROFILE", ""),
        fixed("", KEYS_A, "a")
            .untargeted()
            .env("AWS_PROFILE", "a")
            .env("AWS_DEFAULT_PROFILE", ""),
        fixed("", KEYS_A, "a")
            .untargeted()
            .env("AWS_PROFILE", "")
            .env("AWS_DEFAULT_PROFILE", "a"),
        fixed("", KEYS_A, "a").untargeted().env("AWS_PROFILE", "a"),
        fixed("", KEYS_A, "a").untargeted().env("AWS_DEFAULT_PROFILE", "a"),
        fixed("", "[default]\naws_access_key_id = AKIACRED000DEFAULT\naws_secret_access_key = s\n", "a").untargeted(),
    ]
}

/// botocore's answers for every case, from one Python process.
fn botocore(cases: &[Case], dirs: &[tempfile::TempDir]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .zip(dirs)
        .map(|(c, d)| {
            json!({
                "config": d.path().join("config"),
                "credentials": d.path().join("credentials"),
                "home": d.path(),
                "target": c.target,
                "env": c.env_in(d.path()).into_iter().collect::<BTreeMap<_, _>>(),
            })
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/botocore_resolve.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (the venv's, with botocore) on PATH");
    let mut stdin = child.stdin.take().unwrap();
    let body = serde_json::to_vec(&input).unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&body).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "botocore harness failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn botocore_outcome(v: &Value) -> Outcome {
    if let Some(e) = v["error"].as_str() {
        return Outcome::Failed(e.to_owned());
    }
    let hops: Vec<Hop> = v["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hop {
            signer: h["signer"].as_str().unwrap().to_owned(),
            role_arn: h["role_arn"].as_str().unwrap().to_owned(),
            external_id: h["external_id"].as_str().map(str::to_owned),
            session_name: h["session_name"].as_str().map(str::to_owned),
            duration: h["duration"].as_u64().unwrap(),
        })
        .collect();
    Outcome::Resolved {
        region: v["region"].as_str().map(str::to_owned),
        root: hops.first().map_or_else(
            || v["key"].as_str().unwrap().to_owned(),
            |h| h.signer.clone(),
        ),
        hops: normalize(hops),
        handed: v["handed"].as_array().map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().map(str::to_owned),
            )
        }),
    }
}

/// Later hops are signed by whatever the previous hop returned; only that they are chained is
/// compared.
fn normalize(mut hops: Vec<Hop>) -> Vec<Hop> {
    for h in hops.iter_mut().skip(1) {
        if h.signer.starts_with("ASIA") {
            h.signer = "(previous hop)".into();
        }
    }
    hops
}

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.replace('+', " ");
            let v = percent_encoding::percent_decode_str(&v).decode_utf8_lossy();
            (k.to_owned(), v.into_owned())
        })
        .collect()
}

/// moto's recording since the last reset: each STS request's form and the key id that signed it.
fn recorded(moto: &Moto) -> Vec<(BTreeMap<String, String>, String)> {
    let text = ureq::get(&format!(
        "{}/moto-api/recorder/download-recording",
        moto.url()
    ))
    .call()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap();
    text.lines()
        .filter_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            let raw = v["body"].as_str().unwrap_or_default();
            let body = if v["body_encoded"].as_bool().unwrap_or(false) {
                String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).ok()?)
                    .ok()?
            } else {
                raw.to_owned()
            };
            let auth = v["headers"]["Authorization"].as_str().unwrap_or_default();
            let key = auth
                .split("Credential=")
                .nth(1)?
                .split('/')
                .next()?
                .to_owned();
            Some((form(&body), key))
        })
        .filter(|(f, _)| f.contains_key("Action"))
        .collect()
}

fn runas_outcome(case: &Case, dir: &Path, moto: &Moto) -> (Outcome, String) {
    moto.start_recording();
    // DIFF_RUNAS_BIN: another build to compare (an older one, to measure what changed).
    let bin =
        std::env::var("DIFF_RUNAS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_aws-runas").into());
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUNAS_CACHE_DIR", dir.join("cache"))
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .stdin(Stdio::null())
        .args(&case.target);
    for (k, v) in case.env_in(dir) {
        if v == UNSET {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = run(&mut cmd, LIMIT);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    if out.code != Some(0) {
        return (Outcome::Failed(out.stderr.trim().to_owned()), out.stderr);
    }
    let region = out.stdout.lines().find_map(|l| {
        let v = l.strip_prefix("export AWS_REGION=")?;
        Some(v.trim_matches('\'').to_owned())
    });
    let exported = |name: &str| {
        let prefix = format!("export {name}=");
        out.stdout.lines().find_map(|l| {
            let v = l.strip_prefix(&prefix)?;
            Some(v.trim_matches('\'').to_owned())
        })
    };
    let calls = recorded(moto);
    // Keys handed out with no call made: those keys, whole.
    let handed = calls.is_empty().then(|| {
        (
            exported("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            exported("AWS_SESSION_TOKEN"),
        )
    });
    let root = match calls.first() {
        Some((_, k)) => k.clone(),
        None => exported("AWS_ACCESS_KEY_ID").unwrap_or_default(),
    };
    let hops = calls
        .iter()
        .filter(|(f, _)| f["Action"] == "AssumeRole")
        .map(|(f, signer)| Hop {
            signer: signer.clone(),
            role_arn: f.get("RoleArn").cloned().unwrap_or_default(),
            external_id: f.get("ExternalId").cloned(),
            session_name: f
                .get("RoleSessionName")
                .filter(|n| n.starts_with("s-"))
                .cloned(),
            duration: f
                .get("DurationSeconds")
                .and_then(|d| d.parse().ok())
                .unwrap_or(3600),
        })
        .collect();
    (
        Outcome::Resolved {
            region,
            root,
            hops: normalize(hops),
            handed,
        },
        out.stderr,
    )
}

/// Where aws-runas differs from botocore on purpose (README), what botocore's answer becomes.
fn expected(
    case: &Case,
    boto: &Value,
    runas: &Outcome,
    deliberate: &mut BTreeMap<&'static str, usize>,
) -> Outcome {
    let env = |k: &str| {
        case.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut outcome = botocore_outcome(boto);
    // A file variable naming a directory is refused; botocore reads no file there.
    if boto["named_directory"] == true {
        *deliberate
            .entry("a directory named as a file refused")
            .or_default() += 1;
        return Outcome::Failed("a directory".into());
    }
    // An empty AWS_PROFILE (or AWS_DEFAULT_PROFILE) is refused wherever it is; botocore
    // refuses it only when it reads it first.
    let empty_profile_variable = case.target.is_none()
        && ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]
            .iter()
            .any(|v| env(v).is_some_and(|v| v.is_empty()));
    if empty_profile_variable && !matches!(outcome, Outcome::Failed(_)) {
        *deliberate
            .entry("an empty profile variable refused")
            .or_default() += 1;
        return Outcome::Failed("an empty profile variable".into());
    }
    // Keys AWS could never accept (a control byte, a space, a continuation line) are refused
    // where they are read; botocore sends them and STS refuses them.
    if boto["keys_well_formed"] == false {
        *deliberate
            .entry("malformed keys refused where read")
            .or_default() += 1;
        return Outcome::Failed("malformed keys".into());
    }
    // A duration_seconds that int() cannot read is dropped by botocore, refused by aws-runas
    // (which reads Go-style durations there too).
    if boto["unreadable_durations"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
        && matches!(runas, Outcome::Failed(e) if e.contains("duration_seconds"))
    {
        *deliberate
            .entry("malformed duration_seconds refused")
            .or_default() += 1;
        return runas.clone();
    }
    // A profile without keys (or a chain ending in one) takes keys from the environment, where
    // botocore, given the profile explicitly, would not look.
    if let (Outcome::Failed(_), Outcome::Resolved { root, .. }) = (&outcome, runas) {
        if root == ENV_KEY {
            *deliberate
                .entry("environment keys for a profile without keys")
                .or_default() += 1;
            return runas.clone();
        }
    }
    if let Outcome::Resolved { region, hops, .. } = &mut outcome {
        if let Some(r) = env("AWS_REGION") {
            if region.as_deref() != Some(r.as_str()) {
                *deliberate.entry("AWS_REGION read").or_default() += 1;
            }
            *region = Some(r);
        } else if region.is_none() {
            if boto["lineage_region_ok"] == false {
                // An inherited region is used, so a malformed one is refused.
                *deliberate.entry("inherited region checked").or_default() += 1;
                return Outcome::Failed("malformed inherited region".into());
            }
            if let Some(inherited) = boto["lineage_region"].as_str() {
                *deliberate
                    .entry("region inherited along the chain")
                    .or_default() += 1;
                *region = Some(inherited.to_owned());
            }
        }
        for h in hops.iter_mut().skip(1) {
            if h.duration > 3600 {
                *deliberate.entry("chained role capped at 1h").or_default() += 1;
                h.duration = 3600;
            }
        }
    }
    outcome
}

fn same(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Failed(_), Outcome::Failed(_)) => true,
        _ => a == b,
    }
}

#[test]
fn aws_runas_resolves_what_botocore_resolves() {
    let seed: u64 = std::env::var("DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let count: usize = std::env::var("DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250);
    let mut rng = SplitMix(seed);
    let mut cases = fixed_cases();
    cases.extend(variable_and_split_key_cases());
    cases.extend((0..count).map(|_| random_case(&mut rng)));
    let dirs: Vec<tempfile::TempDir> = cases
        .iter()
        .map(|c| {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("config"), &c.config).unwrap();
            std::fs::write(d.path().join("credentials"), &c.credentials).unwrap();
            for (path, text) in &c.files {
                let path = d.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            d
        })
        .collect();
    let boto = botocore(&cases, &dirs);
    assert_eq!(boto.len(), cases.len());
    let moto = Moto::start();
    let mut deliberate = BTreeMap::new();
    let mut mismatches = Vec::new();
    let (mut resolved, mut failed) = (0, 0);
    let mut botocore_errors: BTreeMap<String, usize> = BTreeMap::new();
    for (i, ((case, dir), b)) in cases.iter().zip(&dirs).zip(&boto).enumerate() {
        let (runas, stderr) = runas_outcome(case, dir.path(), &moto);
        let want = expected(case, b, &runas, &mut deliberate);
        if let Some(e) = b["error"].as_str() {
            let kind = e.split(':').next().unwrap_or_default().to_owned();
            *botocore_errors.entry(kind).or_default() += 1;
        }
        match &runas {
            Outcome::Failed(_) => failed += 1,
            Outcome::Resolved { .. } => resolved += 1,
        }
        if !same(&want, &runas) {
            mismatches.push(format!(
                "case {i} (target {:?}, env {:?})\n--- config ---\n{:?}\n--- credentials ---\n{:?}\nbotocore: {want:?}\naws-runas: {runas:?}\nstderr: {stderr}",
                case.target, case.env, case.config, case.credentials
            ));
        }
    }
    eprintln!(
        "{} cases (seed {seed}): aws-runas {resolved} resolved, {failed} failed; botocore's failures: {botocore_errors:?}; deliberate differences: {deliberate:?}",
        cases.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n\n")
    );
    // The generator must reach both outcomes, or the comparison proves little.
    assert!(
        resolved > cases.len() / 4 && failed > cases.len() / 10,
        "{resolved} resolved, {failed} failed"
    );
}
