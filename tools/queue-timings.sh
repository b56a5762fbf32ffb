#!/bin/bash
# Times an experiment run locally (--jobs N) and on the queue (N workers), one measurement at a time, on a
# redis-server of its own, and splits each queued one's time per run with tools/queue-overhead.ts
# (docs/distributed.md, "Measured"). ROOT is a randlab checkout with dist/ built (another commit's, to
# compare); wall times are appended to OUT/results.txt.
#
#   tools/queue-timings.sh ROOT OUT SCALE SEEDS jobs1 jobs2 q1 q2 q3
set -u
if [ $# -lt 5 ]; then
  echo "usage: $0 ROOT OUT SCALE SEEDS jobsN|qN..." >&2
  exit 2
fi
ROOT=$1 OUT=$2 SCALE=$3 SEEDS=$4
shift 4
HERE=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
export RANDLAB_THREADS=1
PORT=$((20000 + RANDOM % 10000))
redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$OUT" >"$OUT/redis.log" 2>&1 &
REDIS=$!
sleep 0.5
DB=0
RANDLAB="node $ROOT/bin/randlab.js"
EXPERIMENT="fig20-gaussian-fc --scale $SCALE --seeds $SEEDS --data-dir /nonexistent"
for what in "$@"; do
  case $what in
    jobs*)
      began=$(date +%s.%N)
      $RANDLAB experiment $EXPERIMENT --jobs "${what#jobs}" --out "$OUT/$what" >"$OUT/$what.out" 2>&1
      rc=$?
      echo "$what rc=$rc $(echo "$(date +%s.%N) - $began" | bc) s" | tee -a "$OUT/results.txt"
      ;;
    q*)
      DB=$((DB + 1))
      URL=redis://127.0.0.1:$PORT/$DB
      workers=()
      for i in $(seq 1 "${what#q}"); do
        $RANDLAB worker --queue "$URL" --storage "$OUT/$what" --data-dir /nonexistent >"$OUT/$what-w$i.out" 2>&1 &
        workers+=($!)
      done
      sleep 3 # the workers connected: their start is not the experiment's
      began=$(date +%s.%N)
      $RANDLAB experiment $EXPERIMENT --queue "$URL" --storage "$OUT/$what" --interval 0.2 >"$OUT/$what.out" 2>&1
      rc=$?
      echo "$what rc=$rc $(echo "$(date +%s.%N) - $began" | bc) s" | tee -a "$OUT/results.txt"
      kill -TERM "${workers[@]}"
      wait "${workers[@]}" 2>/dev/null
      (cd "$HERE" && npx tsx tools/queue-overhead.ts "$URL" "$OUT/$what/fig20-gaussian-fc-$SCALE") >"$OUT/$what-overhead.txt" 2>&1
      tail -1 "$OUT/$what-overhead.txt"
      ;;
    *) echo "unknown measurement '$what' (jobsN or qN)" >&2 ;;
  esac
done
kill $REDIS
