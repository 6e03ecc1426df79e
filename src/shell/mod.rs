//! Everything that knows a shell's syntax: one implementation per shell behind the `Shell` trait,
//! so the rest of the program never builds shell code by hand.

mod fish;
mod posix;
mod powershell;

pub use fish::Fish;
pub use posix::Posix;
pub use powershell::PowerShell;

pub trait Shell {
    /// Quotes `value` so the shell reads it back byte for byte, whatever it contains.
    fn quote(&self, value: &str) -> String;
    /// A statement that sets and exports an environment variable.
    fn export(&self, name: &str, value: &str) -> String;
    /// A statement that removes an environment variable, quietly if it is not set.
    fn unset(&self, name: &str) -> String;
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
            let quoted = Posix.quote(value);
            assert_eq!(
                shell_words::split(&quoted).unwrap(),
                vec![value.to_string()]
            );
        }
    }
}
