//! Files and directories that hold one user's secrets — the credential cache, its locks, the
//! shells' state, the credentials file aws-runas edits — and the rules for touching them on a
//! machine where other users (or a careless `sudo`) may have planted something in the way:
//! - reads and lock opens never follow a symlink, take only regular files (a FIFO would hang, a
//!   device would never end) and read at most a bounded size;
//! - writes go through a private temporary file in the same directory, synced and renamed into
//!   place, so a reader sees the old content or the new, never a torn file;
//! - a directory is created private (0700); an existing one must belong to this user and be
//!   writable by nobody else. It is refused, never chmod'ed: changing the mode of a directory
//!   someone pointed us at is not ours to do.
//!
//! A file the user points us at to read (a web identity token file) is theirs, not our state:
//! there symlinks are followed — Kubernetes projects every service account token through two
//! (`token -> ..data/token`, `..data -> ..TIMESTAMP`) — while FIFOs, devices and oversized
//! files are still refused, without blocking (`read_user_file`).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} is not a regular file (a symlink, FIFO or device here is refused)", path.display())]
    NotRegular { path: PathBuf },
    #[error("{} is not a regular file (a FIFO, device or directory here is refused)", path.display())]
    NotAFile { path: PathBuf },
    #[error("{} is larger than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("refusing directory {}: {reason}", path.display())]
    UnsafeDirectory { path: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |error| FileError::Io {
        path: path.to_owned(),
        error,
    }
}

/// Opens without following a final symlink and without blocking on a FIFO.
fn open_options_nofollow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = options;
}

fn open_regular(path: &Path, options: &mut OpenOptions) -> Result<File, FileError> {
    #[cfg(not(unix))]
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
        });
    }
    open_options_nofollow(options);
    let file = match options.open(path) {
        Ok(f) => f,
        // O_NOFOLLOW on a symlink.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(FileError::NotRegular {
                path: path.to_owned(),
            })
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    let meta = file.metadata().map_err(io_error(path))?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

/// The content of `path`, or `None` when it does not exist.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, FileError> {
    let file = match open_regular(path, OpenOptions::new().read(true)) {
        Err(FileError::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        other => other?,
    };
    read_at_most(file, path, limit).map(Some)
}

/// The content of a file the user named for us to read, symlinks followed; `None` when it does
/// not exist (nor does what a link points to). Only a regular file is read: what the path
/// leads to is looked at before it is opened (a device is never opened), and the open file
/// again, since the path may have been swapped in between; the open never blocks on a FIFO.
pub fn read_user_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, FileError> {
    let not_a_file = || FileError::NotAFile {
        path: path.to_owned(),
    };
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(not_a_file()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    if !file.metadata().map_err(io_error(path))?.is_file() {
        return Err(not_a_file());
    }
    read_at_most(file, path, limit).map(Some)
}

/// All of `file` if it holds at most `limit` bytes.
fn read_at_most(file: File, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// Opens (creating it private if need be) a file that only serves as a lock: never truncated
/// on open, never through a symlink.
pub fn open_lock_file(path: &Path) -> Result<File, FileError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    open_regular(path, &mut options)
}

/// Creates `dir` (and its parents) private to this user, or checks that an existing one is safe
/// to keep secrets in.
pub fn ensure_private_dir(dir: &Path) -> Result<(), FileError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_error(dir))?;
    check_private_dir(dir)
}

