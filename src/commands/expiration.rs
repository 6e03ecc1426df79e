//! `-e`: when the profile's credentials expire, in local time, and how long that is from now.

use std::process::ExitCode;

use jiff::{tz::TimeZone, Timestamp};

use super::{open, print};
use crate::cli::Options;
use crate::duration::human;

pub fn run(options: &Options, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let (session, request) = open(options, profile)?;
    let creds = session.credentials(&request)?;
    let now = Timestamp::now();
    let line = match (creds.expiration, creds.time_left(now)) {
        (Some(exp), Some(left)) => {
            let local = exp
                .to_zoned(TimeZone::system())
                .strftime("%Y-%m-%d %H:%M:%S %Z");
            if left.is_zero() {
                format!("Credentials expired on {local}")
            } else {
                format!("Credentials will expire on {local} (in {})", human(left))
            }
        }
        _ => format!("Credentials of '{}' do not expire", session.resolved.name),
    };
    print(&format!("{line}\n"))?;
    Ok(ExitCode::SUCCESS)
}
