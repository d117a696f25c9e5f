"""Celery-side client measurements for Fennel's benchmark. Prints one JSON object on stdout.

    python3 bench_client.py enqueue --count 20000 --mode loop    # bench.noop.apply_async() one at a time
    python3 bench_client.py enqueue --count 20000 --mode group   # group(...).apply_async(): Celery's bulk send
    python3 bench_client.py rtt --count 1000 --warmup 100        # bench.add.delay(i, i).get() one after another
    python3 bench_client.py versions

The broker and result backend come from BENCH_BROKER / BENCH_BACKEND, as for the worker (bench_tasks.py).
Warm-up calls go to the queue "bench.warmup", which no worker consumes, so they never mix with measured tasks.
"""
import argparse
import json
import platform
import sys
import time

import celery
import kombu
import redis
from celery import group

from bench_tasks import add, app, noop

WARMUP_QUEUE = "bench.warmup"


def enqueue(count, mode, warmup):
    # Connect and exercise the publish path first: the first publish pays for the connection and imports.
    for _ in range(warmup):
        noop.apply_async(queue=WARMUP_QUEUE)
    if mode == "loop":
        started = time.perf_counter()
        for _ in range(count):
            noop.apply_async()
        seconds = time.perf_counter() - started
    elif mode == "group":
        # The signatures are built before the clock starts; the clock covers sending only.
        signatures = group(noop.s() for _ in range(count))
        started = time.perf_counter()
        signatures.apply_async()
        seconds = time.perf_counter() - started
    else:
        raise SystemExit(f"unknown mode {mode!r}; choose loop or group")
    return {"mode": mode, "count": count, "seconds": seconds}


def rtt(count, warmup, timeout):
    for i in range(warmup):
        add.delay(i, i).get(timeout=timeout)
    samples = []
    for i in range(count):
        started = time.perf_counter_ns()
        value = add.delay(i, 1).get(timeout=timeout)
        samples.append((time.perf_counter_ns() - started) / 1000.0)
        if value != i + 1:
            raise SystemExit(f"bench.add({i}, 1) returned {value!r}")
    return {"count": count, "microseconds": samples}


def versions():
    return {
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "redis_py": redis.__version__,
        "python": platform.python_version(),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    e = commands.add_parser("enqueue")
    e.add_argument("--count", type=int, required=True)
    e.add_argument("--mode", choices=["loop", "group"], required=True)
    e.add_argument("--warmup", type=int, default=200)
    r = commands.add_parser("rtt")
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--warmup", type=int, default=100)
    r.add_argument("--timeout", type=float, default=10.0)
    commands.add_parser("versions")
    args = parser.parse_args(argv)

    if args.command == "enqueue":
        result = enqueue(args.count, args.mode, args.warmup)
    elif args.command == "rtt":
        result = rtt(args.count, args.warmup, args.timeout)
    else:
        result = versions()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    app.close()


if __name__ == "__main__":
    main(sys.argv[1:])
