//! The process environment as resolution logic sees it: passed explicitly, so that logic can be
//! tested with a fixed set of variables without touching the real environment.

use std::collections::HashMap;

/// The names of the variables `runas use` set in a shell, space-separated.
pub const OURS: &str = "AWSRUNAS_VARS";

#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `None`: the real process environment, read on demand (the cache-hit path looks up a
    /// dozen names, far cheaper than copying the whole environment).
    fixed: Option<HashMap<String, String>>,
}

impl Environment {
    pub fn from_process() -> Self {
        Self { fixed: None }
    }

    /// A set, non-empty variable: an empty value means "unset" to the AWS tools too.
    /// Variables that `runas use` set (listed in `AWSRUNAS_VARS`) are aws-runas's own output,
    /// never configuration, so they read as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        if self.set_by_runas(name) {
            return None;
        }
        self.raw(name)
    }

    /// Whether `runas use` set `name` in this shell.
    pub fn set_by_runas(&self, name: &str) -> bool {
        self.raw(OURS)
            .is_some_and(|list| list.split_whitespace().any(|n| n == name))
    }

    /// `~/…` in a path from a file or a variable, as the AWS tools expand it: this
    /// environment's HOME, else the platform's home directory.
    pub fn expand_tilde(&self, path: &str) -> std::path::PathBuf {
        let home = || {
            self.raw("HOME")
                .map(std::path::PathBuf::from)
                .or_else(dirs::home_dir)
        };
        match (path.strip_prefix("~/"), home()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => std::path::PathBuf::from(path),
        }
    }

    /// The variable as it is, whoever set it.
    pub fn raw(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            None => std::env::var(name).ok(),
            Some(vars) => vars.get(name).cloned(),
        };
        value.filter(|v| !v.is_empty())
    }

    /// This environment with `name` set to `value` (a flag standing in for its variable).
    pub fn with_var(self, name: &str, value: &str) -> Self {
        let mut vars = self.fixed.unwrap_or_else(|| std::env::vars().collect());
        vars.insert(name.to_owned(), value.to_owned());
        Self { fixed: Some(vars) }
    }

    pub fn is_truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            !matches!(
                v.to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off" | "n" | "f"
            )
        })
    }
}

#[cfg(test)]
impl<const N: usize> From<[(&str, &str); N]> for Environment {
    fn from(pairs: [(&str, &str); N]) -> Self {
        Self {
            fixed: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_set_by_runas_read_as_unset() {
        let env = Environment::from([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            (OURS, "AWS_REGION AWSRUNAS_PROFILE"),
        ]);
        assert_eq!(env.get("AWS_REGION"), None);
        assert_eq!(env.raw("AWS_REGION").as_deref(), Some("eu-west-1"));
        assert_eq!(env.get("AWS_DEFAULT_REGION").as_deref(), Some("eu-west-1"));
    }
}
