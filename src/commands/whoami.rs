//! `-w`: the AWS identity behind the profile's credentials, from GetCallerIdentity.

use std::process::ExitCode;

use super::{print, Session};
use crate::cli::Options;
use crate::output::Format;
use crate::provider::Sts;

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let session = Session::new(options, profile)?;
    let creds = session.credentials(options)?;
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
