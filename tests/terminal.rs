//! End-to-end in a real terminal (tmux): the MFA prompt.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::*;

/// Writes a script that sets the sandbox environment and then runs `body`.
fn script(s: &Sandbox, body: &str) -> String {
    let mut text = String::from("#!/bin/sh\n");
    for (k, v) in s.env() {
        text.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    text.push_str(body);
    let path = s.dir.path().join("script.sh");
    std::fs::write(&path, text).unwrap();
    format!("sh '{}'", path.display())
}

#[test]
fn concurrent_processes_needing_one_mfa_session_ask_once_on_the_terminal() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let out = s.dir.path().display().to_string();
    let body = format!(
        "for i in 1 2 3 4; do '{bin}' -O json mfa >'{out}/out'$i 2>'{out}/err'$i & done\nwait\necho ALL-DONE\nsleep 60\n",
        bin = runas_bin().display()
    );
    let tmux = Tmux::start(s.dir.path(), &script(&s, &body));
    let screen = tmux.wait_for("the MFA prompt", Duration::from_secs(30), |screen| {
        screen.contains("Enter MFA code for arn:aws:iam::123456789012:mfa/alice: ")
    });
    // The other three reach the lock and wait on it (rather than asking): the kernel lists
    // them as blocked on a lock file of the cache.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while blocked_on_cache_locks(&s) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the other processes never waited on the lock; screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let screen_before = tmux.screen();
    assert_eq!(
        screen_before.matches("Enter MFA code").count(),
        1,
        "{screen}"
    );
    tmux.send_keys(&["246810", "Enter"]);
    let screen = tmux.wait_for("all four to finish", Duration::from_secs(30), |s| {
        s.contains("ALL-DONE")
    });
    assert_eq!(
        screen.matches("Enter MFA code").count(),
        1,
        "asked more than once:\n{screen}"
    );

    let mut keys = Vec::new();
    for i in 1..=4 {
        let stdout = std::fs::read_to_string(s.dir.path().join(format!("out{i}"))).unwrap();
        let stderr = std::fs::read_to_string(s.dir.path().join(format!("err{i}"))).unwrap();
        assert!(stderr.is_empty(), "process {i}: {stderr}");
        // The prompt went to the terminal, not into the captured output.
        keys.push(json(&stdout)["AccessKeyId"].as_str().unwrap().to_owned());
    }
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(s.moto.count("GetSessionToken"), 1);
    assert_eq!(s.moto.count("AssumeRole"), 1);
    let session = s.moto.request("GetSessionToken");
    assert!(session.contains("TokenCode=246810"), "{session}");
}

/// How many processes the kernel lists as blocked on a lock of a file in the sandbox's cache.
fn blocked_on_cache_locks(s: &Sandbox) -> usize {
    use std::os::unix::fs::MetadataExt;
    let inodes: Vec<u64> = s
        .cache_files()
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.ino())
        .collect();
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    locks
        .lines()
        .filter(|l| l.contains("->"))
        .filter(|l| {
            l.split_whitespace()
                .find(|f| f.matches(':').count() == 2)
                .and_then(|dev_ino| dev_ino.rsplit(':').next())
                .and_then(|ino| ino.parse::<u64>().ok())
                .is_some_and(|ino| inodes.contains(&ino))
        })
        .count()
}
