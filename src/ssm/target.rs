//! Finding the instance a user names, as aws-runas v3 does: an instance id as it is, else a
//! `TAG_KEY:VALUE` pair, else an IP address or DNS name matched against running instances'
//! public or private addresses (EC2 DescribeInstances). Several matches: the first, with a
//! warning. DNS TXT records holding an id are not looked up (no resolver crate is built in);
//! the error says so.
//!
//! Also the command-line target specs: `TARGET:PORT` for forward, `[USER@]TARGET[:PORT]`
//! for ssh.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{bail, Context};
use aws_sdk_ec2::types::Filter;

use crate::credentials::Credentials;

/// `i-` or `mi-` followed by at least 8 hex digits: used without a lookup.
pub fn is_instance_id(target: &str) -> bool {
    let hex = target
        .strip_prefix("i-")
        .or_else(|| target.strip_prefix("mi-"));
    hex.is_some_and(|h| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

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

/// `[USER@]TARGET[:PORT]`: the port is the last part when it is a number, so `%r@%h:%p` and
/// a bare `tag:value` both work. The user is ssh's business, not ours.
pub fn ssh_spec(spec: &str) -> anyhow::Result<(String, u16)> {
    let host = spec.rsplit_once('@').map_or(spec, |(_, h)| h);
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
    Ok((target.trim().to_owned(), port))
}

fn parse_port(s: &str) -> anyhow::Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("{s:?} is not a port number (1-65535)"),
    }
}

pub struct Resolver {
    ec2: aws_sdk_ec2::Client,
}

impl Resolver {
    pub fn new(region: Option<&str>, endpoint: Option<&str>, credentials: &Credentials) -> Self {
        Self {
            ec2: crate::aws::client!(aws_sdk_ec2, region, endpoint, credentials),
        }
    }

    pub async fn resolve(&self, target: &str) -> anyhow::Result<String> {
        let target = target.trim();
        if is_instance_id(target) {
            return Ok(target.to_owned());
        }
        let mut tried = Vec::new();
        if let Some((key, value)) = target.split_once(':') {
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
        }
        bail!(
            "no instance found for target {target:?}: {} (a target is an instance id, TAG_KEY:VALUE, \
             or an instance's IP address or DNS name; DNS TXT records are not supported)",
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
        let out = self
            .ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(name)
                    .set_values(Some(values.to_vec()))
                    .build(),
            )
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("running")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_ec2::error::ProvideErrorMetadata;
                match e.code() {
                    Some(code) => anyhow::anyhow!(
                        "EC2 DescribeInstances: {code}: {}",
                        e.message().unwrap_or("no message")
                    ),
                    None => anyhow::anyhow!(
                        "EC2 DescribeInstances: {}",
                        aws_sdk_ec2::error::DisplayErrorContext(&e)
                    ),
                }
            })?;
        let ids: Vec<String> = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
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

    #[test]
    fn ssh_specs() {
        assert_eq!(
            ssh_spec("ec2-user@i-0123abcd:22").unwrap(),
            ("i-0123abcd".into(), 22)
        );
        assert_eq!(ssh_spec("i-0123abcd").unwrap(), ("i-0123abcd".into(), 22));
        assert_eq!(ssh_spec("Name:web").unwrap(), ("Name:web".into(), 22));
        assert_eq!(
            ssh_spec("Name:web:2222").unwrap(),
            ("Name:web".into(), 2222)
        );
        assert_eq!(
            ssh_spec("10.0.0.5:2222").unwrap(),
            ("10.0.0.5".into(), 2222)
        );
        assert!(ssh_spec("h:70000").is_err());
    }
}