/// An existing directory is safe to keep secrets in: ours, and writable by nobody else.
#[cfg(unix)]
pub fn check_private_dir(dir: &Path) -> Result<(), FileError> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(io_error(dir))?;
    let refuse = |reason: String| FileError::UnsafeDirectory {
        path: dir.to_owned(),
        reason,
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(refuse(format!(
            "it belongs to uid {}, not to you (uid {me}); point RUNAS_CACHE_DIR at a directory of your own",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse(format!(
            "others may write to it (mode {:o}); run: chmod go-w {}",
            meta.mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_private_dir(dir: &Path) -> Result<(), FileError> {
    // Under a user's profile directory, Windows' inherited ACLs already keep others out.
    let meta = fs::metadata(dir).map_err(io_error(dir))?;
    if !meta.is_dir() {
        return Err(FileError::UnsafeDirectory {
            path: dir.to_owned(),
            reason: "it is not a directory".into(),
        });
    }
    Ok(())
}

/// A directory of ours inside one already checked: it must be a real directory, not a symlink
/// someone left in its place.
pub fn ensure_private_subdir(dir: &Path) -> Result<(), FileError> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() || !m.is_dir() => {
            return Err(FileError::UnsafeDirectory {
                path: dir.to_owned(),
                reason: "it is a symlink or not a directory".into(),
            })
        }
        _ => {}
    }
    ensure_private_dir(dir)
}

/// Writes `bytes` to `path` atomically, readable by this user alone.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomic(path, bytes, 0o600)
}

/// `write_private`, ending with `mode` (Unix permission bits) instead of 0600: for a file whose
/// owner chose its mode (the shared credentials file).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error(tmp.path()))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes).map_err(io_error(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_error(tmp.path()))?;
    // rename() replaces a symlink at `path` itself, never the file it points to.
    tmp.persist(path).map_err(|e| FileError::Io {
        path: path.to_owned(),
        error: e.error,
    })?;
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{symlink, PermissionsExt};

    use super::*;

    #[test]
    fn reads_refuse_symlinks_fifos_and_devices_and_oversized_files() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        fs::write(&target, b"secret of someone else").unwrap();
        let link = tmp.path().join("link");
        symlink(&target, &link).unwrap();
        assert!(matches!(
            read_bounded(&link, 1024),
            Err(FileError::NotRegular { .. })
        ));
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_bounded(&fifo, 1024),
            Err(FileError::NotRegular { .. })
        ));
        assert!(matches!(
            read_bounded(Path::new("/dev/zero"), 1024),
            Err(FileError::NotRegular { .. })
        ));
        assert!(matches!(
            read_bounded(&target, 4),
            Err(FileError::TooLarge { .. })
        ));
        assert_eq!(read_bounded(&tmp.path().join("missing"), 4).unwrap(), None);
    }

    #[test]
    fn user_files_are_read_through_symlinks_but_fifos_and_devices_are_still_refused() {
        let tmp = tempfile::tempdir().unwrap();
        // Kubernetes' projected volume: token -> ..data/token, ..data -> ..TIMESTAMP.
        let stamped = tmp.path().join("..2026_12_04_10_00_00.123");
        fs::create_dir(&stamped).unwrap();
        fs::write(stamped.join("token"), b"eyJ.token").unwrap();
        symlink("..2026_12_04_10_00_00.123", tmp.path().join("..data")).unwrap();
        let token = tmp.path().join("token");
        symlink("..data/token", &token).unwrap();
        assert_eq!(
            read_user_file(&token, 1024).unwrap().as_deref(),
            Some(&b"eyJ.token"[..])
        );
        assert!(matches!(
            read_user_file(&token, 4),
            Err(FileError::TooLarge { .. })
        ));
        // What we own is still never read through a link.
        assert!(matches!(
            read_bounded(&token, 1024),
            Err(FileError::NotRegular { .. })
        ));

        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let to_fifo = tmp.path().join("to-fifo");
        symlink(&fifo, &to_fifo).unwrap();
        for refused in [&fifo, &to_fifo, Path::new("/dev/zero"), tmp.path()] {
            assert!(
                matches!(
                    read_user_file(refused, 1024),
                    Err(FileError::NotAFile { .. })
                ),
                "{}",
                refused.display()
            );
        }
        let dangling = tmp.path().join("dangling");
        symlink("nowhere", &dangling).unwrap();
        assert_eq!(read_user_file(&dangling, 1024).unwrap(), None);
    }

    #[test]
    fn lock_files_never_truncate_a_symlink_target() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("precious");
        fs::write(&target, b"keep me").unwrap();
        let link = tmp.path().join("x.lock");
        symlink(&target, &link).unwrap();
        assert!(open_lock_file(&link).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
    }

    #[test]
    fn directories_writable_by_others_are_refused_not_chmodded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("others may write to it"), "{err}");
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o777
        );
        let fresh = tmp.path().join("a/b");
        ensure_private_dir(&fresh).unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn a_symlinked_subdirectory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let sub = tmp.path().join("shells");
        symlink(&elsewhere, &sub).unwrap();
        assert!(ensure_private_subdir(&sub).is_err());
    }
}
