//! `-w`: the AWS identity behind the profile's credentials, from GetCallerIdentity.

use std::process::ExitCode;

use super::{open, print};
use crate::aws::sts::Sts;
use crate::cli::Options;
use crate::output::Format;

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let (session, request) = open(options, profile)?;
    let creds = session.credentials(&request)?;
    let identity = session.sts().caller_identity(&creds)?;
    let text = if options.output == Format::Json {
        serde_json::to_string_pretty(&identity)? + "\n"
    } else {
        format!(
            "UserId: {}\nArn: {}\nAccount: {}\n",
            identity.user_id, identity.arn, identity.account
        )
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
