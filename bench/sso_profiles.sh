#!/usr/bin/env bash
# `aws-runas sso profiles` for 500 accounts x 3 roles from the loopback Identity Center stand-in
# (tests/standins/sso.py, 20 items a page as the portal pages), beside a cache hit, in one run
# (ratios, not absolute times): writing the block into a config file without it, and a run that
# finds nothing to change. Counts the portal requests each run makes and fails unless they are
# what paging 500 accounts and 3 roles each takes.
# Usage: bench/sso_profiles.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox

accounts="$(bench_runs 500 50)"
mkfifo "${bench_dir}/sso.in"
python3 "${bench_root}/tests/standins/sso.py" <"${bench_dir}/sso.in" >"${bench_dir}/sso.port" &
exec {sso_in}>"${bench_dir}/sso.in"
for _ in $(seq 100); do
	grep -q PORT "${bench_dir}/sso.port" 2>/dev/null && break
	sleep 0.1
done
sso_url="http://127.0.0.1:$(sed -n 's/^PORT //p' "${bench_dir}/sso.port")"
export AWS_ENDPOINT_URL_SSO="${sso_url}" AWS_ENDPOINT_URL_SSO_OIDC="${sso_url}"
admin() {
	curl -fsS -X POST -H 'Content-Type: application/json' --data-binary "$2" "${sso_url}/admin/$1" >/dev/null
}
count() {
	curl -fsS "${sso_url}/admin/state" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['counts'].get('$1', 0))"
}
admin config '{"auto_approve": true, "page_size": 20}'
assignments="$(python3 -c '
import json, sys
n = int(sys.argv[1])
ids = ["%012d" % (100000000000 + i) for i in range(n)]
print(json.dumps({
    "accounts": [{"accountId": a, "accountName": "Account %d" % i} for i, a in enumerate(ids)],
    "roles": {a: ["Admin", "Developer", "ReadOnly"] for a in ids},
}))' "${accounts}")"
admin assignments "${assignments}"

cat >>"${HOME}/.aws/config" <<'INI'
[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
INI
cp "${HOME}/.aws/config" "${bench_dir}/config.without-block"
"${bin}" sso login --sso-session corp --use-device-code >/dev/null 2>&1
"${bin}" -O json dev >/dev/null # warm the role's cache

hit="${bench_dir}/hit.json"
hit_runs="$(bench_runs 20 2)"
hyperfine -N --style none --warmup 3 --runs "${hit_runs}" --export-json "${hit}" \
	"${bin} -O json dev" >/dev/null
restore="cp ${bench_dir}/config.without-block ${HOME}/.aws/config"
accounts_before="$(count ListAccounts)"
roles_before="$(count ListAccountRoles)"
runs="$(bench_runs 3 1)"
write="${bench_dir}/write.json"
hyperfine -N --style none --runs "${runs}" --prepare "${restore}" --export-json "${write}" \
	"${bin} sso profiles corp" >/dev/null
account_pages=$((($(count ListAccounts) - accounts_before) / runs))
role_pages=$((($(count ListAccountRoles) - roles_before) / runs))
profiles="$(grep -c '^\[profile Account' "${HOME}/.aws/config")"
same="${bench_dir}/same.json"
hyperfine -N --style none --runs "${runs}" --export-json "${same}" \
	"${bin} sso profiles corp" >/dev/null
exec {sso_in}>&-

hit_ms="$(median_ms "${hit}" 0)"
write_ms="$(median_ms "${write}" 0)"
same_ms="$(median_ms "${same}" 0)"
write_ratio="$(ratio "${write_ms}" "${hit_ms}")"
same_ratio="$(ratio "${same_ms}" "${hit_ms}")"
printf '%-56s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
printf '%-56s %10s %10s %8s\n' "sso profiles, ${accounts} accounts x 3 roles, written, vs a hit" \
	"${write_ms}" "${hit_ms}" "${write_ratio}"
printf '%-56s %10s %10s %8s\n' "sso profiles, nothing to change, vs a cache hit" \
	"${same_ms}" "${hit_ms}" "${same_ratio}"
printf 'per run: %s ListAccounts pages, %s ListAccountRoles pages; %s profiles written\n' \
	"${account_pages}" "${role_pages}" "${profiles}"
want_accounts=$(((accounts + 19) / 20))
if [[ "${account_pages}" != "${want_accounts}" || "${role_pages}" != "${accounts}" ||
	"${profiles}" != $((accounts * 3)) ]]; then
	echo "FAIL: expected ${want_accounts} account pages, ${accounts} role pages, $((accounts * 3)) profiles" >&2
	exit 1
fi
