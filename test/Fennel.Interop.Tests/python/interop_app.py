"""The Celery configuration every interop process shares: the worker (interop_tasks.py) and the clients.

Fennel and Celery must agree on these things to share a broker, Redis or RabbitMQ; this is the Python half of that
agreement (docs/interop.md has the .NET half):

* protocol v2 messages with the JSON serializer, results as JSON, UTC times;
* the queue (``interop`` unless told otherwise);
* the result backend: a Redis URL (``celery-task-meta-<id>`` keys), or ``rpc://`` with a RabbitMQ broker (results are
  messages to the caller's reply queue);
* RabbitMQ: the queue's ``x-max-priority`` (``task_queue_max_priority``, INTEROP_MAX_PRIORITY; unset: a plain queue).
  RabbitMQ refuses to declare a queue again with other arguments, so Fennel's ``?max_priority=`` must be the same;
* Redis: ``broker_transport_options['visibility_timeout']``: how long a message may stay in kombu's ``unacked`` hash before
  any consumer, Python or .NET, puts it back in its queue. Whichever process runs that restore applies its own value
  to everybody's messages, so both sides must use the same one. Celery workers do not renew anything while they run a
  task or hold an ETA task, so the value must exceed the longest task plus the longest countdown/ETA a Celery worker
  holds. We keep kombu's default, 3600 s, which is also Fennel's default, and set it explicitly so that nobody changes
  one side alone. INTEROP_VISIBILITY_TIMEOUT overrides it for experiments.
"""
import os

from celery import Celery

DEFAULT_QUEUE = 'interop'
DEFAULT_VISIBILITY_TIMEOUT = 3600
BROKER_SCHEMES = ('redis://', 'rediss://', 'amqp://', 'amqps://')


def visibility_timeout():
    """Seconds; INTEROP_VISIBILITY_TIMEOUT or 3600 (kombu's and Fennel's default)."""
    text = os.environ.get('INTEROP_VISIBILITY_TIMEOUT', str(DEFAULT_VISIBILITY_TIMEOUT))
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f'INTEROP_VISIBILITY_TIMEOUT must be a whole number of seconds, not {text!r}.') from None
    if value <= 0:
        raise SystemExit(f'INTEROP_VISIBILITY_TIMEOUT must be positive, not {value}.')
    return value


def max_priority():
    """INTEROP_MAX_PRIORITY as an int (the queue's x-max-priority on RabbitMQ), or None when unset or empty."""
    text = os.environ.get('INTEROP_MAX_PRIORITY', '')
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise SystemExit(f'INTEROP_MAX_PRIORITY must be a whole number from 1 to 255, not {text!r}.') from None
    if not 1 <= value <= 255:
        raise SystemExit(f'INTEROP_MAX_PRIORITY must be from 1 to 255, not {value}.')
    return value


def create_app(broker=None, backend=None, queue=None):
    """A Celery app with the shared configuration.

    ``broker`` and ``backend`` may be None: Celery then takes CELERY_BROKER_URL and CELERY_RESULT_BACKEND from the
    environment, which is also where ``celery -b URL --result-backend URL`` puts them. ``queue`` (default: INTEROP_QUEUE
    or ``interop``) is where tasks are sent when a call names no queue.
    """
    app = Celery('interop', broker=broker, backend=backend)
    app.conf.update(
        task_serializer='json',
        result_serializer='json',
        accept_content=['json'],
        task_protocol=2,
        enable_utc=True,
        timezone='UTC',
        task_default_queue=queue or os.environ.get('INTEROP_QUEUE', DEFAULT_QUEUE),
        broker_transport_options={'visibility_timeout': visibility_timeout()},
        task_queue_max_priority=max_priority(),
    )
    return app


def require_supported(app):
    """Exits with a clear message unless the broker is Redis or RabbitMQ and the results go to Redis or, with RabbitMQ, rpc://."""
    broker, backend = app.conf.broker_url or '', app.conf.result_backend or ''
    if not broker.startswith(BROKER_SCHEMES):
        found = f'not {broker!r}' if broker else 'none is configured'
        raise SystemExit('The interop app needs a Redis or RabbitMQ broker (redis://HOST:PORT/DB, amqp://USER:PASSWORD@HOST:PORT/VHOST); '
                         f'{found}: set CELERY_BROKER_URL or pass -b.')
    amqp = broker.startswith(('amqp://', 'amqps://'))
    if backend.startswith(('redis://', 'rediss://')) or (amqp and backend.startswith('rpc://')):
        return
    found = f'not {backend!r}' if backend else 'none is configured'
    allowed = 'a Redis URL or rpc://' if amqp else 'a Redis URL (rpc:// needs a RabbitMQ broker)'
    raise SystemExit(f'The interop app needs {allowed} as result backend; {found}: set CELERY_RESULT_BACKEND or pass --result-backend.')
