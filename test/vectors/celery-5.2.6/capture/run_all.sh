#!/usr/bin/env bash
# Regenerate every test vector in ../ (test/vectors/celery-5.2.6 in the repository).
# WARNING: flushes Redis db 3 and deletes all queues/exchanges in vhost 'interop'.
# Needs: /usr/bin/python3 with celery 5.2.6 / kombu 5.2.4, redis-server on
# 127.0.0.1:6379, rabbitmq on 127.0.0.1:5672 with vhost 'interop' (guest).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$(dirname "$HERE")}
RAW=${RAW:-/tmp/celery-capture-raw}
PY=/usr/bin/python3
cd "$HERE"
rm -rf "$RAW"; mkdir -p "$RAW"
$PY capture_publish.py redis "$OUT"
redis-cli -n 3 flushdb >/dev/null
$PY capture_publish.py amqp "$OUT"
$PY capture_worker.py redis "$RAW/redis"
$PY capture_worker.py amqp "$RAW/amqp"
$PY capture_worker.py amqp "$RAW/amqp_rpc" rpc
$PY split_capture.py "$RAW" "$OUT"
$PY capture_header_types.py "$OUT"
mkdir -p "$OUT/raw"
cp "$RAW/redis/_worker.log" "$OUT/raw/worker_redis.log"
cp "$RAW/amqp/_worker.log" "$OUT/raw/worker_amqp.log"
cp "$RAW/amqp_rpc/_worker.log" "$OUT/raw/worker_amqp_rpc.log"
cp "$RAW/redis/_pubsub.json" "$OUT/events/redis/_all_pubsub_messages.json"
for k in redis amqp amqp_rpc; do cp "$RAW/$k/results_summary.json" "$OUT/raw/client_results_$k.json"; done
# leave the vhost clean (phase-1 left no messages: the worker session reset it)
echo "vectors written to $OUT"
