use super::Shell;

/// Single quotes, with each `'` closed, escaped and reopened: the one quoting every POSIX shell
/// reads back byte for byte, newlines included.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn set_list(name: &str, values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
    format!("{name}=({})", items.join(" "))
}

/// bash; also the syntax of `-O env`, which any POSIX shell reads.
pub struct Bash;

/// zsh: the same statements; its own snippet.
pub struct Zsh;

macro_rules! posix_shell {
    ($shell:ty, $snippet:literal) => {
        impl Shell for $shell {
            fn quote(&self, value: &str) -> String {
                quote(value)
            }
            fn export(&self, name: &str, value: &str) -> String {
                format!("export {name}={}", quote(value))
            }
            fn unset(&self, name: &str) -> String {
                format!("unset {name}")
            }
            fn set(&self, name: &str, value: &str) -> String {
                format!("{name}={}", quote(value))
            }
            fn set_list(&self, name: &str, values: &[String]) -> String {
                set_list(name, values)
            }
            fn snippet(&self) -> &'static str {
                include_str!($snippet)
            }
        }
    };
}

posix_shell!(Bash, "../../shell/aws-runas.bash");
posix_shell!(Zsh, "../../shell/aws-runas.zsh");
