#!/usr/bin/env bash
# WAL migration benchmark (issue 5): generates a v1.x (V2) data dir of SIZE (default 2GiB; e.g.
# 512MiB to shrink it) with the hidden `chronik-server debug gen-v2`, then times
# `chronik-server migrate-wal` with 1 and 2 workers against `cp -r` of the same WAL directory.
# Nothing is dropped from the page cache: cp runs first and once more last, and its mean is the
# baseline. Prints MB/s (MB = 10^6 bytes of input) and the ratio to cp.
# Usage: scripts/bench-migrate.sh [SIZE]   (BENCH_DIR=/path puts the data there instead of /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-2GiB}
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/chronik-bench-migrate.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/chronik-server" ./cmd/chronik-server
"$work/chronik-server" debug gen-v2 --data-dir "$work/v1" --size "$size" --partitions 4 --segment-bytes $((64 << 20))
in="$work/v1/wal"
bytes=$(du -sb "$in" | cut -f1)
segs=$(find "$in" -name 'wal_*.log' | wc -l)

now() { date +%s.%N; }
# run LABEL CMD...: times CMD, prints "LABEL seconds MB/s", keeps seconds in $secs.
run() {
  local label=$1; shift
  rm -rf "$work/out"
  sync
  local t0 t1
  t0=$(now)
  "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
  sync
  t1=$(now)
  secs=$(echo "$t1 - $t0" | bc -l)
  printf '%-26s %8.2f s %9.1f MB/s\n' "$label" "$secs" "$(echo "$bytes / 1000000 / $secs" | bc -l)"
}

printf 'input: %s bytes in %s segments (%s), %s cores\n' "$bytes" "$segs" "$size" "$(nproc)"
run "cp -r (first)" cp -r "$in" "$work/out"; cp1=$secs
run "migrate-wal --workers 1" "$work/chronik-server" migrate-wal --input "$in" --output "$work/out" --workers 1; m1=$secs
grep -E 'Found|complete' "$work/last.log" | sed 's/^/    /'
run "migrate-wal --workers 2" "$work/chronik-server" migrate-wal --input "$in" --output "$work/out" --workers 2; m2=$secs
run "cp -r (last)" cp -r "$in" "$work/out"; cp2=$secs
cp=$(echo "($cp1 + $cp2) / 2" | bc -l)
printf 'cp -r mean: %.2f s (%.1f MB/s)\n' "$cp" "$(echo "$bytes / 1000000 / $cp" | bc -l)"
printf 'ratio to cp (throughput, higher is better): --workers 1 %.2fx, --workers 2 %.2fx\n' \
  "$(echo "$cp / $m1" | bc -l)" "$(echo "$cp / $m2" | bc -l)"
