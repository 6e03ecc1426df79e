//! The process's start on Linux with glibc: what Rust's runtime does before `main` that a
//! credential tool needs, and nothing else.
//!
//! Every `credential_process` call, exec and prompt-hook refresh starts this binary, so its
//! start-up is paid over and over. The standard runtime start spends about 90 µs (a tenth of a
//! hello-world's whole run) finding the main thread's stack guard: it reads and parses
//! `/proc/self/maps`, then maps a signal stack, only to turn a stack overflow's SIGSEGV into a
//! message. Here the binary has its own C `main` (the crate is `no_main` on this target) and
//! keeps the rest of that start: standard streams that are never left closed, SIGPIPE ignored,
//! a panic leaving `main` reported and turned into exit code 101, stdout flushed at exit.
//! glibc hands the arguments to std itself (through `.init_array`), so `std::env::args` works
//! unchanged; std's `Command` still gives children the default SIGPIPE. What is given up: a
//! stack overflow on the main thread ends in a plain SIGSEGV, and a panic there names the
//! thread `<unnamed>` rather than `main`.

// The test harness brings its own `main`, so a test build never calls in here.
#![cfg_attr(test, allow(dead_code))]

use std::process::ExitCode;

/// Runs `run` as the process's body and exits with its code.
pub fn run_process(run: fn() -> ExitCode) -> ! {
    // SAFETY: called once, first thing, before any other thread exists.
    unsafe {
        reopen_closed_standard_streams();
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let code = match std::panic::catch_unwind(run) {
        Ok(code) => exit_status(code),
        // The panic hook has already printed the message.
        Err(_) => 101,
    };
    // `exit` rather than returning to libc: it flushes stdout first, as the runtime's end does.
    std::process::exit(code)
}

/// `code` as the number a process exits with. `ExitCode` does not give it back on stable Rust,
/// but it compares equal to the `ExitCode` made from the same byte.
fn exit_status(code: ExitCode) -> i32 {
    (0..=u8::MAX)
        .find(|&n| ExitCode::from(n) == code)
        .map_or(1, i32::from)
}

/// A standard stream closed by the parent is opened on `/dev/null`, so that no file this
/// process opens later (a cache entry, a credentials file) gets descriptor 1 and receives what
/// is printed. The standard runtime does the same.
unsafe fn reopen_closed_standard_streams() {
    let mut streams = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        if libc::poll(streams.as_mut_ptr(), 3, 0) != -1 {
            break;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // poll itself may be refused (RLIMIT_NOFILE of 0, no memory): ask each descriptor.
            _ => {
                for stream in &mut streams {
                    let closed = libc::fcntl(stream.fd, libc::F_GETFD) == -1
                        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
                    stream.revents = if closed { libc::POLLNVAL } else { 0 };
                }
                break;
            }
        }
    }
    for stream in streams {
        if stream.revents & libc::POLLNVAL != 0
            && libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) == -1
        {
            // Writing on as if the stream were there could reach an unrelated file.
            libc::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_comes_back_as_its_number() {
        for n in 0..=u8::MAX {
            assert_eq!(exit_status(ExitCode::from(n)), i32::from(n));
        }
        assert_eq!(exit_status(ExitCode::SUCCESS), 0);
        assert_eq!(exit_status(ExitCode::FAILURE), 1);
    }
}
