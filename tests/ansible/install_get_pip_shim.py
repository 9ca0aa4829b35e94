"""Put an offline stand-in for ansible-test's get-pip bootstrap where ansible-test looks first.

ansible-test bootstraps every sanity venv with https://ci-files.testing.ansible.com/.../get-pip-<v>.py,
which is not a package registry. ``~/.ansible/test/cache/get_pip_<v>.py`` (v = the pip version
ansible-test pins) is used instead when it exists; this one runs pip from CPython's bundled
ensurepip wheel, which then installs the pinned pip from the package index (docs/architecture.md,
"Facts about the machines").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import ansible_test

SHIM = """\
# Offline stand-in for ansible-test's get-pip bootstrap (written by tests/ansible/install_get_pip_shim.py).
import glob, os, runpy, sys, ensurepip
whl = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1]
sys.path.insert(0, whl)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = [sys.argv[0], "install", "--upgrade", "--force-reinstall"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def pinned_pip_version() -> str:
    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    match = re.search(r"pip='([0-9.]+)'", source)
    if not match:
        raise SystemExit("cannot find the pip version ansible-test pins in python_requirements.py")
    return match.group(1)


def main() -> int:
    path = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{pinned_pip_version().replace('.', '_')}.py"
    if path.exists() and path.read_text() == SHIM:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return 0  # someone's own bootstrap script (or a real get-pip): use it
    path.write_text(SHIM)
    print(f"wrote the offline get-pip shim {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
