//! The on-disk credential cache shared by every shell, exec and credential_process caller of one
//! user: where it lives, what a file is named, how it is read (a bad file is a miss, never a
//! crash), written (atomically, private) and locked (one refresher per credential set at a time;
//! an OS file lock, so a killed holder never leaves it locked).
//!
//! Layout: `$RUNAS_CACHE_DIR`, else the platform cache directory + `aws-runas` (mode 0700), with a
//! `NAME.json` (mode 0600) and a `NAME.lock` per credential set. How those files are opened and
//! written (no symlinks, regular files only, bounded, atomic) is `private_file`'s.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::private_file::{
    check_private_dir, ensure_private_dir, ensure_private_subdir, open_lock_file, read_bounded,
    write_private, FileError,
};

const FORMAT_VERSION: u32 = 1;
/// A temporary file this old belongs to no live writer.
const ABANDONED: Duration = Duration::from_secs(3600);
/// Long enough to answer an MFA prompt that another process is showing.
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// Entries are a few hundred bytes; anything near this is not ours.
const MAX_ENTRY_SIZE: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: set RUNAS_CACHE_DIR or HOME")]
    NoDirectory,
    #[error("cache {0}")]
    File(FileError),
    #[error("timed out after {}s waiting for another aws-runas{holder} to finish refreshing {what} (lock {})", LOCK_TIMEOUT.as_secs(), path.display())]
    LockTimeout {
        what: String,
        holder: String,
        path: PathBuf,
    },
}

impl From<FileError> for CacheError {
    fn from(e: FileError) -> Self {
        CacheError::File(e)
    }
}

/// Names one credential set. Built from everything that decides which credentials STS would
/// hand out, so a changed role, external id or source key never reuses a stale entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    stem: String,
    /// Shown to the user (lock waits, warnings): the profile and kind.
    pub what: String,
}

fn digest(parts: &[&str]) -> String {
    let separated = parts.iter().flat_map(|p| [p.as_bytes(), &[0]]);
    crate::digest::hex(&crate::digest::sha256_parts(separated)[..8])
}

/// Profile names and ARNs may hold any character; file names may not.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

impl CacheKey {
    pub fn session(profile: &str, access_key_id: &str, mfa_serial: Option<&str>) -> Self {
        let hash = digest(&["session", access_key_id, mfa_serial.unwrap_or("")]);
        Self {
            stem: format!("session_{}_{hash}", file_safe(profile)),
            what: format!("session token of '{profile}'"),
        }
    }

    pub fn role(
        profile: &str,
        role_arn: &str,
        external_id: Option<&str>,
        session_name: Option<&str>,
        upstream: &str,
    ) -> Self {
        let hash = digest(&[
            "role",
            role_arn,
            external_id.unwrap_or(""),
            session_name.unwrap_or(""),
            upstream,
        ]);
        Self {
            stem: format!("role_{}_{hash}", file_safe(profile)),
            what: format!("role credentials of '{profile}'"),
        }
    }

    /// The ID token of one person at one OpenID provider's client, shared by every profile
    /// signing in there as them.
    pub fn id_token(issuer: &str, client_id: &str, username: &str) -> Self {
        Self {
            stem: format!(
                "idtoken_{}",
                digest(&["idtoken", issuer, client_id, username])
            ),
            what: format!("ID token from {issuer}"),
        }
    }

    /// The lock of a file aws-runas edits that others may edit too.
    pub fn file(path: &Path) -> Self {
        Self {
            stem: format!("file_{}", digest(&["file", &path.to_string_lossy()])),
            what: path.display().to_string(),
        }
    }

    pub fn identity(access_key_id: &str) -> Self {
        Self {
            stem: format!("identity_{}", digest(&["identity", access_key_id])),
            what: "caller identity".into(),
        }
    }

    /// Which keys the keyring holds for `profile`, as far as cache keys need to know: changed by
    /// every `keys` command that changes them, so entries made with replaced keys are not reused.
    /// Kept here rather than in the keyring, whose reading a cache hit must never need.
    pub fn keyring_generation(profile: &str) -> Self {
        Self {
            stem: format!(
                "keyring_{}_{}",
                file_safe(profile),
                digest(&["keyring", profile])
            ),
            what: format!("keyring keys of '{profile}'"),
        }
    }

    /// Identifies this key as the upstream of another (for role chains).
    pub fn id(&self) -> &str {
        &self.stem
    }
}

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    version: u32,
    what: String,
    value: T,
}

#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
}

