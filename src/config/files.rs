//! Reading the config and credentials files exactly as botocore reads them, and merging them into
//! one map of profiles.
//!
//! Botocore parses both files with Python's `configparser.RawConfigParser` (strict, keys lower-cased,
//! full-line `#`/`;` comments only, a greedy `[...]` header regex, continuation lines decided by
//! indentation relative to the key's line, `[DEFAULT]` inherited by every section), then turns the
//! config file's sections into profiles with `build_profile_map`: a header starting with `profile`
//! is split like a shell line and names a profile when it splits into exactly two words; `default`
//! is a profile as well, and of `[default]` and `[profile default]` the later one in the file wins
//! whole. Every section of the credentials file is a profile, and its keys win key by key; the
//! config file's settings they replace are kept aside, since botocore still reads a profile's
//! access keys from one file alone (`Profiles::static_keys`).
//!
//! A section or key that appears twice in one file is an error here as it is to botocore (strict
//! configparser): the AWS CLI refuses such a file, so accepting it would only move the surprise.
//! Parse errors name the file and line, never the line's text.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ConfigError;

/// One `key = value` as read, with where it came from, so errors can point at it.
#[derive(Clone, Debug)]
pub(super) struct Setting {
    pub value: String,
    /// An indented block under an empty key (`s3 =` then `  key = value` lines): botocore reads it
    /// as a nested table, never as a plain value.
    pub nested: bool,
    pub file: PathBuf,
    pub line: usize,
    /// Values from the credentials file are never shown in messages.
    pub secret_file: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Profile {
    pub settings: BTreeMap<String, Setting>,
}

impl Profile {
    /// A setting with a value: an empty one counts as unset, as the AWS tools treat it.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key).filter(|s| !s.value.is_empty())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.setting(key).map(|s| s.value.as_str())
    }
}

/// A parsed INI file: its sections in the order they first appear, `[DEFAULT]` already folded in.
#[derive(Debug, Default)]
pub(super) struct IniFile {
    pub sections: Vec<(String, Vec<(String, Entry)>)>,
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub value: String,
    pub nested: bool,
    pub line: usize,
}

/// Python's `str.isspace`, which `str.strip` and the `\s` of configparser's patterns use: Rust's
/// whitespace plus the four ASCII separators U+001C..U+001F.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

struct RawOption {
    key: String,
    parts: Vec<String>,
    line: usize,
}

#[derive(Default)]
struct RawSection {
    name: String,
    options: Vec<RawOption>,
    /// Where each key is in `options`, so a file of many keys reads in linear time.
    keys: HashMap<String, usize>,
}

/// A parse failure: the line and what is wrong with it, never the line's text, which may hold a
/// secret.
pub(super) type SyntaxError = (usize, String);

/// Parses INI text the way `RawConfigParser(strict=True)` does.
pub(super) fn parse(text: &str) -> Result<IniFile, SyntaxError> {
    // Python reads text files with universal newlines: CR LF, CR and LF all end a line.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut defaults = RawSection {
        name: "DEFAULT".into(),
        ..RawSection::default()
    };
    let mut sections: Vec<RawSection> = Vec::new();
    let mut section_names: HashSet<String> = HashSet::new();
    // None: before any header; Some(None): in [DEFAULT]; Some(Some(i)): in sections[i].
    let mut current: Option<Option<usize>> = None;
    let mut option: Option<usize> = None;
    let mut indent_level = 0usize;

    for (index, line) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let value = strip(line);
        if value.starts_with('#') || value.starts_with(';') {
            continue;
        }
        let cur_section: Option<&mut RawSection> = match current {
            None => None,
            Some(None) => Some(&mut defaults),
            Some(Some(i)) => Some(&mut sections[i]),
        };
        if value.is_empty() {
            // Blank lines belong to a value that an indented line may still continue.
            if let (Some(s), Some(o)) = (cur_section, option) {
                s.options[o].parts.push(String::new());
            }
            continue;
        }
        let indent = line.chars().take_while(|c| is_space(*c)).count();
        if let (Some(s), Some(o)) = (cur_section, option) {
            if indent > indent_level {
                s.options[o].parts.push(value.to_owned());
                continue;
            }
        }
        indent_level = indent;
        if let Some(header) = section_header(value) {
            option = None;
            if header == "DEFAULT" {
                current = Some(None);
            } else if !section_names.insert(header.to_owned()) {
                return Err((
                    line_no,
                    format!("section [{}] appears twice", super::shown(header)),
                ));
            } else {
                sections.push(RawSection {
                    name: header.to_owned(),
                    ..RawSection::default()
                });
                current = Some(Some(sections.len() - 1));
            }
            continue;
        }
        // A line that configparser cannot take: say what it most likely is.
        let unreadable = |otherwise: &str| {
            let message = if value.starts_with('[') {
                "section header is missing ']'"
            } else {
                otherwise
            };
            Err((line_no, message.to_owned()))
        };
        let Some(in_section) = current else {
            return unreadable("a setting before any [section] header");
        };
        let Some((key, val)) = split_option(value) else {
            return unreadable("expected 'key = value' or '[section]'");
        };
        if key.is_empty() {
            return Err((line_no, "a setting without a name before its '='".into()));
        }
        let key = key.to_lowercase();
        let target = match in_section {
            None => &mut defaults,
            Some(i) => &mut sections[i],
        };
        if let Some(&first) = target.keys.get(&key) {
            let first = &target.options[first];
            return Err((
                line_no,
                format!(
                    "{} is set twice in [{}] (first on line {})",
                    key_shown(&key),
                    super::shown(&target.name),
                    first.line
                ),
            ));
        }
        target.keys.insert(key.clone(), target.options.len());
        target.options.push(RawOption {
            key,
            parts: vec![val.to_owned()],
            line: line_no,
        });
        option = Some(target.options.len() - 1);
    }

    let finish = |o: &RawOption| -> Result<Entry, SyntaxError> {
        let value = o.parts.join("\n").trim_end_matches(is_space).to_owned();
        let nested = value.starts_with('\n');
        if nested {
            // Botocore reads such a block as `key = value` lines and fails on any other line.
            if value
                .lines()
                .map(strip)
                .any(|l| !l.is_empty() && !l.contains('='))
            {
                return Err((
                    o.line,
                    format!(
                        "the indented block under {} needs 'key = value' lines",
                        key_shown(&o.key)
                    ),
                ));
            }
        }
        Ok(Entry {
            value,
            nested,
            line: o.line,
        })
    };
    let defaults = defaults
        .options
        .iter()
        .map(|o| Ok((o.key.clone(), finish(o)?)))
        .collect::<Result<Vec<_>, SyntaxError>>()?;
    let mut out = IniFile::default();
    for s in sections {
        let mut entries: Vec<(String, Entry)> = Vec::new();
        for o in &s.options {
            entries.push((o.key.clone(), finish(o)?));
        }
        for (k, e) in &defaults {
            if !s.keys.contains_key(k) {
                entries.push((k.clone(), e.clone()));
            }
        }
        out.sections.push((s.name, entries));
    }
    Ok(out)
}

