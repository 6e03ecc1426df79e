//! `completions SHELL`: clap's completion script, plus profile names for the PROFILE argument.
//! Profile names come from `aws-runas __profiles`, which reads the two INI files and nothing
//! else, so completing stays fast.

use std::process::ExitCode;

use clap::CommandFactory;

use super::print;
use crate::cli::Cli;
use crate::shell::ShellKind;

pub fn run(kind: ShellKind) -> anyhow::Result<ExitCode> {
    print(&script(kind)?)?;
    Ok(ExitCode::SUCCESS)
}

pub fn script(kind: ShellKind) -> anyhow::Result<String> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(kind.clap_shell(), &mut cmd, "aws-runas", &mut out);
    let generated = String::from_utf8(out)?;
    Ok(match kind {
        ShellKind::Bash => bash(&generated, &cmd),
        ShellKind::Zsh => zsh(&generated)?,
        ShellKind::Fish => fish(&generated),
        ShellKind::Powershell => powershell(&generated)?,
    })
}

/// `generated` with `marker` replaced once. clap_complete's output is not a stable interface:
/// when a new version moves the marker, this says so instead of quietly dropping profile names.
fn patch(generated: &str, marker: &str, replacement: &str) -> anyhow::Result<String> {
    if !generated.contains(marker) {
        anyhow::bail!(
            "cannot add profile names to clap_complete's script: {marker:?} is no longer in it"
        );
    }
    Ok(generated.replacen(marker, replacement, 1))
}

fn subcommand_names(cmd: &clap::Command) -> Vec<String> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect()
}

/// Options whose next word is their value, so that word is not the profile.
fn options_with_values(cmd: &clap::Command) -> Vec<String> {
    let mut names = Vec::new();
    for arg in cmd.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        names.extend(arg.get_short().map(|s| format!("-{s}")));
        names.extend(arg.get_long().map(|l| format!("--{l}")));
    }
    names
}

fn bash(generated: &str, cmd: &clap::Command) -> String {
    let glue = format!(
        r#"
# Profile names for the first word that is neither an option nor an option's value; after
# `--` that word is a profile, never a subcommand.
_aws_runas_with_profiles() {{
    local i word skip=0 position=0 ended=0 cur=${{COMP_WORDS[COMP_CWORD]}}
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
        if ((skip)); then
            skip=0
            continue
        fi
        case ${{word}} in
        --) ended=1 ;;
        {options}) skip=1 ;;
        -*) ;;
        *) position=$((position + 1)) ;;
        esac
    done
    if ((position == 0 && !skip)) && [[ ${{cur}} != -* ]]; then
        # Not compgen -W: it expands $(...) inside the words, and a profile name is only text.
        local name
        COMPREPLY=()
        while IFS= read -r name; do
            if [[ ${{name}} == "${{cur}}"* ]]; then
                COMPREPLY+=("$(printf '%q' "${{name}}")")
            fi
        done < <(aws-runas __profiles 2>/dev/null || true; ((ended)) || printf '%s\n' {subcommands})
        return 0
    fi
    _aws__runas "$@"
}}
complete -F _aws_runas_with_profiles -o bashdefault -o default aws-runas
"#,
        options = options_with_values(cmd).join(" | "),
        subcommands = subcommand_names(cmd).join(" "),
    );
    format!("{generated}{glue}")
}

const ZSH_PROFILE_SPEC: &str = "'::profile -- Profile name or role ARN:_default'";

fn zsh(generated: &str) -> anyhow::Result<String> {
    // _describe splits "name:description" at the first colon, so colons in names are escaped.
    let function = "_aws_runas_profiles() {\n    local -a profiles\n    profiles=(${(f)\"$(aws-runas __profiles 2>/dev/null)\"})\n    profiles=(${profiles//:/\\\\:})\n    _describe -t profiles 'profile' profiles\n}\n\n";
    let with_action = patch(
        generated,
        ZSH_PROFILE_SPEC,
        "'::profile -- Profile name or role ARN:_aws_runas_profiles'",
    )?;
    // The function must exist before the completion function first runs.
    patch(
        &with_action,
        "_aws-runas() {",
        &format!("{function}_aws-runas() {{"),
    )
}

fn fish(generated: &str) -> String {
    format!(
        "{generated}complete -c aws-runas -n __fish_aws_runas_needs_command -f -a '(aws-runas __profiles 2>/dev/null)' -d profile\n"
    )
}

fn powershell(generated: &str) -> anyhow::Result<String> {
    let marker = "        'aws-runas' {\n";
    // A name with characters PowerShell would interpret is inserted single-quoted.
    let profiles = "            aws-runas __profiles 2>$null | ForEach-Object { $text = if ($_ -match '[^\\w./:@+=,-]') { \"'\" + ($_ -replace \"'\", \"''\") + \"'\" } else { $_ }; [CompletionResult]::new($text, $_, [CompletionResultType]::ParameterValue, 'profile') }\n";
    patch(generated, marker, &format!("{marker}{profiles}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_profile_names_patched_in() {
        for kind in [
            ShellKind::Bash,
            ShellKind::Zsh,
            ShellKind::Fish,
            ShellKind::Powershell,
        ] {
            let text = script(kind).unwrap();
            assert!(text.contains("__profiles"), "{kind:?}");
        }
    }

    #[test]
    fn a_moved_marker_is_an_error_not_a_silent_no_op() {
        let err = zsh("#compdef aws-runas\n").unwrap_err().to_string();
        assert!(err.contains("no longer in it"), "{err}");
    }
}
