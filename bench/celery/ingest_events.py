"""The event stream of the dashboard ingest benchmark (bench/dashboard-ingest.sh), made by Celery itself.

  python3 ingest_events.py record --broker redis://127.0.0.1:PORT/0 --tasks 50000 --out stream.jsonl
  python3 ingest_events.py publish --broker redis://127.0.0.1:PORT/0 --stream stream.jsonl

record: Celery's own EventDispatcher, set up as a worker sets it up (task events buffered in groups of 24 and sent as
task.multi), sends task-received, task-started and task-succeeded for N distinct task ids, with the fields a worker
gives them (celery/worker/strategy.py and request.py). The Redis transport's PUBLISH is intercepted, so every message
is recorded exactly as kombu would put it on the wire (channel and payload), one JSON line each, and nothing is sent.

publish: sends the recorded messages with PUBLISH, pipelined (200 per round trip), as fast as Redis takes them, so the
same bytes reach every consumer and the producer is not what is measured. Prints one JSON line: when publishing began
and ended, how many messages, events and bytes.
"""
import argparse
import base64
import json
import sys
import time
import uuid


def record(broker, tasks, out, hostname):
    from celery import Celery
    from kombu.transport import redis as kombu_redis

    captured = []

    def put_fanout(channel, exchange, message, routing_key, **kwargs):
        captured.append([channel._get_publish_topic(exchange, routing_key), kombu_redis.dumps(message)])

    kombu_redis.Channel._put_fanout = put_fanout
    app = Celery('ingest', broker=broker)
    namespace = uuid.UUID('6b1d3c5e-2f0a-4c8e-9a51-0d7f3e2b9c41')
    with app.connection_for_write() as connection:
        # The worker's dispatcher (celery/worker/consumer/events.py): buffer_group=['task'], buffer_limit 24 (the default).
        dispatcher = app.events.Dispatcher(connection, hostname=hostname, buffer_group=['task'])
        for i in range(tasks):
            task_id = str(uuid.uuid5(namespace, str(i)))
            dispatcher.send('task-received', uuid=task_id, name='bench.add', args='(%d, %d)' % (i, i), kwargs='{}',
                            root_id=task_id, parent_id=None, retries=0, eta=None, expires=None)
            dispatcher.send('task-started', uuid=task_id)
            dispatcher.send('task-succeeded', uuid=task_id, result=repr(2 * i), runtime=0.000512)
        dispatcher.flush()
        dispatcher.close()
    events = 0
    with open(out, 'w') as f:
        for channel, payload in captured:
            body = json.loads(base64.b64decode(json.loads(payload)['body']))
            events += len(body) if isinstance(body, list) else 1
            f.write(json.dumps([channel, payload]) + '\n')
    print(json.dumps({'messages': len(captured), 'events': events, 'channel': captured[0][0] if captured else None}))


def publish(broker, stream):
    import redis

    with open(stream) as f:
        messages = [json.loads(line) for line in f]
    client = redis.Redis.from_url(broker)
    client.ping()
    size = sum(len(payload) for _, payload in messages)
    started = time.time()
    cpu = time.process_time()
    pipe = client.pipeline(transaction=False)
    receivers = None  # the fewest subscribers any message reached (PUBLISH's answer): 0 means one was lost
    for i, (channel, payload) in enumerate(messages, 1):
        pipe.publish(channel, payload)
        if i % 200 == 0 or i == len(messages):
            answers = pipe.execute()
            receivers = min(answers + ([receivers] if receivers is not None else []))
    ended = time.time()
    cpu = time.process_time() - cpu
    print(json.dumps({'started_at': started, 'ended_at': ended, 'messages': len(messages), 'bytes': size,
                      'min_receivers': receivers, 'cpu_seconds': cpu}))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    r = sub.add_parser('record')
    r.add_argument('--broker', required=True)
    r.add_argument('--tasks', type=int, default=50000)
    r.add_argument('--out', required=True)
    r.add_argument('--hostname', default='celery@ingest-bench')
    p = sub.add_parser('publish')
    p.add_argument('--broker', required=True)
    p.add_argument('--stream', required=True)
    args = parser.parse_args(argv)
    if args.command == 'record':
        record(args.broker, args.tasks, args.out, args.hostname)
    else:
        publish(args.broker, args.stream)


if __name__ == '__main__':
    main(sys.argv[1:])
