//! Waiting for a person to sign in elsewhere, shared by IAM Identity Center and web identity
//! profiles: the device authorization (RFC 8628 3.2) and its polling (3.4-3.5: within the
//! server's interval, 5 s more at each `slow_down`, never past the code's expiry).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::shown;
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

impl DeviceAuthorization {
    /// The URL to open and the code to confirm there, when a person may be shown them as the
    /// service sent them (`shown::verbatim`) and the URL is a web page; `None` otherwise, which
    /// the caller refuses in one line: a code or URL carrying terminal controls would rewrite
    /// the person's screen, and one escaped would not work anyway.
    pub fn to_show(&self) -> Option<(&str, &str)> {
        let url = self
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri);
        let web = |u: &str| {
            let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        };
        let uris_ok = shown::verbatim(&self.verification_uri).is_some_and(web)
            && self
                .verification_uri_complete
                .as_deref()
                .is_none_or(|u| shown::verbatim(u).is_some_and(web));
        uris_ok.then_some((url, shown::verbatim(&self.user_code)?))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(code: &str, uri: &str, complete: Option<&str>) -> DeviceAuthorization {
        DeviceAuthorization {
            device_code: "dc".into(),
            user_code: code.into(),
            verification_uri: uri.into(),
            verification_uri_complete: complete.map(str::to_owned),
            expires_in: 600,
            interval: 5,
        }
    }

    #[test]
    fn only_plain_codes_and_web_urls_are_shown() {
        let a = auth("ABCD-EFGH", "https://idp.example/device", None);
        assert_eq!(
            a.to_show(),
            Some(("https://idp.example/device", "ABCD-EFGH"))
        );
        let a = auth(
            "ABCD-EFGH",
            "https://idp.example/device",
            Some("https://idp.example/device?c=ABCD-EFGH"),
        );
        assert_eq!(
            a.to_show().unwrap().0,
            "https://idp.example/device?c=ABCD-EFGH"
        );
        for (code, uri, complete) in [
            ("AB\u{1b}[2J", "https://idp.example/device", None),
            ("ABCD\nfake line", "https://idp.example/device", None),
            ("ABCD", "https://idp.example/\u{1b}]0;title\u{7}", None),
            (
                "ABCD",
                "https://idp.example/device",
                Some("https://x/\u{1b}[2J"),
            ),
            ("ABCD", "file:///etc/passwd", None),
            (
                "ABCD",
                "https://idp.example/device",
                Some("javascript:alert(1)"),
            ),
        ] {
            assert_eq!(
                auth(code, uri, complete).to_show(),
                None,
                "{code:?} {uri:?}"
            );
        }
    }
}
