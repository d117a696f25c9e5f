"""Listens to events the way Flower does, with Celery's own EventReceiver and State, and reports what it saw.

    /usr/bin/python3 receive_events.py --broker URL --seconds 20

Every event is printed to stdout as one JSON line as it arrives, with what ``celery.events.state.State`` (Flower's model)
made of it: ``{"event": {...}, "worker": {"alive", "active", "processed", "sw_ident", "freq"}, "task": {"state", "name",
"result", "runtime"}}`` (``task`` only for task events). A first line ``{"ready": true}`` says the receiver is consuming.
The script ends after ``--seconds``.
"""
import argparse
import json
import sys
import threading

from celery import Celery


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--broker', required=True)
    parser.add_argument('--seconds', type=float, required=True)
    options = parser.parse_args()

    app = Celery(broker=options.broker)
    state = app.events.State()
    lock = threading.Lock()

    def on_event(event):
        with lock:
            state.event(event)
            line = {'event': event}
            worker = state.workers.get(event.get('hostname'))
            if worker is not None:
                line['worker'] = {'alive': worker.alive, 'active': worker.active, 'processed': worker.processed,
                                  'sw_ident': worker.sw_ident, 'freq': worker.freq}
            task = state.tasks.get(event.get('uuid')) if 'uuid' in event else None
            if task is not None:
                line['task'] = {'state': task.state, 'name': task.name, 'result': task.result, 'runtime': task.runtime}
            print(json.dumps(line, default=str), flush=True)

    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={'*': on_event})
        # EventReceiver is kombu's ConsumerMixin: capture() returns once should_stop is set.
        threading.Timer(options.seconds, lambda: setattr(receiver, 'should_stop', True)).start()
        original = receiver.on_consume_ready

        def ready(*args, **kwargs):
            print(json.dumps({'ready': True}), flush=True)
            return original(*args, **kwargs)

        receiver.on_consume_ready = ready
        receiver.capture(limit=None, timeout=None, wakeup=True)

    return 0


if __name__ == '__main__':
    sys.exit(main())
