//! Where MFA codes come from: `-o` / `MFA_CODE`, else one prompt on the controlling terminal.
//! Never stdout, and never a prompt nobody can answer.

use crate::tty;

pub trait MfaPrompt {
    /// A current code of the `serial` device, for `profile`.
    fn code(&self, profile: &str, serial: &str) -> anyhow::Result<String>;
}

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("profile '{profile}' needs an MFA code for {serial} and no terminal can answer: pass -o CODE or set MFA_CODE")]
    NoTerminal { profile: String, serial: String },
    #[error("the MFA code {origin} is not 6 digits")]
    Malformed { origin: &'static str },
}

/// Whether `error` is, somewhere in its chain, an MFA code nobody could be asked for.
pub fn needs_code(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<MfaError>(),
            Some(MfaError::NoTerminal { .. })
        )
    })
}

pub struct TerminalMfa {
    /// From `-o` / `MFA_CODE`.
    pub preset: Option<String>,
    /// False where a prompt must not be shown even if a terminal exists (prompt hooks).
    pub interactive: bool,
}

fn well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

impl MfaPrompt for TerminalMfa {
    fn code(&self, profile: &str, serial: &str) -> anyhow::Result<String> {
        if let Some(code) = &self.preset {
            let code = code.trim();
            if !well_formed(code) {
                return Err(MfaError::Malformed {
                    origin: "from -o / MFA_CODE",
                }
                .into());
            }
            return Ok(code.to_owned());
        }
        let no_terminal = || MfaError::NoTerminal {
            profile: profile.to_owned(),
            serial: serial.to_owned(),
        };
        if !self.interactive {
            return Err(no_terminal().into());
        }
        let code =
            tty::ask(&format!("Enter MFA code for {serial}: ")).map_err(|_| no_terminal())?;
        if !well_formed(&code) {
            return Err(MfaError::Malformed { origin: "entered" }.into());
        }
        Ok(code)
    }
}
