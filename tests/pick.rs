//! `aws-runas pick` and `runas pick` in real interactive shells under tmux, against moto: the
//! list narrows as one types, shows the time cached credentials have left, Enter uses the
//! profile, Esc leaves the shell alone, and the terminal is usable afterwards, a signal's end
//! included.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::*;

const WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bash,
    Zsh,
    Fish,
}

/// Starts `kind` interactively with the integration loaded and `[segment] $ ` as its prompt.
fn start(kind: Kind, s: &Sandbox) -> Tmux {
    let dir = s.dir.path();
    let bin_dir = runas_bin().parent().unwrap().display().to_string();
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in s.env() {
        let v = if k == "PATH" {
            format!("{bin_dir}:{v}")
        } else {
            v
        };
        script.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    script.push_str("export TERM=xterm-256color\n");
    let exec = match kind {
        Kind::Bash => {
            std::fs::write(
                dir.join("bashrc"),
                "eval \"$(aws-runas init bash)\"\nPS1='[${RUNAS_PROMPT}] $ '\n",
            )
            .unwrap();
            format!(
                "exec bash --noprofile --rcfile '{}/bashrc' -i\n",
                dir.display()
            )
        }
        Kind::Zsh => {
            std::fs::write(
                dir.join(".zshrc"),
                "eval \"$(aws-runas init zsh)\"\nsetopt PROMPT_SUBST\nPS1='[${RUNAS_PROMPT}] $ '\n",
            )
            .unwrap();
            format!("export ZDOTDIR='{}'\nexec zsh -i\n", dir.display())
        }
        Kind::Fish => {
            std::fs::write(
                dir.join("rc.fish"),
                "aws-runas init fish | source\nfunction fish_prompt; printf '[%s] $ ' (runas prompt); end\nfunction fish_greeting; end\n",
            )
            .unwrap();
            format!(
                "exec fish --no-config -i -C 'source {}/rc.fish'\n",
                dir.display()
            )
        }
    };
    script.push_str(&exec);
    std::fs::write(dir.join("start.sh"), script).unwrap();
    let tmux = Tmux::start(dir, &format!("sh '{}/start.sh'", dir.display()));
    tmux.wait_for("the first prompt", WAIT, |screen| screen.contains("[] $ "));
    tmux
}

/// The value printed after `NAME=` by the last `echo NAME=...` that produced one.
fn printed(screen: &str, name: &str) -> Option<String> {
    screen
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix(&format!("{name}=")))
        .find(|v| !v.contains('$') && !v.contains('('))
        .map(str::to_owned)
}

fn wait_printed(tmux: &Tmux, name: &str) -> String {
    let screen = tmux.wait_for(name, WAIT, |screen| printed(screen, name).is_some());
    printed(&screen, name).unwrap()
}

fn picks(kind: Kind) {
    let s = Sandbox::new();
    let tmux = start(kind, &s);

    // Typing narrows the list; Enter uses the highlighted profile.
    tmux.type_line("runas pick");
    tmux.wait_for("the list", WAIT, |screen| {
        screen.contains("4/4 pick> ") && screen.contains("chain")
    });
    tmux.send_keys(&["-l", "dev"]);
    let screen = tmux.wait_for("the narrowed list", WAIT, |screen| {
        screen.contains("pick> dev")
    });
    assert!(
        screen.contains("> dev  arn:aws:iam::123456789012:role/dev"),
        "{screen}"
    );
    assert!(!screen.contains("role/chain"), "{screen}");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("the dev segment", WAIT, |screen| {
        screen.contains("[dev 1h] $ ") || screen.contains("[dev 59m] $ ")
    });
    tmux.type_line("echo \"P1=x$AWSRUNAS_PROFILE\"");
    assert_eq!(wait_printed(&tmux, "P1"), "xdev");

    // Esc leaves the shell as it was, and the list is gone from the screen.
    tmux.send_keys(&["C-l"]);
    tmux.type_line("runas pick");
    tmux.wait_for("the list", WAIT, |screen| screen.contains("pick> "));
    tmux.send_keys(&["-l", "cha"]);
    tmux.wait_for("the narrowed list", WAIT, |screen| {
        screen.contains("pick> cha")
    });
    tmux.send_keys(&["Escape"]);
    // Typed with the Escape, the line would read as Alt-keys to the picker.
    tmux.wait_for("the list gone", WAIT, |screen| !screen.contains("pick> "));
    tmux.type_line("echo \"P2=x$AWSRUNAS_PROFILE\"");
    assert_eq!(wait_printed(&tmux, "P2"), "xdev");

    // The terminal is back in cooked mode with echo.
    let stty = if kind == Kind::Fish {
        "echo ST=(stty -a | tr ' ' '\\n' | grep -cx -e icanon -e echo)"
    } else {
        "echo ST=$(stty -a | tr ' ' '\\n' | grep -cx -e icanon -e echo)"
    };
    tmux.type_line(stty);
    assert_eq!(wait_printed(&tmux, "ST"), "2");
}

#[test]
fn picks_in_bash() {
    picks(Kind::Bash);
}

#[test]
fn picks_in_zsh() {
    picks(Kind::Zsh);
}

#[test]
fn picks_in_fish() {
    picks(Kind::Fish);
}

