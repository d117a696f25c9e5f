#!/usr/bin/env bash
# Fennel's benchmark: builds bench/Fennel.Bench in Release and runs it once. Fennel and Celery are measured one after
# another on one private broker per run: a redis-server (loopback, free port, persistence off) and/or a RabbitMQ node
# (loopback, free ports, its own data folder, epmd and cookie; no plugins).
#
#   bash bench/run.sh                            # on Redis: Fennel, Celery -P threads, Celery -P prefork
#   bash bench/run.sh --brokers amqp             # on RabbitMQ: Fennel, Celery threads/prefork/solo, RabbitMQ.Client alone
#   bash bench/run.sh --brokers all              # both, one after the other
#   bash bench/run.sh --output /tmp/bench.md     # any option of: bench/Fennel.Bench/bin/Release/net10.0/Fennel.Bench run --help
#   bash bench/run.sh --scenario io              # I/O-bound (on Redis): 2,000 bench.sleep(10 ms) drained by Fennel -P async
#                                                # -c 100 and Celery -P gevent / -P threads -c 100 / -P prefork -c 2, then
#                                                # 10,000 bench.sleep(20 s) at once on one worker (Fennel, Celery gevent)
#   bash bench/run.sh --scenario io --io-tasks 200 --sleepers 500 --sleeper-seconds 3   # the same, small: a quick check
#
# Needs the .NET SDK, redis-server and Debian's python3-celery (/usr/bin/python3; the pyenv python3 has no Celery);
# --scenario io also Debian's python3-gevent (for Celery's -P gevent);
# on RabbitMQ also Debian's rabbitmq-server (run from /usr/lib/rabbitmq/bin as the calling user, never as a service).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v redis-server >/dev/null || { echo "bench/run.sh: redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
if [[ " $* " == *" --brokers amqp "* || " $* " == *" --brokers all "* ]] && [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
  echo "bench/run.sh: rabbitmq-server is missing (apt-get install rabbitmq-server)" >&2; exit 1
fi
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null ||
  { echo "bench/run.sh: Celery is missing for /usr/bin/python3 (apt-get install python3-celery python3-redis)" >&2; exit 1; }
if [[ " $* " == *" --scenario io "* ]] && ! /usr/bin/python3 -c 'import gevent' 2>/dev/null; then
  echo "bench/run.sh: gevent is missing for /usr/bin/python3, which --scenario io needs for Celery -P gevent (apt-get install python3-gevent)" >&2; exit 1
fi

dotnet build bench/Fennel.Bench/Fennel.Bench.csproj --configuration Release --nologo --verbosity quiet >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- src bench 2>/dev/null) ]]; then commit="$commit+local changes"; fi
exec bench/Fennel.Bench/bin/Release/net10.0/Fennel.Bench run --commit "$commit" "$@"
