#!/usr/bin/env bash
# A role rooted in keys from the OS keyring beside one rooted in the credentials file, in one run
# (ratios, not absolute times): cache hits must cost the same (a hit never opens the keyring),
# and a cold fetch from each. Checks that a hit works with no keyring reachable at all, and fails
# if not. Runs in a private D-Bus session with its own gnome-keyring, never the user's.
# Usage: bench/keys.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
if [[ -z "${BENCH_KEYRING_SESSION:-}" ]]; then
	export BENCH_KEYRING_SESSION=1
	exec dbus-run-session -- bash "$0" "$@"
fi
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
printf 'unlock' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
for _ in $(seq 100); do
	dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q 'boolean true' && break
	sleep 0.1
done

cat >>"${HOME}/.aws/config" <<'INI'
[profile bob]
region = eu-west-1
[profile kdev]
role_arn = arn:aws:iam::123456789012:role/kdev
source_profile = bob
INI
AWS_ACCESS_KEY_ID=AKIABOBKEYRING000001 AWS_SECRET_ACCESS_KEY=bob/keyring+secret \
	"${bin}" keys add bob >/dev/null
"${bin}" -O json dev >/dev/null # warm both caches
"${bin}" -O json kdev >/dev/null

# The check: with no bus at all, the keyring-rooted hit still answers.
if ! DBUS_SESSION_BUS_ADDRESS="unix:path=${bench_dir}/no-bus" "${bin}" -O json kdev >/dev/null; then
	echo "FAIL: a cache hit of a keyring-rooted role needed the keyring" >&2
	exit 1
fi

hit_runs="$(bench_runs 300 5)"
hit_warmup="$(bench_runs 20 1)"
cold_runs="$(bench_runs 20 2)"

hit="${bench_dir}/hit.json"
hyperfine -N --style none --warmup "${hit_warmup}" --runs "${hit_runs}" --export-json "${hit}" \
	/bin/true "${bin} -O json dev" "${bin} -O json kdev" >/dev/null
wipe="rm -rf ${RUNAS_CACHE_DIR}"
cold="${bench_dir}/cold.json"
hyperfine --style none --runs "${cold_runs}" --prepare "${wipe}" --export-json "${cold}" \
	"${bin} -O json dev" "${bin} -O json kdev" >/dev/null

true_ms="$(median_ms "${hit}" 0)"
file_hit="$(median_ms "${hit}" 1)"
keyring_hit="$(median_ms "${hit}" 2)"
file_cold="$(median_ms "${cold}" 0)"
keyring_cold="$(median_ms "${cold}" 1)"
hit_ratio="$(ratio "${keyring_hit}" "${file_hit}")"
spawn_ratio="$(ratio "${file_hit}" "${true_ms}")"
cold_ratio="$(ratio "${keyring_cold}" "${file_cold}")"
printf '%-48s %10s %10s %8s\n' "measure" "median ms" "baseline" "ratio"
printf '%-48s %10s %10s %8s\n' "cache hit, keyring-rooted vs file-rooted role" \
	"${keyring_hit}" "${file_hit}" "${hit_ratio}"
printf '%-48s %10s %10s %8s\n' "cache hit, file-rooted role vs /bin/true" \
	"${file_hit}" "${true_ms}" "${spawn_ratio}"
printf '%-48s %10s %10s %8s\n' "cold fetch, keyring-rooted vs file-rooted role" \
	"${keyring_cold}" "${file_cold}" "${cold_ratio}"
echo "a keyring-rooted cache hit with no keyring reachable: ok"
