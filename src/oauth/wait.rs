//! Waiting for a person to sign in elsewhere, shared by IAM Identity Center and web identity
//! profiles: the device authorization (RFC 8628 3.2) and its polling (3.4-3.5: within the
//! server's interval, 5 s more at each `slow_down`, never past the code's expiry).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::tty::Spinner;

/// A device authorization (RFC 8628 3.2).
#[derive(Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    /// Seconds between polls; 5 when the server says nothing (RFC 8628 3.2).
    #[serde(default = "five")]
    pub interval: u64,
}

fn five() -> u64 {
    5
}

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
