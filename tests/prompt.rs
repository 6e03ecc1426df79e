//! The prompt hook in real interactive shells under tmux, against moto: what a person sees.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::*;

const WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bash,
    Zsh,
    Fish,
}

impl Kind {
    /// How the shell prints the last exit status and a maybe-unset variable.
    fn status(self) -> &'static str {
        if self == Kind::Fish {
            "$status"
        } else {
            "$?"
        }
    }
}

/// Starts `kind` interactively with the integration loaded and `[segment] $ ` as its prompt.
fn start(kind: Kind, s: &Sandbox, extra_env: &[(&str, &str)]) -> Tmux {
    let dir = s.dir.path();
    let bin_dir = runas_bin().parent().unwrap().display().to_string();
    let mut env = s.env();
    for (k, v) in extra_env {
        env.push((k.to_string(), v.to_string()));
    }
    let mut script = String::from("#!/bin/sh\n");
    for (k, v) in env {
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
                format!(
                    "eval \"$(aws-runas init bash)\"\nsource '{}/completions/aws-runas.bash'\nPS1='[${{RUNAS_PROMPT}}] $ '\n",
                    env!("CARGO_MANIFEST_DIR")
                ),
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
                format!(
                    "fpath=('{}/completions' $fpath)\nautoload -Uz compinit && compinit -u\neval \"$(aws-runas init zsh)\"\nsetopt PROMPT_SUBST\nPS1='[${{RUNAS_PROMPT}}] $ '\n",
                    env!("CARGO_MANIFEST_DIR")
                ),
            )
            .unwrap();
            format!("export ZDOTDIR='{}'\nexec zsh -i\n", dir.display())
        }
        Kind::Fish => {
            std::fs::write(
                dir.join("rc.fish"),
                format!(
                    "aws-runas init fish | source\nsource '{}/completions/aws-runas.fish'\nfunction fish_prompt; printf '[%s] $ ' (runas prompt); end\nfunction fish_greeting; end\n",
                    env!("CARGO_MANIFEST_DIR")
                ),
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
        .find(|v| !v.contains('$'))
        .map(str::to_owned)
}

fn wait_printed(tmux: &Tmux, name: &str) -> String {
    let screen = tmux.wait_for(name, WAIT, |screen| printed(screen, name).is_some());
    printed(&screen, name).unwrap()
}

fn session(kind: Kind) {
    let s = Sandbox::new();
    let tmux = start(kind, &s, &[]);

    // runas use, then the real AWS CLI sees the role.
    tmux.type_line("runas use dev");
    tmux.wait_for("the segment", WAIT, |screen| {
        screen.contains("[dev 1h] $ ") || screen.contains("[dev 59m] $ ")
    });
    tmux.type_line(
        "echo ARN=(aws sts get-caller-identity --query Arn --output text)"
            .replace("(", if kind == Kind::Fish { "(" } else { "$(" })
            .as_str(),
    );
    let arn = wait_printed(&tmux, "ARN");
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/dev/"),
        "{arn}"
    );

    // Tab completes profile names from the config files.
    tmux.send_keys(&["C-u"]);
    tmux.send_keys(&["runas use cha", "Tab"]);
    tmux.wait_for("completion", WAIT, |screen| {
        screen.contains("runas use chain")
    });
    tmux.send_keys(&["C-u"]);

    // The aws-runas completion script completes profile names too.
    tmux.send_keys(&["aws-runas -w cha", "Tab"]);
    tmux.wait_for("aws-runas completion", WAIT, |screen| {
        screen.contains("aws-runas -w chain")
    });
    tmux.send_keys(&["C-u"]);

    // An MFA code is asked for on the terminal, once.
    tmux.type_line("runas use mfa");
    tmux.wait_for("the MFA prompt", WAIT, |screen| {
        screen.contains("Enter MFA code for arn:aws:iam::123456789012:mfa/alice: ")
    });
    tmux.type_line("135790");
    tmux.wait_for("the mfa segment", WAIT, |screen| {
        screen.contains("[mfa 1h] $ ") || screen.contains("[mfa 59m] $ ")
    });
    assert_eq!(tmux.screen().matches("Enter MFA code").count(), 1);

    // runas off removes what use set.
    tmux.type_line("runas off; echo \"OFF=x$AWS_ACCESS_KEY_ID$AWSRUNAS_PROFILE\"");
    assert_eq!(wait_printed(&tmux, "OFF"), "x");

    let screen = tmux.screen();
    assert!(
        !screen.contains("aws-runas:"),
        "printed something with nothing to say:\n{screen}"
    );
}