#[test]
fn without_a_terminal_one_line_and_exit_2() {
    let s = Sandbox::new();
    // setsid: a new session has no controlling terminal, so /dev/tty cannot be opened.
    let out = s
        .command("setsid")
        .arg("-w")
        .arg(runas_bin())
        .arg("pick")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("needs a terminal"), "{err}");
}

/// The first paint with 2,000 profiles, printed (not asserted: machines differ).
#[test]
fn first_paint_with_2000_profiles() {
    let config: String = (0..2000)
        .map(|i| {
            format!("[profile p{i:04}]\nrole_arn = arn:aws:iam::123456789012:role/r{i}\nsource_profile = alice\n\n")
        })
        .collect();
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let tmux = start(Kind::Bash, &s);
    let started = Instant::now();
    tmux.type_line("aws-runas pick");
    tmux.wait_for("the first paint", WAIT, |screen| {
        screen.contains("2000/2001 pick> ") || screen.contains("2001/2001 pick> ")
    });
    eprintln!(
        "first paint with 2000 profiles (debug build, including tmux polling): {:?}",
        started.elapsed()
    );
    tmux.send_keys(&["-l", "p1999"]);
    tmux.wait_for("the narrowed list", WAIT, |screen| {
        screen.contains("> p1999")
    });
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("the name on stdout", WAIT, |screen| {
        screen.lines().any(|l| l.trim() == "p1999")
    });
}

/// The screen line listing `name`, without the selection marker.
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .map(|l| l.trim_start_matches(['>', ' ']))
        .find(|l| l.trim_end() == name || l.starts_with(&format!("{name}  ")))
        .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"))
}

#[test]
fn cached_profiles_show_their_time_left() {
    let config = format!(
        "{CONFIG}\n[profile broken]\nrole_arn = arn:aws:iam::123456789012:role/broken\nsource_profile = nowhere\n"
    );
    let s = Sandbox::with_files(&config, CREDENTIALS);
    run(s.runas().args(["-O", "json", "dev"]), LIMIT).ok();
    let tmux = start(Kind::Bash, &s);
    tmux.type_line("aws-runas pick");
    let screen = tmux.wait_for("the list", WAIT, |screen| screen.contains("5/5 pick> "));
    let dev = row(&screen, "dev");
    assert!(
        dev == "dev  1h left  arn:aws:iam::123456789012:role/dev"
            || dev == "dev  59m left  arn:aws:iam::123456789012:role/dev",
        "{screen}"
    );
    // chain sits on dev's credentials but has none of its own cached; broken cannot resolve.
    assert_eq!(
        row(&screen, "chain"),
        "chain  arn:aws:iam::123456789012:role/chain",
        "{screen}"
    );
    assert_eq!(
        row(&screen, "broken"),
        "broken  arn:aws:iam::123456789012:role/broken",
        "{screen}"
    );
    assert_eq!(row(&screen, "alice"), "alice", "{screen}");
    tmux.send_keys(&["Escape"]);
    // Typed with the Escape, the line would read as Alt-keys to the picker.
    tmux.wait_for("the list gone", WAIT, |screen| !screen.contains("pick> "));
    tmux.type_line("echo \"P=x$?\"");
    assert_eq!(wait_printed(&tmux, "P"), "x1");
}

/// Each signal ends an open picker with the terminal put back: the list cleared, cooked mode
/// with echo, exit status 128 + the signal. The picker runs under a plain `sh`, which (unlike
/// an interactive shell) restores no terminal mode after its jobs: what `stty` shows there is
/// what the picker left.
#[test]
fn signals_end_the_picker_with_the_terminal_put_back() {
    let s = Sandbox::new();
    let dir = s.dir.path();
    std::fs::write(
        dir.join("pick-then-stty.sh"),
        "sh -c 'echo $$ > pick.pid; exec aws-runas pick'\n\
         echo \"RC=$?\"\n\
         echo \"ST=$(stty -a | tr ' ' '\\n' | grep -cx -e icanon -e echo)\"\n",
    )
    .unwrap();
    let tmux = start(Kind::Bash, &s);
    tmux.type_line(&format!("cd '{}'", dir.display()));
    for (signal, number) in [("TERM", 15), ("HUP", 1), ("INT", 2)] {
        let _ = std::fs::remove_file(dir.join("pick.pid"));
        tmux.send_keys(&["C-l"]);
        tmux.type_line("sh pick-then-stty.sh");
        tmux.wait_for("the list", WAIT, |screen| screen.contains("4/4 pick> "));
        let pid = std::fs::read_to_string(dir.join("pick.pid")).unwrap();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), pid.trim()])
            .status()
            .unwrap()
            .success());
        assert_eq!(
            wait_printed(&tmux, "ST"),
            "2",
            "{signal} left the terminal raw"
        );
        let screen = tmux.screen();
        assert_eq!(
            printed(&screen, "RC"),
            Some((128 + number).to_string()),
            "{screen}"
        );
        assert!(
            !screen.contains("pick> ") && !screen.contains("role/dev"),
            "the list stayed drawn after {signal}:\n{screen}"
        );
        // The interactive shell is back and echoes what is typed.
        tmux.type_line(&format!("echo \"AFTER=x{signal}\""));
        assert_eq!(wait_printed(&tmux, "AFTER"), format!("x{signal}"));
    }
}
