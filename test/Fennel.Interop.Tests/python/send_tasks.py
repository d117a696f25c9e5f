"""A Celery client: sends task calls by name, waits for every result and prints one JSON report on stdout.

    /usr/bin/python3 send_tasks.py --broker redis://127.0.0.1:6379/2 --result-backend redis://127.0.0.1:6379/2 \\
        --queue interop --timeout 60 < calls.json
    /usr/bin/python3 send_tasks.py --broker amqp://guest:guest@127.0.0.1:5672/interop --result-backend rpc:// \\
        --queue interop --timeout 60 < calls.json

The calls (stdin, or --calls FILE) are a JSON list; each call is an object:

    {"key": "add big ints",             # the name the report uses for it (unique)
     "task": "tasks.add", "args": [1099511627776, 2], "kwargs": {},
     "countdown": 2,                    # seconds (apply_async countdown=)
     "eta_in": 3,                       # seconds from now, sent as eta= (an absolute time)
     "expires_in": -10,                 # seconds from now, sent as expires= (negative: already expired)
     "priority": 5, "headers": {"x-tenant": "acme"}, "queue": "other"}

Every key but "key" and "task" is optional. JSON numbers keep Python's types: 2 is an int, 2.0 a float, and ints of
any size stay exact. The Fennel interop tests (test/Fennel.Interop.Tests) write the calls and assert on the report:

    {"broker": ..., "queue": ..., "results": [{
        "key", "task", "task_id", "state",           # SUCCESS, FAILURE, REVOKED; PENDING when the wait timed out
        "timed_out",                                 # true when it was not ready within --timeout
        "result", "result_type",                     # the value and its Python type name (int, float, dict, ...)
        "exception": {"type", "module", "args"},     # for FAILURE and REVOKED, as AsyncResult rebuilt it
        "meta",                                      # celery-task-meta-<id> exactly as stored in Redis; with rpc://
                                                     # the last result message received for the task (no date_done)
        "sent_at", "date_done",                      # ISO-8601 UTC (date_done null with rpc://)
        "ready_after"}]}                             # seconds from sending to the client seeing the result

Logs go to stderr. Exit codes: 0 the report was printed (whatever the task outcomes), 1 the broker is neither Redis
nor RabbitMQ or the result backend neither Redis nor rpc://, 2 the calls cannot be read.
"""
import argparse
import copy
import datetime as dt
import json
import sys
import time

from celery import states
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import ResultSet

from interop_app import create_app, require_supported

KNOWN_KEYS = {'key', 'task', 'args', 'kwargs', 'countdown', 'eta_in', 'expires_in', 'priority', 'headers', 'queue'}


def main():
    parser = argparse.ArgumentParser(description='Send Celery task calls by name and report every result as JSON.')
    parser.add_argument('--broker', required=True, help='redis://HOST:PORT/DB or amqp://USER:PASSWORD@HOST:PORT/VHOST')
    parser.add_argument('--result-backend', required=True, help='redis://HOST:PORT/DB, or rpc:// with an amqp:// broker')
    parser.add_argument('--queue', default=None, help='queue for calls that name none (default: INTEROP_QUEUE or interop)')
    parser.add_argument('--timeout', type=float, default=60.0, help='seconds to wait for all results together')
    parser.add_argument('--calls', default='-', help='JSON file with the calls; - for stdin (default)')
    options = parser.parse_args()

    calls = read_calls(options.calls)
    app = create_app(options.broker, options.result_backend, options.queue)
    require_supported(app)
    if app.conf.result_backend.startswith('rpc://'):
        keep_rpc_messages(app.backend)

    sent = [send(app, call) for call in calls]
    deadline = time.monotonic() + options.timeout
    if app.conf.result_backend.startswith('rpc://'):
        results = wait_rpc(app, sent, deadline)
    else:
        results = [wait(app, call, result, sent_at, sent_clock, deadline) for call, result, sent_at, sent_clock in sent]
    json.dump({'broker': options.broker, 'queue': app.conf.task_default_queue, 'results': results},
              sys.stdout, ensure_ascii=False)
    sys.stdout.write('\n')


