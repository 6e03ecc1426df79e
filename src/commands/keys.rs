//! `aws-runas keys`: a profile's long-term access keys kept in the OS keyring instead of the
//! credentials file. `add` stores them, `import` moves them out of the credentials file, `list`
//! names the profiles that have some (key ids, never secrets), `remove` forgets them, and
//! `rotate` replaces a key (in the keyring or the credentials file) with a new one of the same
//! IAM user. Using them is the credential sources' business (`config::Root::Keyring`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::aws::iam::{NewKey, SdkIam};
use crate::aws::sts::Sts as _;
use crate::cache::{Cache, CacheKey};
use crate::cli::{KeysWhat, Options};
use crate::commands::CredentialRequest;
use crate::config::{credentials_file_path, Profiles, Root, SourceOrigin};
use crate::credentials::{check_access_key_id, check_secret, Credentials};
use crate::environment::Environment;
use crate::secrets::{self, KeysError};
use crate::{credentials_file, tty};

pub fn run(options: &Options, what: KeysWhat) -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    match what {
        KeysWhat::Add { profile } => add(&env, &profile),
        KeysWhat::Import { profile } => import(&env, &profile),
        KeysWhat::List => list(),
        KeysWhat::Remove { profile } => remove(&env, &profile),
        KeysWhat::Rotate { profile } => rotate(options, &env, &profile),
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Marks the keyring's keys of `profile` as changed: sessions and roles cached with the ones
/// before are not reused.
fn changed(env: &Environment, profile: &str) -> anyhow::Result<()> {
    let generation = jiff::Timestamp::now().as_nanosecond().to_string();
    Cache::from_env(env)?.write(&CacheKey::keyring_generation(profile), &generation)?;
    Ok(())
}

/// Where a profile's keys are in the files, if they are.
fn in_files(profiles: &Profiles, profile: &str) -> Option<PathBuf> {
    ["aws_access_key_id", "aws_secret_access_key"]
        .iter()
        .find_map(|key| profiles.setting(profile, key))
        .map(|(_, file)| file.to_owned())
}

fn add(env: &Environment, profile: &str) -> anyhow::Result<()> {
    let profiles = Profiles::load(env)?;
    // Keys in both places would leave which of them signs a mystery.
    if let Some(file) = in_files(&profiles, profile) {
        anyhow::bail!(
            "profile '{profile}' has keys in {} already: move them with `aws-runas keys import {profile}`, or remove them from that file before adding keys to the OS keyring",
            file.display()
        );
    }
    let keys = typed_keys(env)?;
    secrets::store_profile_keys(profile, &keys)?;
    changed(env, profile)?;
    eprintln!(
        "aws-runas: stored key {} of profile '{profile}' in the OS keyring",
        keys.access_key_id
    );
    Ok(())
}

/// The keys to add: the environment's when both variables are set, else typed on the terminal.
fn typed_keys(env: &Environment) -> anyhow::Result<Credentials> {
    let (id, secret, from) = match (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => {
            // Ours (AWSRUNAS_PROFILE set) or anyone's with a token: temporary, gone in hours.
            if env.get("AWS_SESSION_TOKEN").is_some() || env.get("AWSRUNAS_PROFILE").is_some() {
                anyhow::bail!("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY hold temporary credentials (AWS_SESSION_TOKEN is set): the OS keyring is for an IAM user's long-term keys");
            }
            (id, secret, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        }
        _ if tty::present() => {
            let id = tty::ask("AWS access key id: ")?;
            let secret = tty::ask_secret("AWS secret access key: ")?;
            (id, secret, ["the access key id typed", "the secret typed"])
        }
        _ => anyhow::bail!("no terminal to ask for the keys on: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and run it again"),
    };
    check_access_key_id(&id)
        .map_err(|reason| anyhow::anyhow!("{} is not a valid access key id: {reason}", from[0]))?;
    check_secret(&secret).map_err(|reason| {
        anyhow::anyhow!("{} is not a valid secret access key: {reason}", from[1])
    })?;
    Ok(Credentials::long_term(id, secret))
}

/// The profile's keys in the credentials file (the config file's are left where they are).
fn file_keys(
    env: &Environment,
    profiles: &Profiles,
    profile: &str,
) -> anyhow::Result<Option<(Credentials, PathBuf)>> {
    let Some(file) = in_files(profiles, profile) else {
        return Ok(None);
    };
    let credentials_file = credentials_file_path(env);
    if credentials_file.as_deref() != Some(file.as_path()) {
        anyhow::bail!(
            "profile '{profile}' has its keys in {}, the config file: aws-runas keys moves and rotates keys in the credentials file only",
            file.display()
        );
    }
    let value = |key| profiles.setting(profile, key).map(|(v, _)| v.to_owned());
    if value("aws_session_token").is_some() {
        anyhow::bail!(
            "profile '{profile}' in {} has temporary credentials (aws_session_token): only an IAM user's long-term keys can be moved or rotated",
            file.display()
        );
    }
    let (Some(id), Some(secret)) = (value("aws_access_key_id"), value("aws_secret_access_key"))
    else {
        anyhow::bail!(
            "profile '{profile}' in {} has only one of aws_access_key_id and aws_secret_access_key",
            file.display()
        );
    };
    let invalid = |key: &str, reason: &str| {
        anyhow::anyhow!(
            "profile '{profile}' in {}: {key} is not valid: {reason}",
            file.display()
        )
    };
    check_access_key_id(&id).map_err(|r| invalid("aws_access_key_id", r))?;
    check_secret(&secret).map_err(|r| invalid("aws_secret_access_key", r))?;
    Ok(Some((Credentials::long_term(id, secret), file)))
}

fn import(env: &Environment, profile: &str) -> anyhow::Result<()> {
    let profiles = Profiles::load(env)?;
    let Some((keys, file)) = file_keys(env, &profiles, profile)? else {
        anyhow::bail!("profile '{profile}' has no keys in the credentials file to import");
    };
    if secrets::profile_keys(profile).is_ok_and(|k| k.is_some()) {
        anyhow::bail!(
            "profile '{profile}' has keys in {} and in the OS keyring: remove one of them (`aws-runas keys remove {profile}` for the keyring's)",
            file.display()
        );
    }
    secrets::store_profile_keys(profile, &keys)?;
    let cache = Cache::from_env(env)?;
    if let Err(e) = credentials_file::edit_keys(&file, profile, None, &cache) {
        // Keys in both places are the one state never to leave behind.
        let undone = secrets::remove_profile_keys(profile).is_ok();
        anyhow::bail!(
            "profile '{profile}': cannot remove the keys from {}: {e:#}; {}",
            file.display(),
            if undone {
                "they stay there, and not in the OS keyring"
            } else {
                "they are now in both places: remove them from the keyring with `aws-runas keys remove`"
            }
        );
    }
    changed(env, profile)?;
    eprintln!(
        "aws-runas: moved key {} of profile '{profile}' from {} to the OS keyring",
        keys.access_key_id,
        file.display()
    );
    Ok(())
}

fn list() -> anyhow::Result<()> {
    let mut out = String::new();
    for profile in secrets::profiles_with_keys()? {
        let id = match secrets::profile_keys(&profile) {
            Ok(Some(keys)) => keys.access_key_id,
            Ok(None) => continue,
            Err(KeysError::Malformed { .. }) => {
                format!(
                    "(malformed entry: store the keys again with `aws-runas keys add {profile}`)"
                )
            }
            Err(e) => return Err(e.into()),
        };
        out.push_str(&format!("{profile}\t{id}\n"));
    }
    super::print(&out)
}

fn remove(env: &Environment, profile: &str) -> anyhow::Result<()> {
    if !secrets::remove_profile_keys(profile)? {
        anyhow::bail!("the OS keyring holds no keys of profile '{profile}'");
    }
    changed(env, profile)?;
    eprintln!("aws-runas: removed the keys of profile '{profile}' from the OS keyring");
    Ok(())
}

/// Where the key being rotated is kept.
enum Store {
    File(PathBuf),
    Keyring,
}

impl Store {
    fn shown(&self) -> String {
        match self {
            Store::File(path) => path.display().to_string(),
            Store::Keyring => "the OS keyring".into(),
        }
    }

    fn put(&self, profile: &str, keys: &Credentials, env: &Environment) -> anyhow::Result<()> {
        match self {
            Store::File(path) => {
                credentials_file::edit_keys(path, profile, Some(keys), &Cache::from_env(env)?)
            }
            Store::Keyring => {
                secrets::store_profile_keys(profile, keys)?;
                changed(env, profile)
            }
        }
    }
}

fn rotate(options: &Options, env: &Environment, profile: &str) -> anyhow::Result<()> {
    let profiles = Profiles::load(env)?;
    let (old, store) = match file_keys(env, &profiles, profile)? {
        Some((keys, file)) => (keys, Store::File(file)),
        None => match secrets::profile_keys(profile)? {
            Some(keys) => (keys, Store::Keyring),
            None => anyhow::bail!(
                "profile '{profile}' has no keys of its own in the credentials file or the OS keyring to rotate"
            ),
        },
    };
    let (session, request) = super::open(options, Some(profile))?;
    let resolved = &session.resolved;
    let own = match &resolved.root {
        Root::Keys(k) => k.origin == SourceOrigin::Profile(profile.to_owned()),
        Root::Keyring(k) => k.profile == profile,
        Root::Saml(_)
        | Root::WebSignIn(_)
        | Root::WebIdentity(_)
        | Root::Sso(_)
        | Root::LoginSession(_) => false,
    };
    if !own {
        anyhow::bail!("profile '{profile}' does not sign with its own keys: rotate the keys of the profile it takes them from");
    }
    // Policies often require MFA for IAM calls: through the session token, as for any call.
    let caller = if resolved.mfa_serial.is_some() {
        session.credentials(&CredentialRequest {
            session_only: true,
            ..request
        })?
    } else {
        old.clone()
    };
    let iam = SdkIam::new(
        resolved.region.as_deref(),
        resolved.iam_endpoint.as_deref(),
        &caller,
        resolved.ca_bundle.as_ref(),
    );
    let new = match iam
        .create_own_access_key()
        .with_context(|| format!("profile '{profile}'"))?
    {
        NewKey::Created(new) => new,
        NewKey::AtLimit => anyhow::bail!(
            "profile '{profile}': its IAM user has two access keys already (IAM's limit): delete the one not in use, then rotate again; nothing was changed"
        ),
    };
    let placed =
        wait_until_accepted(&session.sts(), &new).and_then(|()| store.put(profile, &new, env));
    if let Err(e) = placed {
        let cleanup = match iam.delete_own_access_key(&new.access_key_id) {
            Ok(()) => format!("the new key {} was deleted", new.access_key_id),
            Err(d) => format!(
                "the new key {} could not be deleted ({d}): delete it with `aws iam delete-access-key --access-key-id {}`",
                new.access_key_id, new.access_key_id
            ),
        };
        anyhow::bail!(
            "profile '{profile}': {e:#}; key {} in {} is still the live one, and {cleanup}",
            old.access_key_id,
            store.shown()
        );
    }
    iam.delete_own_access_key(&old.access_key_id).map_err(|e| {
        anyhow::anyhow!(
            "profile '{profile}': the new key {} is in {} and live, but the old key {} could not be deleted ({e}): delete it with `aws iam delete-access-key --access-key-id {}`",
            new.access_key_id,
            store.shown(),
            old.access_key_id,
            old.access_key_id
        )
    })?;
    eprintln!(
        "aws-runas: profile '{profile}' now uses key {} (in {}); the old key {} is deleted",
        new.access_key_id,
        store.shown(),
        old.access_key_id
    );
    Ok(())
}

/// A new key takes a few seconds to be accepted everywhere in IAM: asks STS who it is until it
/// answers, backing off, for at most a minute.
fn wait_until_accepted(sts: &crate::aws::sts::SdkSts, new: &Credentials) -> anyhow::Result<()> {
    const LIMIT: Duration = Duration::from_secs(60);
    let start = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match sts.caller_identity(new) {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() + delay > LIMIT => {
                return Err(anyhow::anyhow!(
                    "the new key was not accepted within {}s: {e}",
                    LIMIT.as_secs()
                ))
            }
            Err(_) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(8));
            }
        }
    }
}
