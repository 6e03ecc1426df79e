//! `__profiles`: profile names for shell completion. Reads the two INI files and nothing else.

use std::process::ExitCode;

use super::print;
use crate::config::Profiles;
use crate::environment::Environment;

pub fn run() -> anyhow::Result<ExitCode> {
    let profiles = Profiles::load(&Environment::from_process())?;
    let mut text = String::new();
    for name in profiles.names() {
        text.push_str(name);
        text.push('\n');
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
