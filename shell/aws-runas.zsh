# aws-runas shell integration for zsh. Load it from ~/.zshrc with:
#   eval "$(aws-runas init zsh)"
#
# runas use PROFILE [flags]  export PROFILE's credentials into this shell
# runas use                  what is in use, and until when
# runas pick                 choose a profile from a fuzzy list, then `runas use` it
# runas off                  remove everything `runas use` set
# runas prompt               the prompt segment ("dev 42m"); also kept in $RUNAS_PROMPT
# runas ARGS...              aws-runas ARGS...
#
# After `runas use` a background aws-runas sleeps until the refresh time, refreshes through the
# shared cache and leaves the result in a state file. Before each prompt a hook keeps the
# credentials fresh: while they are fresh it only compares two numbers; from the refresh time on
# it applies what the refresher left, removes expired credentials, and starts a refresh itself
# if the refresher delivered nothing. It never asks for an MFA code.

__runas_bin='aws-runas'
# Tells aws-runas diagnose, run from this shell, that the integration is loaded.
export AWSRUNAS_SHELL=zsh
# Set from the start: a prompt that reads it works under `set -u` before any `runas use`.
RUNAS_PROMPT=${RUNAS_PROMPT-}

zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null
autoload -Uz add-zsh-hook

__runas_notice() {
	print -ru2 -- "aws-runas: $1"
}

# Applies shell code from aws-runas with Ctrl-C held off (LOCAL_TRAPS restores the user's trap).
__runas_apply() {
	setopt localoptions localtraps
	trap '' INT
	eval "$1"
	__RUNAS_NEXT=0
}

__runas_segment() {
	emulate -L zsh
	if [[ -z "${AWSRUNAS_PROFILE-}" || -z "${__RUNAS_EXPIRES-}" ]]; then
		RUNAS_PROMPT=
		return 0
	fi
	local -i left=$((__RUNAS_EXPIRES - $1))
	# Minutes rounded up, so "1m" shows until the very end.
	local -i minutes=$(((left + 59) / 60))
	if [[ -n "${__RUNAS_EXPIRED-}" ]] || ((left <= 0)); then
		RUNAS_PROMPT="${AWSRUNAS_PROFILE} expired"
	elif ((minutes < 60)); then
		RUNAS_PROMPT="${AWSRUNAS_PROFILE} ${minutes}m"
	elif ((minutes % 60 == 0)); then
		RUNAS_PROMPT="${AWSRUNAS_PROFILE} $((minutes / 60))h"
	else
		RUNAS_PROMPT="${AWSRUNAS_PROFILE} $((minutes / 60))h$((minutes % 60))m"
	fi
}

__runas_expire() {
	if [[ -n "${__RUNAS_EXPIRED-}" ]]; then
		return 0
	fi
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
	__RUNAS_EXPIRED=1
	__runas_notice "credentials of ${AWSRUNAS_PROFILE-} expired and were removed; run: runas use ${AWSRUNAS_PROFILE-}"
}

# Starts the background refresher: it sleeps until the refresh time, refreshes through the shared
# cache and leaves what to apply in the state file, so a shell left idle past the refresh time
# finds fresh credentials at its next prompt instead of expired ones. Until then the refresh
# counts as pending from the refresh time on.
__runas_schedule() {
	emulate -L zsh
	if [[ -z "${__RUNAS_REFRESH_AT-}" || -z "${__RUNAS_STATE-}" ]]; then
		return 0
	fi
	__RUNAS_PENDING=${__RUNAS_REFRESH_AT}
	(command "${__runas_bin}" __export zsh --refresh "${__RUNAS_STATE}" --at "${__RUNAS_REFRESH_AT}" --shell-pid "$$" -- "${__RUNAS_ARGS[@]}" >/dev/null 2>&1 &)
}

# The refresh window is reached, or a background refresh is under way: apply its result if it
# is there, remove expired credentials, start a refresh if the background refresher has not
# delivered a minute after the refresh time.
__runas_due() {
	emulate -L zsh
	local -i now=$1
	if [[ -s "${__RUNAS_STATE-}" ]]; then
		local code
		code=$(<"${__RUNAS_STATE}")
		: >|"${__RUNAS_STATE}"
		__runas_apply "${code}"
		__runas_schedule
	fi
	if [[ -z "${__RUNAS_EXPIRED-}" ]] && ((now >= __RUNAS_EXPIRES)); then
		__runas_expire
	fi
	if [[ -n "${__RUNAS_REFRESH_AT-}" ]] && ((now >= __RUNAS_REFRESH_AT)); then
		if [[ -z "${__RUNAS_PENDING-}" ]] || ((now - __RUNAS_PENDING > 60)); then
			__RUNAS_PENDING=${now}
			(command "${__runas_bin}" __export zsh --refresh "${__RUNAS_STATE}" -- "${__RUNAS_ARGS[@]}" >/dev/null 2>&1 &)
		fi
	fi
}

