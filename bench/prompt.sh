#!/usr/bin/env bash
# Per-prompt cost of the prompt hook with fresh credentials, beside direnv's hook and a bare
# process spawn, for bash, zsh and fish, in one run. Each figure is (a shell calling the hook N
# times) minus (the same shell calling a no-op N times), over N: the k-th timed run of one
# paired with the k-th of the other, reported as min/median/max over the runs. A difference
# below zero is printed as it is (the hook's cost is under the noise), never rounded to 0.
# Usage: bench/prompt.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
bin_dir="$(cd "$(dirname "${bin}")" && pwd)"
export PATH="${bin_dir}:${PATH}"
mkdir -p "${bench_dir}/empty"
cd "${bench_dir}/empty" # direnv finds no .envrc here: its cheapest case

n_hook="$(bench_runs 2000 20)"
n_spawn="$(bench_runs 200 5)"
runs="$(bench_runs 20 2)"
warmup="$(bench_runs 2 1)" # at least one: the first `runas use dev` fills the cache

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

# times_s NAME COMMAND...: hyperfine's wall times of COMMAND, one per run, in seconds, as a
# JSON list in the file NAME.
times_s() {
	local out="${bench_dir}/$1.times" json="${bench_dir}/$1.json"
	shift
	hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --export-json "${json}" "$*" >/dev/null
	python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["results"][0]["times"]))' \
		"${json}" >"${out}"
	printf '%s' "${out}"
}

# per_call_us SHELL CALL N: microseconds one CALL adds, as "min/median/max" over the runs.
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
	t_with="$(times_s with "${run} ${with}")"
	t_base="$(times_s base "${run} ${base}")"
	python3 -c '
import json, statistics, sys
w, b = (json.load(open(f)) for f in sys.argv[1:3])
n = float(sys.argv[3])
d = sorted((x - y) / n * 1e6 for x, y in zip(w, b))
print("%.1f/%.1f/%.1f" % (d[0], statistics.median(d), d[-1]))' "${t_with}" "${t_base}" "${n}"
}

# median_of "MIN/MEDIAN/MAX": MEDIAN.
median_of() {
	local rest="${1#*/}"
	printf '%s' "${rest%%/*}"
}

printf 'per call, µs, min/median/max over %s paired runs\n' "${runs}"
printf '%-6s %22s %22s %22s %14s\n' shell "aws-runas" "direnv" "/bin/true" "runas/direnv"
for shell in bash zsh fish; do
	direnv_hook=_direnv_hook
	[[ "${shell}" == fish ]] && direnv_hook=__direnv_export_eval
	runas_us="$(per_call_us "${shell}" __runas_hook "${n_hook}")"
	direnv_us="$(per_call_us "${shell}" "${direnv_hook}" "${n_spawn}")"
	true_us="$(per_call_us "${shell}" /bin/true "${n_spawn}")"
	runas_median="$(median_of "${runas_us}")"
	direnv_median="$(median_of "${direnv_us}")"
	ratio="$(python3 -c '
import sys
r, d = map(float, sys.argv[1:])
if r <= 0 or d <= 0:
    print("under noise")
elif d >= r:
    print("1/%.0f" % (d / r))
else:
    print("%.1f" % (r / d))' \
		"${runas_median}" "${direnv_median}")"
	printf '%-6s %22s %22s %22s %14s\n' "${shell}" "${runas_us}" "${direnv_us}" "${true_us}" "${ratio}"
done
