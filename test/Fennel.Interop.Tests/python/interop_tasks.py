"""The Celery interop contract tasks, for a real Celery worker. samples/Interop registers the same tasks in .NET.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/2 CELERY_RESULT_BACKEND=redis://127.0.0.1:6379/2 \\
        /usr/bin/python3 -m celery -A interop_tasks worker -Q interop -n interop-py@%h -P threads -c 4 -l info

    CELERY_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/interop CELERY_RESULT_BACKEND=rpc:// \\
        /usr/bin/python3 -m celery -A interop_tasks worker -Q interop -n interop-py@%h -c 2 -l info

(run from this folder; ``celery -A interop_tasks -b URL --result-backend URL worker ...`` works too).

Task names are fixed (``tasks.<name>``) so they do not depend on how the module is imported.
"""
import time

from celery.signals import celeryd_init

from interop_app import create_app, require_supported

app = create_app()


@celeryd_init.connect
def _check_configuration(sender=None, conf=None, **kwargs):
    # Runs when the worker starts, after `celery -b ...` has set the environment: a worker with no broker configured fails
    # at once with a clear message instead of retrying amqp://localhost for ever.
    require_supported(app)


@app.task(name='tasks.add')
def add(x, y):
    return x + y


@app.task(name='tasks.mul')
def mul(x, y):
    return x * y


@app.task(name='tasks.tsum')
def tsum(values):
    return sum(values)


@app.task(name='tasks.greet')
def greet(name, greeting='Hello', punctuation='!'):
    return {'message': f'{greeting}, {name}{punctuation}', 'len': len(name)}


@app.task(name='tasks.fail')
def fail(msg='boom'):
    raise ValueError(msg)


@app.task(bind=True, name='tasks.retry_once', max_retries=3)
def retry_once(self, x):
    if self.request.retries == 0:
        raise self.retry(exc=RuntimeError('first attempt fails'), countdown=1)
    return x


@app.task(bind=True, name='tasks.header')
def header(self, name):
    # Custom headers (apply_async(headers={...})) arrive at the top level of the message headers, and Celery puts every
    # header in the task's request.
    return self.request.get(name)


@app.task(name='tasks.sleep')
def sleep(seconds):
    time.sleep(seconds)
    return seconds
