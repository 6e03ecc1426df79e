//! Finding the instance a user names, in aws-runas v3's order: an instance id as it is, else a
//! `TAG_KEY:VALUE` pair, else an IP address or DNS name matched against running instances'
//! public or private addresses (EC2 DescribeInstances), else a DNS TXT record of that name
//! holding an instance id (through the system's resolver configuration). Several matches: the
//! first, with a warning.
//!
//! Also the command-line target specs: `TARGET:PORT` for forward, `[USER@]TARGET[:PORT]`
//! for ssh.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{bail, Context};

pub use crate::aws::ec2::is_instance_id;
use crate::aws::ec2::Ec2;
use crate::credentials::Credentials;

/// Private (RFC 1918) and carrier-grade NAT (RFC 6598) ranges.
fn is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 10
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 100 && (64..128).contains(&b))
}

/// `TARGET:PORT` (split at the last colon, so `tag:value:8080` works).
pub fn forward_spec(spec: &str) -> anyhow::Result<(String, u16)> {
    let (target, port) = spec
        .rsplit_once(':')
        .with_context(|| format!("{spec:?} is not TARGET:PORT"))?;
    let port = parse_port(port).with_context(|| format!("{spec:?} is not TARGET:PORT"))?;
    if target.trim().is_empty() {
        bail!("{spec:?} names no target");
    }
    Ok((target.trim().to_owned(), port))
}

/// What `ssm ssh` is asked to reach.
#[derive(Debug, PartialEq, Eq)]
pub struct SshSpec {
    /// The remote login, for EC2 Instance Connect (ssh itself logs in as whom it likes).
    pub user: String,
    pub target: String,
    pub port: u16,
}

/// The login v3 assumes when the spec names none.
const DEFAULT_SSH_USER: &str = "ec2-user";

/// `[USER@]TARGET[:PORT]`: the port is the last part when it is a number, so `%r@%h:%p` and
/// a bare `tag:value` both work.
pub fn ssh_spec(spec: &str) -> anyhow::Result<SshSpec> {
    let (user, host) = match spec.rsplit_once('@') {
        Some((user, host)) if !user.is_empty() => (user, host),
        Some((_, host)) => (DEFAULT_SSH_USER, host),
        None => (DEFAULT_SSH_USER, spec),
    };
    let (target, port) = match host.rsplit_once(':') {
        Some((t, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (
            t,
            parse_port(p).with_context(|| format!("{spec:?}: bad port {p:?}"))?,
        ),
        _ => (host, 22),
    };
    if target.trim().is_empty() {
        bail!("{spec:?} names no target");
    }
    Ok(SshSpec {
        user: user.to_owned(),
        target: target.trim().to_owned(),
        port,
    })
}

fn parse_port(s: &str) -> anyhow::Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("{s:?} is not a port number (1-65535)"),
    }
}

pub struct Resolver {
    ec2: std::sync::Arc<Ec2>,
}

impl Resolver {
    pub fn new(
        region: Option<&str>,
        endpoint: Option<&str>,
        credentials: &Credentials,
        ca_bundle: Option<&crate::tls::Bundle>,
    ) -> Self {
        Self {
            ec2: std::sync::Arc::new(Ec2::new(region, endpoint, credentials, ca_bundle)),
        }
    }

    pub async fn resolve(&self, target: &str) -> anyhow::Result<String> {
        let target = target.trim();
        if is_instance_id(target) {
            return Ok(target.to_owned());
        }
        let mut tried = Vec::new();
        let is_ip = target.parse::<IpAddr>().is_ok();
        if let (Some((key, value)), false) = (target.split_once(':'), is_ip) {
            // A colon cannot be in a host name: this is a tag or nothing.
            match self
                .find_any(&format!("tag:{key}"), &[value.to_owned()])
                .await
            {
                Ok(Some(id)) => return Ok(id),
                Ok(None) => tried.push(format!("no running instance has tag {key}={value}")),
                Err(e) => tried.push(format!("{e:#}")),
            }
        } else {
            match self.by_address(target).await {
                Ok(Some(id)) => return Ok(id),
                Ok(None) => tried.push(format!("no running instance has the address of {target}")),
                Err(e) => tried.push(format!("{e:#}")),
            }
            if !is_ip {
                match txt_instance(target).await {
                    Ok(id) => return Ok(id),
                    Err(e) => tried.push(e.to_string()),
                }
            }
        }
        bail!(
            "no instance found for target {target:?}: {} (a target is an instance id, TAG_KEY:VALUE, \
             an instance's IP address or DNS name, or a DNS name with a TXT record holding an \
             instance id)",
            tried.join("; ")
        )
    }

