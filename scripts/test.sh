#!/usr/bin/env bash
# Runs every test project of Fennel and prints one summary.
#
#   bash scripts/test.sh                 # restore, build once, run every test project
#   bash scripts/test.sh Fennel.Tests    # only the projects whose name contains the word
#   TEST_FILTER=RemoteControl bash scripts/test.sh Interop   # only the tests whose full name contains the text, with
#                                                            # their output (ITestOutputHelper) shown
#
# Needs the .NET SDK; installs what else the tests use when it is missing (redis-server, rabbitmq-server, Python Celery 5,
# supervisor and chromium from Debian, with apt-get; run as root or install them first) and starts, for the whole run, on free loopback ports:
#   - one private redis-server, found by tests through FENNEL_TEST_REDIS (redis://127.0.0.1:PORT);
#   - one private RabbitMQ node with the vhosts fennel-tests, interop, integration and other, found through
#     FENNEL_TEST_AMQP (amqp://guest:guest@127.0.0.1:PORT, tests add the vhost) and FENNEL_TEST_RABBITMQCTL (a
#     rabbitmqctl for that node: list_queues, stop_app/start_app, eval).
# Both are stopped, and their folders removed, when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- servers and tools the tests use --------------------------------------------------------------------------------
# Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user when run as root; the scripts behind it run the node
# as whoever calls them, with the folders, ports and name given here.
rabbitmq_bin=/usr/lib/rabbitmq/bin
needed=()
command -v redis-server >/dev/null || needed+=(redis-server)
[[ -x $rabbitmq_bin/rabbitmq-server ]] || needed+=(rabbitmq-server)
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || needed+=(python3-celery python3-redis)
command -v supervisord >/dev/null || needed+=(supervisor) # the Supervisor integration tests run their own supervisord
# The dashboard's browser tests drive Debian's Chromium through Playwright (which downloads no browser of its own).
export FENNEL_TEST_CHROMIUM=${FENNEL_TEST_CHROMIUM:-/usr/bin/chromium}
[[ -x $FENNEL_TEST_CHROMIUM ]] || needed+=(chromium)
if [[ ${#needed[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "scripts/test.sh: missing ${needed[*]}; install them (apt-get install ${needed[*]}) or run as root." >&2
    exit 1
  fi
  echo "==> installing ${needed[*]}"
  # The packages would start their system services (redis on 6379, a RabbitMQ node on 5672, supervisord) where an init
  # system runs them; a policy-rc.d answering 101 ("action forbidden") keeps them stopped. The tests use their own below.
  policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
  if [[ -n $policy ]]; then rm -f "$policy"; trap - EXIT; fi
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
servers=$(mktemp -d "${TMPDIR:-/tmp}/fennel-servers.XXXXXX")
pids=() rabbitmq_pid=
# The node gets 15 s to stop; then its process group (see setsid below) is killed.
stop_rabbitmq() {
  [[ -n $rabbitmq_pid ]] || return 0
  kill -TERM "$rabbitmq_pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$rabbitmq_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$rabbitmq_pid" 2>/dev/null || true
  wait "$rabbitmq_pid" 2>/dev/null || true
}
cleanup() {
  stop_rabbitmq
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done # a server still writing its log would keep the folder
  rm -rf "$servers"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$servers" \
  --logfile "$servers/redis.log" --daemonize no &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start:"; cat "$servers/redis.log"; exit 1; }
export FENNEL_TEST_REDIS="redis://127.0.0.1:$redis_port"
echo "==> redis-server on 127.0.0.1:$redis_port ($(redis-server --version | cut -d' ' -f3))"

# One RabbitMQ node with everything of its own: folder, AMQP/distribution/epmd ports on loopback, node name and Erlang
# cookie, so it never meets a system node (5672, epmd on 4369) or another run's. No plugins, so it boots sooner.
rabbit=$servers/rabbitmq
mkdir -p "$rabbit/home"
amqp_port=$(free_port) dist_port=$(free_port) epmd_port=$(free_port)
rabbitmq_node=fennel-test-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')@localhost
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$rabbit/home/.erlang.cookie"
chmod 400 "$rabbit/home/.erlang.cookie"
echo '[].' >"$rabbit/enabled_plugins"
: >"$rabbit/rabbitmq-env.conf" # instead of /etc/rabbitmq/rabbitmq-env.conf
cat >"$rabbit/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$amqp_port
# The long-task tests rely on this: a delivery unacknowledged for 20 s closes its channel (default 30 min).
consumer_timeout = 20000
load_definitions = $rabbit/definitions.json
EOF
# Vhosts by test project: fennel-tests Fennel.RabbitMQ.Tests, interop Fennel.Interop.Tests, integration
# Fennel.IntegrationTests, other the rest. Definitions loaded at boot replace the default user, so guest is here too.
cat >"$rabbit/definitions.json" <<'EOF'
{
  "users": [{ "name": "guest", "password": "guest", "tags": "administrator" }],
  "vhosts": [{ "name": "/" }, { "name": "fennel-tests" }, { "name": "interop" }, { "name": "integration" }, { "name": "other" }],
  "permissions": [
    { "user": "guest", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*" },
    { "user": "guest", "vhost": "fennel-tests", "configure": ".*", "write": ".*", "read": ".*" },
    { "user": "guest", "vhost": "interop", "configure": ".*", "write": ".*", "read": ".*" },
    { "user": "guest", "vhost": "integration", "configure": ".*", "write": ".*", "read": ".*" },
    { "user": "guest", "vhost": "other", "configure": ".*", "write": ".*", "read": ".*" }
  ]
}
EOF
# rabbitmqctl for this node, for tests (FENNEL_TEST_RABBITMQCTL) and for this script. Its own distribution port is
# any free one on loopback (0..0), not the shared 35672..35682.
cat >"$servers/rabbitmqctl" <<EOF
#!/bin/sh
export HOME='$rabbit/home' RABBITMQ_NODENAME='$rabbitmq_node' ERL_EPMD_PORT=$epmd_port \\
  RABBITMQ_CONF_ENV_FILE='$rabbit/rabbitmq-env.conf' RABBITMQ_CTL_DIST_PORT_MIN=0 RABBITMQ_CTL_DIST_PORT_MAX=0 \\
  RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
exec $rabbitmq_bin/rabbitmqctl "\$@"
EOF
chmod +x "$servers/rabbitmqctl"

# The node boots (about 6 s on 2 cores) while the solution builds; the tests wait for it below.
# epmd is ours, started before the node, so the node does not start a daemon one that would outlive the run.
epmd -port "$epmd_port" -address 127.0.0.1 &
pids+=($!)
for _ in $(seq 100); do epmd -port "$epmd_port" -names >/dev/null 2>&1 && break; sleep 0.05; done
epmd -port "$epmd_port" -names >/dev/null 2>&1 || { echo "epmd did not start on 127.0.0.1:$epmd_port"; exit 1; }
# setsid: the node is a process group of its own. On SIGTERM rabbitmq-server stops the node and waits for it.
HOME=$rabbit/home RABBITMQ_NODENAME=$rabbitmq_node ERL_EPMD_PORT=$epmd_port RABBITMQ_DIST_PORT=$dist_port \
  RABBITMQ_CONF_ENV_FILE=$rabbit/rabbitmq-env.conf RABBITMQ_CONFIG_FILE=$rabbit/rabbitmq.conf \
  RABBITMQ_ADVANCED_CONFIG_FILE=$rabbit/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$rabbit/enabled_plugins \
  RABBITMQ_MNESIA_BASE=$rabbit/mnesia RABBITMQ_LOG_BASE=$rabbit/log RABBITMQ_PID_FILE=$rabbit/rabbitmq.pid \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
  setsid "$rabbitmq_bin/rabbitmq-server" >"$rabbit/stdout.log" 2>&1 &
rabbitmq_pid=$!
export FENNEL_TEST_AMQP="amqp://guest:guest@127.0.0.1:$amqp_port" FENNEL_TEST_RABBITMQCTL=$servers/rabbitmqctl

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration=${CONFIGURATION:-Debug}
filter=${1:-}
logs=$(mktemp -d "${TMPDIR:-/tmp}/fennel-tests.XXXXXX")

echo "==> restore and build ($configuration)"
dotnet restore Fennel.slnx --verbosity quiet
dotnet build Fennel.slnx --configuration "$configuration" --no-restore --verbosity quiet -nologo

# The node opens its AMQP listener last, after the vhosts are loaded: the port answering means ready.
waited=$(date +%s%N)
amqp_ready() { (: <"/dev/tcp/127.0.0.1/$amqp_port") 2>/dev/null; }
for _ in $(seq 1200); do amqp_ready && break; kill -0 "$rabbitmq_pid" 2>/dev/null || break; sleep 0.05; done
amqp_ready || { echo "rabbitmq-server did not start:"; cat "$rabbit/stdout.log" "$rabbit"/log/*.log 2>/dev/null; exit 1; }
echo "==> rabbitmq-server $(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null) on 127.0.0.1:$amqp_port," \
  "node $rabbitmq_node (the tests waited $(( ($(date +%s%N) - waited) / 1000000 )) ms for it)"

passed=0 failed=0 skipped=0 broken=()
for project in test/*/*.csproj; do
  name=$(basename "$project" .csproj)
  case "$name" in *Tests) ;; *) continue ;; esac
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  echo "==> $name"
  log="$logs/$name.log"
  set +e
  dotnet test "$project" --configuration "$configuration" --no-build --nologo \
    ${TEST_FILTER:+--filter "FullyQualifiedName~$TEST_FILTER" --logger "console;verbosity=detailed"} 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  # The runner's closing line: "Passed!  - Failed:     0, Passed:   127, Skipped:     0, Total:   127, ..."
  line=$(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | tail -n 1 || true)
  if [[ -z "$line" ]] && grep -qE '^ *Total tests: ' "$log"; then
    # The detailed logger (TEST_FILTER) ends with "Total tests: N / Passed: N / Failed: N / Skipped: N" lines instead.
    count() { local n; n=$(grep -E "^ +$1: +[0-9]+" "$log" | tail -n 1 | sed -E 's/.*: +([0-9]+).*/\1/' || true); echo "${n:-0}"; }
    line="Failed: $(count Failed), Passed: $(count Passed), Skipped: $(count Skipped)"
  fi
  if [[ -z "$line" ]]; then
    broken+=("$name (no test results; exit $status)")
    continue
  fi
  p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failed: +([0-9]+),.*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [[ $status -ne 0 || $f -ne 0 ]]; then broken+=("$name ($f failed)"); fi
  if [[ $p -eq 0 ]]; then broken+=("$name (ran no test)"); fi
done

echo
echo "==> summary"
for b in "${broken[@]}"; do echo "  FAILED: $b"; done
echo "$passed passed, $failed failed, $skipped skipped"
if [[ ${#broken[@]} -gt 0 || $passed -eq 0 ]]; then exit 1; fi
