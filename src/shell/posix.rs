use super::Shell;

/// bash, zsh, dash, ksh: anything that speaks POSIX `sh`.
pub struct Posix;

impl Shell for Posix {
    fn quote(&self, value: &str) -> String {
        // Always single-quoted, so output looks the same whatever the value.
        format!("'{}'", value.replace('\'', r"'\''"))
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("export {name}={}", self.quote(value))
    }

    fn unset(&self, name: &str) -> String {
        format!("unset {name}")
    }
}
