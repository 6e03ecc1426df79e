//! The process environment as resolution logic sees it: passed explicitly, so that logic can be
//! tested with a fixed set of variables without touching the real environment.

use std::collections::HashMap;

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
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            None => std::env::var(name).ok(),
            Some(vars) => vars.get(name).cloned(),
        };
        value.filter(|v| !v.is_empty())
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
