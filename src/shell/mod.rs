//! Everything that knows a shell's syntax: one implementation per shell behind the `Shell`
//! trait (quoting, export, unset, the snippet's own variables, `init`), so the rest of the
//! program never builds shell code by hand. The snippets themselves live in `shell/` at the top
//! of the repository as real script files, linted as such, and are embedded here.

mod fish;
mod posix;
mod powershell;

use clap::ValueEnum;

pub use fish::Fish;
pub use posix::{Bash, Zsh};
pub use powershell::PowerShell;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShellKind {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
}

impl ShellKind {
    pub fn shell(self) -> &'static dyn Shell {
        match self {
            ShellKind::Bash => &Bash,
            ShellKind::Zsh => &Zsh,
            ShellKind::Fish => &Fish,
            ShellKind::Powershell => &PowerShell,
        }
    }

    pub fn clap_shell(self) -> clap_complete::Shell {
        match self {
            ShellKind::Bash => clap_complete::Shell::Bash,
            ShellKind::Zsh => clap_complete::Shell::Zsh,
            ShellKind::Fish => clap_complete::Shell::Fish,
            ShellKind::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}

pub trait Shell {
    /// Quotes `value` so the shell reads it back byte for byte, whatever it contains.
    fn quote(&self, value: &str) -> String;
    /// A statement that sets and exports an environment variable.
    fn export(&self, name: &str, value: &str) -> String;
    /// A statement that removes an environment variable, quietly if it is not set.
    fn unset(&self, name: &str) -> String;
    /// A statement that sets a shell (not environment) variable at global scope.
    fn set(&self, name: &str, value: &str) -> String;
    /// A statement that removes a shell (not environment) variable.
    fn unset_global(&self, name: &str) -> String {
        self.unset(name)
    }
    /// A statement that sets a global list (array) variable.
    fn set_list(&self, name: &str, values: &[String]) -> String;
    /// A statement that calls a snippet function with one argument.
    fn call(&self, function: &str, argument: &str) -> String {
        format!("{function} {}", self.quote(argument))
    }
    /// The integration snippet, as shipped in `shell/`.
    fn snippet(&self) -> &'static str;
    /// The line of the snippet that names the binary, as shipped.
    fn binary_line(&self) -> String {
        self.set("__runas_bin", "aws-runas")
    }
}

/// The snippet `aws-runas init SHELL` prints: the shipped file with the path of this binary.
pub fn init(shell: &dyn Shell, binary: &str) -> String {
    let shipped = shell.binary_line();
    let quoted = shell.set("__runas_bin", binary);
    shell.snippet().replacen(&shipped, &quoted, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const AWKWARD: &[&str] = &[
        "",
        "plain",
        "it's",
        "$HOME and ${PATH}",
        "`uname`",
        "$(id)",
        "line one\nline two",
        "back\\slash",
        "\"double\"",
        "semi;colon & amp | pipe",
        "glob * ? [a]",
        "tab\there",
        "trailing\\",
        "‘smart’ “quotes”",
    ];

    #[test]
    fn posix_quoting_round_trips() {
        for value in AWKWARD {
            let quoted = Bash.quote(value);
            assert_eq!(
                shell_words::split(&quoted).unwrap(),
                vec![value.to_string()]
            );
        }
    }

    #[test]
    fn init_fills_in_the_binary_in_every_snippet() {
        for kind in ShellKind::value_variants() {
            let shell = kind.shell();
            assert_eq!(
                shell.snippet().matches(&shell.binary_line()).count(),
                1,
                "{kind:?}: the binary line must appear exactly once"
            );
            let text = init(shell, "/opt/it's here/aws-runas");
            assert!(!text.contains(&shell.binary_line()), "{kind:?}");
            assert!(text.contains(&shell.set("__runas_bin", "/opt/it's here/aws-runas")));
        }
    }
}
