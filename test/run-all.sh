#!/usr/bin/env bash
# Every test: typecheck, lint, unit, integration on embedded PostgreSQL and (when reachable)
# on a PostgreSQL server, then end-to-end in real Chromium. Called by `npm run test:all`,
# after `npm install`. Runs every stage, then fails if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

results_dir=$(mktemp -d)
trap 'rm -rf "$results_dir"' EXIT
failed_stages=()
engines=()

stage() {
  local name=$1
  shift
  echo
  echo "=== $name"
  if ! "$@"; then
    failed_stages+=("$name")
  fi
}

ensure_chromium() {
  local chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
  [ -x "$chromium" ] && return 0
  echo "Chromium is not installed; installing Debian's chromium package."
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; }; then
    echo "Could not install Chromium. Install it with: apt-get install chromium (as root)." >&2
    return 1
  fi
}

postgres_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
postgres_reachable() {
  node -e '
    const { Client } = require("pg")
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 })
    client.connect().then(() => client.end()).then(() => process.exit(0), () => process.exit(1))
  ' "$postgres_url"
}

stage "typecheck" npx tsc --noEmit
stage "lint" npx eslint . --max-warnings 0
stage "unit tests" npx vitest run --project unit \
  --reporter=default --reporter=json --outputFile.json="$results_dir/unit.json"
stage "integration tests on embedded PostgreSQL (PGlite)" env TEST_DB_ENGINE=pglite \
  npx vitest run --project integration \
  --reporter=default --reporter=json --outputFile.json="$results_dir/integration-pglite.json"
engines+=("embedded PostgreSQL (PGlite)")
if postgres_reachable; then
  stage "integration tests on PostgreSQL ($postgres_url)" env TEST_DB_ENGINE=postgres \
    TEST_POSTGRES_URL="$postgres_url" npx vitest run --project integration \
    --reporter=default --reporter=json --outputFile.json="$results_dir/integration-postgres.json"
  engines+=("PostgreSQL server at $postgres_url")
else
  echo
  echo "=== PostgreSQL is not reachable at $postgres_url: the PostgreSQL integration run is SKIPPED"
  echo "    (set TEST_POSTGRES_URL, or start PostgreSQL, to include it)"
fi
stage "install Chromium" ensure_chromium
stage "production build" npx next build --webpack
if postgres_reachable; then
  # Three instances of that build over one scratch PostgreSQL database (issue 9, item 4).
  stage "several instances (npm run cluster)" env TEST_POSTGRES_URL="$postgres_url" npm run cluster
else
  echo
  echo "=== PostgreSQL is not reachable at $postgres_url: the several-instances run is SKIPPED"
fi
# kill -9 under load and a PostgreSQL restart under load (issue 9, item 3): PGlite always; the
# PostgreSQL kill rounds when $postgres_url is reachable, the restart where initdb/pg_ctl exist.
stage "faults (npm run faults)" env TEST_POSTGRES_URL="$postgres_url" npm run faults
e2e_data=$(mktemp -d)
stage "end-to-end tests in Chromium" env E2E_DATA_DIR="$e2e_data" \
  PLAYWRIGHT_JSON_OUTPUT_NAME="$results_dir/e2e.json" npx playwright test --reporter=list,json
rm -rf "$e2e_data"

echo
echo "=== Summary"
printf 'Integration engines: %s\n' "$(IFS=';'; echo "${engines[*]}" | sed 's/;/; /g')"
node -e '
  const fs = require("fs")
  let passed = 0, failed = 0, skipped = 0
  for (const file of fs.readdirSync(process.argv[1])) {
    const report = JSON.parse(fs.readFileSync(`${process.argv[1]}/${file}`, "utf8"))
    if (report.stats) { // Playwright
      passed += report.stats.expected + report.stats.flaky
      failed += report.stats.unexpected
      skipped += report.stats.skipped
    } else { // Vitest
      passed += report.numPassedTests
      failed += report.numFailedTests
      skipped += report.numPendingTests + report.numTodoTests
    }
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
' "$results_dir"
if [ ${#failed_stages[@]} -gt 0 ]; then
  printf 'FAILED stages: %s\n' "$(IFS=,; echo "${failed_stages[*]}")"
  exit 1
fi
echo "All stages passed."
