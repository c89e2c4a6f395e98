#!/usr/bin/env bash
# Three etcd members for examples/cluster (spec §8), one per "host" address:
# 127.0.0.11, 127.0.0.12, 127.0.0.13 (client port 2379, peer port 2380), with short
# test-friendly heartbeat and election (100/1000 ms). etcd 3.4 from Debian (scripts/setup).
#
#   examples/cluster/etcd.sh [DIR]      start; data dirs, logs and PIDs in DIR (default: a
#                                       new mktemp dir). Given a DIR of an earlier run, the
#                                       members restart from their data (state kept).
#   examples/cluster/etcd.sh stop DIR   stop the members started with DIR
set -euo pipefail

hosts=(127.0.0.11 127.0.0.12 127.0.0.13)
client_port=2379
peer_port=2380
ready_s=20

endpoints=""
initial_cluster=""
for i in "${!hosts[@]}"; do
  endpoints+="${endpoints:+,}http://${hosts[i]}:$client_port"
  initial_cluster+="${initial_cluster:+,}m$i=http://${hosts[i]}:$peer_port"
done

# etcd and etcdctl read flags from ETCD_* / ETCDCTL_* variables: none of the caller's.
while read -r var; do
  unset "$var"
done < <(compgen -e | grep '^ETCD' || true)

# The PIDs of DIR's members that still run etcd (not a zombie, not a reused PID).
running() {
  local pid stat comm
  [[ -f $1/pids ]] || return 0
  while read -r pid; do
    read -r stat comm < <(ps -o stat=,comm= -p "$pid" 2>/dev/null || true) || true
    if [[ ${stat:-Z} != Z* && ${comm:-} == etcd ]]; then
      echo "$pid"
    fi
  done <"$1/pids"
}

# SIGKILL, as a crash would (etcd's WAL is made for it; a graceful stop of all members
# waits seconds on leadership transfers).
stop() {
  local dir=$1 pids
  mapfile -t pids < <(running "$dir")
  if ((${#pids[@]} > 0)); then
    kill -9 "${pids[@]}" 2>/dev/null || true
    for _ in {1..50}; do
      [[ -z $(running "$dir") ]] && break
      sleep 0.1
    done
  fi
  rm -f "$dir/pids"
  echo "etcd members of $dir stopped (${#pids[@]} were running)"
}

if [[ ${1:-} == stop ]]; then
  if [[ -z ${2:-} ]]; then
    echo "usage: $0 stop DIR" >&2
    exit 2
  fi
  stop "$2"
  exit 0
fi

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  echo "etcd or etcdctl not found: run scripts/setup (Debian's etcd-server, etcd-client)" >&2
  exit 1
fi

dir=${1:-$(mktemp -d -t cdnbroker-etcd.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -n $(running "$dir") ]]; then
  echo "etcd members of $dir run already; first: $0 stop $dir" >&2
  exit 1
fi

pids=()
for i in "${!hosts[@]}"; do
  ip=${hosts[i]}
  etcd --name "m$i" --data-dir "$dir/m$i.etcd" \
    --listen-client-urls "http://$ip:$client_port" \
    --advertise-client-urls "http://$ip:$client_port" \
    --listen-peer-urls "http://$ip:$peer_port" \
    --initial-advertise-peer-urls "http://$ip:$peer_port" \
    --initial-cluster "$initial_cluster" \
    --initial-cluster-token cdnbroker-example-cluster \
    --initial-cluster-state new \
    --heartbeat-interval 100 --election-timeout 1000 \
    --logger zap --log-outputs stderr \
    </dev/null >>"$dir/m$i.log" 2>&1 &
  pids+=("$!")
done
printf '%s\n' "${pids[@]}" >"$dir/pids"

fail() {
  echo "$1; logs:" >&2
  for i in "${!hosts[@]}"; do
    echo "--- $dir/m$i.log" >&2
    tail -n 15 "$dir/m$i.log" >&2 || true
  done
  stop "$dir" >&2
  exit 1
}

deadline=$((SECONDS + ready_s))
until ETCDCTL_API=3 etcdctl --endpoints="$endpoints" --dial-timeout=1s \
  --command-timeout=2s endpoint health >/dev/null 2>&1; do
  for i in "${!pids[@]}"; do
    kill -0 "${pids[i]}" 2>/dev/null || fail "etcd member m$i (PID ${pids[i]}) exited"
  done
  ((SECONDS < deadline)) || fail "etcd members not healthy within ${ready_s} s"
  sleep 0.2
done

echo "etcd: 3 members healthy, data and logs in $dir"
echo "endpoints: $endpoints"
for i in "${!hosts[@]}"; do
  echo "m$i ${hosts[i]} PID ${pids[i]}"
done
echo "stop with: $0 stop $dir"