/// Credentials due for refresh a few seconds after `runas use`: a later prompt exports new keys
/// (refreshed in the background), one STS call made them, and `$?` survives.
fn refresh(kind: Kind) {
    let s = Sandbox::new();
    // A 15m role refreshed 5s after issue: every 5s while the test runs (fish's background
    // refresher does so on its own), so the test stops the shell's use once it has seen one.
    let tmux = start(kind, &s, &[("RUNAS_REFRESH_WINDOW", "14m55s")]);
    tmux.type_line("runas use dev -a 15m; echo K1=$AWS_ACCESS_KEY_ID");
    let first = wait_printed(&tmux, "K1");
    // Waiting for the clock to reach the refresh time, which nothing signals.
    std::thread::sleep(Duration::from_secs(6));
    // This prompt starts the background refresh (bash, zsh) or finds its result (fish); the user
    // is not kept waiting.
    tmux.type_line("false");
    tmux.type_line(&format!("echo ST={}", kind.status()));
    assert_eq!(
        wait_printed(&tmux, "ST"),
        "1",
        "$? did not survive the hook"
    );
    let deadline = std::time::Instant::now() + WAIT;
    let second = loop {
        tmux.type_line("echo K2=$AWS_ACCESS_KEY_ID");
        let key = wait_printed(&tmux, "K2");
        if key != first || std::time::Instant::now() > deadline {
            break key;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    tmux.type_line("runas off; echo OFF=done");
    wait_printed(&tmux, "OFF");
    assert!(second.starts_with("ASIA"), "{second}");
    assert_ne!(first, second, "no prompt exported refreshed keys");
    // One STS call made the keys the prompt exported: moto issued no session between the first
    // keys and those. (A slow machine may see further refreshes after them; they don't count.)
    let issued = s.moto.assumed_keys();
    let at = |key: &str| issued.iter().position(|k| k == key);
    let (Some(a), Some(b)) = (at(&first), at(&second)) else {
        panic!("keys not issued by moto: {first} {second} {issued:?}");
    };
    assert_eq!(b, a + 1, "sessions issued in between: {:?}", &issued[a..=b]);
    let screen = tmux.screen();
    assert!(!screen.contains("aws-runas:"), "{screen}");
}

/// A refresh that needs an MFA code never blocks the prompt or asks: one line says what to run,
/// and credentials past their expiry are removed, the segment showing it.
fn mfa_refresh_and_expiry(kind: Kind) {
    let s = Sandbox::new();
    let tmux = start(kind, &s, &[("RUNAS_REFRESH_WINDOW", "1h59m56s")]);
    // Over an hour with MFA: assumed directly with the code, so every refresh needs a new one.
    tmux.type_line("runas use mfa -a 2h -o 123456; echo USED=$AWSRUNAS_PROFILE");
    assert_eq!(wait_printed(&tmux, "USED"), "mfa");
    std::thread::sleep(Duration::from_secs(5));
    let screen = tmux.prompt_until("the notice", WAIT, |screen| {
        screen.contains("need an MFA code to refresh; run: runas use mfa")
    });
    assert!(
        !screen.contains("Enter MFA code"),
        "asked at the prompt:\n{screen}"
    );
    // The prompt came straight back after the notice.
    tmux.type_line("echo PROMPT2=x");
    wait_printed(&tmux, "PROMPT2");
    let screen = tmux.screen();
    assert_eq!(screen.matches("need an MFA code").count(), 1, "{screen}");
    tmux.type_line("echo KEY_STILL=$AWS_ACCESS_KEY_ID");
    assert!(
        wait_printed(&tmux, "KEY_STILL").starts_with("ASIA"),
        "credentials removed before they expired"
    );

    // Make them expire now (moto never expires anything, and AWS's minimum lifetime is 15m):
    // bash and zsh watch the clock at the prompt; fish leaves it to its background refresher.
    let expire = if kind == Kind::Fish {
        "set -gx AWS_CREDENTIAL_EXPIRATION 2000-01-01T00:00:00Z; set -g __RUNAS_REFRESH_AT 1; __runas_schedule"
    } else {
        "__RUNAS_EXPIRES=1 __RUNAS_NEXT=0"
    };
    tmux.type_line(expire);
    tmux.prompt_until("the expired segment", WAIT, |screen| {
        screen.contains("[mfa expired] $ ")
    });
    let screen = tmux.screen();
    assert!(
        screen.contains("credentials of mfa expired and were removed; run: runas use mfa"),
        "{screen}"
    );
    tmux.type_line("echo \"GONE=x$AWS_ACCESS_KEY_ID$AWS_SESSION_TOKEN\"");
    assert_eq!(wait_printed(&tmux, "GONE"), "x");
}

#[test]
fn bash_session() {
    session(Kind::Bash);
}

#[test]
fn zsh_session() {
    session(Kind::Zsh);
}

#[test]
fn fish_session() {
    session(Kind::Fish);
}

#[test]
fn bash_refresh() {
    refresh(Kind::Bash);
}

#[test]
fn zsh_refresh() {
    refresh(Kind::Zsh);
}

#[test]
fn fish_refresh() {
    refresh(Kind::Fish);
}

#[test]
fn bash_mfa_refresh_and_expiry() {
    mfa_refresh_and_expiry(Kind::Bash);
}

#[test]
fn zsh_mfa_refresh_and_expiry() {
    mfa_refresh_and_expiry(Kind::Zsh);
}

#[test]
fn fish_mfa_refresh_and_expiry() {
    mfa_refresh_and_expiry(Kind::Fish);
}
