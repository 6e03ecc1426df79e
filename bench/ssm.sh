#!/usr/bin/env bash
# `ssm forward` through the loopback Session Manager stand-in, in one run: throughput (MB/s)
# and round-trip latency beside a direct loopback connection to the same server and beside
# the stand-in driven by a minimal Python data-channel client (its own ceiling, without
# aws-runas); and aws-runas's memory while forwarding SSM_BENCH_MB (default 1024) MB.
# SSM_BENCH_AGENT sets the agent version the stand-in reports: above 3.0.196.0, aws-runas
# multiplexes (smux); the default, 3.0.196.0, gives the one-connection mode.
# Usage: bench/ssm.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
bench_sandbox
tool="${bench_root}/bench/ssm_tool.py"
mb="${SSM_BENCH_MB:-$(bench_runs 1024 4)}"
size=$((mb * 1000 * 1000))
# The Python-only relay runs at the stand-in's pace: a smaller transfer gives the same rate.
relay_size=$((size < 200000000 ? size : 200000000))
rounds="$(bench_runs 500 20)"
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill "${p}" 2>/dev/null || true; done
	bench_cleanup
}
trap stop_all EXIT

# start_server NAME ARGS...: runs ssm_tool.py ARGS in the background; sets port to its port.
start_server() {
	local out="${bench_dir}/$1.port"
	shift
	python3 "${tool}" "$@" >"${out}" &
	pids+=($!)
	port=""
	for _ in $(seq 100); do
		[[ -s "${out}" ]] && port="$(head -1 "${out}")" && return 0
		sleep 0.05
	done
	echo "$1 did not start" >&2
	exit 1
}

# cpu_s PID: the CPU seconds (user + system) the process has used so far.
cpu_s() {
	local hz
	hz="$(getconf CLK_TCK)"
	awk -v hz="${hz}" '{sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz}' "/proc/$1/stat"
}

agent="${SSM_BENCH_AGENT:-3.0.196.0}"
python3 "${bench_root}/tests/standins/ssm_service.py" --agent-version "${agent}" >"${bench_dir}/standin.port" &
standin_pid=$!
pids+=("${standin_pid}")
for _ in $(seq 100); do
	[[ -s "${bench_dir}/standin.port" ]] && break
	sleep 0.05
done
api="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "${bench_dir}/standin.port")"
export AWS_ENDPOINT_URL_SSM="http://127.0.0.1:${api}"

start_server source source "${size}"
source_port="${port}"
start_server echo echo
echo_port="${port}"

# forward PORT: starts aws-runas ssm forward to PORT; sets fwd_pid and fwd_port.
forward() {
	local log="${bench_dir}/fwd.$1.log"
	"${bin}" ssm forward dev "i-0123456789abcdef0:$1" 2>"${log}" &
	fwd_pid=$!
	pids+=("${fwd_pid}")
	fwd_port=""
	for _ in $(seq 200); do
		fwd_port="$(sed -n "s/^Port \([0-9]*\) opened.*/\1/p" "${log}" 2>/dev/null)"
		[[ -n "${fwd_port}" ]] && return 0
		sleep 0.05
	done
	cat "${log}" >&2
	exit 1
}

direct_mbs="$(python3 "${tool}" sink "${source_port}" "${size}")"
relay_mbs="$(python3 "${tool}" relay "${api}" "${source_port}" "${relay_size}" 0)"

forward "${source_port}"
rss="${bench_dir}/rss"
(while kill -0 "${fwd_pid}" 2>/dev/null; do
	awk '/VmRSS/ {print $2}' "/proc/${fwd_pid}/status" 2>/dev/null || true
	sleep 0.5
done) >"${rss}" &
sampler=$!
standin_before="$(cpu_s "${standin_pid}")"
start_ns="$(date +%s%N)"
fwd_mbs="$(python3 "${tool}" sink "${fwd_port}" "${size}")"
end_ns="$(date +%s%N)"
wall_s="$(python3 -c 'import sys; print("%.1f" % ((int(sys.argv[2]) - int(sys.argv[1])) / 1e9))' "${start_ns}" "${end_ns}")"
fwd_cpu="$(cpu_s "${fwd_pid}")"
standin_after="$(cpu_s "${standin_pid}")"
standin_cpu="$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "${standin_before}" "${standin_after}")"
kill -TERM "${fwd_pid}"
wait "${fwd_pid}" || true
wait "${sampler}" || true

direct_rtt="$(python3 "${tool}" rtt "${echo_port}" "${rounds}")"
relay_rtt="$(python3 "${tool}" relay "${api}" "${echo_port}" 0 "${rounds}")"
forward "${echo_port}"
fwd_rtt="$(python3 "${tool}" rtt "${fwd_port}" "${rounds}")"
kill -TERM "${fwd_pid}"
wait "${fwd_pid}" || true

# A transfer that ended early is a failure, not a figure.
for rate in "${direct_mbs}" "${relay_mbs}" "${fwd_mbs}"; do
	if [[ "${rate}" == short ]]; then
		echo "bench/ssm.sh: a transfer ended before ${size} bytes arrived" >&2
		exit 1
	fi
done
printf 'binary: %s; stand-in agent version %s\n' "${bin}" "${agent}"
printf '%-58s %12s\n' "throughput, ${mb} MB (relay-only: $((relay_size / 1000000)) MB)" "MB/s"
printf '%-58s %12s\n' "  direct loopback TCP to the source" "${direct_mbs}"
printf '%-58s %12s\n' "  stand-in relay, Python data-channel client" "${relay_mbs}"
printf '%-58s %12s\n' "  aws-runas ssm forward through the stand-in" "${fwd_mbs}"
printf '%-58s %12s\n' "round trip, 1 byte, median of ${rounds}" "ms"
printf '%-58s %12s\n' "  direct loopback TCP to an echo server" "${direct_rtt}"
printf '%-58s %12s\n' "  stand-in relay, Python data-channel client" "${relay_rtt}"
printf '%-58s %12s\n' "  aws-runas ssm forward through the stand-in" "${fwd_rtt}"
printf 'CPU during the forwarded transfer (%s s wall): aws-runas %s s, stand-in %s s\n' "${wall_s}" "${fwd_cpu}" "${standin_cpu}"
python3 - "${rss}" <<'PY'
import sys
kb = [int(x) for x in open(sys.argv[1]) if x.strip()]
n = len(kb)
tenth = kb[n // 10] if n else 0
print(f"aws-runas RSS while forwarding (KiB): samples {n}, at 10% {tenth}, max {max(kb, default=0)}, last {kb[-1] if kb else 0}")
PY
