//! End-to-end: v3's mode flags (-u -l -m -D -w -e) are one choice. Two of them, or one with a
//! command to run, is an error naming both — not the first of them winning silently.

mod common;

use common::*;

#[test]
fn two_mode_flags_or_a_mode_flag_with_a_command_are_refused() {
    let s = Sandbox::new();
    s.moto.start_recording();
    let flags = [
        ("-u", "--update"),
        ("-l", "--list-roles"),
        ("-m", "--list-mfa"),
        ("-D", "--diagnose"),
        ("-w", "--whoami"),
        ("-e", "--expiration"),
    ];
    for (i, (a, a_long)) in flags.iter().enumerate() {
        for (b, b_long) in &flags[i + 1..] {
            let out = run(s.runas().args([a, b, "dev"]), LIMIT);
            assert_eq!(out.code, Some(2), "{a} {b}: {}", out.stderr);
            let err = out.one_line_error();
            assert!(
                err.contains(a_long) && err.contains(b_long),
                "{a} {b}: {err}"
            );
        }
        let out = run(s.runas().args([a, "dev", "printenv"]), LIMIT);
        assert_eq!(out.code, Some(2), "{a} with a command: {}", out.stderr);
        let err = out.one_line_error();
        assert!(err.contains(a_long) && err.contains("COMMAND"), "{err}");
    }
    assert!(s.moto.recorded().is_empty(), "nothing ran");
}

#[test]
fn one_mode_flag_does_its_one_thing() {
    let s = Sandbox::new();
    let whoami = run(s.runas().args(["-w", "dev"]), LIMIT).ok().stdout;
    assert!(whoami.contains("Arn: arn:aws:sts::"), "{whoami}");
    let expiration = run(s.runas().args(["-e", "dev"]), LIMIT).ok().stdout;
    assert!(!expiration.contains("Arn:"), "{expiration}");
}
