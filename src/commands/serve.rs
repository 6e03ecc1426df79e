//! `serve ecs|ec2 [PROFILE]`: a long-lived local credential endpoint with the profile page.
//! Prints the variables that point an SDK at it on stdout, serves until Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;

use super::{print, CredentialRequest, Session};
use crate::cli::{Options, ServeArgs, ServeKind};
use crate::config::default_profile_name;
use crate::environment::Environment;
use crate::server::broker::Broker;
use crate::server::ec2::Ec2;
use crate::server::ecs::Ecs;
use crate::server::page::Page;
use crate::server::{local_hosts, random_token, start, Handler};
use crate::shell::{Bash, Shell};

pub fn run(options: &Options, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::from_process();
    let profile = match &args.profile {
        Some(profile) => profile.clone(),
        None => default_profile_name(&env)?,
    };
    // Configuration errors now, before anything listens.
    let request = CredentialRequest {
        interactive: args.headless,
        ..super::request(options, Some(&profile))
    };
    Session::open(&request)?;
    let broker = Arc::new(Broker::new(request, &profile));
    let token = random_token()?;
    let addr = if args.metadata_ip {
        format!("169.254.169.254:{}", args.port.unwrap_or(80))
    } else {
        format!("127.0.0.1:{}", args.port.unwrap_or(0))
    };
    let (kind, imdsv1, metadata_ip) = (args.kind, args.imdsv1, args.metadata_ip);
    let mut page_address = String::new();
    let running = start(&addr, |bound| {
        let base = if metadata_ip {
            "http://169.254.169.254".to_owned()
        } else {
            format!("http://127.0.0.1:{}", bound.port())
        };
        let mut hosts = local_hosts(bound);
        if kind == ServeKind::Ec2 {
            hosts.extend([
                "169.254.169.254".to_owned(),
                "169.254.169.254:80".to_owned(),
            ]);
        }
        let page = Page::new(broker.clone(), hosts.clone(), bound.port())?;
        page_address = page.address(&base);
        let handler: Arc<Handler> = match kind {
            ServeKind::Ecs => {
                let ecs = Ecs {
                    broker: broker.clone(),
                    token: token.clone(),
                    hosts,
                    page: Some(page),
                };
                Arc::new(move |r: &_| ecs.handle(r))
            }
            ServeKind::Ec2 => {
                let ec2 = Ec2::new(broker.clone(), hosts, imdsv1, Some(page))?;
                Arc::new(move |r: &_| ec2.handle(r))
            }
        };
        Ok(handler)
    })?;
    let base = if args.metadata_ip {
        "http://169.254.169.254".to_owned()
    } else {
        format!("http://127.0.0.1:{}", running.addr.port())
    };

    // Credentials now: a headless server asks for an MFA code here, others on the page.
    if let Err(e) = broker.credentials(&profile) {
        if !e.needs_mfa {
            running.stop();
            anyhow::bail!("{}", e.message);
        }
        eprintln!("aws-runas: '{profile}' needs an MFA code: enter it on the profile page");
    }
    let shell: &dyn Shell = options.output.shell().unwrap_or(&Bash);
    let exports = match kind {
        ServeKind::Ecs => format!(
            "{}\n{}\n",
            shell.export(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                &format!("{base}/credentials")
            ),
            shell.export("AWS_CONTAINER_AUTHORIZATION_TOKEN", &token)
        ),
        ServeKind::Ec2 if args.metadata_ip => {
            format!("{}\n", shell.unset("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
        }
        ServeKind::Ec2 => format!(
            "{}\n",
            shell.export("AWS_EC2_METADATA_SERVICE_ENDPOINT", &format!("{base}/"))
        ),
    };
    print(&exports)?;
    eprintln!("aws-runas: serving '{profile}' at {base}/; Ctrl-C stops");
    // Only this terminal learns the page's address: it carries the page's secret.
    eprintln!("aws-runas: profile page: {page_address}");
    wait_for_shutdown();
    running.stop();
    eprintln!("aws-runas: stopped");
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn wait_for_shutdown() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(mut signals) => {
            signals.forever().next();
        }
        Err(_) => loop {
            std::thread::park();
        },
    }
}

#[cfg(not(unix))]
fn wait_for_shutdown() {
    // The console's Ctrl-C ends the process; nothing here needs tidying first.
    loop {
        std::thread::park();
    }
}
