//! bench/serve.sh in its smoke mode, so the benchmark cannot rot: it must run to the end with
//! only 2xx answers under load and exactly the STS calls the run needs (the script checks both).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn the_serve_benchmark_runs_clean_in_smoke_mode() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/serve.sh");
    let out = run(
        Command::new("bash")
            .arg(script)
            .arg(runas_bin())
            .env("BENCH_SMOKE", "1"),
        Duration::from_secs(180),
    )
    .ok();
    for measure in [
        "serve ecs requests/s (vs nginx static)",
        "serve ecs p99 latency (vs nginx static)",
        "exec endpoint start-up ms (vs direct)",
        "STS calls in all: GetCallerIdentity AssumeRole",
    ] {
        assert!(out.stdout.contains(measure), "{measure}:\n{}", out.stdout);
    }
}