/// Held while a credential set is refreshed; dropping it releases the OS lock.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn from_env(env: &Environment) -> Result<Self, CacheError> {
        let dir = match env.get("RUNAS_CACHE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => dirs::cache_dir()
                .ok_or(CacheError::NoDirectory)?
                .join("aws-runas"),
        };
        // Before any read, not only at the first write: entries planted in a directory that
        // someone else controls would hand us their credentials.
        if dir.exists() {
            check_private_dir(&dir)?;
        }
        Ok(Self::new(dir))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &CacheKey, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", key.stem))
    }

    /// Cached credentials, which must say when they expire: an entry that doesn't is a miss
    /// rather than credentials used forever.
    pub fn read_credentials(&self, key: &CacheKey) -> Option<Credentials> {
        self.credentials(key, warn_ignored)
    }

    /// `read_credentials` without a word about a bad entry: for a list drawn on the terminal,
    /// where a warning would tear the screen. Whatever uses the entry next says it.
    pub fn peek_credentials(&self, key: &CacheKey) -> Option<Credentials> {
        self.credentials(key, |_, _| {})
    }

    fn credentials(&self, key: &CacheKey, warn: fn(&Path, &str)) -> Option<Credentials> {
        let creds: Credentials = self.read_with(key, warn)?;
        if creds.expiration.is_none() {
            warn(&self.path(key, "json"), "it holds no expiration");
            return None;
        }
        if let Err(e) = creds.check_charset() {
            warn(&self.path(key, "json"), &e);
            return None;
        }
        Some(creds)
    }

    /// A missing file is a miss; an unreadable or corrupt one is a miss with a warning.
    pub fn read<T: for<'de> Deserialize<'de>>(&self, key: &CacheKey) -> Option<T> {
        self.read_with(key, warn_ignored)
    }

    fn read_with<T: for<'de> Deserialize<'de>>(
        &self,
        key: &CacheKey,
        warn: fn(&Path, &str),
    ) -> Option<T> {
        let path = self.path(key, "json");
        let bytes = match read_bounded(&path, MAX_ENTRY_SIZE) {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                warn(&path, &e.to_string());
                return None;
            }
        };
        match serde_json::from_slice::<Entry<T>>(&bytes) {
            Ok(entry) if entry.version == FORMAT_VERSION => Some(entry.value),
            Ok(_) => None,
            Err(e) => {
                // serde's message can quote the file's content, which holds secrets.
                let at = format!("malformed at line {}, column {}", e.line(), e.column());
                warn(&path, &at);
                None
            }
        }
    }

    /// Writes an entry through `write_private`.
    pub fn write<T: Serialize>(&self, key: &CacheKey, value: &T) -> Result<(), CacheError> {
        self.ensure_dir()?;
        self.sweep_abandoned_temporaries();
        let entry = Entry {
            version: FORMAT_VERSION,
            what: key.what.clone(),
            value,
        };
        let json = serde_json::to_vec_pretty(&entry).expect("cache entries always serialize");
        Ok(write_private(&self.path(key, "json"), &json)?)
    }

    /// A writer killed between creating its temporary file and renaming it leaves the file
    /// behind; the entry itself is intact. Writes (never reads) sweep such leftovers.
    fn sweep_abandoned_temporaries(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = std::time::SystemTime::now();
        for entry in entries.flatten() {
            let leftover = entry.file_name().to_string_lossy().starts_with(".tmp-")
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| now.duration_since(t).ok())
                    .is_some_and(|age| age > ABANDONED);
            if leftover {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Where the shell integration leaves the results of background refreshes (private).
    pub fn shell_state_dir(&self) -> Result<PathBuf, CacheError> {
        self.ensure_dir()?;
        let dir = self.dir.join("shells");
        ensure_private_subdir(&dir)?;
        Ok(dir)
    }

    fn ensure_dir(&self) -> Result<(), CacheError> {
        Ok(ensure_private_dir(&self.dir)?)
    }

    /// Takes the cross-process lock of one credential set, waiting for another holder if need
    /// be. The lock is the OS's (flock / LockFileEx): the kernel drops it when its holder dies.
    pub fn lock(&self, key: &CacheKey) -> Result<CacheLock, CacheError> {
        self.ensure_dir()?;
        let path = self.path(key, "lock");
        let mut file = open_lock_file(&path)?;
        let io_err = |error| FileError::Io {
            path: path.clone(),
            error,
        };
        if !FileExt::try_lock_exclusive(&file).map_err(io_err)? {
            tracing::debug!("waiting for another aws-runas refreshing {}", key.what);
            // A blocking lock wakes the moment the holder lets go, where polling would add
            // its interval to every waiter. It blocks in a helper thread so the wait can end.
            let (done, wait) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = done.send(FileExt::lock_exclusive(&file).map(|()| file));
            });
            file = match wait.recv_timeout(LOCK_TIMEOUT) {
                Ok(locked) => locked.map_err(io_err)?,
                Err(_) => {
                    let pid = read_bounded(&path, 32)
                        .ok()
                        .flatten()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let holder = match pid.trim() {
                        "" => String::new(),
                        p => format!(" (pid {p})"),
                    };
                    return Err(CacheError::LockTimeout {
                        what: key.what.clone(),
                        holder,
                        path,
                    });
                }
            };
        }
        // Record the holder so a waiter that gives up can say who held it.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{}", std::process::id());
        Ok(CacheLock { _file: file })
    }
}

