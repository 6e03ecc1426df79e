//! `pick`: a fuzzy list of the profiles on the terminal; the chosen name goes to stdout, so
//! `aws-runas "$(aws-runas pick)" cmd` and the shell's `runas pick` can use it. Drawn on the
//! terminal itself (stdout is the caller's capture), and built from the config files and the
//! cache directory alone: each profile with what it stands for and the time its cached
//! credentials have left. A picker that waits on AWS, the keyring or locks would be slower than
//! typing the name. The terminal is put back however it ends, signals included.

use std::cell::OnceCell;
use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, queue, style, terminal};
use jiff::Timestamp;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};

use crate::cache::Cache;
use crate::cli::Options;
use crate::config::Profiles;
use crate::environment::Environment;
use crate::session::CredentialRequest;
use crate::tty::RawMode;

/// Rows of the list at most: the picker shares the screen with the shell above it.
const MAX_ROWS: usize = 15;

/// One profile as listed: its name and what it stands for where the config says so.
struct Entry {
    name: String,
    detail: String,
}

pub fn run(options: &Options) -> anyhow::Result<ExitCode> {
    let Ok((_, tty)) = crate::tty::open() else {
        eprintln!("aws-runas: pick needs a terminal to draw the list on");
        return Ok(ExitCode::from(2));
    };
    let env = Environment::from_process();
    let profiles = Profiles::load(&env)?;
    let entries: Vec<Entry> = profiles
        .names()
        .map(|name| Entry {
            name: name.to_owned(),
            detail: detail(&profiles, name),
        })
        .collect();
    let marks = Marks {
        profiles: &profiles,
        request: super::request(options, None),
        env: &env,
        // No usable cache directory (a foreign one is refused) only means no marks.
        cache: Cache::from_env(&env).ok(),
        now: Timestamp::now(),
        known: entries.iter().map(|_| OnceCell::new()).collect(),
    };
    match Picker::new(tty, &entries, marks)?.run()? {
        Some(name) => {
            super::print(&format!("{name}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::FAILURE),
    }
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

/// What the cache holds for each profile, worked out for the rows drawn only (and kept): the
/// first paint of thousands of profiles costs what that of a screenful does.
struct Marks<'a> {
    profiles: &'a Profiles,
    /// What `runas use` asks with this environment, for any profile.
    request: CredentialRequest,
    env: &'a Environment,
    cache: Option<Cache>,
    now: Timestamp,
    known: Vec<OnceCell<String>>,
}

impl Marks<'_> {
    /// The time left of the credentials `runas use NAME` would export, as the prompt segment
    /// shows it, when they are cached: `59m left`, or `expired`. Empty where they are not
    /// cached, where their cache entry cannot be named without the network, the keyring or a
    /// prompt, or where the profile does not resolve (it is listed all the same: choosing it
    /// says why).
    fn get(&self, index: usize, name: &str) -> &str {
        self.known[index].get_or_init(|| {
            let Some(cache) = &self.cache else {
                return String::new();
            };
            let request = self.request.for_profile(name);
            let key = crate::session::cache_key(self.profiles, name, &request, self.env, cache);
            let Some(left) = key
                .ok()
                .flatten()
                .and_then(|key| cache.peek_credentials(&key))
                .and_then(|credentials| credentials.time_left(self.now))
            else {
                return String::new();
            };
            crate::duration::left(left)
                .map_or_else(|| "expired".into(), |left| format!("{left} left"))
        })
    }
}

/// What the picker has drawn and the mode it put the terminal in, put back however it ends:
/// Enter or Esc, a panic (the drop runs while unwinding) or a signal (`end_on_signals`). A
/// shell left in raw mode with no cursor is unusable.
struct Screen {
    tty: File,
    drawn: u16,
    raw: Option<RawMode>,
}

impl Screen {
    /// Clears the list, shows the cursor, leaves raw mode; once, whoever asks first.
    fn restore(&mut self) {
        if self.raw.is_none() {
            return;
        }
        // The terminal may be gone (a hangup): nothing to report then.
        if self.drawn > 0 {
            let _ = queue!(self.tty, cursor::MoveUp(self.drawn));
        }
        self.drawn = 0;
        let _ = queue!(
            self.tty,
            cursor::MoveToColumn(0),
            terminal::Clear(terminal::ClearType::FromCursorDown),
            cursor::Show
        );
        let _ = self.tty.flush();
        self.raw = None;
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.restore();
    }
}

/// A panic while drawing leaves the screen as consistent as any other moment.
fn lock(screen: &Mutex<Screen>) -> MutexGuard<'_, Screen> {
    screen.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends the process on SIGTERM, SIGHUP or SIGINT (raw mode makes Ctrl-C a key, but `kill -INT`
/// still arrives) as a shell expects of a job a signal ended, exit status 128 + the signal, with
/// the terminal put back first if the picker is still on it. From a thread of its own, unlike
/// `ssm`'s session loop: on a terminal that hung up, crossterm's read never returns to the key
/// loop, and a picker ignoring SIGHUP there would spin on it for good.
#[cfg(unix)]
fn end_on_signals(screen: std::sync::Weak<Mutex<Screen>>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])
        .map_err(|e| anyhow::anyhow!("cannot listen for signals: {e}"))?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            if let Some(screen) = screen.upgrade() {
                lock(&screen).restore();
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// No signals to listen for: Ctrl-C is a key in raw mode.
#[cfg(windows)]
fn end_on_signals(_: std::sync::Weak<Mutex<Screen>>) -> anyhow::Result<()> {
    Ok(())
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
    /// Shared with the signal thread, which only ever holds it weakly: the screen is put back
    /// when the picker goes.
    screen: Arc<Mutex<Screen>>,
    entries: &'a [Entry],
    marks: Marks<'a>,
    /// The names as the matcher reads them, converted once rather than on every key.
    haystacks: Vec<nucleo_matcher::Utf32String>,
    matcher: Matcher,
    query: String,
    shown: Vec<usize>,
    selected: usize,
}

impl<'a> Picker<'a> {
    fn new(tty: File, entries: &'a [Entry], marks: Marks<'a>) -> anyhow::Result<Self> {
        let screen = Arc::new(Mutex::new(Screen {
            tty,
            drawn: 0,
            raw: None,
        }));
        // Listening before raw mode: a signal in between would leave the terminal raw.
        end_on_signals(Arc::downgrade(&screen))?;
        lock(&screen).raw = Some(RawMode::enable()?);
        let haystacks = entries
            .iter()
            .map(|e| format!("{} {}", e.name, e.detail).as_str().into())
            .collect();
        Ok(Self {
            screen,
            entries,
            marks,
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
        let mut guard = lock(&self.screen);
        let screen = &mut *guard;
        let tty = &mut screen.tty;
        if screen.drawn > 0 {
            queue!(tty, cursor::MoveUp(screen.drawn))?;
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
            let mark = self.marks.get(i, &entry.name);
            let parts: Vec<&str> = [entry.name.as_str(), mark, &entry.detail]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect();
            let line = format!("{marker}{}", parts.join("  "));
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
        screen.drawn = rows;
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

    fn finish(self, chosen: Option<String>) -> anyhow::Result<Option<String>> {
        lock(&self.screen).restore();
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fakes::{CountingMfa, FakeSts};
    use crate::sources::Context;

    const CONFIG: &str = "\
[profile alice]
region = eu-west-1

[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = alice

[profile mfa]
role_arn = arn:aws:iam::123456789012:role/mfa
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile long]
role_arn = arn:aws:iam::123456789012:role/long
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice
duration_seconds = 14400

[profile chain]
role_arn = arn:aws:iam::123456789012:role/chain
source_profile = dev
external_id = ext-1
role_session_name = me

[profile ci]
role_arn = arn:aws:iam::123456789012:role/ci
web_identity_token_file = TOKEN_FILE

[profile broken]
role_arn = arn:aws:iam::123456789012:role/broken
source_profile = nowhere
";

    const CREDENTIALS: &str = "\
[alice]
aws_access_key_id = AKIAALICEEXAMPLE0001
aws_secret_access_key = alice/secret+key

[temporary]
aws_access_key_id = ASIATEMPEXAMPLE00001
aws_secret_access_key = temp/secret+key
aws_session_token = token
";

    /// Config and credentials files in `dir`, and an environment that names only them.
    fn files(dir: &std::path::Path) -> (Environment, Profiles) {
        let token = dir.join("token");
        std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n").unwrap();
        let config = dir.join("config");
        let credentials = dir.join("credentials");
        std::fs::write(
            &config,
            CONFIG.replace("TOKEN_FILE", &token.display().to_string()),
        )
        .unwrap();
        std::fs::write(&credentials, CREDENTIALS).unwrap();
        let env = Environment::from([
            ("HOME", &*dir.display().to_string()),
            ("AWS_CONFIG_FILE", &*config.display().to_string()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                &*credentials.display().to_string(),
            ),
        ]);
        let profiles = Profiles::load(&env).unwrap();
        (env, profiles)
    }

    /// The mark the picker shows for `name`.
    fn mark(
        profiles: &Profiles,
        env: &Environment,
        cache: &Cache,
        request: &CredentialRequest,
        name: &str,
    ) -> String {
        let marks = Marks {
            profiles,
            request: request.clone(),
            env,
            cache: Some(cache.clone()),
            now: Timestamp::now(),
            known: vec![OnceCell::new()],
        };
        marks.get(0, name).to_owned()
    }

    /// The sources STS answers (the keys' session token, with MFA or not; a role assumed
    /// directly, through the MFA session, with the code, in a chain, over a token file), each
    /// fetched for real against a stand-in STS into a cache of its own: the key the picker
    /// derives without fetching names the entry that fetch wrote, holding what it returned,
    /// and the picker marks the profile only once it is there.
    #[test]
    fn pick_marks_exactly_the_entry_a_real_fetch_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (env, profiles) = files(dir.path());
        let cases = [
            ("alice", false, "GetSessionToken"),
            ("dev", false, "AssumeRole"),
            ("mfa", false, "AssumeRole"),
            ("long", false, "AssumeRole"),
            ("chain", false, "AssumeRole"),
            ("ci", false, "AssumeRoleWithWebIdentity"),
            ("dev", true, "GetSessionToken"),
            ("mfa", true, "GetSessionToken"),
        ];
        for (i, (name, session_only, call)) in cases.into_iter().enumerate() {
            let cache = Cache::new(dir.path().join(format!("cache{i}")));
            let request = CredentialRequest {
                profile: Some(name.into()),
                session_only,
                ..CredentialRequest::default()
            };
            let case = format!("{name} (session only: {session_only})");
            let key = crate::session::cache_key(&profiles, name, &request, &env, &cache)
                .unwrap()
                .unwrap_or_else(|| panic!("{case}: no cache key"));
            assert_eq!(mark(&profiles, &env, &cache, &request, name), "", "{case}");

            let (sts, mfa) = (FakeSts::default(), CountingMfa::default());
            let context = Context {
                cache: &cache,
                sts: &sts,
                mfa: &mfa,
                refresh_window: Duration::from_secs(900),
                interactive: false,
                sign_in: false,
            };
            let resolved = crate::session::resolve(&profiles, name, &request, &env).unwrap();
            let fetched =
                crate::sources::credentials(&resolved, &context, session_only, false).unwrap();
            assert!(
                sts.calls().last().is_some_and(|c| c.starts_with(call)),
                "{case}: {:?}",
                sts.calls()
            );
            assert_eq!(cache.read_credentials(&key), Some(fetched), "{case}");
            let shown = mark(&profiles, &env, &cache, &request, name);
            assert!(
                shown == "1h left" || shown == "59m left",
                "{case}: {shown:?}"
            );
        }
    }

    #[test]
    fn pick_marks_expired_entries_and_leaves_the_uncached_and_the_broken_unmarked() {
        let dir = tempfile::tempdir().unwrap();
        let (env, profiles) = files(dir.path());
        let cache = Cache::new(dir.path().join("cache"));
        let request = CredentialRequest::default();
        // Keys at hand are used as they are: nothing is cached for them.
        assert_eq!(
            crate::session::cache_key(&profiles, "temporary", &request, &env, &cache).unwrap(),
            None
        );
        assert!(crate::session::cache_key(&profiles, "broken", &request, &env, &cache).is_err());
        for name in ["temporary", "broken", "dev"] {
            assert_eq!(mark(&profiles, &env, &cache, &request, name), "", "{name}");
        }
        let key = crate::session::cache_key(&profiles, "dev", &request, &env, &cache)
            .unwrap()
            .unwrap();
        let mut old =
            crate::credentials::Credentials::long_term("ASIAOLDEXAMPLE000001".into(), "s".into());
        old.session_token = Some("t".into());
        old.expiration = Some(Timestamp::now() - jiff::SignedDuration::from_mins(5));
        cache.write(&key, &old).unwrap();
        assert_eq!(mark(&profiles, &env, &cache, &request, "dev"), "expired");
    }

    /// The same words as the shells' segment, read from the bash snippet itself.
    #[cfg(unix)]
    #[test]
    fn pick_shows_time_left_as_the_prompt_segment_does() {
        let lefts = [
            1u64, 59, 60, 61, 3540, 3541, 3599, 3600, 3601, 5400, 7200, 43200,
        ];
        let mut script = String::from(include_str!("../../shell/aws-runas.bash"));
        script.push_str("\nAWSRUNAS_PROFILE=p\n");
        for left in lefts {
            script.push_str(&format!(
                "__RUNAS_EXPIRES={}; __runas_segment 1000000; printf '%s\\n' \"$RUNAS_PROMPT\"\n",
                1_000_000 + left
            ));
        }
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let segments: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let ours: Vec<String> = lefts
            .iter()
            .map(|&left| {
                format!(
                    "p {}",
                    crate::duration::left(Duration::from_secs(left)).unwrap()
                )
            })
            .collect();
        assert_eq!(ours, segments);
        assert_eq!(crate::duration::left(Duration::ZERO), None);
    }

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
