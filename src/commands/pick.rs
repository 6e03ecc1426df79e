//! `pick`: a fuzzy list of the profiles on the terminal; the chosen name goes to stdout, so
//! `aws-runas "$(aws-runas pick)" cmd` and the shell's `runas pick` can use it. Drawn on the
//! terminal itself (stdout is the caller's capture), and built from the config files alone: a
//! picker that waits on AWS or on locks would be slower than typing the name.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, queue, style, terminal};
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

use crate::cli::Options;

/// Rows of the list at most: the picker shares the screen with the shell above it.
const MAX_ROWS: usize = 15;

/// One profile as listed: its name and what it stands for where the config says so.
struct Entry {
    name: String,
    detail: String,
}

pub fn run(_options: &Options) -> anyhow::Result<ExitCode> {
    let Ok(tty) = open_tty() else {
        eprintln!("aws-runas: pick needs a terminal to draw the list on");
        return Ok(ExitCode::from(2));
    };
    let env = crate::environment::Environment::from_process();
    let profiles = crate::config::Profiles::load(&env)?;
    let entries: Vec<Entry> = profiles
        .names()
        .map(|name| Entry {
            name: name.to_owned(),
            detail: detail(&profiles, name),
        })
        .collect();
    match Picker::new(tty, &entries)?.run()? {
        Some(name) => {
            super::print(&format!("{name}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
}

#[cfg(unix)]
fn open_tty() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open("/dev/tty")
}

#[cfg(windows)]
fn open_tty() -> io::Result<File> {
    OpenOptions::new().write(true).open("CONOUT$")
}

/// The role ARN, or the Identity Center account and role, from the profile's own settings.
fn detail(profiles: &crate::config::Profiles, name: &str) -> String {
    let get = |key: &str| profiles.setting(name, key).map(|(v, _)| v.to_owned());
    if let Some(arn) = get("role_arn") {
        return arn;
    }
    match (get("sso_account_id"), get("sso_role_name")) {
        (Some(account), Some(role)) => format!("{account}/{role}"),
        (Some(account), None) => account,
        _ => String::new(),
    }
}

/// Puts the terminal back however the picker ends, panics included (the drop runs while
/// unwinding): a shell left in raw mode with no cursor is unusable.
struct Screen {
    tty: File,
    drawn: u16,
}

impl Screen {
    fn clear(&mut self) -> io::Result<()> {
        queue!(
            self.tty,
            cursor::MoveToColumn(0),
            terminal::Clear(terminal::ClearType::FromCursorDown)
        )?;
        self.tty.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.clear();
        let _ = queue!(self.tty, cursor::Show);
        let _ = self.tty.flush();
        let _ = terminal::disable_raw_mode();
    }
}

/// The indices of the haystacks matching `query`, best first; ties keep the config's order.
fn ranked(
    query: &str,
    haystacks: &[nucleo_matcher::Utf32String],
    matcher: &mut Matcher,
) -> Vec<usize> {
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut scored: Vec<(u32, usize)> = haystacks
        .iter()
        .enumerate()
        .filter_map(|(i, h)| Some((pattern.score(h.slice(..), matcher)?, i)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

struct Picker<'a> {
    screen: Screen,
    entries: &'a [Entry],
    /// The names as the matcher reads them, converted once rather than on every key.
    haystacks: Vec<nucleo_matcher::Utf32String>,
    matcher: Matcher,
    query: String,
    shown: Vec<usize>,
    selected: usize,
}

impl<'a> Picker<'a> {
    fn new(tty: File, entries: &'a [Entry]) -> anyhow::Result<Self> {
        terminal::enable_raw_mode().map_err(|e| anyhow::anyhow!("cannot use the terminal: {e}"))?;
        let haystacks = entries
            .iter()
            .map(|e| format!("{} {}", e.name, e.detail).as_str().into())
            .collect();
        Ok(Self {
            screen: Screen { tty, drawn: 0 },
            entries,
            haystacks,
            matcher: Matcher::new(Config::DEFAULT),
            query: String::new(),
            shown: (0..entries.len()).collect(),
            selected: 0,
        })
    }

    fn refilter(&mut self) {
        self.selected = 0;
        if self.query.is_empty() {
            self.shown = (0..self.entries.len()).collect();
            return;
        }
        self.shown = ranked(&self.query, &self.haystacks, &mut self.matcher);
    }

    fn draw(&mut self) -> io::Result<()> {
        let (cols, _) = terminal::size().unwrap_or((80, 24));
        let width = usize::from(cols.max(10)) - 1;
        let tty = &mut self.screen.tty;
        if self.screen.drawn > 0 {
            queue!(tty, cursor::MoveUp(self.screen.drawn))?;
        }
        queue!(
            tty,
            cursor::Hide,
            cursor::MoveToColumn(0),
            terminal::Clear(terminal::ClearType::FromCursorDown)
        )?;
        let first = self.selected.saturating_sub(MAX_ROWS - 1);
        let mut rows = 0u16;
        for (row, &i) in self.shown.iter().enumerate().skip(first).take(MAX_ROWS) {
            let entry = &self.entries[i];
            let marker = if row == self.selected { "> " } else { "  " };
            let line = format!("{marker}{}  {}", entry.name, entry.detail);
            let line: String = line.chars().take(width).collect();
            if row == self.selected {
                queue!(
                    tty,
                    style::SetAttribute(style::Attribute::Reverse),
                    style::Print(line),
                    style::SetAttribute(style::Attribute::Reset)
                )?;
            } else {
                queue!(tty, style::Print(line))?;
            }
            queue!(tty, style::Print("\r\n"))?;
            rows += 1;
        }
        let prompt = format!(
            "{}/{} pick> {}",
            self.shown.len(),
            self.entries.len(),
            self.query
        );
        queue!(tty, style::Print(prompt), cursor::Show)?;
        self.screen.drawn = rows;
        tty.flush()
    }

    /// The chosen name, or `None` when the person backed out.
    fn run(mut self) -> anyhow::Result<Option<String>> {
        self.draw()?;
        loop {
            let Event::Key(KeyEvent {
                code,
                modifiers,
                kind,
                ..
            }) = event::read()?
            else {
                if event::poll(Duration::ZERO)? {
                    continue;
                }
                self.draw()?;
                continue;
            };
            if kind == KeyEventKind::Release {
                continue;
            }
            let ctrl = modifiers.contains(KeyModifiers::CONTROL);
            match code {
                KeyCode::Esc => return self.finish(None),
                KeyCode::Char('c' | 'd') if ctrl => return self.finish(None),
                KeyCode::Enter => {
                    let chosen = self
                        .shown
                        .get(self.selected)
                        .map(|&i| self.entries[i].name.clone());
                    return self.finish(chosen);
                }
                KeyCode::Up => self.selected = self.selected.saturating_sub(1),
                KeyCode::Char('p') if ctrl => self.selected = self.selected.saturating_sub(1),
                KeyCode::Down | KeyCode::Tab => self.down(),
                KeyCode::Char('n') if ctrl => self.down(),
                KeyCode::Backspace => {
                    self.query.pop();
                    self.refilter();
                }
                KeyCode::Char('u') if ctrl => {
                    self.query.clear();
                    self.refilter();
                }
                KeyCode::Char(c) if !ctrl => {
                    self.query.push(c);
                    self.refilter();
                }
                _ => {}
            }
            self.draw()?;
        }
    }

    fn down(&mut self) {
        if self.selected + 1 < self.shown.len() {
            self.selected += 1;
        }
    }

    fn finish(mut self, chosen: Option<String>) -> anyhow::Result<Option<String>> {
        if self.screen.drawn > 0 {
            queue!(self.screen.tty, cursor::MoveUp(self.screen.drawn))?;
        }
        self.screen.drawn = 0;
        self.screen.clear()?;
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrows_fuzzily_best_first() {
        let haystacks: Vec<nucleo_matcher::Utf32String> =
            ["production-readonly", "dev-admin", "prod-admin"]
                .iter()
                .map(|n| (*n).into())
                .collect();
        let mut matcher = Matcher::new(Config::DEFAULT);
        assert_eq!(ranked("prdadm", &haystacks, &mut matcher), [2]);
        assert_eq!(ranked("prod", &haystacks, &mut matcher).len(), 2);
        assert!(ranked("zzz", &haystacks, &mut matcher).is_empty());
    }
}
