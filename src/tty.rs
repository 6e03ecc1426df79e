//! The person in front of the machine: the controlling terminal, opened directly (prompts must
//! reach the person even when stdin and stdout are pipes — `eval "$(…)"`, credential_process —
//! and must fail at once where there is no terminal at all), the spinner shown while waiting on
//! them, raw mode for those that read keys one by one, and their browser: `$BROWSER`, else the
//! platform's opener.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

/// The terminal's input and output, whatever stdin and stdout are.
#[cfg(unix)]
pub fn open() -> io::Result<(File, File)> {
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    Ok((tty.try_clone()?, tty))
}

#[cfg(windows)]
pub fn open() -> io::Result<(File, File)> {
    let input = OpenOptions::new().read(true).write(true).open("CONIN$")?;
    let output = OpenOptions::new().write(true).open("CONOUT$")?;
    Ok((input, output))
}

/// Raw mode for as long as this lives (an SSM shell, the picker); restored when dropped, which
/// also happens while a panic unwinds and when a signal ends the holder's loop: a shell left in
/// raw mode is unusable.
pub struct RawMode;

impl RawMode {
    pub fn enable() -> anyhow::Result<Self> {
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| anyhow::anyhow!("cannot put the terminal in raw mode: {e}"))?;
        Ok(Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Whether there is a terminal to ask on (a controlling terminal, or a console on Windows).
pub fn present() -> bool {
    open().is_ok()
}

/// Writes `line` on the terminal, for what the person must see even when stderr goes elsewhere.
pub fn say(line: &str) -> io::Result<()> {
    let (_, mut output) = open()?;
    writeln!(output, "{line}")?;
    output.flush()
}

/// Shows `prompt` on the terminal and reads one line back, or fails if there is no terminal.
pub fn ask(prompt: &str) -> io::Result<String> {
    let (input, mut output) = open()?;
    output.write_all(prompt.as_bytes())?;
    output.flush()?;
    let mut line = String::new();
    if BufReader::new(input).read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the terminal closed",
        ));
    }
    Ok(line.trim().to_owned())
}

/// `ask`, without echoing what is typed (passwords).
pub fn ask_secret(prompt: &str) -> io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// Opens `url` in the user's browser, if there is one: the caller has printed the URL anyway.
/// The browser runs in the background, detached from our stdio (stdout may be what a shell
/// evaluates), so `$BROWSER` naming a text-mode browser does not work here.
pub fn open_browser(url: &str) {
    let Some(openers) = openers() else {
        return;
    };
    for opener in openers {
        let mut command = opener.command(url);
        let spawned = command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            // Reaped in the background: a long-running `serve` must not collect zombies.
            Ok(mut child) => {
                std::thread::spawn(move || child.wait());
                return;
            }
            Err(e) => tracing::debug!("cannot start the browser {:?}: {e}", opener.program()),
        }
    }
}

/// Whether a URL can be opened in a browser here (else it is only printed).
pub fn browser_available() -> bool {
    openers().is_some()
}

/// One way to open a URL: a command line, its `%s` standing for the URL or the URL after it.
struct Opener {
    words: Vec<String>,
}

impl Opener {
    fn program(&self) -> &str {
        &self.words[0]
    }

    /// The URL is one argument (or, where `%s` is in a word, part of that word), never shell text.
    fn command(&self, url: &str) -> std::process::Command {
        let mut command = std::process::Command::new(self.program());
        let rest = &self.words[1..];
        if rest.iter().any(|w| w.contains("%s")) {
            command.args(rest.iter().map(|w| w.replace("%s", url)));
        } else {
            command.args(rest).arg(url);
        }
        command
    }
}

