#!/usr/bin/env bash
# The front proxy's memory under 1,000 concurrent cold requests of the bench page
# (issue 16, item 4): the page without an ETag, so every request is tokenized.
#
#   bench/proxy/memory.sh [SECONDS]     # default 10
#
# Two loads on cdnbroker (default worker count), its peak resident memory (VmHWM) after
# each:
#   running  wrk -t2 -c1000: 1,000 requests in flight all the time, read as fast as they come
#   held     bench/proxy/held.py: 1,000 connections each send a request and read only its
#            first bytes until all 1,000 have; then all read to the end: 1,000 pages in the
#            proxy at once, each stalled by its client
# The goal is < 256 MB. A 1 GiB page (goal < 64 MB) is tests/front_memory.rs:
#   cargo test --release -p broker-proxy --test front_memory
set -euo pipefail
secs=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

ulimit -n 16384
rss() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
start_origin all
start_cdnbroker all cold $cold
echo "page: $size bytes, without ETag; cdnbroker pid $cdnbroker_pid (default workers), load $(load)"
echo "  idle: VmRSS $(rss $cdnbroker_pid VmRSS) kB"
out=$(wrk -t2 -c1000 -d"${secs}s" -H "$h" "http://127.0.0.1:$cold/")
echo "  running (wrk -t2 -c1000 -d${secs}s): $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s," \
     "$(awk '/Socket errors/' <<<"$out")" \
     "VmHWM $(rss $cdnbroker_pid VmHWM) kB, then VmRSS $(rss $cdnbroker_pid VmRSS) kB"
python3 "$here/held.py" 127.0.0.1 $cold 1000 "$cdnbroker_pid"
echo "  after both: VmHWM $(rss $cdnbroker_pid VmHWM) kB (peak of the process), load $(load)"
