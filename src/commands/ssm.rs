//! `aws-runas ssm shell|forward|ssh`: resolve the target and run a Session Manager session with
//! the profile's credentials, through our own client or (`-P`) AWS's plugin.

use std::process::ExitCode;

use crate::cli::{Options, SsmWhat};
use crate::environment::Environment;
use crate::ssm::session::{self, Kind};
use crate::ssm::target::{self, Resolver};
use crate::ssm::{endpoint, instance_connect, plugin, Api};

pub fn run(options: &Options, what: &SsmWhat) -> anyhow::Result<ExitCode> {
    let (args, use_plugin) = match what {
        SsmWhat::Shell { args, plugin } | SsmWhat::Ssh { args, plugin, .. } => (args, *plugin),
        SsmWhat::Forward { args, plugin, .. } => (args, *plugin),
    };
    // As v3: one argument is the target, and the profile comes from the environment.
    let (profile, spec) = match args.as_slice() {
        [spec] => (None, spec.as_str()),
        [profile, spec] => (Some(profile.as_str()), spec.as_str()),
        _ => anyhow::bail!("expected [PROFILE] TARGET (see aws-runas ssm --help)"),
    };
    // The spec is checked before any credential is fetched (or MFA code asked for).
    let mut push_key = None;
    let (target, kind) = match what {
        SsmWhat::Shell { .. } => (spec.trim().to_owned(), Kind::Shell),
        SsmWhat::Forward { port, .. } => {
            let (target, remote) = target::forward_spec(spec)?;
            (
                target,
                Kind::Forward {
                    remote,
                    local: *port,
                },
            )
        }
        SsmWhat::Ssh { ec2ic, .. } => {
            let ssh = target::ssh_spec(spec)?;
            if *ec2ic {
                // Found before any AWS call: no key, no point.
                push_key = Some((ssh.user, instance_connect::public_key(&ssh.target)?));
            }
            (ssh.target, Kind::Ssh { port: ssh.port })
        }
    };
    if target.is_empty() {
        anyhow::bail!("no target given (see aws-runas ssm --help)");
    }
    let (session, request) = super::open(options, profile)?;
    let credentials = session.credentials(&request)?;
    let env = Environment::from_process();
    let region = session.resolved.region.as_deref();
    let ca_bundle = session.resolved.ca_bundle.as_ref();
    let resolver = Resolver::new(
        region,
        endpoint(&env, "AWS_ENDPOINT_URL_EC2").as_deref(),
        &credentials,
        ca_bundle,
    );
    let id = crate::aws::block_on(resolver.resolve(&target))?;
    if let Some((user, key)) = push_key {
        let at = endpoint(&env, "AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT");
        let service = instance_connect::Service {
            region,
            endpoint: at.as_deref(),
            credentials: &credentials,
            ca_bundle,
        };
        crate::aws::block_on(instance_connect::send_key(&service, &id, &user, &key))?;
    }
    let api = Api::new(
        region,
        endpoint(&env, "AWS_ENDPOINT_URL_SSM"),
        &credentials,
        ca_bundle,
    );
    if use_plugin {
        plugin::run(&api, &kind.request(&id), &credentials)
    } else {
        crate::aws::block_on(session::run(&api, &id, kind))
    }
}
