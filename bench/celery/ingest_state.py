"""The Celery side of the dashboard ingest benchmark (bench/dashboard-ingest.sh): what Flower is built on.

  python3 ingest_state.py --broker redis://127.0.0.1:PORT/0 --tasks 50000

Celery's EventReceiver (all events, routing key '#', as Flower's EventsState capture) hands every event to
celery.events.state.State.event, as Flower does; State keeps up to --tasks tasks in memory (Flower's --max_tasks,
default 10000, is raised so no task is evicted). Prints 'ready' before it starts receiving (the run waits until Redis
counts the subscription), and once --tasks task-succeeded events are in, checks that State holds that many tasks in
SUCCESS and prints one JSON line: when, the CPU it took and the peak RSS. Nothing is written to disk (Flower keeps its
state in memory; its optional --persistent shelve is written at exit only).
"""
import argparse
import json
import resource
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


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--broker', required=True)
    parser.add_argument('--tasks', type=int, required=True)
    args = parser.parse_args(argv)
    expected = args.tasks

    app = Celery('ingest', broker=args.broker)
    state = State(max_tasks_in_memory=expected)
    succeeded = 0
    first_at = None
    done_at = None
    cpu_before = None

    with app.connection() as connection:
        def on_event(event):
            nonlocal succeeded, first_at, done_at
            if first_at is None:
                first_at = time.time()
            state.event(event)
            if event['type'] == 'task-succeeded':
                succeeded += 1
                if succeeded == expected:
                    done_at = time.time()
                    receiver.should_stop = True

        receiver = app.events.Receiver(connection, handlers={'*': on_event})
        rss_ready = proc_status_kib('VmRSS')
        cpu_before = time.process_time()
        print('ready', flush=True)
        receiver.capture(limit=None, timeout=None, wakeup=False)

    cpu = time.process_time() - cpu_before
    in_success = sum(1 for _, task in state.itertasks() if task.state == 'SUCCESS')
    print(json.dumps({
        'system': 'celery',
        'done_at': done_at,
        'first_event_at': first_at,
        'tasks_in_state': len(state.tasks),
        'tasks_in_success': in_success,
        'cpu_seconds': cpu,
        'rss_ready_kib': rss_ready,
        'peak_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }), flush=True)
    return 0 if in_success == expected else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