def read_calls(path):
    try:
        text = sys.stdin.read() if path == '-' else open(path, encoding='utf-8').read()
        calls = json.loads(text)
    except (OSError, ValueError) as e:
        fail(f'cannot read the calls from {path}: {e}')
    if not isinstance(calls, list):
        fail('the calls must be a JSON list of objects')
    keys = set()
    for i, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get('key'), str) or not isinstance(call.get('task'), str):
            fail(f'call {i} must be an object with string "key" and "task"')
        unknown = set(call) - KNOWN_KEYS
        if unknown:
            fail(f'call {call["key"]!r} has unknown keys {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}')
        if call['key'] in keys:
            fail(f'call key {call["key"]!r} is used twice')
        keys.add(call['key'])
    return calls


def send(app, call):
    now = dt.datetime.now(dt.timezone.utc)
    options = {}
    if 'countdown' in call:
        options['countdown'] = call['countdown']
    if 'eta_in' in call:
        options['eta'] = now + dt.timedelta(seconds=call['eta_in'])
    if 'expires_in' in call:
        options['expires'] = now + dt.timedelta(seconds=call['expires_in'])
    for name in ('priority', 'headers', 'queue'):
        if name in call:
            options[name] = call[name]
    result = app.send_task(call['task'], args=call.get('args', []), kwargs=call.get('kwargs', {}), **options)
    return call, result, now, time.monotonic()


def wait(app, call, result, sent_at, sent_clock, deadline):
    timed_out = False
    # A result that is already stored is read at once; get() would first subscribe and may wait a second for a
    # notification that was published before it listened.
    if not result.ready():
        try:
            result.get(timeout=max(deadline - time.monotonic(), 0.001), propagate=False, interval=0.05)
        except CeleryTimeoutError:
            timed_out = True
    return report_of(app, call, result, sent_at, timed_out, time.monotonic() - sent_clock)


def wait_rpc(app, sent, deadline):
    """rpc://: waits for all results at once, consuming the reply queue, and notes when each arrived. One get() after
    another would often stall a second per result on Celery's drain interval, and ready() polls with basic_get, which
    fails past 1,000 waiting results."""
    arrived = {}

    def on_message(meta):
        if meta.get('status') in states.READY_STATES:
            arrived.setdefault(meta.get('task_id'), time.monotonic())

    results = ResultSet([result for _, result, _, _ in sent], app=app)
    try:
        results.join_native(timeout=max(deadline - time.monotonic(), 0.001), propagate=False, interval=0.05, on_message=on_message)
    except CeleryTimeoutError:
        pass
    now = time.monotonic()
    return [report_of(app, call, result, sent_at, result.id not in arrived and not result.ready(), arrived.get(result.id, now) - sent_clock)
            for call, result, sent_at, sent_clock in sent]


def report_of(app, call, result, sent_at, timed_out, ready_after):
    report = {
        'key': call['key'],
        'task': call['task'],
        'task_id': result.id,
        'state': result.state,
        'timed_out': timed_out,
        'meta': stored_meta(app, result.id),
        'sent_at': sent_at.isoformat(),
        'date_done': iso_utc(result.date_done),
        'ready_after': round(ready_after, 3),
    }
    value = result.result
    if isinstance(value, BaseException):
        report['exception'] = {'type': type(value).__name__, 'module': type(value).__module__,
                               'args': [jsonable(a) for a in value.args]}
    else:
        report['result'] = value
        report['result_type'] = type(value).__name__
    return report


RPC_MESSAGES = {}


def keep_rpc_messages(backend):
    """rpc:// stores nothing: keep a copy of every result message as the worker sent it, before Celery turns an
    exception's dict into an exception object. Every message passes through meta_from_decoded, polled or consumed."""
    decode = backend.meta_from_decoded

    def keep(meta):
        # The same dict may come back once decoded (its result an exception object by then): keep the raw copy.
        if isinstance(meta, dict) and 'task_id' in meta and not isinstance(meta.get('result'), BaseException):
            RPC_MESSAGES[meta['task_id']] = copy.deepcopy(meta)
        return decode(meta)

    backend.meta_from_decoded = keep


def stored_meta(app, task_id):
    """The result exactly as the worker stored it, or with rpc:// the last result message (None while there is none)."""
    if app.conf.result_backend.startswith('rpc://'):
        return RPC_MESSAGES.get(task_id)
    raw = app.backend.client.get(app.backend.get_key_for_task(task_id))
    return None if raw is None else json.loads(raw)


def iso_utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def fail(message):
    print(f'send_tasks.py: {message}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
    main()
