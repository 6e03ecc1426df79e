use super::Shell;

pub struct PowerShell;

impl Shell for PowerShell {
    fn quote(&self, value: &str) -> String {
        // PowerShell treats the typographic single quotes as quote characters too; doubling any
        // of them inside a single-quoted string yields the character itself.
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
                out.push(c);
            }
            out.push(c);
        }
        out.push('\'');
        out
    }

    fn export(&self, name: &str, value: &str) -> String {
        format!("$Env:{name} = {}", self.quote(value))
    }

    fn unset(&self, name: &str) -> String {
        format!("Remove-Item -Path Env:{name} -ErrorAction SilentlyContinue")
    }

    fn set(&self, name: &str, value: &str) -> String {
        format!("$global:{name} = {}", self.quote(value))
    }

    fn unset_global(&self, name: &str) -> String {
        format!("Remove-Variable -Name {name} -Scope Global -ErrorAction SilentlyContinue")
    }

    fn set_list(&self, name: &str, values: &[String]) -> String {
        let items: Vec<String> = values.iter().map(|v| self.quote(v)).collect();
        format!("$global:{name} = @({})", items.join(", "))
    }

    fn snippet(&self) -> &'static str {
        include_str!("../../shell/aws-runas.ps1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_every_kind_of_single_quote() {
        assert_eq!(PowerShell.quote("it's"), "'it''s'");
        assert_eq!(PowerShell.quote("‘x’"), "'‘‘x’’'");
        assert_eq!(PowerShell.quote("$env:HOME `n"), "'$env:HOME `n'");
    }
}
