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
        self.exact(name).filter(|v| !v.is_empty())
    }

    /// The variable as it is, set to nothing included: where botocore tells an empty variable
    /// from an unset one.
    pub fn exact(&self, name: &str) -> Option<String> {
        match &self.fixed {
            None => std::env::var(name).ok(),
            Some(vars) => vars.get(name).cloned(),
        }
    }

    /// A path from a variable as botocore expands `AWS_CONFIG_FILE` and its kin: Python's
    /// `os.path.expanduser(os.path.expandvars(path))`. So `$NAME` and `${NAME}` of a variable
    /// that is set (even to nothing) are replaced, others stay as written; then a leading `~`
    /// or `~USER` is a home directory. Values are not expanded again, but one that starts with
    /// `~` is then a home directory too, as in Python.
    pub fn expand_path(&self, path: &str) -> std::path::PathBuf {
        expand_user(&self.expand_vars(path), self)
    }

    /// `os.path.expandvars`: `\$(\w+|\{[^}]*\})` with ASCII `\w`.
    fn expand_vars(&self, path: &str) -> String {
        let mut out = String::with_capacity(path.len());
        let mut rest = path;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let word = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let (name, len) = if word > 0 {
                (&after[..word], word)
            } else if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(close) => (&inner[..close], close + 2),
                    None => ("", 0),
                }
            } else {
                ("", 0)
            };
            // Python's lookup of such a name fails; ours must not reach the OS with it.
            let value = if name.is_empty() || name.contains(['=', '\0']) {
                None
            } else {
                self.exact(name)
            };
            match (len, value) {
                (1.., Some(value)) => out.push_str(&value),
                (1.., None) => out.push_str(&rest[dollar..dollar + 1 + len]),
                (0, _) => out.push('$'),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
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

/// `os.path.expanduser` on POSIX: `~` is `HOME` (set, even to nothing), else the account's home
/// directory; `~USER` is that user's; a user or home that cannot be found leaves the path as it is.
fn expand_user(path: &str, env: &Environment) -> std::path::PathBuf {
    use std::path::PathBuf;
    let Some(after) = path.strip_prefix('~') else {
        return PathBuf::from(path);
    };
    let (user, tail) = after.split_at(after.find('/').unwrap_or(after.len()));
    let home = if user.is_empty() {
        match env.exact("HOME") {
            Some(home) => Some(PathBuf::from(home)),
            None => dirs::home_dir(),
        }
    } else {
        home_of(user)
    };
    let Some(home) = home else {
        return PathBuf::from(path);
    };
    let home = home.to_string_lossy();
    let joined = format!("{}{tail}", home.trim_end_matches('/'));
    PathBuf::from(if joined.is_empty() { "/" } else { &joined })
}

/// The home directory of the account `user`, from the password database.
#[cfg(unix)]
fn home_of(user: &str) -> Option<std::path::PathBuf> {
    use std::ffi::{CStr, CString, OsStr};
    use std::os::unix::ffi::OsStrExt as _;
    let name = CString::new(user).ok()?;
    let mut buffer = vec![0 as libc::c_char; 4096];
    loop {
        // SAFETY: every pointer is to a live local of the size given; getpwnam_r writes the
        // entry's strings into `buffer` and nowhere else.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        if rc == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        // SAFETY: a found entry's pw_dir points to a NUL-terminated string inside `buffer`.
        let dir = unsafe { CStr::from_ptr(entry.pw_dir) };
        return Some(OsStr::from_bytes(dir.to_bytes()).into());
    }
}

#[cfg(not(unix))]
fn home_of(_: &str) -> Option<std::path::PathBuf> {
    None
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

    #[test]
    fn paths_expand_as_pythons_expandvars_then_expanduser() {
        let env = Environment::from([
            ("HOME", "/home/u/"),
            ("D", "/data"),
            ("EMPTY", ""),
            ("T", "~/t"),
            ("A_1", "x"),
        ]);
        let e = |p: &str| env.expand_path(p).to_string_lossy().into_owned();
        assert_eq!(e("$D/config"), "/data/config");
        assert_eq!(e("${D}/config"), "/data/config");
        assert_eq!(e("$D$A_1/c"), "/datax/c");
        // Unset variables, and what is not a variable, stay as written.
        assert_eq!(e("$UNSET/c"), "$UNSET/c");
        assert_eq!(e("${UNSET}/c"), "${UNSET}/c");
        assert_eq!(e("${D/c"), "${D/c");
        assert_eq!(e("a$/$$b"), "a$/$$b");
        assert_eq!(e("${}"), "${}");
        // Set to nothing is set.
        assert_eq!(e("/x$EMPTY/c"), "/x/c");
        // `~` after the variables: a value may bring one, and HOME's trailing '/' goes.
        assert_eq!(e("~/c"), "/home/u/c");
        assert_eq!(e("~"), "/home/u");
        assert_eq!(e("$T/c"), "/home/u/t/c");
        assert_eq!(e("/a/~/c"), "/a/~/c");
        assert_eq!(e("~no-such-user-here/c"), "~no-such-user-here/c");
        #[cfg(unix)]
        assert_eq!(
            e("~root/c"),
            format!(
                "{}/c",
                home_of("root")
                    .unwrap()
                    .display()
                    .to_string()
                    .trim_end_matches('/')
            )
        );
        let rootless = Environment::from([("HOME", "")]);
        assert_eq!(rootless.expand_path("~/c").to_string_lossy(), "/c");
        assert_eq!(rootless.expand_path("~").to_string_lossy(), "/");
    }
}
