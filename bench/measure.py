#!/usr/bin/env python3
"""Runs a command ROUNDS times; prints the best wall-clock seconds and the peak RSS (KiB).

Usage: bench/measure.py ROUNDS CMD [ARGS...]   (stdout of CMD is discarded)

The peak is the command's own: it is started through GNU time (`/usr/bin/time`, Debian's
`time` package), a 1 MiB process. Started straight from Python, the kernel would count the
Python process it was forked from (about 14 MiB) in the child's peak, a floor under every
figure. Without GNU time it falls back to that, and says so on stderr.
"""
import os
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def has_gnu_time():
    try:
        out = subprocess.run([GNU_TIME, "--version"], capture_output=True, text=True)
    except OSError:
        return False
    return "GNU" in out.stdout + out.stderr


def main():
    rounds, cmd = int(sys.argv[1]), sys.argv[2:]
    gnu = has_gnu_time()
    if not gnu:
        print("measure.py: no GNU time; peak RSS includes the Python parent's", file=sys.stderr)
    best = None
    peak = 0
    with tempfile.NamedTemporaryFile("r") as report:
        for _ in range(rounds):
            argv = [GNU_TIME, "-f", "%M", "-o", report.name, *cmd] if gnu else cmd
            start = time.perf_counter()
            pid = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL).pid
            _, _, usage = os.wait4(pid, 0)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
            if gnu:
                report.seek(0)
                lines = [l for l in report.read().split() if l.isdigit()]
                peak = max(peak, int(lines[-1]) if lines else 0)
            else:
                peak = max(peak, usage.ru_maxrss)
    print(f"{best:.4f} {peak}")


if __name__ == "__main__":
    main()
