#!/usr/bin/env bash
# Dashboard ingest: how fast the Fennel dashboard takes in Celery events, against what Flower is built on (Celery's
# EventReceiver + celery.events.state.State). See docs/benchmarks.md, "Dashboard ingest".
#
#   bash bench/dashboard-ingest.sh                 # 50,000 tasks: 150,000 events (received, started, succeeded)
#   bash bench/dashboard-ingest.sh --tasks 5000    # a quick check
#
# One stream of real Celery task events is recorded once (Celery's own EventDispatcher, as a worker sets it up: task
# events in task.multi batches of 24), then, for each consumer alone (Fennel first, then Celery; never both at once):
# a fresh private redis-server on a free loopback port (persistence off; no output-buffer limit for subscribers, so a
# consumer that falls behind is not disconnected: the backlog waits in Redis or in the consumer), the consumer is
# started and subscribed (Redis counts its PSUBSCRIBE), it idles 3 s, and the recorded stream is published at once.
# Needs the .NET SDK, redis-server/redis-cli and Debian's python3-celery (/usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
py=/usr/bin/python3

tasks=50000
while [[ $# -gt 0 ]]; do
  case $1 in
    --tasks) tasks=$2; shift 2 ;;
    *) echo "bench/dashboard-ingest.sh: unknown option '$1' (only --tasks N)" >&2; exit 64 ;;
  esac
done
[[ $tasks =~ ^[1-9][0-9]*$ ]] || { echo "bench/dashboard-ingest.sh: --tasks wants a positive number, not '$tasks'" >&2; exit 64; }
events=$((tasks * 3))

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "bench/dashboard-ingest.sh: redis-server or redis-cli is missing (apt-get install redis-server)" >&2; exit 1; }
$py -c 'import celery, redis' 2>/dev/null ||
  { echo "bench/dashboard-ingest.sh: Celery is missing for $py (apt-get install python3-celery python3-redis)" >&2; exit 1; }

