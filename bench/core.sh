#!/usr/bin/env bash
# Cache-hit cost beside a bare process spawn, and 16 concurrent cold callers beside one, in one
# run (ratios, not absolute times). Usage: bench/core.sh [path/to/aws-runas]
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
export MFA_CODE=123456
"${bin}" -O json dev >/dev/null # warm the cache

hit="${bench_dir}/hit.json"
hyperfine -N --style none --warmup 20 --runs 500 --export-json "${hit}" \
	/bin/true "${bin} -O json dev" >/dev/null

cold="${bench_dir}/cold.json"
wipe="rm -rf ${RUNAS_CACHE_DIR}"
hyperfine --style none --warmup 2 --runs 20 --prepare "${wipe}" --export-json "${cold}" \
	"${bin} -O json mfa >/dev/null & wait" \
	"for i in \$(seq 16); do ${bin} -O json mfa >/dev/null & done; wait" >/dev/null

true_ms="$(median_ms "${hit}" 0)"
hit_ms="$(median_ms "${hit}" 1)"
one_ms="$(median_ms "${cold}" 0)"
many_ms="$(median_ms "${cold}" 1)"
printf '%-44s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
hit_ratio="$(ratio "${hit_ms}" "${true_ms}")"
cold_ratio="$(ratio "${many_ms}" "${one_ms}")"
printf '%-44s %10s %10s %8s\n' "cache hit (-O json dev) vs /bin/true" "${hit_ms}" "${true_ms}" "${hit_ratio}"
printf '%-44s %10s %10s %8s\n' "16 concurrent cold callers vs 1 cold caller" "${many_ms}" "${one_ms}" "${cold_ratio}"
