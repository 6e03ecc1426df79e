# aws-runas shell integration for fish. Load it from ~/.config/fish/config.fish with:
#   aws-runas init fish | source
#
# runas use PROFILE [flags]  export PROFILE's credentials into this shell
# runas use                  what is in use, and until when
# runas off                  remove everything `runas use` set
# runas prompt               the prompt segment ("dev 42m")
# runas ARGS...              aws-runas ARGS...
#
# Before each prompt a hook keeps the credentials fresh: while they are fresh it only compares
# two numbers; once the refresh window is reached it refreshes them in the background through
# the shared cache and sets the result at the next prompt. It never asks for an MFA code.

set -g __runas_bin aws-runas

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
    set -e AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
    set -g __RUNAS_EXPIRED 1
    __runas_notice "credentials of $AWSRUNAS_PROFILE expired and were removed; run: runas use $AWSRUNAS_PROFILE"
end

# The refresh window is reached, or a background refresh is under way: apply its result if it
# is there, remove expired credentials, start a refresh if none is running.
function __runas_due
    set -l now $argv[1]
    if test -s "$__RUNAS_STATE"
        set -l code (string collect <$__RUNAS_STATE)
        printf '' >$__RUNAS_STATE
        eval $code
        return 0
    end
    if not set -q __RUNAS_EXPIRED[1]; and test $now -ge $__RUNAS_EXPIRES
        __runas_expire
    end
    if set -q __RUNAS_REFRESH_AT[1]; and test $now -ge $__RUNAS_REFRESH_AT
        if not set -q __RUNAS_PENDING[1]; or test (math $now - $__RUNAS_PENDING) -gt 60
            set -g __RUNAS_PENDING $now
            command $__runas_bin __export fish --refresh $__RUNAS_STATE -- $__RUNAS_ARGS >/dev/null 2>&1 &
            disown
        end
    end
end

function __runas_hook --on-event fish_prompt
    set -l ret $status
    if set -q __RUNAS_EXPIRES[1]
        set -l now (__runas_now)
        if set -q __RUNAS_PENDING[1]
            __runas_due $now
        else if set -q __RUNAS_REFRESH_AT[1]; and test $now -ge $__RUNAS_REFRESH_AT
            __runas_due $now
        else if not set -q __RUNAS_EXPIRED[1]; and test $now -ge $__RUNAS_EXPIRES
            __runas_due $now
        end
    end
    return $ret
end

function __runas_off
    for name in (string split ' ' -- "$AWSRUNAS_VARS")
        set -e $name
    end
    set -e AWSRUNAS_VARS __RUNAS_EXPIRES __RUNAS_REFRESH_AT __RUNAS_ARGS __RUNAS_PENDING __RUNAS_EXPIRED
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
        case off
            __runas_off
        case prompt
            __runas_segment (__runas_now)
        case '*'
            command $__runas_bin $argv
    end
end

complete -c runas -f -n __fish_is_first_arg -a 'use off prompt'
complete -c runas -f -n '__fish_seen_subcommand_from use; and not string match -q -- "-*" (commandline -ct)' -a '(command $__runas_bin __profiles 2>/dev/null)'
