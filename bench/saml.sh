#!/usr/bin/env bash
# Time to SAML credentials on the loopback IdPs (SimpleSAMLphp, LemonLDAP::NG), in one run per
# IdP: a cache hit, a new sign-in with a live IdP session (its cookies in our jar, -r), and a cold
# sign-in (no cookies: the password form); printed as ratios. Then the HTTP requests one sign-in
# makes, counted at the IdP (its own request log) and by aws-runas (its -vv count), which must
# agree. Checks that a session sign-in posts no password, a cold one exactly one, and that every
# sign-in made one AssumeRoleWithSAML (moto's recorder), and fails if not.
# Okta, OneLogin and ForgeRock are stand-ins written inside tests/saml.rs (tiny_http closures),
# not servers a script can start: they are not measured here.
# Usage: bench/saml.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
if ! command -v php >/dev/null || ! command -v plackup >/dev/null ||
	[[ ! -d /usr/share/simplesamlphp/www ]]; then
	echo "SimpleSAMLphp (php) and LemonLDAP::NG (plackup) are needed: run tests/setup" >&2
	exit 1
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID: until URL answers (bounded), or fails if PID died.
wait_http() {
	for _ in $(seq 300); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "$1 did not answer" >&2
	exit 1
}

# Both IdPs write one line per request to server.log in their directory.
ssp_dir="${bench_dir}/ssp"
ssp_port="$(free_port)"
bash "${bench_root}/tests/idp/ssp-config.sh" "${ssp_dir}" "http://127.0.0.1:${ssp_port}"
SIMPLESAMLPHP_CONFIG_DIR="${ssp_dir}/config" php -S "127.0.0.1:${ssp_port}" \
	-t /usr/share/simplesamlphp/www >/dev/null 2>"${ssp_dir}/server.log" </dev/null &
ssp_pid=$!
llng_dir="${bench_dir}/llng"
llng_port="$(free_port)"
bash "${bench_root}/tests/idp/llng-config.sh" "${llng_dir}" "http://127.0.0.1:${llng_port}"
LLNG_DEFAULTCONFFILE="${llng_dir}/lemonldap-ng.ini" plackup -s HTTP::Server::PSGI \
	--host 127.0.0.1 --port "${llng_port}" /usr/share/lemonldap-ng/portal/htdocs/index.psgi \
	>/dev/null 2>"${llng_dir}/server.log" </dev/null &
llng_pid=$!
stop_idps() {
	kill "${ssp_pid}" "${llng_pid}" 2>/dev/null || true
	bench_cleanup
}
trap stop_idps EXIT
wait_http "http://127.0.0.1:${ssp_port}/saml2/idp/metadata.php" "${ssp_pid}"
wait_http "http://127.0.0.1:${llng_port}/" "${llng_pid}"

cat >>"${HOME}/.aws/config" <<INI
[profile ssp]
saml_auth_url = http://127.0.0.1:${ssp_port}/saml2/idp/SSOService.php?spentityid=urn:amazon:webservices
saml_username = alice
role_arn = arn:aws:iam::123456789012:role/Admin
region = us-east-1
[profile llng]
saml_auth_url = http://127.0.0.1:${llng_port}/saml/singleSignOn?IDPInitiated=1&spConfKey=aws
saml_username = dwho
role_arn = arn:aws:iam::123456789012:role/Admin
region = us-east-1
INI

# idp_requests NAME: requests in NAME's log so far (SimpleSAMLphp: php -S lines; LemonLDAP::NG:
# plackup's access log).
idp_requests() {
	grep -cE '(\]: (GET|HEAD|POST) |"(GET|HEAD|POST) /)' "${bench_dir}/$1/server.log" || true
}
password_posts() {
	case "$1" in
	ssp) grep -c ']: POST /module.php/core/loginuserpass.php' "${ssp_dir}/server.log" || true ;;
	llng) grep -c '"POST /' "${llng_dir}/server.log" || true ;;
	*) return 1 ;;
	esac
}
forget_sessions="rm -f ${RUNAS_CACHE_DIR}/idp_cookies_*"

