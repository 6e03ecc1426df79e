//! End-to-end: profile-name completion in real bash, through the committed completion script
//! and the `runas` snippet, with profile names that are shell code. Completion must offer them
//! as text and run nothing; a profile named like a subcommand is offered where it means the
//! profile; profiles `sso profiles` generated are offered in bash, fish and zsh.

mod common;

use common::*;

const HOSTILE: &str = "$(touch pwned-by-completion)";

fn sandbox() -> Sandbox {
    // Quoted as botocore reads a profile name with spaces in it.
    let config = format!("{CONFIG}\n[profile \"{HOSTILE}\"]\nregion = eu-west-1\n\n[profile \"`touch backtick-ran`\"]\nregion = eu-west-1\n");
    Sandbox::with_files(&config, CREDENTIALS)
}

/// Runs `setup`, then the completion function `function` for the command line `words` (the
/// last word is the one being completed), and prints COMPREPLY one per line.
fn complete(s: &Sandbox, setup: &str, function: &str, words: &[&str]) -> Vec<String> {
    let bin_dir = runas_bin().parent().unwrap().display().to_string();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "export PATH='{bin_dir}':\"$PATH\"\n{setup}\nCOMP_WORDS=({})\nCOMP_CWORD={}\n{function}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len() - 1
    );
    let out = run(
        s.command("bash")
            .args(["--norc", "-c", &script])
            .current_dir(s.dir.path()),
        LIMIT,
    )
    .ok();
    out.stdout.lines().map(str::to_owned).collect()
}

fn assert_nothing_ran(s: &Sandbox) {
    for mark in ["pwned-by-completion", "backtick-ran"] {
        assert!(
            !s.dir.path().join(mark).exists(),
            "completion ran a profile name as code ({mark})"
        );
    }
}

#[test]
fn the_completion_script_offers_code_in_profile_names_as_text() {
    let s = sandbox();
    let root = env!("CARGO_MANIFEST_DIR");
    let setup = format!("source '{root}/completions/aws-runas.bash'");
    let all = complete(&s, &setup, "_aws_runas_with_profiles", &["aws-runas", ""]);
    assert_nothing_ran(&s);
    assert!(all.contains(&"dev".to_owned()), "{all:?}");
    assert!(
        all.contains(&r"\$\(touch\ pwned-by-completion\)".to_owned()),
        "the hostile name is offered, escaped as text: {all:?}"
    );
    let dollar = complete(&s, &setup, "_aws_runas_with_profiles", &["aws-runas", "$"]);
    assert_eq!(dollar, [r"\$\(touch\ pwned-by-completion\)"]);
    assert_eq!(
        complete(&s, &setup, "_aws_runas_with_profiles", &["aws-runas", "ch"]),
        ["chain"]
    );
    assert_nothing_ran(&s);
}

#[test]
fn runas_use_offers_code_in_profile_names_as_text() {
    let s = sandbox();
    let setup = "eval \"$(aws-runas init bash)\"";
    let all = complete(&s, setup, "__runas_complete", &["runas", "use", ""]);
    assert_nothing_ran(&s);
    assert!(all.contains(&"dev".to_owned()), "{all:?}");
    assert!(
        all.contains(&r"\`touch\ backtick-ran\`".to_owned()),
        "{all:?}"
    );
    assert_eq!(
        complete(&s, setup, "__runas_complete", &["runas", "use", "de"]),
        ["dev"]
    );
    assert_nothing_ran(&s);
}

