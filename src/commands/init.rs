//! `init SHELL`: the shell integration snippet, with the path of this binary filled in.

use std::process::ExitCode;

use super::print;
use crate::shell::{self, ShellKind};

pub fn run(kind: ShellKind) -> anyhow::Result<ExitCode> {
    // The absolute path keeps working when PATH changes; a path that is not UTF-8 cannot be
    // written into a script, so such a binary is called by name.
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.into_os_string().into_string().ok())
        .unwrap_or_else(|| "aws-runas".into());
    print(&shell::init(kind.shell(), &binary))?;
    Ok(ExitCode::SUCCESS)
}
