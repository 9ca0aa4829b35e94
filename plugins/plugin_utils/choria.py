# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Controller-side access to the ``choria_emulator`` library for action, inventory and lookup plugins.

The library is the one home of protocol, discovery, node-set and playbook logic; plugins only
adapt it to Ansible. Its source ships in the collection (``emulator/src``) and is imported from
there first, so the plugins always run the library of their own release, wherever the collection
was installed; without it (a checkout's collection link) an installed ``choria-emulator`` package is
used. Its dependencies come from the collection's ``requirements.txt``. A missing package or
dependency is one clear error when a plugin runs, and ``ansible-test sanity`` import checks pass.
"""

from __future__ import absolute_import, division, print_function

import importlib
import os
import sys
import traceback

from ansible.errors import AnsibleError

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUNDLED_SOURCE = os.path.join(COLLECTION_ROOT, "emulator", "src")

if os.path.isfile(os.path.join(BUNDLED_SOURCE, "choria_emulator", "__init__.py")) and BUNDLED_SOURCE not in sys.path:
    sys.path.insert(0, BUNDLED_SOURCE)

try:
    # Only whether the package imports matters here; import_choria_module() imports what a plugin uses.
    import choria_emulator  # noqa: F401  pylint: disable=unused-import

    HAS_CHORIA_EMULATOR = True
    CHORIA_EMULATOR_IMPORT_ERROR = None
except ImportError:
    HAS_CHORIA_EMULATOR = False
    CHORIA_EMULATOR_IMPORT_ERROR = traceback.format_exc()

REQUIREMENTS = os.path.join(COLLECTION_ROOT, "requirements.txt")
INSTALL_HINT = (
    "the choria-emulator Python package is required on the controller; install it into the "
    "Python that runs Ansible (%s): pip install <collection>/emulator" % sys.executable
)
DEPENDENCIES_HINT = (
    "a Python package the choria-emulator library needs is missing from the Python that runs Ansible (%s): "
    "pip install -r %s" % (sys.executable, REQUIREMENTS)
)


def require_choria_emulator():
    """Raise a clear AnsibleError when the library is missing."""
    if not HAS_CHORIA_EMULATOR:
        raise AnsibleError("%s\n%s" % (INSTALL_HINT, CHORIA_EMULATOR_IMPORT_ERROR or ""))


def import_choria_module(name):
    """``choria_emulator.<name>`` (e.g. ``nodesets``), after the clear missing-package check."""
    require_choria_emulator()
    try:
        return importlib.import_module("choria_emulator." + name)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] == "choria_emulator":
            raise
        raise AnsibleError("%s (%s)" % (DEPENDENCIES_HINT, exc)) from exc
