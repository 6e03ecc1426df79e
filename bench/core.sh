#!/usr/bin/env bash
# Cache-hit cost beside a bare process spawn, and 16 concurrent cold callers beside one, in one
# run (ratios, not absolute times). Checks, from moto's request recorder, that every cold run
# of 16 callers made one STS call of each kind between them, and fails if not.
# Usage: bench/core.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
export MFA_CODE=123456
"${bin}" -O json dev >/dev/null # warm the cache

hit_runs="$(bench_runs 500 5)"
hit_warmup="$(bench_runs 20 1)"
cold_runs="$(bench_runs 20 2)"
cold_warmup="$(bench_runs 2 0)"

hit="${bench_dir}/hit.json"
hyperfine -N --style none --warmup "${hit_warmup}" --runs "${hit_runs}" --export-json "${hit}" \
	/bin/true "${bin} -O json dev" >/dev/null

# One hyperfine per command, so the recorder sees only the 16-caller runs.
wipe="rm -rf ${RUNAS_CACHE_DIR}"
one="${bench_dir}/one.json"
hyperfine --style none --warmup "${cold_warmup}" --runs "${cold_runs}" --prepare "${wipe}" \
	--export-json "${one}" "${bin} -O json mfa >/dev/null & wait" >/dev/null
many="${bench_dir}/many.json"
bench_record
hyperfine --style none --warmup "${cold_warmup}" --runs "${cold_runs}" --prepare "${wipe}" \
	--export-json "${many}" "for i in \$(seq 16); do ${bin} -O json mfa >/dev/null & done; wait" >/dev/null
runs=$((cold_warmup + cold_runs))
sessions="$(bench_calls GetSessionToken)"
roles="$(bench_calls AssumeRole)"

true_ms="$(median_ms "${hit}" 0)"
hit_ms="$(median_ms "${hit}" 1)"
one_ms="$(median_ms "${one}" 0)"
many_ms="$(median_ms "${many}" 0)"
printf '%-44s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
hit_ratio="$(ratio "${hit_ms}" "${true_ms}")"
cold_ratio="$(ratio "${many_ms}" "${one_ms}")"
printf '%-44s %10s %10s %8s\n' "cache hit (-O json dev) vs /bin/true" "${hit_ms}" "${true_ms}" "${hit_ratio}"
printf '%-44s %10s %10s %8s\n' "16 concurrent cold callers vs 1 cold caller" "${many_ms}" "${one_ms}" "${cold_ratio}"
printf 'STS calls in %s runs of 16 cold callers: %s GetSessionToken, %s AssumeRole\n' \
	"${runs}" "${sessions}" "${roles}"
if [[ "${sessions}" != "${runs}" || "${roles}" != "${runs}" ]]; then
	echo "FAIL: 16 cold callers must make one GetSessionToken and one AssumeRole between them" >&2
	exit 1
fi
