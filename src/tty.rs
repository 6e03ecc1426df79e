//! The person in front of the machine: the controlling terminal, opened directly (prompts must
//! reach the person even when stdin and stdout are pipes — `eval "$(…)"`, credential_process —
//! and must fail at once where there is no terminal at all), the spinner shown while waiting on
//! them, and their browser, opened with the platform's opener.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::time::Duration;

#[cfg(unix)]
fn open() -> io::Result<(File, File)> {
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    Ok((tty.try_clone()?, tty))
}

#[cfg(windows)]
fn open() -> io::Result<(File, File)> {
    let input = OpenOptions::new().read(true).write(true).open("CONIN$")?;
    let output = OpenOptions::new().write(true).open("CONOUT$")?;
    Ok((input, output))
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

/// Opens `url` in the user's browser; the URL is printed anyway.
pub fn open_browser(url: &str) {
    if let Some(mut command) = browser_command() {
        let spawned = command
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        // Reaped in the background: a long-running `serve` must not collect zombies.
        if let Ok(mut child) = spawned {
            std::thread::spawn(move || child.wait());
        }
    }
}

/// The command that opens a URL here, if there is a browser to open it in.
pub fn browser_command() -> Option<std::process::Command> {
    if std::env::var_os("RUNAS_NO_BROWSER").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    let command = (std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some())
    .then(|| std::process::Command::new("xdg-open"));
    #[cfg(target_os = "macos")]
    let command = Some(std::process::Command::new("open"));
    #[cfg(windows)]
    let command = Some(std::process::Command::new("explorer"));
    #[cfg(not(any(unix, windows)))]
    let command: Option<std::process::Command> = None;
    command
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