/// configparser's `\[(?P<header>.+)\]`, matched at the start of the stripped line: greedy, so the
/// header runs to the last `]` and anything after it (a comment, say) is ignored.
fn section_header(line: &str) -> Option<&str> {
    let (header, _) = line.strip_prefix('[')?.rsplit_once(']')?;
    (!header.is_empty()).then_some(header)
}

/// configparser's `(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$`: the first `=` or `:` splits.
fn split_option(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(['=', ':'])?;
    Some((key.trim_end_matches(is_space), strip(value)))
}

/// A key name for a message: shown when it looks like a key, so a stray secret is never echoed.
pub(super) fn key_shown(key: &str) -> String {
    if !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        format!("'{key}'")
    } else {
        "a key".into()
    }
}

/// Python's `shlex.split` (POSIX mode, no comments), which botocore applies to `profile NAME`
/// headers; `None` where Python raises (an unclosed quote, a trailing backslash).
pub(super) fn shell_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                word.push(chars.next()?);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\') => word.push(c),
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// A file that is not there (or a path through a file, or no path at all) is an empty one, as in
/// botocore; any other read failure is an error. So is a directory, which botocore skips as if it
/// were not there: a variable that names one was never meant to name no file, and skipping the
/// credentials file would quietly leave the config file's keys to sign.
pub(super) fn read(location: &super::FileLocation) -> Result<Option<IniFile>, ConfigError> {
    use std::io::ErrorKind;
    let Some(path) = &location.path else {
        return Ok(None);
    };
    let error = |reason: String| ConfigError::Read {
        path: path.clone(),
        variable: location.variable,
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(None)
        }
        Err(e) if e.kind() == ErrorKind::IsADirectory => {
            return Err(error("it is a directory, not a file".into()))
        }
        Err(e) => return Err(error(e.to_string())),
    };
    parse(&text)
        .map(Some)
        .map_err(|(line, message)| ConfigError::Parse {
            path: path.to_owned(),
            line,
            message,
        })
}

/// Both files merged into profiles, with the config file's sections that are not profiles.
pub(super) struct Merged {
    pub profiles: BTreeMap<String, Profile>,
    pub unprefixed_config_sections: Vec<String>,
    /// `[sso-session NAME]` sections of the config file, split as botocore splits them.
    pub sso_sessions: BTreeMap<String, Profile>,
    /// Per profile, the config file's settings that the credentials file's replaced.
    pub shadowed: BTreeMap<String, BTreeMap<String, Setting>>,
}

