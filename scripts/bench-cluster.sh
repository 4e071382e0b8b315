#!/usr/bin/env bash
# Cluster benchmark (issue 4). Starts three `chronik-server cluster` nodes on loopback ports and
# one standalone node, then:
#   1. throughput: RECORDS x SIZE records with acks=all into a 3-partition topic (franz-go
#      producer from bench/kafkabench), cluster beside the standalone node, with the ratio;
#   2. failover: KILLS times, under a background acks=all load, kill -9 the leader of data group
#      data-1, time until another node leads it (polled from /metrics every 10 ms), restart the
#      killed node and wait until the group has three voters again; prints p50/p99/max.
# The cluster nodes keep at most 512 MiB per partition (retention_bytes) so that the failover
# load does not fill the disk; the load itself is bounded to 4,000,000 records.
# Usage: scripts/bench-cluster.sh [RECORDS] [SIZE] [KILLS]      (defaults 1000000 1024 10)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
size=${2:-1024}
kills=${3:-10}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/chronik-server" ./cmd/chronik-server
(cd bench && go build -o "$work/kafkabench" ./kafkabench)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A kp hp np pid
for i in 1 2 3; do kp[$i]=$(port); hp[$i]=$(port); np[$i]=$(port); done
seeds="1@127.0.0.1:${np[1]},2@127.0.0.1:${np[2]},3@127.0.0.1:${np[3]}"

start_node() { # id seeds
  local i=$1
  "$work/chronik-server" cluster --node-id "$i" --seed-nodes "$2" --data-dir "$work/n$i" --bind-host 127.0.0.1 \
    --kafka-port "${kp[$i]}" --http-port "${hp[$i]}" --node-addr "127.0.0.1:${np[$i]}" --log-level warn \
    --retention-bytes 536870912 --segment-bytes 134217728 \
    >>"$work/n$i.log" 2>&1 &
  pid[$i]=$!
  pids+=("$!")
}
healthy() { curl -sf "http://127.0.0.1:${hp[$1]}/health" >/dev/null; }
metric() { # node sample
  curl -sf "http://127.0.0.1:${hp[$1]}/metrics" 2>/dev/null | awk -v s="$2" 'index($0, s" ") == 1 {print $2}'
}
wait_for() { # seconds description command...
  local t=$1 what=$2; shift 2
  for _ in $(seq $((t * 20))); do "$@" && return 0; sleep 0.05; done
  echo "timed out waiting for $what" >&2; tail -n 20 "$work"/n*.log >&2; exit 1
}
groups_ready() { # every data group has a leader with 3 voters
  local g i ok
  for g in 1 2 3; do
    ok=0
    for i in 1 2 3; do
      [[ $(metric "$i" "chronik_raft_state{group=\"data-$g\"}") == 2 && $(metric "$i" "chronik_raft_voters{group=\"data-$g\"}") == 3 ]] && ok=1
    done
    ((ok)) || return 1
  done
}

start_node 1 ""
wait_for 30 "node 1" healthy 1
start_node 2 "$seeds"
start_node 3 "$seeds"
wait_for 60 "nodes 2 and 3" bash -c "curl -sf http://127.0.0.1:${hp[2]}/health >/dev/null && curl -sf http://127.0.0.1:${hp[3]}/health >/dev/null"
wait_for 60 "three data groups with three voters" groups_ready
sleep 4 # let the preferred leaders take over (one group leader per node)

skp=$(port); shp=$(port); snp=$(port)
"$work/chronik-server" start --data-dir "$work/standalone" --bind-host 127.0.0.1 --kafka-port "$skp" \
  --http-port "$shp" --node-addr "127.0.0.1:$snp" --log-level warn >"$work/standalone.log" 2>&1 &
pids+=("$!")
wait_for 30 "the standalone node" curl -sf "http://127.0.0.1:$shp/health" -o /dev/null

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1"; }
standalone=$("$work/kafkabench" -brokers "127.0.0.1:$skp" -records "$records" -size "$size" -acks all -partitions 3 -label standalone)
cluster=$("$work/kafkabench" -brokers "127.0.0.1:${kp[1]}" -records "$records" -size "$size" -acks all -partitions 3 -label cluster)

printf '%s x %s B records, acks=all, 3 partitions; 3 nodes and the client on this machine (%s cores)\n' "$records" "$size" "$(nproc)"
printf '%-22s %10s %10s %10s %10s %10s %12s\n' broker "MB/s" "rec/s" "p50 ms" "p99 ms" "p999 ms" "consume MB/s"
for r in "$standalone" "$cluster"; do
  printf '%-22s %10s %10s %10s %10s %10s %12s\n' "$(field "$r" label)" "$(field "$r" produce_mb_s)" "$(field "$r" produce_rec_s)" \
    "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" p999_ms)" "$(field "$r" consume_mb_s)"
done
printf 'ratio cluster/standalone: produce %.2fx, consume %.2fx\n' \
  "$(echo "$(field "$cluster" produce_mb_s) / $(field "$standalone" produce_mb_s)" | bc -l)" \
  "$(echo "$(field "$cluster" consume_mb_s) / $(field "$standalone" consume_mb_s)" | bc -l)"

# Failover under load.
"$work/kafkabench" -brokers "127.0.0.1:${kp[2]}" -records 4000000 -size "$size" -acks all -partitions 3 \
  -topic failover-load -label load >"$work/load.log" 2>&1 &
load=$!
pids+=("$load")
sleep 2
times=()
for k in $(seq "$kills"); do
  victim=""
  for _ in $(seq 200); do # under load an election or a slow /metrics can hide the leader briefly
    for i in 1 2 3; do [[ $(metric "$i" 'chronik_raft_state{group="data-1"}') == 2 ]] && victim=$i; done
    [[ -n $victim ]] && break
    sleep 0.05
  done
  [[ -n $victim ]] || { echo "no leader of data-1 10 s before kill $k" >&2; exit 1; }
  t0=$(date +%s%N)
  kill -9 "${pid[$victim]}"; wait "${pid[$victim]}" 2>/dev/null || true
  new=""
  while [[ -z $new ]]; do
    for i in 1 2 3; do
      [[ $i == "$victim" ]] && continue
      [[ $(metric "$i" 'chronik_raft_state{group="data-1"}') == 2 ]] && new=$i
    done
    [[ -n $new ]] || sleep 0.01
    (( $(date +%s%N) - t0 > 30000000000 )) && { echo "no new leader of data-1 30 s after kill $k" >&2; exit 1; }
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  times+=("$ms")
  printf 'kill %d: node %d (leader of data-1) killed; node %d leads after %d ms\n' "$k" "$victim" "$new" "$ms"
  start_node "$victim" "$seeds"
  wait_for 60 "node $victim to restart" healthy "$victim"
  wait_for 60 "data groups with three voters" groups_ready
  sleep 4
done
kill "$load" 2>/dev/null || true
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
n=${#times[@]}
pick() { sed -n "$1p" <<<"$sorted"; }
p50=$(pick $(( (n + 1) / 2 ))); p99=$(pick $(( (n * 99 + 99) / 100 ))); mx=$(pick "$n")
printf 'failover (kill -9 of the data-1 leader under acks=all load, %d kills): p50 %d ms, p99 %d ms, max %d ms\n' "$n" "$p50" "$p99" "$mx"
