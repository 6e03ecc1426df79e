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
    start_rc(kind, s, extra_env, "")
}

/// `start`, with `rc` run first in the shell's rc file (before the integration is loaded).
fn start_rc(kind: Kind, s: &Sandbox, extra_env: &[(&str, &str)], rc: &str) -> Tmux {
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
                    "{rc}\neval \"$(aws-runas init bash)\"\nsource '{}/completions/aws-runas.bash'\nPS1='[${{RUNAS_PROMPT}}] $ '\n",
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
                    "{rc}\nfpath=('{}/completions' $fpath)\nautoload -Uz compinit && compinit -u\neval \"$(aws-runas init zsh)\"\nsetopt PROMPT_SUBST\nPS1='[${{RUNAS_PROMPT}}] $ '\n",
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
                    "{rc}\naws-runas init fish | source\nsource '{}/completions/aws-runas.fish'\nfunction fish_prompt; printf '[%s] $ ' (runas prompt); end\nfunction fish_greeting; end\n",
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
/// and credentials past their expiry are removed, the segment showing it. The credentials
/// really expire: STS answers with a 30s lifetime (the default window then counts as half).
fn mfa_refresh_and_expiry(kind: Kind) {
    let s = Sandbox::new();
    let sts = ShortLivedSts::start(&s.moto, Duration::from_secs(30));
    let tmux = start(kind, &s, &[("AWS_ENDPOINT_URL", &sts.url)]);
    // Over an hour with MFA: assumed directly with the code, so every refresh needs a new one.
    tmux.type_line(
        "runas use mfa -a 2h -o 123456; echo USED=$AWSRUNAS_PROFILE; echo EXP=$AWS_CREDENTIAL_EXPIRATION",
    );
    assert_eq!(wait_printed(&tmux, "USED"), "mfa");
    let expires: jiff::Timestamp = wait_printed(&tmux, "EXP").parse().unwrap();
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
    if jiff::Timestamp::now() < expires {
        tmux.type_line("echo KEY_STILL=$AWS_ACCESS_KEY_ID");
        let key = wait_printed(&tmux, "KEY_STILL");
        if jiff::Timestamp::now() < expires {
            assert!(
                key.starts_with("ASIA"),
                "credentials removed before they expired"
            );
        }
    }

    tmux.prompt_until("the expired segment", WAIT + WAIT, |screen| {
        // fish's segment reads the clock, and its removal comes from the background refresher
        // woken at the expiry: both, in either order.
        screen.contains("[mfa expired] $ ")
            && screen.contains("credentials of mfa expired and were removed; run: runas use mfa")
    });
    assert!(jiff::Timestamp::now() >= expires, "shown expired too early");
    tmux.type_line("echo \"GONE=x$AWS_ACCESS_KEY_ID$AWS_SESSION_TOKEN\"");
    assert_eq!(wait_printed(&tmux, "GONE"), "x");
}

/// Credentials with a real 30s lifetime, and a shell left idle past their expiry: the
/// background refresher renewed them at the refresh time, so the first prompt after the idle
/// spell already exports fresh ones, with no notice about removed credentials.
fn real_expiry(kind: Kind) {
    let s = Sandbox::new();
    let sts = ShortLivedSts::start(&s.moto, Duration::from_secs(30));
    let tmux = start(kind, &s, &[("AWS_ENDPOINT_URL", &sts.url)]);
    tmux.type_line("runas use dev; echo K1=$AWS_ACCESS_KEY_ID; echo E1=$AWS_CREDENTIAL_EXPIRATION");
    let first = wait_printed(&tmux, "K1");
    let expires: jiff::Timestamp = wait_printed(&tmux, "E1").parse().unwrap();
    // Idle, no prompt drawn, until they have expired (waiting on the clock: nothing signals it).
    let idle = expires.duration_since(jiff::Timestamp::now()) + jiff::SignedDuration::from_secs(2);
    std::thread::sleep(Duration::try_from(idle).unwrap_or_default());
    // The first prompt drawn after the expiry, then a line typed at it.
    tmux.send_keys(&["Enter"]);
    tmux.type_line("echo NOWKEY=$AWS_ACCESS_KEY_ID; echo NOWEXP=$AWS_CREDENTIAL_EXPIRATION");
    let key = wait_printed(&tmux, "NOWKEY");
    let exp = wait_printed(&tmux, "NOWEXP");
    assert_ne!(key, first, "the expired keys are still exported");
    assert!(
        key.starts_with("ASIA"),
        "no fresh keys at the first prompt: {key:?}"
    );
    let exp: jiff::Timestamp = exp.parse().unwrap();
    assert!(exp > expires, "{exp} is not after {expires}");
    let screen = tmux.screen();
    assert!(!screen.contains("were removed"), "{screen}");
    tmux.type_line("runas off; echo OFF=done");
    wait_printed(&tmux, "OFF");
}

/// `runas off` retires the background refresher: nothing refreshes credentials nobody uses.
fn off_stops_the_refresher(kind: Kind) {
    let s = Sandbox::new();
    // Due for refresh 5s after issue: a refresher left running would call STS then.
    let tmux = start(kind, &s, &[("RUNAS_REFRESH_WINDOW", "14m55s")]);
    tmux.type_line("runas use dev -a 15m; runas off; echo \"OFF=$AWSRUNAS_PROFILE\"");
    assert_eq!(wait_printed(&tmux, "OFF"), "");
    assert_eq!(s.moto.assumed_keys().len(), 1);
    // Waiting past the refresh time, which nothing signals; the refresher polls its state
    // file at least every 10s.
    std::thread::sleep(Duration::from_secs(16));
    tmux.send_keys(&["Enter"]);
    tmux.type_line("echo \"AFTER=x$AWS_ACCESS_KEY_ID\"");
    assert_eq!(wait_printed(&tmux, "AFTER"), "x");
    assert_eq!(s.moto.assumed_keys().len(), 1, "refreshed after runas off");
}

/// The integration under `set -u` in a real interactive shell: loading, prompts before and
/// after `runas use`, a refresh, `runas off` — and not one unbound-variable error.
fn nounset(kind: Kind) {
    let s = Sandbox::new();
    let rc = if kind == Kind::Zsh {
        "setopt nounset"
    } else {
        "set -u"
    };
    let tmux = start_rc(kind, &s, &[("RUNAS_REFRESH_WINDOW", "59m58s")], rc);
    tmux.type_line("echo NOUNSET=$-");
    if kind == Kind::Bash {
        assert!(
            wait_printed(&tmux, "NOUNSET").contains('u'),
            "set -u is not on"
        );
    } else {
        tmux.type_line("echo ZNOUNSET=$options[nounset]");
        assert_eq!(wait_printed(&tmux, "ZNOUNSET"), "on");
    }
    tmux.type_line("runas use dev; echo K1=$AWS_ACCESS_KEY_ID");
    let first = wait_printed(&tmux, "K1");
    tmux.prompt_until("a refresh", WAIT, |screen| {
        printed(screen, "K2").is_some_and(|k| k != first) || {
            tmux.type_line("echo K2=$AWS_ACCESS_KEY_ID");
            false
        }
    });
    tmux.type_line("runas prompt; runas use; runas off; echo OFF=$RUNAS_PROMPT.");
    assert_eq!(wait_printed(&tmux, "OFF"), ".");
    tmux.send_keys(&["Enter"]);
    tmux.type_line("echo DONE=1");
    wait_printed(&tmux, "DONE");
    let screen = tmux.screen();
    for error in ["unbound variable", "parameter not set", "aws-runas:"] {
        assert!(!screen.contains(error), "{error}:\n{screen}");
    }
}

/// bash before 4.2 (macOS's 3.2) has neither `EPOCHSECONDS` nor `printf '%(%s)T'`: the hook
/// then reads the clock with `date`, one process per prompt. Simulated faithfully in this
/// bash: `EPOCHSECONDS` unset (it loses its magic), and `printf` failing on `%(…)T` as bash
/// 4.1's does ("invalid format character"). A `date` on PATH counts its calls.
fn bash_clock(old: bool) -> (usize, String) {
    let s = Sandbox::new();
    let bin = s.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = s.dir.path().join("date.log");
    let date = bin.join("date");
    std::fs::write(
        &date,
        format!(
            "#!/bin/sh\necho x >>'{}'\nexec /bin/date \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&date, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), path_with_venv());
    let rc = if old {
        "unset EPOCHSECONDS\nprintf() { case \"$*\" in *'%('*')T'*) echo \"bash: printf: \\`(': invalid format character\" >&2; return 1;; esac; builtin printf \"$@\"; }"
    } else {
        ""
    };
    let tmux = start_rc(Kind::Bash, &s, &[("PATH", &path)], rc);
    tmux.type_line("runas use dev; echo USED=$AWSRUNAS_PROFILE");
    wait_printed(&tmux, "USED");
    let calls = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // Each line's output, then the next prompt drawn: one hook run per command.
    let drawn = |screen: &str, text: &str| {
        let lines: Vec<&str> = screen
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        lines.len() >= 2 && lines[lines.len() - 2] == text && lines[lines.len() - 1].ends_with("$")
    };
    tmux.wait_for("the prompt after USED", WAIT, |screen| {
        drawn(screen, "USED=dev")
    });
    let before = calls();
    for i in 1..=5 {
        tmux.type_line(&format!("echo P{i}"));
        tmux.wait_for("a prompt", WAIT, |screen| drawn(screen, &format!("P{i}")));
    }
    tmux.type_line("echo SEG=$RUNAS_PROMPT");
    let segment = wait_printed(&tmux, "SEG");
    (calls() - before, segment)
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
fn bash_off_stops_the_refresher() {
    off_stops_the_refresher(Kind::Bash);
}

#[test]
fn zsh_off_stops_the_refresher() {
    off_stops_the_refresher(Kind::Zsh);
}

#[test]
fn fish_off_stops_the_refresher() {
    off_stops_the_refresher(Kind::Fish);
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

#[test]
fn bash_real_expiry_then_fresh_credentials() {
    real_expiry(Kind::Bash);
}

#[test]
fn zsh_real_expiry_then_fresh_credentials() {
    real_expiry(Kind::Zsh);
}

#[test]
fn fish_real_expiry_then_fresh_credentials() {
    real_expiry(Kind::Fish);
}

#[test]
fn bash_hook_under_set_u() {
    nounset(Kind::Bash);
}

#[test]
fn zsh_hook_under_nounset() {
    nounset(Kind::Zsh);
}

#[test]
fn bash_before_4_2_reads_the_clock_with_date_once_per_prompt() {
    let (calls, segment) = bash_clock(true);
    // Five commands, five prompts (the sixth command's own prompt may not be drawn yet).
    assert!(
        (5..=6).contains(&calls),
        "date ran {calls} times for 5 prompts"
    );
    assert!(segment == "dev 1h" || segment == "dev 59m", "{segment}");
    let (calls, segment) = bash_clock(false);
    assert_eq!(calls, 0, "bash 4.2+ spawned date");
    assert!(segment == "dev 1h" || segment == "dev 59m", "{segment}");
}