/// What `$BROWSER` separates its commands with: the platform's path-list separator, as Python's
/// `webbrowser` reads it (`C:\...` paths on Windows hold colons).
const BROWSER_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// `$BROWSER`'s commands, in order: split into words as a POSIX shell would, never run by one.
/// An entry that does not split (an unbalanced quote) is skipped.
fn browser_variable(value: &str) -> Vec<Opener> {
    value
        .split(BROWSER_SEPARATOR)
        .filter_map(|entry| match shell_words::split(entry) {
            Ok(words) if !words.is_empty() && !words[0].contains("%s") => Some(Opener { words }),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!("$BROWSER entry {entry:?} skipped: {e}");
                None
            }
        })
        .collect()
}

/// The ways to open a URL here, best first: `$BROWSER`'s commands (as xdg-open, git and Python's
/// `webbrowser` take them), then the platform's opener where there is a display. `None` where
/// nothing can open one, or `RUNAS_NO_BROWSER` says not to.
fn openers() -> Option<Vec<Opener>> {
    if std::env::var_os("RUNAS_NO_BROWSER").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let mut openers = std::env::var("BROWSER")
        .map(|v| browser_variable(&v))
        .unwrap_or_default();
    openers.extend(platform_opener().map(|program| Opener {
        words: vec![program.to_owned()],
    }));
    (!openers.is_empty()).then_some(openers)
}

/// Linux and the BSDs: xdg-open, only where there is a display to show a browser on (over SSH
/// or in a container there is none, and xdg-open would start a text browser or fail).
#[cfg(all(unix, not(target_os = "macos")))]
fn platform_opener() -> Option<&'static str> {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    (set("DISPLAY") || set("WAYLAND_DISPLAY")).then_some("xdg-open")
}

#[cfg(target_os = "macos")]
fn platform_opener() -> Option<&'static str> {
    Some("open")
}

#[cfg(windows)]
fn platform_opener() -> Option<&'static str> {
    Some("explorer")
}

#[cfg(not(any(unix, windows)))]
fn platform_opener() -> Option<&'static str> {
    None
}

/// A spinner on stderr while waiting, when stderr is a terminal; plain waiting otherwise (the
/// IdP push waits use it too).
pub struct Spinner {
    tty: bool,
    frame: usize,
    message: &'static str,
    /// A frame is on the line: `done` (or dropping it, on an early error) clears it.
    drawn: bool,
}

impl Spinner {
    pub fn new(message: &'static str) -> Self {
        use std::io::IsTerminal;
        Self {
            tty: std::io::stderr().is_terminal(),
            frame: 0,
            message,
            drawn: false,
        }
    }

    /// Shows the next frame (the loopback waits call this as they poll their listener).
    pub fn tick(&mut self) {
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        if self.tty {
            self.frame = (self.frame + 1) % FRAMES.len();
            eprint!("\r{} {}", FRAMES[self.frame], self.message);
            self.drawn = true;
        }
    }

    /// Sleeps for `d`, turning meanwhile.
    pub fn wait(&mut self, d: Duration) {
        if !self.tty {
            std::thread::sleep(d);
            return;
        }
        const STEP: Duration = Duration::from_millis(125);
        let end = std::time::Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.tick();
            std::thread::sleep(STEP.min(left));
        }
    }

    pub fn done(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(opener: &Opener, url: &str) -> Vec<String> {
        let command = opener.command(url);
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn browser_commands_are_split_as_words_and_get_the_url_as_one_argument() {
        let url = "https://example.com/a?b=c&d='e' $(x) `y`";
        let sep = BROWSER_SEPARATOR;
        let value = format!(
            "'/opt/my browser/run' --new-tab{sep}{sep}  {sep}open -a 'Google Chrome' --args --url=%s --x{sep}bad 'quote{sep}%s"
        );
        let openers = browser_variable(&value);
        let got: Vec<Vec<String>> = openers.iter().map(|o| argv(o, url)).collect();
        assert_eq!(
            got,
            [
                vec!["/opt/my browser/run", "--new-tab", url],
                vec![
                    "open",
                    "-a",
                    "Google Chrome",
                    "--args",
                    &format!("--url={url}"),
                    "--x"
                ],
            ]
        );
    }
}
