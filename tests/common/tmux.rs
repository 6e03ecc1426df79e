//! A real terminal for tests: a tmux server on a private socket, driven with send-keys and
//! read with capture-pane, killed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts `command` (run by `sh -c`) in a new detached session, sized so lines don't wrap.
    pub fn start(dir: &Path, command: &str) -> Self {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-x", "200", "-y", "50", command])
            .status()
            .expect("tmux (run tests through tests/run)");
        assert!(status.success(), "tmux new-session failed");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket).env_remove("TMUX");
        c
    }

    /// Types `text` literally, then Enter.
    pub fn type_line(&self, text: &str) {
        assert!(self
            .cmd()
            .args(["send-keys", "-l", text])
            .status()
            .unwrap()
            .success());
        self.send_keys(&["Enter"]);
    }

    pub fn send_keys(&self, keys: &[&str]) {
        assert!(self
            .cmd()
            .arg("send-keys")
            .args(keys)
            .status()
            .unwrap()
            .success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-J"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`, or fails with what the screen showed.
    #[track_caller]
    pub fn wait_for(&self, what: &str, limit: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tmux {
    /// Like `wait_for`, pressing Enter every half second meanwhile: for state that the shell
    /// picks up only when it draws a prompt.
    #[track_caller]
    pub fn prompt_until(
        &self,
        what: &str,
        limit: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            self.send_keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}
