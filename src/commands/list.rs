//! `list roles` / `-l` and `list mfa` / `-m`: what the IAM user behind a profile may assume,
//! and its MFA devices.

use std::process::ExitCode;

use anyhow::Context;

use super::{open, print, CredentialRequest, Session};
use crate::aws::iam::SdkIam;
use crate::aws::sts::Sts;
use crate::cli::Options;
use crate::config::{Root, SourceOrigin};
use crate::policy::assumable_roles;

/// The IAM user behind the profile's keys, an IAM client acting as it (through the MFA session
/// when the profile has an MFA device, since policies often require MFA), and the profile a new
/// role profile would name as `source_profile` for those keys.
fn iam_user(
    options: &Options,
    profile: Option<&str>,
) -> anyhow::Result<(Session, String, SdkIam, String)> {
    let (session, request) = open(options, profile)?;
    let resolved = &session.resolved;
    let from_keyring;
    let keys = match &resolved.root {
        Root::Keys(keys) => keys,
        Root::Keyring(k) => {
            from_keyring = crate::config::Keys {
                origin: SourceOrigin::Profile(k.profile.clone()),
                credentials: crate::sources::keyring_credentials(k)?,
            };
            &from_keyring
        }
        Root::Saml(saml) => anyhow::bail!(
            "profile '{}' signs in at {} (SAML): it has no IAM user keys; its MFA is the identity provider's",
            resolved.name,
            crate::idp::http::origin(&saml.auth_url)
        ),
        Root::WebSignIn(_) | Root::WebIdentity(_) | Root::Sso(_) | Root::LoginSession(_) => anyhow::bail!(
            "profile '{}' signs in (IAM Identity Center, `aws login` or a web identity) instead of using an IAM user's keys: it has no IAM user to list",
            resolved.name
        ),
    };
    let source_profile = match &keys.origin {
        SourceOrigin::Profile(p) => p.clone(),
        SourceOrigin::Environment => "default".into(),
    };
    let source = &keys.credentials;
    let identity = session
        .sts()
        .caller_identity(source)
        .with_context(|| format!("profile '{}'", resolved.name))?;
    let user = identity
        .arn
        .split_once(":user/")
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path).to_owned())
        .with_context(|| {
            format!(
                "profile '{}': listing needs an IAM user's keys, and these belong to {}",
                resolved.name, identity.arn
            )
        })?;
    let creds = if resolved.mfa_serial.is_some() && !source.is_temporary() {
        session.credentials(&CredentialRequest {
            session_only: true,
            ..request
        })?
    } else {
        source.clone()
    };
    let iam = SdkIam::new(
        resolved.region.as_deref(),
        resolved.iam_endpoint.as_deref(),
        &creds,
        resolved.ca_bundle.as_ref(),
    );
    Ok((session, user, iam, source_profile))
}

pub fn roles(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(code) = super::sso::list_roles(options, profile)? {
        return Ok(code);
    }
    // A SAML profile may assume what its identity provider's assertion grants (as v3 lists).
    let (session, request) = open(options, profile)?;
    if let Some(roles) = session.saml_roles(&request)? {
        print(&roles.iter().map(|r| format!("{r}\n")).collect::<String>())?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(session);
    let (session, user, iam, source) = iam_user(options, profile)?;
    let documents = iam
        .policy_documents(&user)
        .with_context(|| format!("IAM user {user}"))?;
    let mut roles: Vec<String> = documents.iter().flat_map(|d| assumable_roles(d)).collect();
    roles.sort();
    roles.dedup();

    let mut text = String::new();
    let mut unconfigured = Vec::new();
    for role in &roles {
        let profiles = session.profiles.with_role(role);
        if profiles.is_empty() {
            text.push_str(&format!("{role}\n"));
            unconfigured.push(role);
        } else {
            text.push_str(&format!("{role}  (profile {})\n", profiles.join(", ")));
        }
    }
    if roles.is_empty() {
        eprintln!("aws-runas: IAM user {user} may assume no role by name");
    }
    if options.verbose > 0 && !unconfigured.is_empty() {
        text.push_str(
            "\n# Profiles for the roles above that have none, to paste into your config file:\n",
        );
        for role in unconfigured {
            let name = role.rsplit('/').next().unwrap_or(role);
            text.push_str(&format!(
                "\n[profile {name}]\nrole_arn = {role}\nsource_profile = {source}\n"
            ));
        }
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn mfa(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let (_, user, iam, _) = iam_user(options, profile)?;
    let devices = iam
        .mfa_devices(&user)
        .with_context(|| format!("IAM user {user}"))?;
    if devices.is_empty() {
        eprintln!("aws-runas: IAM user {user} has no MFA device");
    }
    let text: String = devices.iter().map(|d| format!("{d}\n")).collect();
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