# Everything the hook does beyond one comparison: due work, the segment, and when to look again
# (the earliest of the refresh time, the expiry and the segment's next change of minute).
__runas_tick() {
	emulate -L zsh
	local -i now=$1
	if [[ -n "${__RUNAS_PENDING-}" ]] && ((now >= __RUNAS_PENDING)); then
		__runas_due "${now}"
	elif [[ -n "${__RUNAS_REFRESH_AT-}" ]] && ((now >= __RUNAS_REFRESH_AT)); then
		__runas_due "${now}"
	elif [[ -z "${__RUNAS_EXPIRED-}" && -n "${__RUNAS_EXPIRES-}" ]] && ((now >= __RUNAS_EXPIRES)); then
		__runas_due "${now}"
	fi
	__runas_segment "${now}"
	if [[ -z "${__RUNAS_EXPIRES-}" ]]; then
		__RUNAS_NEXT=
		return 0
	fi
	local -i left=$((__RUNAS_EXPIRES - now)) next
	next=$((now + (left > 0 ? (left - 1) % 60 + 1 : 86400)))
	if [[ -n "${__RUNAS_PENDING-}" ]] && ((now >= __RUNAS_PENDING)); then
		next=$((now + 1))
	fi
	if [[ -n "${__RUNAS_REFRESH_AT-}" ]] && ((__RUNAS_REFRESH_AT < next)); then
		next=${__RUNAS_REFRESH_AT}
	fi
	__RUNAS_NEXT=${next}
}

__runas_hook() {
	local -i ret=$?
	if [[ -n "${__RUNAS_NEXT-}" ]] && ((EPOCHSECONDS >= __RUNAS_NEXT)); then
		__runas_tick "${EPOCHSECONDS}"
	fi
	return ret
}

__runas_status() {
	if [[ -z "${AWSRUNAS_PROFILE-}" ]]; then
		print -r -- 'no profile in use'
		return 0
	fi
	__runas_segment "${EPOCHSECONDS}"
	print -r -- "${RUNAS_PROMPT:-${AWSRUNAS_PROFILE}} (expires ${AWS_CREDENTIAL_EXPIRATION-unknown})"
}

__runas_off() {
	local name
	for name in ${=AWSRUNAS_VARS-}; do
		unset "${name}"
	done
	unset AWSRUNAS_VARS __RUNAS_EXPIRES __RUNAS_REFRESH_AT __RUNAS_ARGS __RUNAS_PENDING __RUNAS_EXPIRED __RUNAS_NEXT
	# Retiring the state file tells a sleeping refresher to give up.
	if [[ -n "${__RUNAS_STATE-}" ]]; then
		command rm -f -- "${__RUNAS_STATE}"
	fi
	unset __RUNAS_STATE
	RUNAS_PROMPT=
}

runas() {
	case "${1-}" in
	use)
		shift
		if (($# == 0)); then
			__runas_status
			return
		fi
		local code
		code=$(__RUNAS_STATE="${__RUNAS_STATE-}" command "${__runas_bin}" __export zsh -- "$@") || return
		__runas_apply "${code}"
		__runas_schedule
		__runas_tick "${EPOCHSECONDS}"
		;;
	pick)
		shift
		local choice
		# Backed out (Esc): the shell stays as it was.
		choice=$(command "${__runas_bin}" pick "$@") || return
		runas use "${choice}"
		;;
	off)
		__runas_off
		;;
	prompt)
		__runas_segment "${EPOCHSECONDS}"
		print -r -- "${RUNAS_PROMPT}"
		;;
	*)
		command "${__runas_bin}" "$@"
		;;
	esac
}

__runas_complete() {
	if ((CURRENT == 2)); then
		compadd use pick off prompt
	elif [[ "${words[2]}" == use && "${PREFIX}" != -* ]]; then
		compadd -- ${(f)"$(command "${__runas_bin}" __profiles 2>/dev/null)"}
	fi
}
if (($+functions[compdef])); then
	compdef __runas_complete runas
fi

add-zsh-hook precmd __runas_hook
