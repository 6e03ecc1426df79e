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

/// A path for a message: control characters escaped, and cut only when absurdly long.
pub fn shown_path(path: &Path) -> String {
    escaped(&path.display().to_string(), 400)
}

fn escaped(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == limit {
            out.push('…');
            break;
        }
        // Bidirectional and zero-width controls too: they reorder or hide what the terminal shows.
        if c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}') {
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
    escaped(text, 400)
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
