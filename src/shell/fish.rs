use super::Shell;

pub struct Fish;

impl Shell for Fish {
    fn quote(&self, value: &str) -> String {
        // Inside fish single quotes only `\\` and `\'` are special.
        format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("set -gx {name} {}", self.quote(value))
    }

    fn unset(&self, name: &str) -> String {
        format!("set -e {name}")
    }

    fn set(&self, name: &str, value: &str) -> String {
        format!("set -g {name} {}", self.quote(value))
    }

    fn set_list(&self, name: &str, values: &[String]) -> String {
        let items: Vec<String> = values.iter().map(|v| self.quote(v)).collect();
        format!("set -g {name} {}", items.join(" "))
    }

    fn snippet(&self) -> &'static str {
        include_str!("../../shell/aws-runas.fish")
    }

    // fish_indent drops the quotes `set` would write, and the shipped file is fish_indent-clean.
    fn binary_line(&self) -> String {
        "set -g __runas_bin aws-runas".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_backslash_and_quote_only() {
        assert_eq!(Fish.quote(r"a\b'c$d"), r"'a\\b\'c$d'");
        assert_eq!(Fish.export("X", "v"), "set -gx X 'v'");
    }
}
