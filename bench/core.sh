#!/usr/bin/env bash
# Cache-hit cost beside a bare process spawn, and 16 concurrent cold callers beside one, in one
# run (ratios, not absolute times). Checks, from moto's request recorder, that every cold run
# of 16 callers made one STS call of each kind between them, and fails if not.
# Then start-up beside a Rust hello-world built in the same run (and the same hello-world started
# without Rust's runtime start, as aws-runas is on Linux with glibc): `--version` and a cache
# hit, median wall time and minor page faults, interleaved (bench/startup.py). In a full run, the
# tree and BENCH_BEFORE (default: the commit before the lean-binary work) are each built from
# clean first, one after the other (release build time, binary size, crates compiled), and
# their binaries measured side by side; BENCH_BUILDS=0 skips the builds and measures the binary
# given. The clean builds take most of the run: about 20 minutes on 2 cores.
# Usage: bench/core.sh [path/to/aws-runas]   (BENCH_SMOKE=1: a quick check that it still works)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
bench_binary "$@"
# The sandbox moves HOME; cargo and rustup keep theirs, to build the hello-world.
export RUSTUP_HOME="${RUSTUP_HOME:-${HOME}/.rustup}" CARGO_HOME="${CARGO_HOME:-${HOME}/.cargo}"
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

# --- Start-up and build, beside a hello-world and the commit before ----------------------------
before_rev="${BENCH_BEFORE:-5fe22e5}"
builds="$(bench_runs "${BENCH_BUILDS:-1}" 0)"

hello_dir="${bench_dir}/hello"
mkdir -p "${hello_dir}/src"
printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n' >"${hello_dir}/Cargo.toml"
printf 'fn main() {\n    println!("Hello, world!");\n}\n' >"${hello_dir}/src/main.rs"
# The same without Rust's runtime start (its stack-guard probe), as aws-runas starts on Linux
# with glibc: how much of the gap to the hello-world that start alone makes up.
mkdir -p "${hello_dir}/src/bin"
cat >"${hello_dir}/src/bin/lean.rs" <<'RS'
#![no_main]
#[unsafe(no_mangle)]
extern "C" fn main() -> i32 {
    println!("Hello, world!");
    std::process::exit(0)
}
RS
(cd "${hello_dir}" && CARGO_TARGET_DIR="${hello_dir}/target" cargo build --release --quiet)
hello="${hello_dir}/target/release/hello"
lean_hello="${hello_dir}/target/release/lean"

# clean_build LABEL SOURCE_DIR: a release build from an empty target directory, timed after
# the sources are fetched (downloads are not the build); sets built_bin and writes
# LABEL.{seconds,crates,size}.
clean_build() {
	local label="$1" src="$2" target="${bench_dir}/target-$1"
	(cd "${src}" && cargo fetch --locked --quiet)
	local start end
	start="$(date +%s.%N)"
	(cd "${src}" && CARGO_TARGET_DIR="${target}" cargo build --release --locked 2>"${bench_dir}/$1.log")
	end="$(date +%s.%N)"
	python3 -c 'import sys; print("%.0f" % (float(sys.argv[2]) - float(sys.argv[1])))' "${start}" "${end}" >"${bench_dir}/${label}.seconds"
	grep -c '^ *Compiling ' "${bench_dir}/$1.log" >"${bench_dir}/${label}.crates"
	built_bin="${target}/release/aws-runas"
	stat -c %s "${built_bin}" >"${bench_dir}/${label}.size"
}

labels=(now)
if [[ "${builds}" == 1 ]]; then
	git -C "${bench_root}" archive --prefix=before/ "${before_rev}" | tar -x -C "${bench_dir}"
	clean_build before "${bench_dir}/before"
	before_bin="${built_bin}"
	clean_build now "${bench_root}"
	bin="${built_bin}"
	labels=(before now)
fi

# Each binary is measured as a copy, as `cargo install --path .` puts it in place. The linker
# writes its output through a memory map, and until those page-cache pages are gone, that very
# file starts slower than a copy of the same bytes: 1.74x the hello-world against 1.42x, 201
# minor faults against 181, measured side by side on Linux 6.x and ext4.
as_installed() {
	install -m 755 "$1" "${bench_dir}/$2"
	printf '%s' "${bench_dir}/$2"
}
hello="$(as_installed "${hello}" hello-installed)"
lean_hello="$(as_installed "${lean_hello}" lean-installed)"
bin="$(as_installed "${bin}" now-installed)"
[[ "${builds}" == 1 ]] && before_bin="$(as_installed "${before_bin}" before-installed)"
# Each binary answers from a cache it warmed itself: the two commits need not share a format.
spec=("hello=${hello}" "lean hello=${lean_hello}")
for label in "${labels[@]}"; do
	b="${bin}"
	[[ "${label}" == before ]] && b="${before_bin}"
	RUNAS_CACHE_DIR="${bench_dir}/cache-${label}" "${b}" -O json dev >/dev/null
	spec+=("${label} --version=${b} --version")
	spec+=("${label} cache hit=RUNAS_CACHE_DIR=${bench_dir}/cache-${label} ${b} -O json dev")
done
startup="${bench_dir}/startup.json"
rounds="$(bench_runs 300 3)"
python3 "${bench_root}/bench/startup.py" "${rounds}" "${spec[@]}" >"${startup}"

echo
printf '%-34s %10s %12s %8s %14s\n' "start-up (interleaved)" "median ms" "hello-world" "ratio" "minor faults"
python3 - "${startup}" "${labels[@]}" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
hello = data["hello"]
print("%-34s %10.3f %12s %8s %14d" % ("hello-world", hello["median_ms"], "", "", hello["minor_faults"]))
lean = data["lean hello"]
print("%-34s %10.3f %12.3f %8.2f %14d" % ("hello-world, no runtime start", lean["median_ms"],
      hello["median_ms"], lean["median_ms"] / hello["median_ms"], lean["minor_faults"]))
for label in sys.argv[2:]:
    for what in ("--version", "cache hit"):
        row = data["%s %s" % (label, what)]
        print("%-34s %10.3f %12.3f %8.2f %14d" % ("%s: %s" % (label, what), row["median_ms"],
              hello["median_ms"], row["median_ms"] / hello["median_ms"], row["minor_faults"]))
PY

if [[ "${builds}" == 1 ]]; then
	echo
	printf '%-34s %12s %12s %8s\n' "clean release build" "${before_rev}" "now" "ratio"
	for what in seconds size crates; do
		b="$(cat "${bench_dir}/before.${what}")"
		n="$(cat "${bench_dir}/now.${what}")"
		r="$(ratio "${n}" "${b}")"
		printf '%-34s %12s %12s %8s\n' "${what}" "${b}" "${n}" "${r}"
	done
fi
