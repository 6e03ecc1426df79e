//! End-to-end, as an attacker sharing the machine would try it: the cache, its locks and the
//! shells' state directory against symlinks, FIFOs, devices, foreign or open directories and
//! tampered entries. Each must give one clear line or a miss with one warning — never a hang, a
//! panic, a truncated file of somebody else's, or a chmod of a directory we were pointed at.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;

use common::*;

fn entry(s: &Sandbox, prefix: &str, ext: &str) -> PathBuf {
    s.cache_files()
        .into_iter()
        .find(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(ext)
        })
        .unwrap_or_else(|| panic!("no {prefix}*{ext} in {:?}", s.cache_files()))
}

fn warm(s: &Sandbox) -> String {
    run(s.runas().args(["-O", "json", "dev"]), LIMIT)
        .ok()
        .stdout
}

#[test]
fn a_symlinked_lock_file_is_refused_and_its_target_kept() {
    let s = Sandbox::new();
    warm(&s);
    let lock = entry(&s, "role_dev", ".lock");
    let precious = s.dir.path().join("precious");
    std::fs::write(&precious, "not yours to truncate").unwrap();
    std::fs::remove_file(&lock).unwrap();
    symlink(&precious, &lock).unwrap();
    let err = run(s.runas().args(["-r", "dev"]), LIMIT).one_line_error();
    assert!(err.contains("not a regular file"), "{err}");
    assert!(err.contains(&lock.display().to_string()), "{err}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "not yours to truncate"
    );
}

#[test]
fn fifo_device_and_oversized_entries_are_misses_with_one_warning() {
    let s = Sandbox::new();
    let first = warm(&s);
    let json = entry(&s, "role_dev", ".json");
    for plant in ["fifo", "device", "huge", "symlink"] {
        std::fs::remove_file(&json).unwrap();
        match plant {
            "fifo" => {
                let status = std::process::Command::new("mkfifo")
                    .arg(&json)
                    .status()
                    .unwrap();
                assert!(status.success());
            }
            "device" => symlink("/dev/urandom", &json).unwrap(),
            "huge" => std::fs::write(&json, vec![b' '; 4 << 20]).unwrap(),
            _ => {
                let elsewhere = s.dir.path().join("elsewhere.json");
                std::fs::write(&elsewhere, &first).unwrap();
                symlink(&elsewhere, &json).unwrap();
            }
        }
        s.moto.start_recording();
        let out = run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
        assert_eq!(
            out.stderr
                .matches("warning: ignoring unreadable cache file")
                .count(),
            1,
            "{plant}: {}",
            out.stderr
        );
        assert_eq!(s.moto.count("AssumeRole"), 1, "{plant}: fetched anew");
        let replaced = std::fs::symlink_metadata(&json).unwrap();
        assert!(replaced.is_file(), "{plant}: entry replaced by a real file");
        assert_eq!(mode(&json), 0o600);
    }
}

#[test]
fn entries_without_expiration_or_with_control_bytes_are_misses() {
    let s = Sandbox::new();
    warm(&s);
    let file = entry(&s, "role_dev", ".json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();

    let mut forever = original.clone();
    forever["value"]
        .as_object_mut()
        .unwrap()
        .remove("expiration");
    let mut control = original.clone();
    control["value"]["access_key_id"] = "ASIA\u{1b}[31mEVIL".into();
    for (what, tampered) in [("no expiration", forever), ("control byte", control)] {
        std::fs::write(&file, tampered.to_string()).unwrap();
        s.moto.start_recording();
        let out = run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
        assert_eq!(s.moto.count("AssumeRole"), 1, "{what}: {}", out.stderr);
        assert!(
            !out.stderr.contains('\u{1b}'),
            "{what}: raw ESC reached stderr"
        );
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
        let key = json(&out.stdout)["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    }
}

#[test]
fn a_cache_directory_writable_by_others_is_refused_and_left_as_it_is() {
    let s = Sandbox::new();
    let open = s.dir.path().join("open-cache");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = run(s.runas().env("RUNAS_CACHE_DIR", &open).args(["dev"]), LIMIT).one_line_error();
    assert!(err.contains("others may write to it"), "{err}");
    assert!(err.contains(&open.display().to_string()), "{err}");
    assert_eq!(mode(&open), 0o777, "never chmod'ed");
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
}

#[test]
fn a_cache_directory_of_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Only root can hand a directory to another user; CI runs as root.
        eprintln!("skipped: needs root to chown");
        return;
    }
    let s = Sandbox::new();
    let theirs = s.dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let err = run(
        s.runas().env("RUNAS_CACHE_DIR", &theirs).args(["dev"]),
        LIMIT,
    )
    .one_line_error();
    assert!(err.contains("belongs to uid 65534"), "{err}");
    assert_eq!(mode(&theirs), 0o700);

    // Entries planted there are never read, not even on the cache-hit path.
    let planted = Sandbox::new();
    warm(&planted);
    std::os::unix::fs::chown(planted.cache_dir(), Some(65534), Some(65534)).unwrap();
    let err = run(planted.runas().args(["-O", "json", "dev"]), LIMIT).one_line_error();
    assert!(err.contains("belongs to uid 65534"), "{err}");
}

#[test]
fn a_symlinked_shell_state_directory_is_refused() {
    let s = Sandbox::new();
    warm(&s);
    let elsewhere = s.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let shells = s.cache_dir().join("shells");
    let _ = std::fs::remove_dir_all(&shells);
    symlink(&elsewhere, &shells).unwrap();
    let err = run(s.runas().args(["__export", "bash", "--", "dev"]), LIMIT).one_line_error();
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}
