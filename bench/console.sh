#!/usr/bin/env bash
# The console both ways, beside a cache hit, in one run (ratios, not absolute times): `console
# --print` from a warm cache (one sign-in token request, no STS call), and an `aws login`
# session's renewal (one DPoP-signed token request), against the loopback Sign-In stand-in
# (tests/standins/signin.py). Checks the request counts from moto's recorder and the stand-in,
# and fails if they are not one each per run.
# Usage: bench/console.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox

# The Sign-In stand-in; stopped with the benchmark by closing its stdin.
mkfifo "${bench_dir}/signin.in"
python3 "${bench_root}/tests/standins/signin.py" refresh-0 <"${bench_dir}/signin.in" \
	>"${bench_dir}/signin.port" &
exec {signin_in}>"${bench_dir}/signin.in"
for _ in $(seq 100); do
	grep -q PORT "${bench_dir}/signin.port" 2>/dev/null && break
	sleep 0.1
done
signin_url="http://127.0.0.1:$(sed -n 's/^PORT //p' "${bench_dir}/signin.port")"
export AWS_ENDPOINT_URL_SIGNIN="${signin_url}"
signin_state() {
	curl -fsS "${signin_url}/admin/state" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# An `aws login` session: its cache entry, with a P-256 key for the DPoP proofs.
entry_dir="${bench_dir}/login"
export AWS_LOGIN_CACHE_DIRECTORY="${entry_dir}"
mkdir -p "${entry_dir}"
openssl ecparam -name prime256v1 -genkey -noout -out "${bench_dir}/dpop.pem" 2>/dev/null
cat >>"${HOME}/.aws/config" <<'INI'
[profile web]
login_session = arn:aws:iam::123456789012:user/alice
region = eu-west-1
INI
entry="${entry_dir}/$(printf '%s' 'arn:aws:iam::123456789012:user/alice' | sha256sum | cut -d' ' -f1).json"
# expire_entry: the entry as `aws login` leaves it, but expired, keeping its last refresh token.
expire_entry() {
	python3 - "${entry}" "${bench_dir}/dpop.pem" <<'PY'
import json, os, sys
path, pem = sys.argv[1], open(sys.argv[2]).read()
entry = json.load(open(path)) if os.path.exists(path) else {
    "accessToken": {"accessKeyId": "ASIALOGINBENCH000001", "secretAccessKey": "s",
                    "sessionToken": "t", "accountId": "123456789012"},
    "tokenType": "aws_sigv4", "refreshToken": "refresh-0",
    "clientId": "arn:aws:signin:::devtools/same-device", "dpopKey": pem,
    "signInRegion": "eu-west-1"}
entry["accessToken"]["expiresAt"] = "2001-01-01T00:00:00Z"
json.dump(entry, open(path, "w"))
os.chmod(path, 0o600)
PY
}
expire_entry

"${bin}" -O json dev >/dev/null # warm the role's cache
"${bin}" -O json web >/dev/null # a first renewal: the entry holds a live key from now on

runs="$(bench_runs 30 2)"
warmup="$(bench_runs 3 0)"
hit="${bench_dir}/hit.json"
hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --export-json "${hit}" \
	"${bin} -O json dev" >/dev/null
bench_record
tokens_before="$(signin_state signin_tokens)"
console="${bench_dir}/console.json"
hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --export-json "${console}" \
	"${bin} console dev --print" >/dev/null
sts_calls="$(($(bench_calls AssumeRole) + $(bench_calls GetSessionToken) + $(bench_calls GetFederationToken)))"
tokens="$(($(signin_state signin_tokens) - tokens_before))"
renewals_before="$(signin_state renewals)"
renew="${bench_dir}/renew.json"
cat >"${bench_dir}/expire.py" <<'PY'
import json, sys
entry = json.load(open(sys.argv[1]))
entry["accessToken"]["expiresAt"] = "2001-01-01T00:00:00Z"
json.dump(entry, open(sys.argv[1], "w"))
PY
prepare="python3 ${bench_dir}/expire.py ${entry}"
hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --prepare "${prepare}" \
	--export-json "${renew}" "${bin} -O json web" >/dev/null
renewals="$(($(signin_state renewals) - renewals_before))"
exec {signin_in}>&-

hit_ms="$(median_ms "${hit}" 0)"
console_ms="$(median_ms "${console}" 0)"
renew_ms="$(median_ms "${renew}" 0)"
console_ratio="$(ratio "${console_ms}" "${hit_ms}")"
renew_ratio="$(ratio "${renew_ms}" "${hit_ms}")"
printf '%-52s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
printf '%-52s %10s %10s %8s\n' "console --print, warm cache, vs a cache hit" \
	"${console_ms}" "${hit_ms}" "${console_ratio}"
printf '%-52s %10s %10s %8s\n' "aws login session renewal vs a cache hit" \
	"${renew_ms}" "${hit_ms}" "${renew_ratio}"
total=$((warmup + runs))
printf 'in %s console runs: %s sign-in token requests, %s STS calls; in %s renewals: %s token grants\n' \
	"${total}" "${tokens}" "${sts_calls}" "${total}" "${renewals}"
if [[ "${tokens}" != "${total}" || "${sts_calls}" != 0 || "${renewals}" != "${total}" ]]; then
	echo "FAIL: each console run must make one sign-in token request and no STS call, each renewal one grant" >&2
	exit 1
fi
