//! `-c`: a `[PROFILE-awsrunas]` section in the shared credentials file, for tools that read only
//! that file. Every other byte of the file is kept; the write is atomic and made under a lock,
//! so concurrent writers never lose each other's sections. Its mode is kept too, unless others
//! could read or write it: a file that now holds live credentials is tightened to the owner's
//! bits (0600 for the usual 0644), and the caller says so.
//!
//! Also `keys import` and `keys rotate`: a profile's two key lines rewritten in place (values
//! replaced, or the lines removed), with the same lock, atomic write and owner-only mode.

use std::path::Path;

use anyhow::Context;

use crate::cache::{Cache, CacheKey};
use crate::credentials::Credentials;
use crate::private_file::write_atomic;

pub fn section_name(profile: &str) -> String {
    format!("{profile}-awsrunas")
}

/// A mode changed by `write`: the file's, and the one it was given.
#[derive(Debug, PartialEq, Eq)]
pub struct Tightened {
    pub was: u32,
    pub now: u32,
}

/// Group and other bits: whoever they let in could read the credentials written.
const OTHERS: u32 = 0o077;

/// Writes the profile's section; `Some` when the file's mode had to be tightened for it.
pub fn write(
    path: &Path,
    profile: &str,
    creds: &Credentials,
    cache: &Cache,
) -> anyhow::Result<Option<Tightened>> {
    let _lock = cache.lock(&CacheKey::file(path))?;
    let (original, was) = match std::fs::read_to_string(path) {
        Ok(text) => (text, file_mode(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), 0o600),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mode = private_mode(was);
    let mut body = format!(
        "aws_access_key_id = {}\naws_secret_access_key = {}\n",
        creds.access_key_id, creds.secret_access_key
    );
    if let Some(token) = &creds.session_token {
        body.push_str(&format!("aws_session_token = {token}\n"));
    }
    if let Some(expiration) = creds.expiration_rfc3339() {
        body.push_str(&format!("# written by aws-runas; expires {expiration}\n"));
    }
    let updated = replace_section(&original, &section_name(profile), &body);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(path, updated.as_bytes(), mode)?;
    Ok((mode != was).then_some(Tightened { was, now: mode }))
}

/// `mode` with nothing for group and others (setuid and the like dropped too): the owner's own
/// bits are theirs to choose.
fn private_mode(mode: u32) -> u32 {
    if mode & OTHERS == 0 {
        mode
    } else {
        mode & 0o700
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> u32 {
    0o600
}

fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// `text` with section `name`'s settings replaced by `body` (or the section appended). Blank
/// and comment lines just before the next section stay: they belong to that section.
fn replace_section(text: &str, name: &str, body: &str) -> String {
    let header = format!("[{name}]");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let Some(start) = lines.iter().position(|l| l.trim() == header) else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&format!("{header}\n{body}"));
        return out;
    };
    let next = lines[start + 1..]
        .iter()
        .position(|l| is_header(l))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut keep_from = next;
    while keep_from > start + 1 {
        let line = lines[keep_from - 1].trim();
        let comment = line.starts_with(['#', ';']) && !line.contains("written by aws-runas");
        if line.is_empty() || comment {
            keep_from -= 1;
        } else {
            break;
        }
    }
    let mut out: String = lines[..=start].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(body);
    out.push_str(&lines[keep_from..].concat());
    out
}

/// The key lines `edit_keys` touches.
const KEY_LINES: [&str; 2] = ["aws_access_key_id", "aws_secret_access_key"];

/// Rewrites `[profile]`'s `aws_access_key_id` and `aws_secret_access_key` lines in the
/// credentials file at `path`: their values replaced by `new`'s, or (`None`) the lines removed.
/// Every other byte stays as it was. Fails, writing nothing, when the section has neither line.
pub fn edit_keys(
    path: &Path,
    profile: &str,
    new: Option<&Credentials>,
    cache: &Cache,
) -> anyhow::Result<()> {
    let _lock = cache.lock(&CacheKey::file(path))?;
    let original =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let updated = edited_keys(&original, profile, new).with_context(|| {
        format!(
            "[{profile}] in {} has no aws_access_key_id and aws_secret_access_key lines",
            path.display()
        )
    })?;
    write_atomic(path, updated.as_bytes(), private_mode(file_mode(path)))?;
    Ok(())
}

/// `text` with `profile`'s key lines replaced or removed; `None` when it has neither.
fn edited_keys(text: &str, profile: &str, new: Option<&Credentials>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut in_section = false;
    let mut touched = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let ending = &line[content.len()..];
        let trimmed = content.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            in_section = trimmed[1..trimmed.len() - 1].trim() == profile;
            out.push_str(line);
            continue;
        }
        // configparser's delimiters are '=' and ':'; an indented line continues a value.
        let delimiter = content.find(['=', ':']);
        let key = delimiter.map(|d| content[..d].trim().to_ascii_lowercase());
        let which = key.and_then(|k| KEY_LINES.iter().position(|l| *l == k));
        match (
            in_section && !content.starts_with([' ', '\t']),
            which,
            delimiter,
        ) {
            (true, Some(i), Some(d)) => {
                touched += 1;
                if let Some(new) = new {
                    let after = &content[d + 1..];
                    let spaces = after.len() - after.trim_start().len();
                    let value = if i == 0 {
                        &new.access_key_id
                    } else {
                        &new.secret_access_key
                    };
                    out.push_str(&content[..d + 1 + spaces]);
                    out.push_str(value);
                    out.push_str(ending);
                }
            }
            _ => out.push_str(line),
        }
    }
    (touched > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_are_replaced_or_removed_and_nothing_else_changes() {
        let text = "# top\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n\r\n[me]\r\n; mine\r\nregion = eu-west-1\r\nAWS_ACCESS_KEY_ID=AKIAOLD\r\naws_secret_access_key :  oldsecret\r\n[last]\nx = 1";
        let new = Credentials::long_term("AKIANEW".into(), "newsecret".into());
        assert_eq!(
            edited_keys(text, "me", Some(&new)).unwrap(),
            "# top\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n\r\n[me]\r\n; mine\r\nregion = eu-west-1\r\nAWS_ACCESS_KEY_ID=AKIANEW\r\naws_secret_access_key :  newsecret\r\n[last]\nx = 1"
        );
        assert_eq!(
            edited_keys(text, "me", None).unwrap(),
            "# top\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\n\r\n[me]\r\n; mine\r\nregion = eu-west-1\r\n[last]\nx = 1"
        );
        assert_eq!(edited_keys(text, "last", None), None);
    }

    const FILE: &str = "# my keys\n[default]\naws_access_key_id = A\n\n[dev-awsrunas]\naws_access_key_id = OLD\naws_session_token = OLD\n# written by aws-runas; expires x\n\n; next one\n[other]\nregion=x";

    #[test]
    fn only_a_mode_open_to_others_is_tightened() {
        assert_eq!(private_mode(0o644), 0o600);
        assert_eq!(private_mode(0o640), 0o600);
        assert_eq!(private_mode(0o604), 0o600);
        assert_eq!(private_mode(0o666), 0o600);
        assert_eq!(private_mode(0o600), 0o600);
        assert_eq!(private_mode(0o400), 0o400);
        assert_eq!(private_mode(0o700), 0o700);
    }

    #[test]
    fn replaces_only_the_section_body() {
        let out = replace_section(FILE, "dev-awsrunas", "aws_access_key_id = NEW\n");
        assert_eq!(
            out,
            "# my keys\n[default]\naws_access_key_id = A\n\n[dev-awsrunas]\naws_access_key_id = NEW\n\n; next one\n[other]\nregion=x"
        );
    }

    #[test]
    fn appends_a_missing_section() {
        let out = replace_section("[default]\nx = 1", "p-awsrunas", "k = v\n");
        assert_eq!(out, "[default]\nx = 1\n\n[p-awsrunas]\nk = v\n");
        assert_eq!(
            replace_section("", "p-awsrunas", "k = v\n"),
            "[p-awsrunas]\nk = v\n"
        );
    }

    #[test]
    fn last_section_and_crlf() {
        let out = replace_section(
            "[a]\r\nx = 1\r\n[b-awsrunas]\r\nold = 1\r\n",
            "b-awsrunas",
            "new = 2\n",
        );
        assert_eq!(out, "[a]\r\nx = 1\r\n[b-awsrunas]\r\nnew = 2\n");
    }
}