runs="$(bench_runs 20 2)"
warmup="$(bench_runs 2 0)"
hit_runs="$(bench_runs 200 5)"
failures=0
printf '%-52s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
for idp in ssp llng; do
	case "${idp}" in
	ssp) export SAML_PASSWORD=alice-password ;;
	llng) export SAML_PASSWORD=dwho ;;
	*) exit 1 ;;
	esac
	"${bin}" -O json "${idp}" >/dev/null # signs in: the cache and the jar are warm

	# One counted sign-in of each kind: requests at the IdP and in our own -vv count.
	for kind in session cold; do
		[[ "${kind}" == cold ]] && rm -f "${RUNAS_CACHE_DIR}"/idp_cookies_*
		before="$(idp_requests "${idp}")"
		posts_before="$(password_posts "${idp}")"
		ours="$("${bin}" -vv -r -O json "${idp}" 2>&1 >/dev/null |
			sed -n 's/.*IdP sign-in took \([0-9]*\) HTTP requests.*/\1/p')"
		seen=$(($(idp_requests "${idp}") - before))
		posts=$(($(password_posts "${idp}") - posts_before))
		printf '%s: %s sign-in: %s requests at the IdP (%s by aws-runas), %s password posts\n' \
			"${idp}" "${kind}" "${seen}" "${ours}" "${posts}"
		want_posts=0
		[[ "${kind}" == cold ]] && want_posts=1
		if [[ "${seen}" != "${ours}" || "${posts}" != "${want_posts}" ]]; then
			echo "FAIL: ${idp} ${kind} sign-in: the IdP saw ${seen} requests and ${posts} password posts; aws-runas counted ${ours}, ${want_posts} posts expected" >&2
			failures=$((failures + 1))
		fi
	done

	json="${bench_dir}/${idp}.json"
	bench_record
	# One hyperfine run: a prepare per command, in order (the cold one forgets the IdP session).
	hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --export-json "${json}" \
		--prepare true --prepare true --prepare "${forget_sessions}" \
		"${bin} -O json ${idp}" "${bin} -r -O json ${idp}" "${bin} -r -O json ${idp}" >/dev/null
	hit="${bench_dir}/${idp}-hit.json"
	hyperfine -N --style none --warmup "${warmup}" --runs "${hit_runs}" --export-json "${hit}" \
		"${bin} -O json ${idp}" >/dev/null
	assumed="$(bench_calls AssumeRoleWithSAML)"
	want=$((2 * (warmup + runs)))
	hit_ms="$(median_ms "${hit}" 0)"
	session_ms="$(median_ms "${json}" 1)"
	cold_ms="$(median_ms "${json}" 2)"
	session_ratio="$(ratio "${session_ms}" "${hit_ms}")"
	cold_session_ratio="$(ratio "${cold_ms}" "${session_ms}")"
	cold_hit_ratio="$(ratio "${cold_ms}" "${hit_ms}")"
	printf '%-52s %10s %10s %8s\n' "${idp}: sign-in with a live IdP session vs cache hit" \
		"${session_ms}" "${hit_ms}" "${session_ratio}"
	printf '%-52s %10s %10s %8s\n' "${idp}: cold sign-in (password) vs live IdP session" \
		"${cold_ms}" "${session_ms}" "${cold_session_ratio}"
	printf '%-52s %10s %10s %8s\n' "${idp}: cold sign-in (password) vs cache hit" \
		"${cold_ms}" "${hit_ms}" "${cold_hit_ratio}"
	printf '%s: AssumeRoleWithSAML calls in %s sign-ins: %s\n' "${idp}" "${want}" "${assumed}"
	if [[ "${assumed}" != "${want}" ]]; then
		echo "FAIL: ${idp}: every sign-in makes one AssumeRoleWithSAML, and cache hits none" >&2
		failures=$((failures + 1))
	fi
done
((failures == 0))
