#!/usr/bin/env bash
# Runs the OCI distribution-spec conformance suite (v1.1.1 by default) against a fresh Wharf and
# prints its figures per category. docs/testing.md ("OCI conformance") has the last measured ones.
#
#   scripts/conformance.sh [--dir DIR] [--version TAG] [--keep]
#
# Steps: builds the suite (git clone of github.com/opencontainers/distribution-spec at TAG, then
# `go test -c` in conformance/, which fetches its modules through the Go module proxy), starts
# `wharf serve` from src/ (node --import tsx) on a free loopback port with an empty data folder,
# runs the suite with pull, push, content discovery and content management on, as admin, in
# library/conformance (cross-mounts into library/crossmount), then stops Wharf. The suite's
# junit.xml, report.html and output (out.txt) stay in DIR/report. The exit status is the suite's.
#
# Needs: git, Go (1.20 or newer for v1.1.1's go.mod; 1.19 builds it too with the modules in
# GOPATH, see docs/testing.md), node with the project's dependencies, python3 (for the figures),
# curl. DIR defaults to a new temporary folder; --keep keeps it and Wharf's data folder.
#
# Variables: OCI_CONFORMANCE_BIN names an already built suite binary (skips the build);
# OCI_CONFORMANCE_DATABASE_URL runs Wharf on that (empty) PostgreSQL database instead of SQLite;
# OCI_DEBUG=1 makes the suite log every request and response.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=v1.1.1
DIR=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "conformance: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$DIR" ] || DIR=$(mktemp -d /tmp/wharf-conformance.XXXXXX)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
ADMIN_PASSWORD=Harbor12345
WHARF_PID=""

cleanup() {
  if [ -n "$WHARF_PID" ] && kill -0 "$WHARF_PID" 2>/dev/null; then
    kill "$WHARF_PID" 2>/dev/null || true
    wait "$WHARF_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 0 ]; then rm -rf "$DIR/data"; fi
}
trap cleanup EXIT INT TERM

# 1. The suite.
BIN=${OCI_CONFORMANCE_BIN:-}
if [ -z "$BIN" ]; then
  SRC="$DIR/distribution-spec"
  if [ ! -d "$SRC" ]; then
    echo "conformance: cloning distribution-spec $VERSION" >&2
    git clone --quiet --depth 1 --branch "$VERSION" https://github.com/opencontainers/distribution-spec.git "$SRC"
  fi
  echo "conformance: building the suite (go test -c)" >&2
  (cd "$SRC/conformance" && go test -c -o "$DIR/conformance.test" .)
  BIN="$DIR/conformance.test"
fi

# 2. A fresh Wharf.
PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
URL="http://127.0.0.1:$PORT"
rm -rf "$DIR/data" && mkdir -p "$DIR/data"
echo "conformance: starting wharf serve on $URL (log: $DIR/wharf.log)" >&2
(
  cd "$ROOT"
  export WHARF_HOST=127.0.0.1 WHARF_PORT="$PORT" WHARF_DATA_DIR="$DIR/data" WHARF_EXTERNAL_URL="$URL"
  export WHARF_ADMIN_PASSWORD="$ADMIN_PASSWORD" WHARF_LOG_LEVEL=info WHARF_SCANNING__VULNDB__UPDATE_SCHEDULE=None
  if [ -n "${OCI_CONFORMANCE_DATABASE_URL:-}" ]; then export WHARF_DATABASE__URL="$OCI_CONFORMANCE_DATABASE_URL"; fi
  exec node --import tsx src/main.ts serve
) >"$DIR/wharf.log" 2>&1 &
WHARF_PID=$!
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$WHARF_PID" 2>/dev/null; then echo "conformance: wharf exited:" >&2; cat "$DIR/wharf.log" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS -o /dev/null "$URL/readyz" || { echo "conformance: wharf did not become ready" >&2; exit 1; }

# 3. The run. The two settings-dependent alternatives (a tag from OCI_TAG_NAME, tags from
#    OCI_TAG_LIST) are skipped by the suite when it pushes its own; automatic cross-mount
#    (a mount without `from`) is off in Wharf, hence OCI_AUTOMATIC_CROSSMOUNT=0.
mkdir -p "$DIR/report"
set +e
(
  cd "$DIR/report"
  OCI_ROOT_URL="$URL" OCI_NAMESPACE=library/conformance OCI_CROSSMOUNT_NAMESPACE=library/crossmount \
    OCI_USERNAME=admin OCI_PASSWORD="$ADMIN_PASSWORD" \
    OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1 \
    OCI_HIDE_SKIPPED_WORKFLOWS=0 OCI_AUTOMATIC_CROSSMOUNT=0 OCI_REPORT_DIR="$DIR/report" \
    "$BIN" >"$DIR/report/out.txt" 2>&1
)
STATUS=$?
set -e

# 4. The figures, per category, from junit.xml.
python3 - "$DIR/report/junit.xml" <<'EOF'
import sys, collections, xml.etree.ElementTree as ET
prefix = 'OCI Distribution Conformance Tests '
counts = collections.OrderedDict((c, collections.Counter()) for c in ['Pull', 'Push', 'Content Discovery', 'Content Management'])
for tc in ET.parse(sys.argv[1]).iter('testcase'):
    name = tc.get('name', '')
    cat = next((c for c in counts if name.startswith(prefix + c + ' ')), None)
    if cat is None:
        continue
    state = 'skipped' if tc.find('skipped') is not None else 'failed' if tc.find('failure') is not None or tc.find('error') is not None else 'passed'
    counts[cat][state] += 1
    if state == 'failed':
        print('FAILED  ' + name[len(prefix):])
total = collections.Counter()
print('%-20s %7s %7s %8s' % ('category', 'passed', 'failed', 'skipped'))
for cat, c in counts.items():
    total.update(c)
    print('%-20s %7d %7d %8d' % (cat, c['passed'], c['failed'], c['skipped']))
print('%-20s %7d %7d %8d' % ('total', total['passed'], total['failed'], total['skipped']))
EOF
echo "conformance: report in $DIR/report (junit.xml, report.html, out.txt); suite exit status $STATUS" >&2
exit "$STATUS"
