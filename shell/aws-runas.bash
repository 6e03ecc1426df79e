# shellcheck shell=bash
# aws-runas shell integration for bash. Load it from ~/.bashrc with:
#   eval "$(aws-runas init bash)"
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
export AWSRUNAS_SHELL=bash
# Set from the start: a prompt that reads it works under `set -u` before any `runas use`.
RUNAS_PROMPT=${RUNAS_PROMPT-}

__runas_now() {
	if [[ -n "${EPOCHSECONDS-}" ]]; then
		__runas_t=${EPOCHSECONDS}
	elif ! printf -v __runas_t '%(%s)T' -1 2>/dev/null; then
		__runas_t=$(date +%s)
	fi
}

__runas_notice() {
	printf 'aws-runas: %s\n' "$1" >&2
}

# Applies shell code from aws-runas with Ctrl-C held off, so it lands whole or not at all.
__runas_apply() {
	local saved
	saved=$(trap -p INT)
	trap '' INT
	eval "$1"
	__RUNAS_NEXT=0
	trap - INT
	if [[ -n "${saved}" ]]; then
		eval "${saved}"
	fi
}

__runas_segment() {
	if [[ -z "${AWSRUNAS_PROFILE-}" || -z "${__RUNAS_EXPIRES-}" ]]; then
		RUNAS_PROMPT=
		return 0
	fi
	local left=$((__RUNAS_EXPIRES - $1))
	# Minutes rounded up, so "1m" shows until the very end.
	local minutes=$(((left + 59) / 60))
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
	if [[ -z "${__RUNAS_REFRESH_AT-}" || -z "${__RUNAS_STATE-}" ]]; then
		return 0
	fi
	__RUNAS_PENDING=${__RUNAS_REFRESH_AT}
	# shellcheck disable=SC2154 # __RUNAS_ARGS is set by the code `runas use` applies
	(command "${__runas_bin}" __export bash --refresh "${__RUNAS_STATE}" --at "${__RUNAS_REFRESH_AT}" --shell-pid "$$" -- "${__RUNAS_ARGS[@]}" >/dev/null 2>&1 &)
}

# The refresh window is reached, or a background refresh is under way: apply its result if it
# is there, remove expired credentials, start a refresh if the background refresher has not
# delivered a minute after the refresh time.
__runas_due() {
	local now=$1
	if [[ -s "${__RUNAS_STATE-}" ]]; then
		local code
		code=$(<"${__RUNAS_STATE}")
		: >"${__RUNAS_STATE}"
		__runas_apply "${code}"
		__runas_schedule
	fi
	if [[ -z "${__RUNAS_EXPIRED-}" ]] && ((now >= __RUNAS_EXPIRES)); then
		__runas_expire
	fi
	if [[ -n "${__RUNAS_REFRESH_AT-}" ]] && ((now >= __RUNAS_REFRESH_AT)); then
		if [[ -z "${__RUNAS_PENDING-}" ]] || ((now - __RUNAS_PENDING > 60)); then
			__RUNAS_PENDING=${now}
			# shellcheck disable=SC2154 # __RUNAS_ARGS is set by the code `runas use` applies
			(command "${__runas_bin}" __export bash --refresh "${__RUNAS_STATE}" -- "${__RUNAS_ARGS[@]}" >/dev/null 2>&1 &)
		fi
	fi
}

# Everything the hook does beyond one comparison: due work, the segment, and when to look again
# (the earliest of the refresh time, the expiry and the segment's next change of minute).
__runas_tick() {
	local now=$1
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
	local left=$((__RUNAS_EXPIRES - now)) next
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
	local status=$?
	if [[ -n "${__RUNAS_NEXT-}" ]]; then
		if [[ -n "${EPOCHSECONDS-}" ]]; then
			if ((EPOCHSECONDS >= __RUNAS_NEXT)); then
				__runas_tick "${EPOCHSECONDS}"
			fi
		else
			__runas_now
			if ((__runas_t >= __RUNAS_NEXT)); then
				__runas_tick "${__runas_t}"
			fi
		fi
	fi
	return "${status}"
}

__runas_status() {
	if [[ -z "${AWSRUNAS_PROFILE-}" ]]; then
		printf 'no profile in use\n'
		return 0
	fi
	__runas_now
	__runas_segment "${__runas_t}"
	printf '%s (expires %s)\n' "${RUNAS_PROMPT:-${AWSRUNAS_PROFILE}}" "${AWS_CREDENTIAL_EXPIRATION-unknown}"
}

__runas_off() {
	local name
	for name in ${AWSRUNAS_VARS-}; do
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
		code=$(__RUNAS_STATE="${__RUNAS_STATE-}" command "${__runas_bin}" __export bash -- "$@") || return
		__runas_apply "${code}"
		__runas_schedule
		__runas_now
		__runas_tick "${__runas_t}"
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
		__runas_now
		__runas_segment "${__runas_t}"
		printf '%s\n' "${RUNAS_PROMPT}"
		;;
	*)
		command "${__runas_bin}" "$@"
		;;
	esac
}

__runas_complete() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W 'use pick off prompt' -- "${cur}" || true)
	elif [[ "${COMP_WORDS[1]}" == use && "${cur}" != -* ]]; then
		# Not compgen -W: it expands $(...) inside the words, and a profile name is only text.
		local name
		COMPREPLY=()
		while IFS= read -r name; do
			if [[ "${name}" == "${cur}"* ]]; then
				COMPREPLY+=("$(printf '%q' "${name}")")
			fi
		done < <(command "${__runas_bin}" __profiles 2>/dev/null || true)
	fi
}
complete -F __runas_complete runas

# Append the hook once, keeping whatever PROMPT_COMMAND holds (a string, or an array in bash 5.1+).
if [[ "${PROMPT_COMMAND[*]-}" != *__runas_hook* ]]; then
	if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
		PROMPT_COMMAND+=(__runas_hook)
	elif [[ -n "${PROMPT_COMMAND-}" ]]; then
		PROMPT_COMMAND="${PROMPT_COMMAND%;};__runas_hook"
	else
		PROMPT_COMMAND=__runas_hook
	fi
fi
