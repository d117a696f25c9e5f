"""The Celery side of Fennel's benchmark: the same tasks the Fennel bench worker registers (bench/Fennel.Bench).

    bench.noop       does nothing and ignores its result; counts its runs for the drain measurement (DrainProbe below)
    bench.add        returns x + y, stored in the result backend; for round-trip latency
    bench.sleep(ms)  time.sleep(ms / 1000), ignores its result; the I/O-bound scenario. Under -P gevent, which
                     monkey-patches time.sleep before this module is imported, it yields to the other greenlets

    BENCH_BROKER=redis://127.0.0.1:6379/0 python3 -m celery -A bench_tasks worker -P threads -c 8 -l warning
    BENCH_BROKER=redis://127.0.0.1:6379/0 python3 -m celery -A bench_tasks worker -P gevent -c 100 -l warning

Environment: BENCH_BROKER and BENCH_BACKEND (default: the broker), BENCH_PROBE and BENCH_EXPECTED (see DrainProbe).
"""
import json
import multiprocessing
import os
import time

from celery import Celery

BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/0")

app = Celery("bench", broker=BROKER, backend=os.environ.get("BENCH_BACKEND", BROKER))
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue="celery",
    # The worker's own log lines only: no per-task INFO lines at -l warning, as for the Fennel worker.
    worker_hijack_root_logger=True,
)


class DrainProbe:
    """Counts runs of bench.noop across every process of this worker and, once BENCH_EXPECTED have run, writes
    {"count", "first", "half", "last"} to the file BENCH_PROBE: Unix seconds of the first run, of the run that reached
    half the count, and of the last run.

    The counter lives in shared memory created when this module is imported, which the worker's main process does
    before the prefork pool forks its children, so every child counts into the same place; the threads pool shares
    it trivially. The same file format is written by the Fennel bench worker (DrainProbe.cs).

    bench.sleep calls started() and finished() instead of ran(): the first run is then the first start, the probe
    keeps the peak of tasks running at once ("peak" in the report), and once BENCH_EXPECTED tasks have started it writes
    {"count", "at", "running", "peak"} to BENCH_PROBE.started (AllStartedReport.cs).
    """

    def __init__(self, path, expected):
        self._path = path
        self._expected = expected
        self._count = multiprocessing.Value("q", 0)  # with its own lock
        self._first = multiprocessing.Value("d", 0.0, lock=False)  # written under the counter's lock
        self._half = multiprocessing.Value("d", 0.0, lock=False)
        self._started = multiprocessing.Value("q", 0, lock=False)  # the rest also under the counter's lock
        self._running = multiprocessing.Value("q", 0, lock=False)
        self._peak = multiprocessing.Value("q", 0, lock=False)

    @classmethod
    def from_environment(cls):
        return cls(os.environ.get("BENCH_PROBE"), int(os.environ.get("BENCH_EXPECTED", "0")))

    def started(self):
        now = time.time()
        with self._count.get_lock():
            if self._first.value == 0.0:
                self._first.value = now
            self._running.value += 1
            running = self._running.value
            if running > self._peak.value:
                self._peak.value = running
            self._started.value += 1
            started = self._started.value
            peak = self._peak.value
        if self._path and started == self._expected:
            self._write(self._path + ".started", {"count": started, "at": now, "running": running, "peak": peak})

    def finished(self):
        with self._count.get_lock():
            self._running.value -= 1
        self.ran()

    def ran(self):
        now = time.time()
        with self._count.get_lock():
            if self._first.value == 0.0:
                self._first.value = now
            self._count.value += 1
            count = self._count.value
            if count == (self._expected + 1) // 2:
                self._half.value = now
            first = self._first.value
            half = self._half.value
            peak = self._peak.value
        if self._path and count == self._expected:
            self._write(self._path, {"count": count, "first": first, "half": half, "last": now, "peak": peak})

    @staticmethod
    def _write(path, report):
        # Write then rename, so the benchmark never reads half a file.
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(report, f)
        os.replace(temporary, path)


probe = DrainProbe.from_environment()


@app.task(name="bench.noop", ignore_result=True)
def noop():
    probe.ran()


@app.task(name="bench.add")
def add(x, y):
    return x + y


@app.task(name="bench.sleep", ignore_result=True)
def sleep(ms):
    probe.started()
    time.sleep(ms / 1000)
    probe.finished()