/// Warns once per file per process: a miss reads the cache again under the lock, and one bad
/// file is one message.
fn warn_ignored(path: &Path, why: &str) {
    static WARNED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned
        .get_or_insert_with(HashSet::new)
        .insert(path.to_owned())
    {
        eprintln!(
            "aws-runas: warning: ignoring unreadable cache file {}: {why}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        let mut c = Credentials::long_term("ASIAEXAMPLE00001".into(), "secret".into());
        c.session_token = Some("token".into());
        c.expiration = Some("2030-01-01T00:00:00Z".parse().unwrap());
        c
    }

    #[test]
    fn round_trip_and_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("c"));
        let key = CacheKey::session("dev", "AKIA1", None);
        assert!(cache.read_credentials(&key).is_none());
        cache.write(&key, &sample()).unwrap();
        assert_eq!(cache.read_credentials(&key), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&cache.dir), 0o700);
            assert_eq!(mode(&cache.path(&key, "json")), 0o600);
        }
    }

    #[test]
    fn corrupt_file_is_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_owned());
        let key = CacheKey::session("dev", "AKIA1", None);
        fs::write(cache.path(&key, "json"), b"{\"version\":1,\"what\":").unwrap();
        assert!(cache.read_credentials(&key).is_none());
        cache.write(&key, &sample()).unwrap();
        assert!(cache.read_credentials(&key).is_some());
    }

    #[test]
    fn keys_differ_by_every_input_and_are_file_safe() {
        let a = CacheKey::role("p/1 x", "arn:1", None, None, "up");
        assert!(a.id().starts_with("role_p_1_x_"));
        for other in [
            CacheKey::role("p/1 x", "arn:2", None, None, "up"),
            CacheKey::role("p/1 x", "arn:1", Some("e"), None, "up"),
            CacheKey::role("p/1 x", "arn:1", None, Some("s"), "up"),
            CacheKey::role("p/1 x", "arn:1", None, None, "up2"),
        ] {
            assert_ne!(a, other);
        }
        assert_ne!(
            CacheKey::session("d", "AKIA1", None),
            CacheKey::session("d", "AKIA1", Some("mfa"))
        );
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_owned());
        let key = CacheKey::session("dev", "AKIA1", None);
        let held = cache.lock(&key).unwrap();
        let other = File::open(cache.path(&key, "lock")).unwrap();
        assert!(!FileExt::try_lock_exclusive(&other).unwrap());
        drop(held);
        assert!(FileExt::try_lock_exclusive(&other).unwrap());
    }

    #[test]
    fn a_waiter_gets_the_lock_once_the_holder_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_owned());
        let key = CacheKey::session("dev", "AKIA1", None);
        let held = cache.lock(&key).unwrap();
        let (tx, rx) = mpsc::channel();
        let (c, k) = (cache.clone(), key.clone());
        std::thread::spawn(move || {
            let _ = tx.send(c.lock(&k).map(|_| ()));
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "got a held lock"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    }

    #[test]
    fn writes_sweep_temporaries_left_by_killed_writers() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().to_owned());
        let old = tmp.path().join(".tmp-abandoned");
        let fresh = tmp.path().join(".tmp-in-flight");
        for path in [&old, &fresh] {
            fs::write(path, b"half").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        cache
            .write(&CacheKey::session("dev", "AKIA1", None), &sample())
            .unwrap();
        assert!(!old.exists(), "an abandoned temporary file was kept");
        assert!(
            fresh.exists(),
            "another writer's file in flight was removed"
        );
    }
}
