#!/usr/bin/env bash
# Web identity sign-in (OIDC) against a real OpenID provider (oidc-provider, tests/idp/oidc) and
# moto, in one run: time and IdP requests per run of a password sign-in, a cached-ID-token
# fetch, and a refresh-token renewal, beside a cache hit; and the IdP requests and sign-ins of
# 16 concurrent cold callers. Fails unless the ID-token fetch makes no IdP request and every
# burst of 16 signs in once. (The browser and device flows wait on a person: not timed here.)
# Usage: bench/oidc.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
oidc_dir="${bench_root}/tests/idp/oidc"
[[ -d "${oidc_dir}/node_modules/oidc-provider" ]] || {
	echo "oidc-provider is not installed: run tests/setup" >&2
	exit 1
}

# bench_start_op LOG [VAR=VALUE...]: an OpenID provider on a free port, logging to LOG; prints
# its URL.
op_pids=()
bench_start_op() {
	local log="$1" port
	shift
	port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
	(cd "${oidc_dir}" && exec env PORT="${port}" "$@" node server.mjs) >"${log}" 2>&1 &
	op_pids+=($!)
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:${port}/.well-known/openid-configuration" >/dev/null 2>&1 && break
		sleep 0.1
	done
	printf 'http://127.0.0.1:%s' "${port}"
}
stop_ops() {
	for pid in "${op_pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
	bench_cleanup
}
trap stop_ops EXIT

op_log="${bench_dir}/op.log"
short_log="${bench_dir}/short.log"
# Not in a $(...): the providers must stay children of this shell, for stop_ops.
bench_start_op "${op_log}" >"${bench_dir}/op.url"
# ID tokens of 10 minutes sit inside the 15-minute refresh window: each fetch renews one.
bench_start_op "${short_log}" ID_TOKEN_TTL=600 >"${bench_dir}/short.url"
for p in op short; do
	cat >>"${HOME}/.aws/config" <<INI
[profile web-${p}]
web_identity_auth_url = $(<"${bench_dir}/${p}.url")
web_identity_client_id = aws-runas-test
web_identity_redirect_uri = app:/callback
web_identity_username = alice
role_arn = arn:aws:iam::123456789012:role/web
region = eu-west-1
INI
done
export WEB_PASSWORD=alice-password

requests() { grep -c '^REQ ' "$1" || true; }
logins() { grep -c '^REQ POST .*/login ' "$1" || true; }

runs="$(bench_runs 20 2)"
warmup="$(bench_runs 2 0)"
hit_runs="$(bench_runs 200 5)"
total=$((runs + warmup))
drop_roles="rm -f ${RUNAS_CACHE_DIR}/role_*"
wipe="rm -rf ${RUNAS_CACHE_DIR}"

# timed NAME LOG PREPARE COMMAND: hyperfine's result in NAME.json, and in NAME.req the IdP
# requests per run of COMMAND. PREPARE runs under bash (globs).
timed() {
	local name="$1" log="$2" prepare="$3" command="$4" before after
	before="$(requests "${log}")"
	hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" \
		--prepare "bash -c '${prepare}'" \
		--export-json "${bench_dir}/${name}.json" "${command}" >/dev/null
	after="$(requests "${log}")"
	python3 -c "print('%.1f' % ((${after} - ${before}) / ${total}))" >"${bench_dir}/${name}.req"
}

"${bin}" -O json web-op >/dev/null # warm: credentials and ID token cached
hit_warmup="$(bench_runs 10 1)"
hyperfine -N --style none --warmup "${hit_warmup}" --runs "${hit_runs}" \
	--export-json "${bench_dir}/hit.json" "${bin} -O json web-op" >/dev/null
hit_ms="$(median_ms "${bench_dir}/hit.json" 0)"
timed signin "${op_log}" "${wipe}" "${bin} -O json web-op"
timed token "${op_log}" "${drop_roles}" "${bin} -O json web-op"
"${bin}" -O json web-short >/dev/null
timed refresh "${short_log}" "${drop_roles}" "${bin} -O json web-short"

burst_before="$(requests "${op_log}")"
logins_before="$(logins "${op_log}")"
hyperfine --style none --warmup "${warmup}" --runs "${runs}" --prepare "${wipe}" \
	--export-json "${bench_dir}/many.json" \
	"for i in \$(seq 16); do ${bin} -O json web-op >/dev/null & done; wait" >/dev/null
many_ms="$(median_ms "${bench_dir}/many.json" 0)"
burst_req=$(($(requests "${op_log}") - burst_before))
burst_logins=$(($(logins "${op_log}") - logins_before))

printf '%-48s %10s %12s %8s\n' "measure" "median ms" "IdP req/run" "vs hit"
printf '%-48s %10s %12s %8s\n' "cache hit (-O json, role credentials cached)" "${hit_ms}" "0" "1.00"
for row in "signin:password sign-in (cold: no cache, no cookies)" \
	"token:cached ID token, new role credentials" \
	"refresh:refresh-token renewal, new role credentials"; do
	key="${row%%:*}"
	ms="$(median_ms "${bench_dir}/${key}.json" 0)"
	vs="$(ratio "${ms}" "${hit_ms}")"
	printf '%-48s %10s %12s %8s\n' "${row#*:}" "${ms}" "$(<"${bench_dir}/${key}.req")" "${vs}"
done
burst_per_run="$(python3 -c "print('%.1f' % (${burst_req} / ${total}))")"
many_vs="$(ratio "${many_ms}" "${hit_ms}")"
printf '%-48s %10s %12s %8s\n' "16 concurrent cold callers (whole burst)" "${many_ms}" \
	"${burst_per_run}" "${many_vs}"
printf 'password sign-ins in %s bursts of 16 cold callers: %s\n' "${total}" "${burst_logins}"
if [[ "$(<"${bench_dir}/token.req")" != "0.0" ]]; then
	echo "FAIL: a cached ID token must be used without any IdP request" >&2
	exit 1
fi
if [[ "$(<"${bench_dir}/refresh.req")" == "0.0" ]]; then
	echo "FAIL: an expiring ID token must be renewed at the IdP" >&2
	exit 1
fi
if [[ "${burst_logins}" != "${total}" ]]; then
	echo "FAIL: 16 cold callers must sign in once between them" >&2
	exit 1
fi