dotnet build bench/Fennel.Bench/Fennel.Bench.csproj --configuration Release --nologo --verbosity quiet >&2
exe=bench/Fennel.Bench/bin/Release/net10.0/Fennel.Bench
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- src bench 2>/dev/null) ]]; then commit="$commit+local changes"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fennel-ingest.XXXXXX")
redis_pid="" consumer_pid="" port=""
cleanup() {
  [[ -n $consumer_pid ]] && kill "$consumer_pid" 2>/dev/null && wait "$consumer_pid" 2>/dev/null
  [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_redis() {
  port=$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize no \
    --client-output-buffer-limit 'pubsub 0 0 0' >"$work/redis-$1.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench/dashboard-ingest.sh: redis-server did not start; its log:" >&2; cat "$work/redis-$1.log" >&2; exit 1
}

stop_redis() {
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
}

# CPU time every process of the machine has used since boot, in clock ticks (/proc/stat: all but idle and iowait).
machine_busy_ticks() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# The CPU time redis-server has used so far (s).
redis_cpu() { redis-cli -p "$port" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/{ s += $2 } END { printf "redis_cpu %.3f\n", s }'; }

# consume NAME COMMAND... (@URL@ in it is the broker): a fresh Redis, the consumer subscribed and idle, the stream
# published, its JSON line and Redis's peak memory kept.
consume() {
  local name=$1; shift
  start_redis "$name"
  local url="redis://127.0.0.1:$port/0"
  echo "== $name: consumer starting" >&2
  "${@//@URL@/$url}" >"$work/$name.out" 2>"$work/$name.err" &
  consumer_pid=$!
  local waited=0
  until grep -q '^ready$' "$work/$name.out" 2>/dev/null && [[ $(redis-cli -p "$port" PUBSUB NUMPAT) -ge 1 ]]; do
    sleep 0.1; waited=$((waited + 1))
    if [[ $waited -gt 600 ]] || ! kill -0 "$consumer_pid" 2>/dev/null; then
      echo "bench/dashboard-ingest.sh: the $name consumer did not subscribe; its output:" >&2
      cat "$work/$name.out" "$work/$name.err" >&2; exit 1
    fi
  done
  sleep 3
  echo "== $name: subscribed; publishing $events events" >&2
  redis_cpu >"$work/$name.redis"
  machine_busy_ticks >"$work/$name.busy"
  awk '{ print $14 + $15 }' "/proc/$consumer_pid/stat" >"$work/$name.cpu"
  $py bench/celery/ingest_events.py publish --broker "$url" --stream "$work/stream.jsonl" >"$work/$name.publish"
  if ! wait "$consumer_pid"; then
    consumer_pid=""
    echo "bench/dashboard-ingest.sh: the $name consumer failed; its output:" >&2
    cat "$work/$name.out" "$work/$name.err" >&2; exit 1
  fi
  consumer_pid=""
  redis_cpu >>"$work/$name.redis"
  redis-cli -p "$port" INFO memory | tr -d '\r' | sed -n 's/^used_memory_peak:/redis_peak_bytes /p' >>"$work/$name.redis"
  stop_redis
}

echo "== recording $events events ($tasks tasks) with Celery's EventDispatcher" >&2
start_redis record
$py bench/celery/ingest_events.py record --broker "redis://127.0.0.1:$port/0" --tasks "$tasks" --out "$work/stream.jsonl" >"$work/record.json"
stop_redis

consume fennel "$exe" dashboard-ingest -b @URL@ -l warning --events "$events" --history "$work/fennel-dashboard.db" --timeout 900
consume celery $py bench/celery/ingest_state.py --broker @URL@ --tasks "$tasks" --timeout 900

echo "== Fennel's ingest steps one by one, on the recorded stream (no broker)" >&2
"$exe" dashboard-ingest-parts -l warning --stream "$work/stream.jsonl" --history "$work/parts.db" >"$work/parts.out"

$py - "$work" "$tasks" "$commit" "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" "$(dotnet --version)" <<'EOF'
import json, os, platform, sys, time
work, tasks, commit, redis_version, sdk = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
import celery, kombu
events = 3 * tasks
def load(name):
    out = [l for l in open(os.path.join(work, name + '.out')) if l.startswith('{')]
    r = json.loads(out[-1])
    r['publish'] = json.loads(open(os.path.join(work, name + '.publish')).read())
    redis = [l.split() for l in open(os.path.join(work, name + '.redis'))]
    r['redis_cpu'] = float(redis[1][1]) - float(redis[0][1])
    r['redis_peak_bytes'] = int(redis[2][1])
    r['machine_busy'] = (r['machine_busy_ticks'] - int(open(os.path.join(work, name + '.busy')).read())) / os.sysconf('SC_CLK_TCK')
    r['cpu_seconds'] = r['cpu_total_seconds'] - int(open(os.path.join(work, name + '.cpu')).read()) / os.sysconf('SC_CLK_TCK')
    return r
record = json.loads(open(os.path.join(work, 'record.json')).read())
f, c = load('fennel'), load('celery')
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?')
mem = next(int(l.split()[1]) for l in open('/proc/meminfo') if l.startswith('MemTotal'))
print(f"Dashboard ingest, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {tasks:,} tasks, {events:,} task events "
      f"in {record['messages']:,} task.multi messages ({f['publish']['bytes'] / 1048576:.1f} MiB).")
print(f"Machine: {os.cpu_count()} cores ({cpu}), {mem / 1048576:.0f} GiB RAM; redis-server {redis_version}; "
      f".NET SDK {sdk}; Celery {celery.__version__} (kombu {kombu.__version__}, Python {platform.python_version()}); commit {commit}.")
print()
def row(label, fv, cv, fmt):
    print(f"| {label} | {format(fv, fmt)} | {format(cv, fmt)} |")
fw = f['done_at'] - f['publish']['started_at']
cw = c['done_at'] - c['publish']['started_at']
print("| metric | Fennel dashboard (ClusterState + SQLite history) | Celery EventReceiver + State (Flower's core, memory only) |")
print("|---|--:|--:|")
row("Events/s (task events / wall time)", events / fw, events / cw, ',.0f')
row("Wall time: first PUBLISH → every event applied (s)", fw, cw, '.3f')
row("Publishing the stream took (s)", f['publish']['ended_at'] - f['publish']['started_at'],
    c['publish']['ended_at'] - c['publish']['started_at'], '.3f')
row("Consumer CPU, first PUBLISH → done (s)", f['cpu_seconds'], c['cpu_seconds'], '.2f')
row("Consumer CPU per event (µs)", f['cpu_seconds'] / events * 1e6, c['cpu_seconds'] / events * 1e6, '.1f')
row("Machine CPU used, first PUBLISH → done, all processes (s; 2 cores give 2 s per s)", f['machine_busy'], c['machine_busy'], '.2f')
row("of it Redis (s)", f['redis_cpu'], c['redis_cpu'], '.2f')
row("of it the producer (s)", f['publish']['cpu_seconds'], c['publish']['cpu_seconds'], '.2f')
row("left for other processes (machine − consumer − Redis − producer, s)",
    f['machine_busy'] - f['cpu_seconds'] - f['redis_cpu'] - f['publish']['cpu_seconds'],
    c['machine_busy'] - c['cpu_seconds'] - c['redis_cpu'] - c['publish']['cpu_seconds'], '.2f')
row("Peak RSS of the consumer (MiB)", f['peak_rss_kib'] / 1024, c['peak_rss_kib'] / 1024, '.1f')
row("RSS when subscribed, before the stream (MiB)", f['rss_ready_kib'] / 1024, c['rss_ready_kib'] / 1024, '.1f')
row("Redis used_memory_peak (MiB; a backlog waiting for the consumer counts here)", f['redis_peak_bytes'] / 1048576,
    c['redis_peak_bytes'] / 1048576, '.1f')
print()
print(f"Checked: Fennel's history holds {f['history_by_state']} ({f['task_events_applied']:,} task events applied, "
      f"the file {f['history_bytes'] / 1048576:.1f} MiB with its WAL); Celery's State holds {c['tasks_in_state']:,} tasks, "
      f"{c['tasks_in_success']:,} in SUCCESS. Every message reached the subscriber (PUBLISH answered ≥ "
      f"{min(f['publish']['min_receivers'], c['publish']['min_receivers'])}).")
parts = json.loads([l for l in open(os.path.join(work, 'parts.out')) if l.startswith('{')][-1])
n = parts['events']
print()
print(f"Fennel's ingest steps one after the other on one thread, no broker, the same {parts['messages']:,} messages "
      f"({n:,} events), each warmed on the first 5 % first:")
print()
print("| step | wall (s) | events/s | process CPU (s) | CPU per event (µs) | allocated per event (B) |")
print("|---|--:|--:|--:|--:|--:|")
for key, label in [('decode', 'decode: kombu envelope, base64, JSON, CeleryEvent'), ('cluster_state', 'ClusterState.Apply'),
                   ('metrics', 'TaskMetrics.Apply'), ('history', 'TaskHistoryStore: AppendAsync each, FlushAsync (SQLite writer)')]:
    st = parts[key]
    print(f"| {label} | {st['Seconds']:.3f} | {n / st['Seconds']:,.0f} | {st['CpuSeconds']:.2f} | {st['CpuSeconds'] / n * 1e6:.1f} | {st['AllocatedBytes'] / n:,.0f} |")
EOF
