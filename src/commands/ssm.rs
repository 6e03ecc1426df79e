//! `aws-runas ssm shell|forward|ssh`: resolve the target and run a Session Manager session with
//! the profile's credentials, through our own client or (`-P`) AWS's plugin.

use std::process::ExitCode;

use crate::cli::{Options, SsmWhat};
use crate::environment::Environment;
use crate::ssm::session::{self, Kind};
use crate::ssm::target::{self, Resolver};
use crate::ssm::{endpoint, plugin, Api};

pub fn run(options: &Options, what: &SsmWhat) -> anyhow::Result<ExitCode> {
    let (args, use_plugin) = match what {
        SsmWhat::Shell { args, plugin } | SsmWhat::Ssh { args, plugin } => (args, *plugin),
        SsmWhat::Forward { args, plugin, .. } => (args, *plugin),
    };
    // As v3: one argument is the target, and the profile comes from the environment.
    let (profile, spec) = match args.as_slice() {
        [spec] => (None, spec.as_str()),
        [profile, spec] => (Some(profile.as_str()), spec.as_str()),
        _ => anyhow::bail!("expected [PROFILE] TARGET (see aws-runas ssm --help)"),
    };
    // The spec is checked before any credential is fetched (or MFA code asked for).
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
        SsmWhat::Ssh { .. } => {
            let (target, port) = target::ssh_spec(spec)?;
            (target, Kind::Ssh { port })
        }
    };
    if target.is_empty() {
        anyhow::bail!("no target given (see aws-runas ssm --help)");
    }
    let (session, request) = super::open(options, profile)?;
    let credentials = session.credentials(&request)?;
    let env = Environment::from_process();
    let region = session.resolved.region.as_deref();
    let resolver = Resolver::new(
        region,
        endpoint(&env, "AWS_ENDPOINT_URL_EC2").as_deref(),
        &credentials,
    );
    let id = crate::aws::block_on(resolver.resolve(&target))?;
    let api = Api::new(region, endpoint(&env, "AWS_ENDPOINT_URL_SSM"), &credentials);
    if use_plugin {
        plugin::run(&api, &kind.request(&id), &credentials)
    } else {
        crate::aws::block_on(session::run(&api, &id, kind))
    }
}
