//! `ssm ssh --ec2ic`: EC2 Instance Connect pushes the user's SSH public key to the instance
//! (SendSSHPublicKey, valid there for 60 seconds) before the tunnel opens, so the ssh that runs
//! us as its ProxyCommand can log in without a key installed on the instance. This file owns
//! finding that key, the way ssh will offer it, and the call.
//!
//! The key is the first of ssh's identity files for the host (`ssh -G HOST`, which applies the
//! user's ssh config, or ssh's default list when ssh cannot tell) that has a public key of a
//! type Instance Connect accepts: `FILE.pub`, or else what `ssh-keygen -y` derives from an
//! unencrypted private key. As in aws-runas v3, `~` is the HOME directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::credentials::Credentials;

/// What ssh tries when its config names no identity file (OpenSSH 9's order).
const DEFAULT_IDENTITIES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
];

/// The key types EC2 Instance Connect takes.
const ACCEPTED_TYPES: &[&str] = &["ssh-rsa", "ssh-ed25519"];

/// Where and as whom Instance Connect is called.
pub struct Service<'a> {
    pub region: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub credentials: &'a Credentials,
    pub ca_bundle: Option<&'a crate::tls::Bundle>,
}

/// Pushes the user's public key for `user` on `instance`.
pub async fn send_key(
    service: &Service<'_>,
    instance: &str,
    user: &str,
    public_key: &str,
) -> anyhow::Result<()> {
    let Service {
        region,
        endpoint,
        credentials,
        ca_bundle,
    } = *service;
    let client = crate::aws::client!(
        aws_sdk_ec2instanceconnect,
        region,
        endpoint,
        credentials,
        ca_bundle
    );
    let out = client
        .send_ssh_public_key()
        .instance_id(instance)
        .instance_os_user(user)
        .ssh_public_key(public_key)
        .send()
        .await
        .map_err(|e| {
            let at = crate::aws::EC2_INSTANCE_CONNECT
                .at(region.unwrap_or(crate::aws::FALLBACK_REGION), endpoint);
            let detail = crate::aws::describe_error(&at, &e);
            anyhow::anyhow!(
                "EC2 Instance Connect did not take the SSH key for {user}@{instance} ({detail})"
            )
        })?;
    if !out.success() {
        bail!("EC2 Instance Connect did not take the SSH key for {user}@{instance}");
    }
    tracing::debug!("EC2 Instance Connect has the key for {user}@{instance}");
    Ok(())
}

/// The public key ssh will offer for `host` (the name ssh was given, for its config).
pub fn public_key(host: &str) -> anyhow::Result<String> {
    let home = dirs::home_dir().context("no home directory to find SSH keys in")?;
    let candidates = identity_files(host, &home);
    for file in &candidates {
        match public_key_of(file) {
            Some(key) if accepted(&key) => {
                tracing::debug!("EC2 Instance Connect key: {}", file.display());
                return Ok(key);
            }
            Some(_) => tracing::debug!(
                "{}: not a key type EC2 Instance Connect takes (RSA, Ed25519)",
                file.display()
            ),
            None => {}
        }
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "--ec2ic found no RSA or Ed25519 public key among ssh's identity files for {host} \
         (looked at {}; an encrypted key needs its .pub beside it)",
        looked.join(", ")
    )
}

/// ssh's identity files for `host`, in the order it offers them.
fn identity_files(host: &str, home: &Path) -> Vec<PathBuf> {
    let configured = Command::new("ssh")
        .arg("-G")
        .arg("--")
        .arg(host)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| parse_identity_files(&String::from_utf8_lossy(&out.stdout)))
        .unwrap_or_default();
    let files = if configured.is_empty() {
        DEFAULT_IDENTITIES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        configured
    };
    files.iter().map(|f| expand_home(f, home)).collect()
}

fn parse_identity_files(config: &str) -> Vec<String> {
    config
        .lines()
        .filter_map(|line| line.strip_prefix("identityfile "))
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}

fn expand_home(file: &str, home: &Path) -> PathBuf {
    if let Some(rest) = file.strip_prefix("~/").or_else(|| file.strip_prefix("%d/")) {
        home.join(rest)
    } else {
        PathBuf::from(file)
    }
}

/// `FILE.pub`, or the public half of an unencrypted `FILE` (never a passphrase prompt: this
/// runs under ssh, which owns the terminal).
fn public_key_of(file: &Path) -> Option<String> {
    let mut public = file.as_os_str().to_owned();
    public.push(".pub");
    if let Ok(text) = std::fs::read_to_string(&public) {
        return text.lines().next().map(|l| l.trim().to_owned());
    }
    if !file.is_file() {
        return None;
    }
    let out = Command::new("ssh-keygen")
        .args(["-y", "-P", "", "-f"])
        .arg(file)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        tracing::debug!(
            "{}: no .pub beside it and ssh-keygen cannot read it without a passphrase",
            file.display()
        );
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines().next().map(|l| l.trim().to_owned())
}

fn accepted(key: &str) -> bool {
    let mut parts = key.split_whitespace();
    matches!(
        (parts.next(), parts.next()),
        (Some(kind), Some(_)) if ACCEPTED_TYPES.contains(&kind)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_files_come_from_ssh_config_output_in_order() {
        let out = "user bob\nhostname h\nidentityfile ~/.ssh/work\nidentityfile /keys/other\n";
        let home = Path::new("/home/bob");
        let files: Vec<PathBuf> = parse_identity_files(out)
            .iter()
            .map(|f| expand_home(f, home))
            .collect();
        assert_eq!(
            files,
            [
                PathBuf::from("/home/bob/.ssh/work"),
                PathBuf::from("/keys/other")
            ]
        );
    }

    #[test]
    fn only_rsa_and_ed25519_keys_are_sent() {
        assert!(accepted("ssh-ed25519 AAAAC3Nza bob@host"));
        assert!(accepted("ssh-rsa AAAAB3Nza"));
        assert!(!accepted("ecdsa-sha2-nistp256 AAAAE2Vj"));
        assert!(!accepted("ssh-ed25519"));
        assert!(!accepted(""));
    }

    #[test]
    fn a_pub_file_beside_the_key_is_read_without_the_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id_ed25519");
        std::fs::write(
            dir.path().join("id_ed25519.pub"),
            "ssh-ed25519 AAAAC3Nza me@here\n",
        )
        .unwrap();
        assert_eq!(
            public_key_of(&key).as_deref(),
            Some("ssh-ed25519 AAAAC3Nza me@here")
        );
        assert_eq!(public_key_of(&dir.path().join("missing")), None);
    }
}
