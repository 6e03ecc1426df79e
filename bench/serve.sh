#!/usr/bin/env bash
# `serve ecs` under concurrent load on loopback (requests/s and p99 latency, with wrk), beside
# nginx serving the same JSON document as a static file; and exec mode's start-up overhead
# beside running the command directly. Usage: bench/serve.sh [path/to/aws-runas]
# BENCH_SMOKE=1: a few seconds in all, to show the script still works (tests/bench_serve.rs).
# Fails when a load generator saw anything but 2xx answers or socket errors, or when the
# STS calls moto recorded are not the two the whole run needs.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_need wrk wrk
bench_need nginx nginx-light
bench_sandbox

if [[ -n "${BENCH_SMOKE:-}" ]]; then
	duration=2s runs=5 warmup=1
else
	duration=10s runs=100 warmup=5
fi

curl -fsS -X POST "${MOTO_URL}/moto-api/recorder/reset-recording" >/dev/null
curl -fsS -X POST "${MOTO_URL}/moto-api/recorder/start-recording" >/dev/null
"${bin}" serve ecs dev >"${bench_dir}/exports" 2>/dev/null &
serve_pid=$!
for _ in $(seq 100); do
	[[ -s "${bench_dir}/exports" ]] && break
	sleep 0.05
done
uri="$(sed -n "s/^export AWS_CONTAINER_CREDENTIALS_FULL_URI='\(.*\)'$/\1/p" "${bench_dir}/exports")"
token="$(sed -n "s/^export AWS_CONTAINER_AUTHORIZATION_TOKEN='\(.*\)'$/\1/p" "${bench_dir}/exports")"
curl -fsS -H "Authorization: ${token}" "${uri}" >"${bench_dir}/credentials.json"

# The reference: nginx serving that document, on loopback, with as many workers as cores.
mkdir -p "${bench_dir}/www" "${bench_dir}/nginx"
cp "${bench_dir}/credentials.json" "${bench_dir}/www/credentials"
# Run as root, nginx's workers are nobody: they must reach the file (else every answer is 403).
chmod 711 "${bench_dir}"
chmod -R a+rX "${bench_dir}/www"
nginx_port=$((20000 + RANDOM % 20000))
cat >"${bench_dir}/nginx/nginx.conf" <<CONF
worker_processes auto;
pid ${bench_dir}/nginx/pid;
error_log ${bench_dir}/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	server { listen 127.0.0.1:${nginx_port}; root ${bench_dir}/www; }
}
CONF
nginx -c "${bench_dir}/nginx/nginx.conf" -p "${bench_dir}/nginx"
trap 'kill "${serve_pid}" 2>/dev/null; nginx -c "${bench_dir}/nginx/nginx.conf" -p "${bench_dir}/nginx" -s stop 2>/dev/null; bench_cleanup' EXIT

# load URL [HEADER]: "requests/s p99_ms" from ${duration} of 32 connections on 2 threads; fails
# unless every answer was 2xx and no connection failed.
load() {
	local out
	out="$(wrk -t2 -c32 -d"${duration}" --latency ${2:+-H "$2"} "$1")"
	if grep -qE 'Non-2xx or 3xx responses|Socket errors' <<<"${out}"; then
		printf 'bench: load on %s saw failures:\n%s\n' "$1" "${out}" >&2
		return 1
	fi
	local rps p99
	rps="$(awk '/Requests\/sec/ {print $2}' <<<"${out}")"
	p99="$(awk '$1 == "99%" {print $2}' <<<"${out}")"
	printf '%s %s' "${rps}" "${p99}"
}

runas_load="$(load "${uri}" "Authorization: ${token}")"
read -r runas_rps runas_p99 <<<"${runas_load}"
nginx_load="$(load "http://127.0.0.1:${nginx_port}/credentials")"
read -r nginx_rps nginx_p99 <<<"${nginx_load}"

# Exec mode's start-up: the same command, directly, with -E, and through the endpoint.
startup="${bench_dir}/startup.json"
hyperfine -N --style none --warmup "${warmup}" --runs "${runs}" --export-json "${startup}" \
	/bin/true "${bin} -E dev /bin/true" "${bin} dev /bin/true" >/dev/null
t_direct="$(median_ms "${startup}" 0)"
t_env="$(median_ms "${startup}" 1)"
t_endpoint="$(median_ms "${startup}" 2)"
rps_ratio="$(ratio "${runas_rps}" "${nginx_rps}")"
env_ratio="$(ratio "${t_env}" "${t_direct}")"
endpoint_ratio="$(ratio "${t_endpoint}" "${t_direct}")"

printf '%-42s %12s %12s %8s\n' measure aws-runas baseline ratio
printf '%-42s %12s %12s %8s\n' "serve ecs requests/s (vs nginx static)" "${runas_rps}" "${nginx_rps}" "${rps_ratio}"
printf '%-42s %12s %12s %8s\n' "serve ecs p99 latency (vs nginx static)" "${runas_p99}" "${nginx_p99}" ""
printf '%-42s %12s %12s %8s\n' "exec -E start-up ms (vs direct)" "${t_env}" "${t_direct}" "${env_ratio}"
printf '%-42s %12s %12s %8s\n' "exec endpoint start-up ms (vs direct)" "${t_endpoint}" "${t_direct}" "${endpoint_ratio}"
# Every STS call of the run, as moto recorded them: serve's first fetch makes the only ones (the
# caller's name for the role session, then the role); the load is answered from memory, exec
# mode's runs from the cache.
calls="$(curl -fsS "${MOTO_URL}/moto-api/recorder/download-recording" | python3 -c '
import base64, json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    entry = json.loads(line)
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    for pair in body.split("&"):
        if pair.startswith("Action="):
            print(pair[len("Action="):])
')"
calls="$(tr '\n' ' ' <<<"${calls}")"
echo "STS calls in all: ${calls}"
if [[ "${calls}" != "GetCallerIdentity AssumeRole " ]]; then
	echo "bench: expected one GetCallerIdentity and one AssumeRole, nothing else" >&2
	exit 1
fi
