#!/usr/bin/env bash
# Fennel's benchmark: builds bench/Fennel.Bench in Release and runs it once. Fennel, Celery -P threads and Celery
# -P prefork are measured one after another on one private redis-server (loopback, free port, persistence off).
#
#   bash bench/run.sh                            # the report (Markdown) on stdout, progress on stderr
#   bash bench/run.sh --output /tmp/bench.md     # any option of: bench/Fennel.Bench/bin/Release/net10.0/Fennel.Bench run --help
#
# Needs the .NET SDK, redis-server and Debian's python3-celery (/usr/bin/python3; the pyenv python3 has no Celery).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

command -v redis-server >/dev/null || { echo "bench/run.sh: redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
/usr/bin/python3 -c 'import celery, redis' 2>/dev/null ||
  { echo "bench/run.sh: Celery is missing for /usr/bin/python3 (apt-get install python3-celery python3-redis)" >&2; exit 1; }

dotnet build bench/Fennel.Bench/Fennel.Bench.csproj --configuration Release --nologo --verbosity quiet >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- src bench 2>/dev/null) ]]; then commit="$commit+local changes"; fi
exec bench/Fennel.Bench/bin/Release/net10.0/Fennel.Bench run --commit "$commit" "$@"
