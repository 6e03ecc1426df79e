# aws-runas shell integration for fish. Load it from ~/.config/fish/config.fish with:
#   aws-runas init fish | source
#
# runas use PROFILE [flags]  export PROFILE's credentials into this shell
# runas use                  what is in use, and until when
# runas pick                 choose a profile from a fuzzy list, then `runas use` it
# runas off                  remove everything `runas use` set
# runas prompt               the prompt segment ("dev 42m")
# runas ARGS...              aws-runas ARGS...
#
# fish has no clock builtin, and reading the time costs a command substitution, so the prompt
# does not watch the clock: after `runas use` a background aws-runas sleeps until the refresh
# time, refreshes through the shared cache and leaves the result in a state file. Before each
# prompt the hook only checks whether that file has something (one stat) and applies it. It never
# asks for an MFA code.

set -g __runas_bin aws-runas
# Tells aws-runas diagnose, run from this shell, that the integration is loaded.
set -gx AWSRUNAS_SHELL fish

# fish has no clock variable; a file's mtime plus its age (both builtins) is the time, no process.
function __runas_now
    math (path mtime /) + (path mtime --relative /)
end

function __runas_notice
    printf 'aws-runas: %s\n' $argv[1] >&2
end

function __runas_segment
    if test -z "$AWSRUNAS_PROFILE"; or not set -q __RUNAS_EXPIRES[1]
        return 0
    end
    set -l left (math $__RUNAS_EXPIRES - $argv[1])
    # Minutes rounded up, so "1m" shows until the very end.
    set -l minutes (math --scale=0 "floor(($left + 59) / 60)")
    if set -q __RUNAS_EXPIRED[1]; or test $left -le 0
        echo "$AWSRUNAS_PROFILE expired"
    else if test $minutes -lt 60
        echo "$AWSRUNAS_PROFILE "$minutes"m"
    else if test (math $minutes % 60) -eq 0
        echo "$AWSRUNAS_PROFILE "(math $minutes / 60)h
    else
        echo "$AWSRUNAS_PROFILE "(math --scale=0 "floor($minutes / 60)")h(math $minutes % 60)m
    end
end

function __runas_expire
    set -q __RUNAS_EXPIRED[1]; and return 0
    set -e AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
    set -g __RUNAS_EXPIRED 1
    __runas_notice "credentials of $AWSRUNAS_PROFILE expired and were removed; run: runas use $AWSRUNAS_PROFILE"
end

# Starts the background refresher for the current state: it sleeps until the refresh time, then
# writes what to apply (new credentials, or a notice and when to try again) to the state file.
function __runas_schedule
    set -q __RUNAS_REFRESH_AT[1]; or return 0
    command $__runas_bin __export fish --refresh $__RUNAS_STATE --at $__RUNAS_REFRESH_AT --shell-pid $fish_pid -- $__RUNAS_ARGS >/dev/null 2>&1 &
    disown $last_pid 2>/dev/null
end

function __runas_hook --on-event fish_prompt
    set -l ret $status
    if set -q __RUNAS_STATE[1]; and test -s "$__RUNAS_STATE"
        set -l code (string collect <$__RUNAS_STATE)
        printf '' >$__RUNAS_STATE
        eval $code
        __runas_schedule
    end
    return $ret
end

function __runas_off
    for name in (string split ' ' -- "$AWSRUNAS_VARS")
        set -e $name
    end
    set -e AWSRUNAS_VARS __RUNAS_EXPIRES __RUNAS_REFRESH_AT __RUNAS_ARGS __RUNAS_PENDING __RUNAS_EXPIRED
    # Retiring the state file tells a sleeping refresher to give up.
    if set -q __RUNAS_STATE[1]
        command rm -f -- $__RUNAS_STATE
        set -e __RUNAS_STATE
    end
end

function runas --description 'aws-runas in this shell: runas use PROFILE, runas off, runas prompt'
    switch "$argv[1]"
        case use
            if test (count $argv) -eq 1
                if test -z "$AWSRUNAS_PROFILE"
                    echo 'no profile in use'
                else
                    echo (__runas_segment (__runas_now))" (expires $AWS_CREDENTIAL_EXPIRATION)"
                end
                return 0
            end
            set -l code (__RUNAS_STATE="$__RUNAS_STATE" command $__runas_bin __export fish -- $argv[2..-1] | string collect)
            or return
            eval $code
            __runas_schedule
        case pick
            # Backed out (Esc): the shell stays as it was.
            set -l choice (command $__runas_bin pick $argv[2..-1])
            or return
            runas use $choice
        case off
            __runas_off
        case prompt
            __runas_segment (__runas_now)
        case '*'
            command $__runas_bin $argv
    end
end

complete -c runas -f -n __fish_is_first_arg -a 'use pick off prompt'
complete -c runas -f -n '__fish_seen_subcommand_from use; and not string match -q -- "-*" (commandline -ct)' -a '(command $__runas_bin __profiles 2>/dev/null)'
