"""The Celery side of the dashboard ingest benchmark (bench/dashboard-ingest.sh): what Flower is built on.

  python3 ingest_state.py --broker redis://127.0.0.1:PORT/0 --tasks 50000

Celery's EventReceiver (all events, routing key '#', as Flower's EventsState capture) hands every event to
celery.events.state.State.event, as Flower does; State keeps up to --tasks tasks in memory (Flower's --max_tasks,
default 10000, is raised so no task is evicted). Prints 'ready' before it starts receiving (the run waits until Redis
counts the subscription), and once --tasks task-succeeded events are in, checks that State holds that many tasks in
SUCCESS and prints one JSON line: when, its CPU time so far and the peak RSS. Nothing is written to disk (Flower keeps its
state in memory; its optional --persistent shelve is written at exit only).
"""
import argparse
import json
import resource
import signal
import sys
import time

from celery import Celery
from celery.events.state import State


def proc_status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('/proc/self/status has no ' + field)


def machine_busy_ticks():
    """CPU time every process of the machine has used since boot, in clock ticks (/proc/stat: all but idle and iowait)."""
    with open('/proc/stat') as f:
        fields = f.readline().split()
    return sum(int(fields[i]) for i in (1, 2, 3, 6, 7, 8))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--broker', required=True)
    parser.add_argument('--tasks', type=int, required=True)
    parser.add_argument('--timeout', type=int, default=600, help='give up after this many seconds')
    args = parser.parse_args(argv)
    expected = args.tasks
    signal.signal(signal.SIGALRM, lambda *_: sys.exit('ingest_state.py: not all %d tasks succeeded within %d s' % (expected, args.timeout)))
    signal.alarm(args.timeout)

    app = Celery('ingest', broker=args.broker)
    state = State(max_tasks_in_memory=expected)
    succeeded = 0
    first_at = None
    done_at = None
    machine_busy = None

    with app.connection() as connection:
        def on_event(event):
            nonlocal succeeded, first_at, done_at, machine_busy
            if first_at is None:
                first_at = time.time()
            state.event(event)
            if event['type'] == 'task-succeeded':
                succeeded += 1
                if succeeded == expected:
                    done_at = time.time()
                    machine_busy = machine_busy_ticks()
                    receiver.should_stop = True

        receiver = app.events.Receiver(connection, handlers={'*': on_event})
        rss_ready = proc_status_kib('VmRSS')
        print('ready', flush=True)
        receiver.capture(limit=None, timeout=None, wakeup=False)

    cpu = time.process_time()
    in_success = sum(1 for _, task in state.itertasks() if task.state == 'SUCCESS')
    print(json.dumps({
        'system': 'celery',
        'done_at': done_at,
        'first_event_at': first_at,
        'tasks_in_state': len(state.tasks),
        'tasks_in_success': in_success,
        'machine_busy_ticks': machine_busy,
        'cpu_total_seconds': cpu,  # since the start; the run subtracts what /proc/PID/stat said just before publishing
        'rss_ready_kib': rss_ready,
        'peak_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)
    return 0 if in_success == expected else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
