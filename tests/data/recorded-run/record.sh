#!/usr/bin/env bash
# Re-record tests/data/recorded-run/spans.jsonl from one real `parley demo` run (see README.md).
#
#   bash tests/data/recorded-run/record.sh [OUT]     # OUT defaults to spans.jsonl beside this script
#
# Builds the parley binary, starts `parley collect` on a free loopback port, runs
# `parley demo --otlp-forward` at it, stops the collector with SIGTERM (it flushes) and keeps
# what it wrote. Needs nats-server (as `parley demo` does).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$here/spans.jsonl}"
work="$(mktemp -d)"
collector=""
cleanup() {
    if [ -n "$collector" ] && kill -0 "$collector" 2>/dev/null; then
        kill -TERM "$collector" 2>/dev/null || true
        wait "$collector" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --manifest-path "$root/Cargo.toml" -p parley-cli
parley="$root/target/debug/parley"
[ -n "${CARGO_TARGET_DIR:-}" ] && parley="$CARGO_TARGET_DIR/debug/parley"

# The collector picks its own free ports and prints them: "listening on grpc A http B".
"$parley" collect --grpc 127.0.0.1:0 --http 127.0.0.1:0 --out "$work/spans.jsonl" \
    >"$work/collect.log" 2>&1 &
collector=$!
http=""
for _ in $(seq 1 100); do
    http="$(sed -n 's/.*listening on grpc [^ ]* http \([^ ]*\).*/\1/p' "$work/collect.log")"
    [ -n "$http" ] && break
    kill -0 "$collector" 2>/dev/null || { cat "$work/collect.log" >&2; exit 3; }
    sleep 0.1
done
[ -n "$http" ] || { echo "the collector never said where it listens" >&2; cat "$work/collect.log" >&2; exit 3; }

"$parley" demo --out-dir "$work/demo" --otlp-forward "http://$http"
sleep 2 # spans still in flight from the services' batch exporters
kill -TERM "$collector"
wait "$collector"
collector=""
cat "$work/collect.log"
mkdir -p "$(dirname "$out")"
mv "$work/spans.jsonl" "$out"
echo "recorded $(wc -l <"$out") export requests, $(wc -c <"$out") bytes, in $out"
