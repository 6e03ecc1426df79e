//! User text (from files, the environment, the command line, a server) made safe to quote in
//! one line of a terminal: control and bidirectional characters escaped, length bounded, so no
//! message can reorder, hide or flood what the person reads.

use std::path::Path;

/// The longest stretch of a user's text a message quotes.
const SHOWN_CHARS: usize = 80;

/// Text from a file, the environment or the command line, made safe for one line of a terminal:
/// control characters escaped, cut to [`SHOWN_CHARS`] characters.
pub fn shown(text: &str) -> String {
    escaped(text, SHOWN_CHARS)
}

/// How much of a path or URL a message quotes: they differ where a person must see it.
const SHOWN_LOCATION_CHARS: usize = 400;

/// A path for a message: control characters escaped, and cut only when absurdly long.
pub fn shown_path(path: &Path) -> String {
    escaped(&path.display().to_string(), SHOWN_LOCATION_CHARS)
}

/// A URL (or what was meant to be one) for a message, quoted: as `shown_path`.
pub fn shown_url_quoted(text: &str) -> String {
    format!("'{}'", escaped(text, SHOWN_LOCATION_CHARS))
}

/// What a terminal would act on, or would show other than as sent. Bidirectional and zero-width
/// controls too: they reorder or hide what the terminal shows.
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}')
}

/// The longest code or URL a service may have us show verbatim.
const VERBATIM_BYTES: usize = 2048;

/// Text a service sent that a person must read or copy exactly (a sign-in code, the URL to
/// confirm it at): `Some` only when a terminal shows it as sent — one line, nothing it would act
/// on or hide, not absurdly long. Escaping would show a code or URL that no longer works, so the
/// caller refuses what this refuses, in one line of its own.
pub fn verbatim(text: &str) -> Option<&str> {
    (!text.is_empty() && text.len() <= VERBATIM_BYTES && !text.contains(hidden)).then_some(text)
}

fn escaped(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == limit {
            out.push('…');
            break;
        }
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A service's own text (an error message, a code, a host) for one line: control characters
/// escaped, cut only where it stops being a message and starts being a flood.
pub fn shown_message(text: &str) -> String {
    escaped(text, SHOWN_LOCATION_CHARS)
}

/// The last word on an error line: whatever the chain holds — a service's message the SDK
/// passed on, a value nobody thought to escape — reaches the terminal as one line of text.
/// Line breaks become spaces; every other control is escaped; nothing is cut.
pub fn one_line(text: &str) -> String {
    escaped(&text.replace("\r\n", " ").replace('\n', " "), usize::MAX)
}

pub fn shown_quoted(text: &str) -> String {
    format!("'{}'", shown(text))
}

/// A URL without query or fragment: safe to show, since those may hold tokens.
pub fn origin(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_takes_plain_text_and_refuses_what_a_terminal_would_act_on() {
        assert_eq!(verbatim("ABCD-EFGH"), Some("ABCD-EFGH"));
        assert_eq!(
            verbatim("https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH"),
            Some("https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH")
        );
        for hostile in [
            "",
            "AB\u{1b}[2JCD",
            "AB\u{1b}]0;title\u{7}",
            "ABCD\naws-runas: signed in",
            "AB\rCD",
            "AB\u{202e}DC",
            "AB\u{200b}CD",
            "AB\u{9b}2J",
        ] {
            assert_eq!(verbatim(hostile), None, "{hostile:?}");
        }
        assert_eq!(verbatim(&"a".repeat(VERBATIM_BYTES + 1)), None);
    }

    #[test]
    fn an_error_line_is_one_line_without_controls() {
        assert_eq!(
            one_line("profile 'x': denied\r\n(\u{1b}]0;pwned\u{7}) \u{202e}txt"),
            "profile 'x': denied (\\u{1b}]0;pwned\\u{7}) \\u{202e}txt"
        );
    }

    #[test]
    fn shown_escapes_what_verbatim_refuses() {
        assert_eq!(shown("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
    }
}
