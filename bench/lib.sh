# shellcheck shell=bash
# Shared by the benchmark scripts: a moto server and a throwaway HOME with sample profiles.
# Needs tests/setup to have run (moto in .venv, hyperfine).

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${bench_root}/.venv/bin:${PATH}"

# BENCH_SMOKE=1: a few runs only, to show the benchmark still works and its checks hold (the
# test suite runs each benchmark so); the figures then mean nothing. Installs nothing.
bench_smoke=false
[[ "${BENCH_SMOKE:-}" == 1 ]] && bench_smoke=true

# bench_runs FULL SMOKE: prints FULL, or SMOKE in smoke mode (run counts, loop lengths).
bench_runs() {
	if "${bench_smoke}"; then
		printf '%s' "$2"
	else
		printf '%s' "$1"
	fi
}

# bench_binary [PATH]: sets bin to the aws-runas to measure (default: the release build).
bench_binary() {
	bin="${1:-${bench_root}/target/release/aws-runas}"
	[[ -x "${bin}" ]] || {
		echo "build first: cargo build --release" >&2
		exit 1
	}
}

# bench_need COMMAND PACKAGE...: installs Debian packages a benchmark needs beyond tests/setup.
bench_need() {
	local cmd="$1"
	shift
	command -v "${cmd}" >/dev/null 2>&1 && return 0
	if "${bench_smoke}"; then
		echo "${cmd} is missing (install $*); a smoke run installs nothing" >&2
		exit 1
	fi
	local sudo=()
	[[ "${EUID}" == 0 ]] || sudo=(sudo)
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Starts moto on a port the kernel picks; sets MOTO_URL. Stopped by bench_cleanup.
bench_start_moto() {
	local log="${bench_dir}/moto.log"
	: >"${log}" # before moto starts, so reading it never races with its creation
	(cd "${bench_dir}" && exec moto_server -H 127.0.0.1 -p 0) 2>"${log}" &
	bench_moto_pid=$!
	local port=""
	for _ in $(seq 300); do
		port="$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p;T;q' "${log}")"
		[[ -n "${port}" ]] && curl -fsS "http://127.0.0.1:${port}/moto-api/" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[[ -n "${port}" ]] || {
		echo "moto did not start" >&2
		exit 1
	}
	export MOTO_URL="http://127.0.0.1:${port}"
}

# bench_record: moto starts recording the requests it gets, afresh.
bench_record() {
	curl -fsS -X POST "${MOTO_URL}/moto-api/recorder/reset-recording" >/dev/null
	curl -fsS -X POST "${MOTO_URL}/moto-api/recorder/start-recording" >/dev/null
}

# bench_calls ACTION: how many ACTION requests (STS, IAM) moto got since bench_record.
bench_calls() {
	local recording="${bench_dir}/recording.jsonl"
	curl -fsS -o "${recording}" "${MOTO_URL}/moto-api/recorder/download-recording"
	python3 -c '
import base64, json, sys
action = "Action=%s&" % sys.argv[1]
count = 0
for line in sys.stdin:
    if not line.strip():
        continue
    entry = json.loads(line)
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    count += action in body + "&"
print(count)' "$1" <"${recording}"
}

bench_cleanup() {
	[[ -n "${bench_moto_pid:-}" ]] && kill "${bench_moto_pid}" 2>/dev/null
	rm -rf "${bench_dir}"
}

# A sandbox: HOME with AWS files, a cache directory, the AWS endpoint pointed at moto.
bench_sandbox() {
	bench_dir="$(mktemp -d)"
	trap bench_cleanup EXIT
	bench_start_moto
	export HOME="${bench_dir}/home" RUNAS_CACHE_DIR="${bench_dir}/cache" AWS_ENDPOINT_URL="${MOTO_URL}"
	mkdir -p "${HOME}/.aws"
	cat >"${HOME}/.aws/credentials" <<'INI'
[alice]
aws_access_key_id = AKIAALICEEXAMPLE0001
aws_secret_access_key = alice/secret+key
INI
	cat >"${HOME}/.aws/config" <<'INI'
[profile alice]
region = eu-west-1
[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = alice
[profile mfa]
role_arn = arn:aws:iam::123456789012:role/mfa
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice
INI
}

# median_ms FILE INDEX: the median of hyperfine's JSON result INDEX, in milliseconds.
median_ms() {
	python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"]*1000))' "$1" "$2"
}

ratio() {
	python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"
}
