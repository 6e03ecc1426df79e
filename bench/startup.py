#!/usr/bin/env python3
"""Start-up cost of short commands, interleaved: each round runs every command once, in turn,
so a machine that slows down mid-run slows every command alike. Reports, per command, the
median wall time and the median minor page faults of the child (wait4's rusage).

Usage: startup.py ROUNDS LABEL=COMMAND... (a COMMAND is split into words, never run through a
shell; leading NAME=VALUE words set its environment, as in a shell; its stdout and stderr are
discarded; a non-zero exit fails the benchmark).
Prints one JSON object: {LABEL: {"median_ms": .., "minor_faults": ..}}.
"""

import json
import os
import shlex
import statistics
import sys
import time


def run_once(argv, env, devnull):
    # posix_spawn, not subprocess: no Python-side work between the clock and the child.
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(
        argv[0],
        argv,
        env,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2),
        ],
    )
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter_ns() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("startup.py: %s exited %d" % (shlex.join(argv), os.waitstatus_to_exitcode(status)))
    return elapsed / 1e6, usage.ru_minflt


def main():
    rounds = int(sys.argv[1])
    commands = []
    for spec in sys.argv[2:]:
        label, _, command = spec.partition("=")
        words = shlex.split(command)
        env = dict(os.environ)
        while words and "=" in words[0] and not words[0].startswith("/"):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        commands.append((label, words, env))
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = {label: [] for label, _, _ in commands}
    faults = {label: [] for label, _, _ in commands}
    for _ in range(rounds):
        for label, argv, env in commands:
            ms, minflt = run_once(argv, env, devnull)
            times[label].append(ms)
            faults[label].append(minflt)
    print(
        json.dumps(
            {
                label: {
                    "median_ms": round(statistics.median(times[label]), 3),
                    "minor_faults": statistics.median(faults[label]),
                }
                for label, _, _ in commands
            }
        )
    )


if __name__ == "__main__":
    main()
