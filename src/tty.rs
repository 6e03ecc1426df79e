//! The controlling terminal, opened directly: prompts must reach the person even when stdin and
//! stdout are pipes (`eval "$(…)"`, credential_process), and must fail at once where there is
//! no terminal at all.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};

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