#[test]
fn a_profile_named_like_a_subcommand_is_offered_where_it_means_the_profile() {
    let config = format!("{CONFIG}\n[profile sso]\nregion = eu-west-1\n");
    let s = Sandbox::with_files(&config, CREDENTIALS);
    let root = env!("CARGO_MANIFEST_DIR");
    let setup = format!("source '{root}/completions/aws-runas.bash'");
    let mut first = complete(&s, &setup, "_aws_runas_with_profiles", &["aws-runas", "ss"]);
    first.sort();
    first.dedup();
    assert_eq!(first, ["ssm", "sso"], "the first word may be either");
    // Past `--` the word is a profile: no subcommand is offered there.
    assert_eq!(
        complete(
            &s,
            &setup,
            "_aws_runas_with_profiles",
            &["aws-runas", "-O", "json", "--", "ss"]
        ),
        ["sso"]
    );
    // `runas use` takes only profiles.
    let use_setup = "eval \"$(aws-runas init bash)\"";
    assert_eq!(
        complete(&s, use_setup, "__runas_complete", &["runas", "use", "ss"]),
        ["sso"]
    );
}

/// A config with a block of profiles as `aws-runas sso profiles` writes it (tests/sso_profiles.rs
/// checks the command writes this), in which `Data.Analyst` is the only name starting `Da`.
fn with_generated_block() -> Sandbox {
    let config = format!(
        "{CONFIG}\n\
         # BEGIN aws-runas sso profiles corp (generated: edits here are replaced)\n\
         [profile Data.Analyst]\n\
         sso_session = corp\n\
         sso_account_id = 111111111111\n\
         sso_role_name = Analyst\n\
         # END aws-runas sso profiles corp\n"
    );
    Sandbox::with_files(&config, CREDENTIALS)
}

#[test]
fn profiles_of_a_generated_block_are_offered_in_bash_fish_and_zsh() {
    let s = with_generated_block();
    let root = env!("CARGO_MANIFEST_DIR");
    let bin_dir = runas_bin().parent().unwrap().display().to_string();

    let script = format!("source '{root}/completions/aws-runas.bash'");
    let first = complete(
        &s,
        &script,
        "_aws_runas_with_profiles",
        &["aws-runas", "Da"],
    );
    assert_eq!(first, ["Data.Analyst"]);
    let setup = "eval \"$(aws-runas init bash)\"";
    let used = complete(&s, setup, "__runas_complete", &["runas", "use", "Da"]);
    assert_eq!(used, ["Data.Analyst"]);

    let fish = run(
        s.command("fish").args([
            "--no-config",
            "-c",
            &format!(
                "set -gx PATH '{bin_dir}' $PATH\naws-runas init fish | source\nsource '{root}/completions/aws-runas.fish'\ncomplete -C 'runas use Da'\necho ---\ncomplete -C 'aws-runas Da'"
            ),
        ]),
        LIMIT,
    )
    .ok();
    assert_eq!(fish.stdout, "Data.Analyst\n---\nData.Analyst\tprofile\n");

    // zsh completes only in an interactive shell: one under tmux.
    let dir = s.dir.path();
    std::fs::write(
        dir.join(".zshrc"),
        format!(
            "fpath=('{root}/completions' $fpath)\nautoload -Uz compinit && compinit -u\neval \"$(aws-runas init zsh)\"\nPS1='$ '\n"
        ),
    )
    .unwrap();
    let mut start = String::new();
    for (k, v) in s.env() {
        let v = if k == "PATH" {
            format!("{bin_dir}:{v}")
        } else {
            v
        };
        start.push_str(&format!("export {k}='{}'\n", v.replace('\'', r"'\''")));
    }
    start.push_str(&format!(
        "export TERM=xterm-256color ZDOTDIR='{}'\nexec zsh -i\n",
        dir.display()
    ));
    std::fs::write(dir.join("start.sh"), start).unwrap();
    let tmux = common::tmux::Tmux::start(dir, &format!("sh '{}/start.sh'", dir.display()));
    let wait = std::time::Duration::from_secs(30);
    tmux.wait_for("the first prompt", wait, |screen| screen.contains("$ "));
    for line in ["runas use Da", "aws-runas Da"] {
        tmux.send_keys(&[line, "Tab"]);
        let done = line.replace("Da", "Data.Analyst");
        tmux.wait_for(&done, wait, |screen| screen.contains(&done));
        tmux.send_keys(&["C-u"]);
    }
}
