//! Links the Linux x86_64 binary as a position-dependent executable (`-no-pie`).
//!
//! A PIE of this size carries ~55k relative relocations that the dynamic loader applies on
//! every start, touching about 1 MB of pages before `main`: most of a cache hit's cost. The
//! code stays position-independent (proc-macros and tests need that); only the final link of
//! the binary resolves the addresses. Elsewhere the platform's default is kept: macOS arm64
//! requires PIE, and Windows has no such loader cost.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = |key| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux"
        && target("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && target("CARGO_CFG_TARGET_ENV") == "gnu"
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
