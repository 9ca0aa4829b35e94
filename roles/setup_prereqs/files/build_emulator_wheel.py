# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Build the collection's own emulator/ package as a wheel on the controller, once per source.

Run by the setup_prereqs role with the controller's Python:
``python build_emulator_wheel.py SOURCE_DIR CACHE_DIR`` prints ``{"wheel": path, "built": bool}``.

The wheel is built from a clean copy of the source with a fixed SOURCE_DATE_EPOCH, so the same
source gives the same bytes: the copy to the targets stays idempotent, and a wheel cached under
the digest of the source is reused until the source changes.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

IGNORED_DIRS = {"__pycache__", "build", "dist", ".pytest_cache"}
REPRODUCIBLE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip file can hold


def _source_files(source: str) -> list:
    files = []
    for root, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                files.append(os.path.relpath(os.path.join(root, name), source))
    return files


def source_digest(source: str) -> str:
    digest = hashlib.sha256()
    for rel in _source_files(source):
        digest.update(rel.encode() + b"\0")
        with open(os.path.join(source, rel), "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:16]


def build(source: str, cache: str) -> dict:
    if not os.path.isfile(os.path.join(source, "pyproject.toml")):
        raise SystemExit("emulator source %s has no pyproject.toml" % source)
    target = os.path.join(cache, source_digest(source))
    wheels = glob.glob(os.path.join(target, "choria_emulator-*.whl"))
    if wheels:
        return {"wheel": wheels[0], "built": False}
    work = tempfile.mkdtemp(prefix="choria-emulator-build-")
    try:
        copy = os.path.join(work, "src")
        os.makedirs(copy)
        for rel in _source_files(source):
            os.makedirs(os.path.dirname(os.path.join(copy, rel)), exist_ok=True)
            shutil.copyfile(os.path.join(source, rel), os.path.join(copy, rel))
        out = os.path.join(work, "wheel")
        env = dict(os.environ, SOURCE_DATE_EPOCH=REPRODUCIBLE_EPOCH, PIP_DISABLE_PIP_VERSION_CHECK="1")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", out, copy],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit("pip wheel %s failed:\n%s" % (source, proc.stdout.decode(errors="replace")[-3000:]))
        built = glob.glob(os.path.join(out, "choria_emulator-*.whl"))
        if len(built) != 1:
            raise SystemExit("pip wheel %s made %d choria_emulator wheels, expected 1" % (source, len(built)))
        os.makedirs(target, exist_ok=True)
        final = os.path.join(target, os.path.basename(built[0]))
        shutil.move(built[0], final)
        return {"wheel": final, "built": True}
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: build_emulator_wheel.py SOURCE_DIR CACHE_DIR")
    print(json.dumps(build(os.path.abspath(sys.argv[1]), os.path.abspath(os.path.expanduser(sys.argv[2])))))
