#!/usr/bin/env bash
# Per-prompt cost of the prompt hook with fresh credentials, beside direnv's hook and a bare
# process spawn, for bash, zsh and fish, in one run. Each figure is (a shell calling the hook N
# times) minus (the same shell calling a no-op N times), over N.
# Usage: bench/prompt.sh [path/to/aws-runas]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
bin_dir="$(cd "$(dirname "${bin}")" && pwd)"
export PATH="${bin_dir}:${PATH}"
mkdir -p "${bench_dir}/empty"
cd "${bench_dir}/empty" # direnv finds no .envrc here: its cheapest case

n_hook=2000
n_spawn=200

# write_script SHELL NAME CALL N: a script that loads both hooks, then makes CALL N times.
write_script() {
	local shell="$1" name="$2" call="$3" n="$4"
	local file="${bench_dir}/${shell}-${name}"
	case "${shell}" in
	bash | zsh)
		printf '%s\n' "eval \"\$(aws-runas init ${shell})\"" 'runas use dev' \
			"eval \"\$(direnv hook ${shell})\"" \
			"for ((i = 0; i < ${n}; i++)); do ${call}; done" >"${file}"
		;;
	fish)
		printf '%s\n' 'aws-runas init fish | source' 'runas use dev' 'direnv hook fish | source' \
			"for i in (seq ${n}); ${call}; end" >"${file}"
		;;
	*) return 1 ;;
	esac
	printf '%s' "${file}"
}

# median_s COMMAND...: hyperfine's median wall time, in seconds.
median_s() {
	local json="${bench_dir}/m.json"
	hyperfine -N --style none --warmup 2 --runs 10 --export-json "${json}" "$*" >/dev/null
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "${json}"
}

# per_call_us SHELL CALL N: microseconds one CALL adds.
per_call_us() {
	local shell="$1" call="$2" n="$3" run with base t_with t_base
	case "${shell}" in
	bash) run="bash --norc --noprofile" ;;
	zsh) run="zsh --no-rcs" ;;
	fish) run="fish --no-config" ;;
	*) return 1 ;;
	esac
	with="$(write_script "${shell}" "with" "${call}" "${n}")"
	base="$(write_script "${shell}" "base" true "${n}")"
	t_with="$(median_s "${run} ${with}")"
	t_base="$(median_s "${run} ${base}")"
	python3 -c 'import sys; w,b,n=map(float,sys.argv[1:]); print("%.1f" % max((w-b)/n*1e6, 0.0))' \
		"${t_with}" "${t_base}" "${n}"
}

printf '%-6s %14s %12s %14s %14s\n' shell "aws-runas µs" "direnv µs" "/bin/true µs" "runas/direnv"
for shell in bash zsh fish; do
	direnv_hook=_direnv_hook
	[[ "${shell}" == fish ]] && direnv_hook=__direnv_export_eval
	runas_us="$(per_call_us "${shell}" __runas_hook "${n_hook}")"
	direnv_us="$(per_call_us "${shell}" "${direnv_hook}" "${n_spawn}")"
	true_us="$(per_call_us "${shell}" /bin/true "${n_spawn}")"
	ratio="$(python3 -c 'import sys; r,d=map(float,sys.argv[1:]); print("1/%.0f" % (d/r) if r > 0 else "~0")' "${runas_us}" "${direnv_us}")"
	printf '%-6s %14s %12s %14s %14s\n' "${shell}" "${runas_us}" "${direnv_us}" "${true_us}" "${ratio}"
done
