#!/usr/bin/env bash
# Runs every test project of Fennel and prints one summary.
#
#   bash scripts/test.sh                 # restore, build once, run every test project
#   bash scripts/test.sh Fennel.Tests    # only the projects whose name contains the word
#
# Needs the .NET SDK; installs what else the tests use when it is missing (redis-server, Python Celery 5 from Debian,
# with apt-get; run as root or install them first) and starts one private redis-server on a free loopback port for the
# whole run, found by tests through FENNEL_TEST_REDIS. It is stopped when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- servers and tools the tests use --------------------------------------------------------------------------------
needed=()
command -v redis-server >/dev/null || needed+=(redis-server)
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null || needed+=(python3-celery python3-redis)
if [[ ${#needed[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "scripts/test.sh: missing ${needed[*]}; install them (apt-get install ${needed[*]}) or run as root." >&2
    exit 1
  fi
  echo "==> installing ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
servers=$(mktemp -d "${TMPDIR:-/tmp}/fennel-servers.XXXXXX")
pids=()
cleanup() {
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

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration=${CONFIGURATION:-Debug}
filter=${1:-}
logs=$(mktemp -d "${TMPDIR:-/tmp}/fennel-tests.XXXXXX")

echo "==> restore and build ($configuration)"
dotnet restore Fennel.slnx --verbosity quiet
dotnet build Fennel.slnx --configuration "$configuration" --no-restore --verbosity quiet -nologo

passed=0 failed=0 skipped=0 broken=()
for project in test/*/*.csproj; do
  name=$(basename "$project" .csproj)
  case "$name" in *Tests) ;; *) continue ;; esac
  [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
  echo "==> $name"
  log="$logs/$name.log"
  set +e
  dotnet test "$project" --configuration "$configuration" --no-build --nologo 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  # The runner's closing line: "Passed!  - Failed:     0, Passed:   127, Skipped:     0, Total:   127, ..."
  line=$(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | tail -n 1 || true)
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
