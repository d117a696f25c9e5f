"""Celery-side client measurements for Fennel's benchmark. Prints one JSON object on stdout.

    python3 bench_client.py enqueue --count 20000 --mode loop    # bench.noop.apply_async() one at a time
    python3 bench_client.py enqueue --count 20000 --mode group   # group(...).apply_async(): Celery's bulk send
    python3 bench_client.py enqueue --count 2000 --mode loop --sleep-ms 10 --warmup 0   # bench.sleep.apply_async((10,))
    python3 bench_client.py rtt --count 1000                     # bench.add.delay(i, 1).get() one after another
    python3 bench_client.py versions

The broker and result backend come from BENCH_BROKER / BENCH_BACKEND, as for the worker (bench_tasks.py).
Each measurement follows --warmup seconds (default 3) of the same calls, unmeasured, as the Fennel side does. Warm-up
tasks go to the queue "bench.warmup", which no worker consumes and which is purged, so they never mix with measured tasks.
"""
import argparse
import json
import platform
import sys
import time

import amqp
import celery
import kombu
import redis
from celery import group

from bench_tasks import add, app, noop, sleep

WARMUP_QUEUE = "bench.warmup"


def warm_up(seconds, round_):
    """Repeats round_ for the given time: connections open, imports done, before the clock starts."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        round_()


def purge_warmup_queue():
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(WARMUP_QUEUE)


def enqueue(count, mode, warmup, sleep_ms):
    if sleep_ms is not None:
        if mode != "loop":
            raise SystemExit("--sleep-ms goes with --mode loop")
        warm_up(warmup, lambda: (sleep.apply_async((sleep_ms,), queue=WARMUP_QUEUE), purge_warmup_queue()))
        started = time.perf_counter()
        for _ in range(count):
            sleep.apply_async((sleep_ms,))
        seconds = time.perf_counter() - started
    elif mode == "loop":
        def round_():
            for _ in range(100):
                noop.apply_async(queue=WARMUP_QUEUE)
            purge_warmup_queue()
        warm_up(warmup, round_)
        started = time.perf_counter()
        for _ in range(count):
            noop.apply_async()
        seconds = time.perf_counter() - started
    elif mode == "group":
        def round_():
            group(noop.s() for _ in range(100)).apply_async(queue=WARMUP_QUEUE)
            purge_warmup_queue()
        warm_up(warmup, round_)
        # Building the signatures is part of sending in bulk, as building the TaskCall list is on the Fennel side.
        started = time.perf_counter()
        group(noop.s() for _ in range(count)).apply_async()
        seconds = time.perf_counter() - started
    else:
        raise SystemExit(f"unknown mode {mode!r}; choose loop or group")
    return {"mode": mode, "count": count, "seconds": seconds, "task": "noop" if sleep_ms is None else "sleep"}


def rtt(count, warmup, timeout):
    warm_up(warmup, lambda: add.delay(2, 2).get(timeout=timeout))
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
        "amqp": amqp.__version__,
        "python": platform.python_version(),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    e = commands.add_parser("enqueue")
    e.add_argument("--count", type=int, required=True)
    e.add_argument("--mode", choices=["loop", "group"], required=True)
    e.add_argument("--warmup", type=float, default=3.0)
    e.add_argument("--sleep-ms", type=int, default=None, help="send bench.sleep(ms) instead of bench.noop")
    r = commands.add_parser("rtt")
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--warmup", type=float, default=3.0)
    r.add_argument("--timeout", type=float, default=10.0)
    commands.add_parser("versions")
    args = parser.parse_args(argv)

    if args.command == "enqueue":
        result = enqueue(args.count, args.mode, args.warmup, args.sleep_ms)
    elif args.command == "rtt":
        result = rtt(args.count, args.warmup, args.timeout)
    else:
        result = versions()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    app.close()


if __name__ == "__main__":
    main(sys.argv[1:])
