//! `sso profiles SESSION`, the pure part: profile names from a template, made safe for INI
//! headers and shells; the block of generated profiles that the command owns in the config
//! file, spliced in without touching a byte outside it; and the diff `--dry-run` shows.

use std::collections::BTreeMap;

/// aws-sso-util's default name.
pub const DEFAULT_TEMPLATE: &str = "{account_name}.{role_name}";

/// Long names are unwieldy in prompts and some shells' completion; botocore has no limit.
const MAX_NAME: usize = 128;

/// One account and role the portal assigns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Assignment {
    pub account_id: String,
    pub account_name: String,
    pub role_name: String,
}

/// `raw` usable as an INI section name and a shell word: anything outside `[A-Za-z0-9._-]`
/// becomes `-`, no leading `-` (it would read as an option), at most `MAX_NAME` characters.
pub fn safe_name(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped
        .trim_start_matches('-')
        .chars()
        .take(MAX_NAME)
        .collect()
}

/// The profile name `template` gives `a`; an unknown `{placeholder}` is an error.
pub fn render(template: &str, session: &str, a: &Assignment) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("--name '{template}': a '{{' without its '}}'"))?;
        out.push_str(match &after[..close] {
            "account_name" => &a.account_name,
            "account_id" => &a.account_id,
            "role_name" => &a.role_name,
            "session" => session,
            other => {
                return Err(format!(
                    "--name '{template}': unknown placeholder {{{other}}} (known: {{account_name}}, {{account_id}}, {{role_name}}, {{session}})"
                ))
            }
        });
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(safe_name(&out))
}

/// Every assignment under its name, sorted by name; two under one name is an error naming both.
pub fn named(
    template: &str,
    session: &str,
    assignments: &[Assignment],
) -> Result<BTreeMap<String, Assignment>, String> {
    let mut out: BTreeMap<String, Assignment> = BTreeMap::new();
    for a in assignments {
        let name = render(template, session, a)?;
        if name.is_empty() {
            return Err(format!(
                "account {} role {}: --name '{template}' gives an empty profile name",
                a.account_id, a.role_name
            ));
        }
        if let Some(other) = out.get(&name) {
            let (x, y) = if other <= a { (other, a) } else { (a, other) };
            return Err(format!(
                "two assignments would both be profile '{name}': account {} role {} and account {} role {}: choose a --name that tells them apart (e.g. '{{account_id}}.{{role_name}}')",
                x.account_id, x.role_name, y.account_id, y.role_name
            ));
        }
        out.insert(name, a.clone());
    }
    Ok(out)
}

fn begin_marker(session: &str) -> String {
    format!("# BEGIN aws-runas sso profiles {session} (generated: edits here are replaced)")
}

fn end_marker(session: &str) -> String {
    format!("# END aws-runas sso profiles {session}")
}

/// The file's own line ending: CRLF if any line has one.
pub fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The generated block, markers included, each line ended by `eol`.
pub fn block(
    session: &str,
    region: &str,
    profiles: &BTreeMap<String, Assignment>,
    eol: &str,
) -> String {
    let mut lines = vec![begin_marker(session)];
    for (i, (name, a)) in profiles.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.push(format!("[profile {name}]"));
        lines.push(format!("sso_session = {session}"));
        lines.push(format!("sso_account_id = {}", a.account_id));
        lines.push(format!("sso_role_name = {}", a.role_name));
        lines.push(format!("region = {region}"));
    }
    lines.push(end_marker(session));
    lines.iter().map(|l| format!("{l}{eol}")).collect()
}

fn bare(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

/// The byte range of the session's block in `text` (through its END line's ending).
fn find_block(text: &str, session: &str) -> Result<Option<(usize, usize)>, String> {
    let (begin, end) = (begin_marker(session), end_marker(session));
    let mut at = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let next = at + line.len();
        match start {
            None if bare(line) == begin => start = Some(at),
            Some(s) if bare(line) == end => return Ok(Some((s, next))),
            _ => {}
        }
        at = next;
    }
    match start {
        Some(_) => Err(format!(
            "the block of generated profiles for sso-session '{session}' has its BEGIN line but no END line: mend it by hand"
        )),
        None => Ok(None),
    }
}

/// The profile names of `[profile NAME]` and `[default]` headers in `text`, as botocore reads
/// them.
fn profile_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let header = l.trim().strip_prefix('[')?.split(']').next()?.trim();
            if header == "default" {
                return Some("default".to_owned());
            }
            let name = header.strip_prefix("profile")?;
            name.starts_with([' ', '\t'])
                .then(|| name.trim().to_owned())
        })
        .collect()
}

/// The first generated name a section of the shared credentials file already has: botocore
/// would merge that section's keys into the generated profile.
pub fn taken_in_credentials<'a>(
    text: &str,
    names: &'a BTreeMap<String, Assignment>,
) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| Some(l.trim().strip_prefix('[')?.split(']').next()?.trim()))
        .find_map(|n| names.get_key_value(n).map(|(k, _)| k.as_str()))
}

/// `text` with the session's block replaced by `new_block` (or appended, set off by a blank
/// line), every other byte as it was. A generated name the user's own sections already use is
/// an error naming it.
pub fn splice(
    text: &str,
    session: &str,
    new_block: &str,
    names: &BTreeMap<String, Assignment>,
) -> Result<String, String> {
    let found = find_block(text, session)?;
    let outside = match found {
        Some((s, e)) => format!("{}{}", &text[..s], &text[e..]),
        None => text.to_owned(),
    };
    if let Some(taken) = profile_names(&outside)
        .into_iter()
        .find(|n| names.contains_key(n))
    {
        return Err(format!(
            "profile '{taken}' is defined outside the generated block already: rename it, or choose a --name that avoids it"
        ));
    }
    Ok(match found {
        Some((s, e)) => format!("{}{new_block}{}", &text[..s], &text[e..]),
        None => {
            let eol = line_ending(text);
            let mut out = text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            if !out.is_empty() && !out.ends_with(&format!("{eol}{eol}")) {
                out.push_str(eol);
            }
            out.push_str(new_block);
            out
        }
    })
}