pub(super) fn merge(
    config: Option<&IniFile>,
    config_file: &Path,
    credentials: Option<&IniFile>,
    credentials_file: &Path,
) -> Merged {
    let mut profiles: BTreeMap<String, Profile> = BTreeMap::new();
    let mut unprefixed = Vec::new();
    let mut sso_sessions = BTreeMap::new();
    let to_profile = |entries: &[(String, Entry)], file: &Path, secret_file: bool| Profile {
        settings: entries
            .iter()
            .map(|(k, e)| {
                (
                    k.clone(),
                    Setting {
                        value: e.value.clone(),
                        nested: e.nested,
                        file: file.to_owned(),
                        line: e.line,
                        secret_file,
                    },
                )
            })
            .collect(),
    };
    for (header, entries) in config.map(|c| c.sections.as_slice()).unwrap_or_default() {
        let name = if header.starts_with("profile") {
            match shell_split(header).as_deref() {
                Some([_, name]) => Some(name.clone()),
                _ => None,
            }
        } else if header == "default" {
            Some(header.clone())
        } else if header.starts_with("sso-session") {
            if let Some([_, name]) = shell_split(header).as_deref() {
                sso_sessions.insert(name.clone(), to_profile(entries, config_file, false));
            }
            None
        } else {
            if !header.contains(char::is_whitespace) {
                unprefixed.push(header.clone());
            }
            None
        };
        if let Some(name) = name {
            // A later section for the same profile replaces the earlier one whole.
            profiles.insert(name, to_profile(entries, config_file, false));
        }
    }
    let mut shadowed: BTreeMap<String, BTreeMap<String, Setting>> = BTreeMap::new();
    for (name, entries) in credentials
        .map(|c| c.sections.as_slice())
        .unwrap_or_default()
    {
        let from_credentials = to_profile(entries, credentials_file, true);
        let merged = &mut profiles.entry(name.clone()).or_default().settings;
        for (key, setting) in from_credentials.settings {
            if let Some(replaced) = merged.insert(key.clone(), setting) {
                shadowed
                    .entry(name.clone())
                    .or_default()
                    .insert(key, replaced);
            }
        }
    }
    Merged {
        profiles,
        unprefixed_config_sections: unprefixed,
        sso_sessions,
        shadowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, Vec<(String, String)>)> {
        parse(text)
            .unwrap()
            .sections
            .into_iter()
            .map(|(n, e)| (n, e.into_iter().map(|(k, e)| (k, e.value)).collect()))
            .collect()
    }

    fn s(v: &[(&str, &[(&str, &str)])]) -> Vec<(String, Vec<(String, String)>)> {
        v.iter()
            .map(|(n, e)| {
                (
                    n.to_string(),
                    e.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn configparser_line_rules() {
        // A comment after a header is ignored; keys are lower-cased; values keep inline `#`.
        assert_eq!(
            values("[profile x] # team\nRegion = a # b\nROLE_ARN: r\n"),
            s(&[("profile x", &[("region", "a # b"), ("role_arn", "r")])])
        );
        // Keys indented alike are separate keys; a deeper line continues the value above.
        assert_eq!(
            values("[p]\n  a = 1\n  b = 2\n    more\n\tc=3\n"),
            s(&[("p", &[("a", "1"), ("b", "2\nmore"), ("c", "3")])])
        );
        assert_eq!(
            values("[p]\na = 1\n  b = 2\n"),
            s(&[("p", &[("a", "1\nb = 2")])])
        );
        // Indented comments are skipped even inside a value; CR-only line ends work.
        assert_eq!(
            values("[p]\ra = 1\r  # c\r  x\r"),
            s(&[("p", &[("a", "1\nx")])])
        );
        // [DEFAULT] is inherited by every section and is not a section itself.
        assert_eq!(
            values("[DEFAULT]\nregion = d\n[a]\nk = 1\n[b]\nregion = e\n"),
            s(&[
                ("a", &[("k", "1"), ("region", "d")]),
                ("b", &[("region", "e")])
            ])
        );
    }

    #[test]
    fn strict_errors_name_the_line_and_never_the_text() {
        let err = |t: &str| parse(t).unwrap_err();
        assert_eq!(err("[p]\na = 1\nA = 2\n").0, 3);
        assert!(err("[p]\na = 1\nA = 2\n").1.contains("first on line 2"));
        assert_eq!(err("[p]\n[q]\n[p]\n").0, 3);
        assert_eq!(err("[p]\n= x\n").0, 2);
        let e = err("[p]\naws_secret_access_key wJalrXUtnFEMI\n");
        assert_eq!(e.0, 2);
        assert!(!e.1.contains("wJalr"), "{}", e.1);
        assert_eq!(err("[p]\ns3 =\n  not a setting\n").0, 2);
    }

    #[test]
    fn shell_split_matches_python() {
        let split = |s: &str| shell_split(s).map(|v| v.join("|"));
        assert_eq!(split("profile x").as_deref(), Some("profile|x"));
        assert_eq!(split("profile \"a b\"").as_deref(), Some("profile|a b"));
        assert_eq!(split("profile 'a\\b'").as_deref(), Some("profile|a\\b"));
        assert_eq!(split("profile a\\ b #c").as_deref(), Some("profile|a b|#c"));
        assert_eq!(split("profile ''").as_deref(), Some("profile|"));
        assert_eq!(split("profile \"x"), None);
    }
}
