#!/usr/bin/env bash
# Standalone benchmark (issue 3): RECORDS x SIZE records into one partition with a franz-go
# producer, acks=1 and acks=all, then consumed back; the same load against franz-go's kfake
# (in-memory, nothing on disk) in its own process; figures side by side with the ratio.
# Also reports the broker's peak RSS. Usage: scripts/bench-standalone.sh [RECORDS] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
size=${2:-1024}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/chronik-server" ./cmd/chronik-server
(cd bench && go build -o "$work/kafkabench" ./kafkabench)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kp=$(port); hp=$(port); np=$(port); fp=$(port)

"$work/chronik-server" start --data-dir "$work/data" --bind-host 127.0.0.1 --kafka-port "$kp" \
  --http-port "$hp" --node-addr "127.0.0.1:$np" --log-level warn >"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$hp/health" >/dev/null && break; sleep 0.1; done
"$work/kafkabench" -serve-kfake "$fp" >"$work/kfake.log" 2>&1 &
for _ in $(seq 100); do grep -q listening "$work/kfake.log" && break; sleep 0.1; done

declare -A res
for acks in 1 all; do
  res[chronik-$acks]=$("$work/kafkabench" -brokers "127.0.0.1:$kp" -records "$records" -size "$size" -acks "$acks" -label chronik)
  res[kfake-$acks]=$("$work/kafkabench" -brokers "127.0.0.1:$fp" -records "$records" -size "$size" -acks "$acks" -label kfake)
done
rss_kib=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1"; }
printf '%s x %s B records, one partition, client and broker on this machine (%s cores)\n' "$records" "$size" "$(nproc)"
printf '%-8s %-22s %10s %10s %10s %10s %10s %12s\n' acks broker "MB/s" "rec/s" "p50 ms" "p99 ms" "p999 ms" "consume MB/s"
for acks in 1 all; do
  for b in chronik kfake; do
    r=${res[$b-$acks]}
    printf '%-8s %-22s %10s %10s %10s %10s %10s %12s\n' "$acks" "$b" "$(field "$r" produce_mb_s)" "$(field "$r" produce_rec_s)" \
      "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" p999_ms)" "$(field "$r" consume_mb_s)"
  done
  c=$(field "${res[chronik-$acks]}" produce_mb_s); k=$(field "${res[kfake-$acks]}" produce_mb_s)
  cc=$(field "${res[chronik-$acks]}" consume_mb_s); kc=$(field "${res[kfake-$acks]}" consume_mb_s)
  printf '%-8s ratio chronik/kfake: produce %.2fx, consume %.2fx\n' "$acks" "$(echo "$c / $k" | bc -l)" "$(echo "$cc / $kc" | bc -l)"
done
printf 'chronik-server peak RSS: %d MiB\n' $((rss_kib / 1024))
