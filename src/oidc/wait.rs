//! Waiting for a person to sign in elsewhere, shared by IAM Identity Center and web identity
//! profiles: the platform's URL opener, a spinner on stderr, and the polling of the device
//! authorization grant (RFC 8628 3.4-3.5: within the server's interval, 5 s more at each
//! `slow_down`, never past the code's expiry).

use std::time::{Duration, Instant};

/// However long the server says a device code lives, nobody waits longer than this.
pub const MAX_DEVICE_WAIT: Duration = Duration::from_secs(30 * 60);
/// RFC 8628 3.5: `slow_down` adds five seconds to the interval, for this and every later poll.
pub const SLOW_DOWN_STEP: u64 = 5;

/// What one poll of the token endpoint said.
pub enum Poll<T> {
    Done(T),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again, less often.
    SlowDown,
    /// `expired_token`: the code is dead.
    Expired,
    Failed(anyhow::Error),
}

/// Polls with `step` every `interval` seconds until it is done, fails, or the
/// code's `expires_in` (capped at [`MAX_DEVICE_WAIT`]) has passed, which is `expired()`.
pub fn poll_device<T>(
    interval: u64,
    expires_in: u64,
    message: &'static str,
    expired: impl Fn() -> anyhow::Error,
    mut step: impl FnMut() -> Poll<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + Duration::from_secs(expires_in).min(MAX_DEVICE_WAIT);
    let mut interval = interval;
    let mut spinner = Spinner::new(message);
    let result = loop {
        spinner.wait(Duration::from_secs(interval));
        if Instant::now() > deadline {
            break Err(expired());
        }
        match step() {
            Poll::Done(t) => break Ok(t),
            Poll::Pending => {}
            Poll::SlowDown => {
                interval += SLOW_DOWN_STEP;
                tracing::info!("the server asked to poll less often: every {interval}s");
            }
            Poll::Expired => break Err(expired()),
            Poll::Failed(e) => break Err(e),
        }
    };
    spinner.done();
    result
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

/// A spinner on stderr while waiting, when stderr is a terminal; plain waiting otherwise.
pub struct Spinner {
    tty: bool,
    frame: usize,
    message: &'static str,
}

impl Spinner {
    pub fn new(message: &'static str) -> Self {
        use std::io::IsTerminal;
        Self {
            tty: std::io::stderr().is_terminal(),
            frame: 0,
            message,
        }
    }

    /// Shows the next frame (the PKCE wait calls this as it polls its listener).
    pub fn tick(&mut self) {
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        if self.tty {
            self.frame = (self.frame + 1) % FRAMES.len();
            eprint!("\r{} {}", FRAMES[self.frame], self.message);
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
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}