/// Lines above this product are diffed as one change: the table would be too large.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A unified-style diff of `old` to `new` by lines (`-` removed, `+` added, unchanged lines
/// left out), under `--- path` / `+++ path`; empty when they are equal.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {path}\n+++ {path}\n");
    // Common head and tail first: the block is one region, the rest of the file equal.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    if a.len().saturating_mul(b.len()) > MAX_DIFF_CELLS {
        a.iter().for_each(|l| out.push_str(&format!("-{l}\n")));
        b.iter().for_each(|l| out.push_str(&format!("+{l}\n")));
        return out;
    }
    // Longest common subsequence, from the end.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(id: &str, name: &str, role: &str) -> Assignment {
        Assignment {
            account_id: id.into(),
            account_name: name.into(),
            role_name: role.into(),
        }
    }

    #[test]
    fn names_are_safe_for_ini_headers_and_shells() {
        assert_eq!(safe_name("My Account.Admin"), "My-Account.Admin");
        assert_eq!(safe_name("--x"), "x");
        assert_eq!(safe_name("a]b;c$(d)`e'\"\n"), "a-b-c--d--e---");
        assert_eq!(safe_name("prod_1.Read-Only"), "prod_1.Read-Only");
        assert_eq!(safe_name("Ünïcode"), "n-code");
        assert_eq!(safe_name(&"x".repeat(500)).len(), MAX_NAME);
        assert_eq!(safe_name("  "), "");
    }

    #[test]
    fn templates_fill_the_four_placeholders_and_refuse_others() {
        let x = a("123456789012", "Prod Env", "Admin");
        assert_eq!(
            render(DEFAULT_TEMPLATE, "corp", &x).unwrap(),
            "Prod-Env.Admin"
        );
        assert_eq!(
            render("{session}-{account_id}-{role_name}", "corp", &x).unwrap(),
            "corp-123456789012-Admin"
        );
        assert!(render("{nope}", "corp", &x).unwrap_err().contains("{nope}"));
        assert!(render("{account_id", "corp", &x).is_err());
    }

    #[test]
    fn a_collision_names_both_assignments() {
        let list = [
            a("111111111111", "X", "Admin"),
            a("222222222222", "X", "Admin"),
        ];
        let e = named(DEFAULT_TEMPLATE, "corp", &list).unwrap_err();
        assert!(
            e.contains("'X.Admin'") && e.contains("111111111111") && e.contains("222222222222"),
            "{e}"
        );
        assert_eq!(
            named("{account_id}.{role_name}", "corp", &list)
                .unwrap()
                .len(),
            2
        );
    }

    fn two() -> BTreeMap<String, Assignment> {
        named(
            DEFAULT_TEMPLATE,
            "corp",
            &[a("2", "B", "Dev"), a("1", "A", "Admin")],
        )
        .unwrap()
    }

    #[test]
    fn the_block_is_replaced_in_place_and_nothing_else_changes() {
        let user = "# mine\r\n[profile me]\r\nregion = x\r\n";
        let blk = block("corp", "eu-west-1", &two(), "\r\n");
        let first = splice(user, "corp", &blk, &two()).unwrap();
        assert!(first.starts_with(user));
        assert!(first[user.len()..].starts_with("\r\n# BEGIN"));
        assert!(!first.replace("\r\n", "").contains('\n'));
        let tail = "\r\n[profile after]\r\nregion = y";
        let with_tail = format!("{first}{tail}");
        let again = splice(&with_tail, "corp", &blk, &two()).unwrap();
        assert_eq!(again, with_tail);
        let one: BTreeMap<_, _> = two().into_iter().take(1).collect();
        let smaller = splice(&with_tail, "corp", &block("corp", "r", &one, "\r\n"), &one).unwrap();
        assert!(smaller.starts_with(user) && smaller.ends_with(tail));
        assert!(!smaller.contains("B.Dev"));
        // Another session's block is another block.
        let other = splice(
            &first,
            "dev",
            &block("dev", "r", &BTreeMap::new(), "\n"),
            &BTreeMap::new(),
        )
        .unwrap();
        assert!(other.starts_with(&first));
    }

    #[test]
    fn a_users_profile_of_a_generated_name_and_a_lone_begin_line_are_errors() {
        let e = splice("[profile  A.Admin ]\n", "corp", "", &two()).unwrap_err();
        assert!(e.contains("'A.Admin'"), "{e}");
        let lone = format!("{}\n", begin_marker("corp"));
        assert!(splice(&lone, "corp", "", &two())
            .unwrap_err()
            .contains("no END line"));
    }

    #[test]
    fn a_credentials_file_section_of_a_generated_name_is_found() {
        let names = two();
        assert_eq!(
            taken_in_credentials("[x]\n[ B.Dev ]\nk = v\n", &names),
            Some("B.Dev")
        );
        assert_eq!(taken_in_credentials("[profile B.Dev]\n", &names), None);
    }

    #[test]
    fn the_diff_shows_only_changed_lines() {
        assert_eq!(diff("f", "a\nb\n", "a\nb\n"), "");
        assert_eq!(
            diff("f", "a\nb\nc\n", "a\nx\nc\nd\n"),
            "--- f\n+++ f\n-b\n+x\n+d\n"
        );
    }
}