    async fn by_address(&self, target: &str) -> anyhow::Result<Option<String>> {
        let addresses: Vec<Ipv4Addr> = match target.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => vec![ip],
            Ok(IpAddr::V6(_)) => {
                bail!("{target} is an IPv6 address; instances are matched by IPv4")
            }
            Err(_) => tokio::net::lookup_host((target, 0))
                .await
                .with_context(|| format!("cannot resolve {target}"))?
                .filter_map(|a| match a.ip() {
                    IpAddr::V4(ip) => Some(ip),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        };
        // Any public address means the name points at public addresses.
        let public: Vec<Ipv4Addr> = addresses
            .iter()
            .copied()
            .filter(|ip| !is_private(*ip))
            .collect();
        let (filter, ips) = if public.is_empty() {
            ("private-ip-address", addresses)
        } else {
            ("ip-address", public)
        };
        if ips.is_empty() {
            bail!("{target} has no IPv4 address");
        }
        let values: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
        self.find_any(filter, &values).await
    }

    async fn find_any(&self, name: &str, values: &[String]) -> anyhow::Result<Option<String>> {
        // A blocking HTTPS call: off the runtime's thread, which may be serving others.
        let (ec2, filter, wanted) = (self.ec2.clone(), name.to_owned(), values.to_vec());
        let ids = tokio::task::spawn_blocking(move || ec2.running_instance_ids(&filter, &wanted))
            .await
            .context("the EC2 lookup stopped")??;
        if ids.len() > 1 {
            eprintln!(
                "aws-runas: {} instances match {}={}; using the first, {}",
                ids.len(),
                name,
                values.join(","),
                ids[0]
            );
        }
        Ok(ids.into_iter().next())
    }
}

/// Why a DNS name gave no instance id through TXT records.
#[derive(Debug, thiserror::Error)]
pub enum TxtError {
    #[error("{0} does not exist in DNS (NXDOMAIN)")]
    NoSuchName(String),
    #[error("{0} has no DNS TXT record")]
    NoTxt(String),
    #[error("the DNS TXT records of {0} hold no instance id")]
    NoId(String),
    #[error("DNS TXT lookup of {0} failed: {1}")]
    Lookup(String, String),
}

/// The instance id a DNS name's TXT records hold, asked of the nameservers the system is
/// configured with (`/etc/resolv.conf`, or the registry on Windows), search domains included.
pub async fn txt_instance(name: &str) -> Result<String, TxtError> {
    use hickory_resolver::proto::rr::RData;
    let lookup_error = |e: &dyn std::fmt::Display| TxtError::Lookup(name.to_owned(), e.to_string());
    let resolver = hickory_resolver::TokioResolver::builder_tokio()
        .map_err(|e| lookup_error(&e))?
        .build()
        .map_err(|e| lookup_error(&e))?;
    let lookup = match resolver.txt_lookup(name).await {
        Ok(lookup) => lookup,
        Err(e) if e.is_nx_domain() => return Err(TxtError::NoSuchName(name.to_owned())),
        Err(e) if e.is_no_records_found() => return Err(TxtError::NoTxt(name.to_owned())),
        Err(e) => return Err(lookup_error(&e)),
    };
    let records: Vec<Vec<u8>> = lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::TXT(txt) => Some(txt.txt_data.concat()),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        return Err(TxtError::NoTxt(name.to_owned()));
    }
    instance_in_txt(&records).ok_or_else(|| TxtError::NoId(name.to_owned()))
}

/// The first TXT record that is an instance id as a whole (v3 takes whole records; a record's
/// character-strings are one value, as DNS defines).
fn instance_in_txt(records: &[Vec<u8>]) -> Option<String> {
    records
        .iter()
        .filter_map(|r| std::str::from_utf8(r).ok())
        .map(str::trim)
        .find(|r| is_instance_id(r))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids() {
        assert!(is_instance_id("i-0123abcd"));
        assert!(is_instance_id("mi-0123456789abcdef0"));
        assert!(!is_instance_id("i-0123abc"));
        assert!(!is_instance_id("i-0123abcz"));
        assert!(!is_instance_id("Name:web"));
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["172.32.0.1", "8.8.8.8", "100.128.0.1", "192.169.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn forward_specs() {
        assert_eq!(
            forward_spec("i-0123abcd:80").unwrap(),
            ("i-0123abcd".into(), 80)
        );
        assert_eq!(
            forward_spec("Name:web:8080").unwrap(),
            ("Name:web".into(), 8080)
        );
        assert!(forward_spec("i-0123abcd").is_err());
        assert!(forward_spec("i-0123abcd:99999").is_err());
        assert!(forward_spec(":80").is_err());
    }

    fn ssh(user: &str, target: &str, port: u16) -> SshSpec {
        SshSpec {
            user: user.into(),
            target: target.into(),
            port,
        }
    }

    #[test]
    fn ssh_specs() {
        assert_eq!(
            ssh_spec("ubuntu@i-0123abcd:22").unwrap(),
            ssh("ubuntu", "i-0123abcd", 22)
        );
        assert_eq!(
            ssh_spec("i-0123abcd").unwrap(),
            ssh("ec2-user", "i-0123abcd", 22)
        );
        assert_eq!(
            ssh_spec("@Name:web").unwrap(),
            ssh("ec2-user", "Name:web", 22)
        );
        assert_eq!(
            ssh_spec("Name:web:2222").unwrap(),
            ssh("ec2-user", "Name:web", 2222)
        );
        assert_eq!(
            ssh_spec("10.0.0.5:2222").unwrap(),
            ssh("ec2-user", "10.0.0.5", 2222)
        );
        assert!(ssh_spec("h:70000").is_err());
    }

    #[test]
    fn txt_records_hold_an_id_only_as_a_whole() {
        let records = |r: &[&str]| r.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            instance_in_txt(&records(&["v=spf1 -all", "i-0123456789abcdef0"])).as_deref(),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(instance_in_txt(&records(&["id=i-0123456789abcdef0"])), None);
        assert_eq!(instance_in_txt(&records(&["i-0123"])), None);
        assert_eq!(instance_in_txt(&[vec![0xff, 0xfe]]), None);
    }
}
