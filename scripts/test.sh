#!/usr/bin/env bash
# Runs every test project of Fennel and prints one summary.
#
#   bash scripts/test.sh                 # restore, build once, run every test project
#   bash scripts/test.sh Fennel.Tests    # only the projects whose name contains the word
#
# Needs only the .NET SDK today. Later transports add the servers they need here (installed and started on
# loopback, one per run, found by tests through FENNEL_TEST_* variables).
set -euo pipefail
cd "$(dirname "$0")/.."

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
