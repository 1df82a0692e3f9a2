#!/usr/bin/env python3
"""Runs a command ROUNDS times; prints the best wall-clock seconds and the peak RSS (KiB).

Usage: bench/measure.py ROUNDS CMD [ARGS...]   (stdout of CMD is discarded)
"""
import os
import resource
import subprocess
import sys
import time


def main():
    rounds, cmd = int(sys.argv[1]), sys.argv[2:]
    best = None
    peak = 0
    for _ in range(rounds):
        start = time.perf_counter()
        pid = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL).pid
        _, _, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
        peak = max(peak, usage.ru_maxrss)
    print(f"{best:.4f} {peak}")


if __name__ == "__main__":
    main()
