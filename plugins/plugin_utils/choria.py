# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Controller-side access to the ``choria_emulator`` library for action and inventory plugins.

The library is the one home of protocol, discovery, node-set and playbook logic; plugins only
adapt it to Ansible. It is imported once here, guarded, so a missing package is one clear
error and ``ansible-test sanity`` import checks pass without it.
"""

from __future__ import absolute_import, division, print_function

import importlib
import traceback

from ansible.errors import AnsibleError

try:
    import choria_emulator  # noqa: F401  pylint: disable=unused-import

    HAS_CHORIA_EMULATOR = True
    CHORIA_EMULATOR_IMPORT_ERROR = None
except ImportError:
    HAS_CHORIA_EMULATOR = False
    CHORIA_EMULATOR_IMPORT_ERROR = traceback.format_exc()

INSTALL_HINT = (
    "the choria-emulator Python package is required on the controller; install it into the "
    "Python that runs Ansible, e.g. 'pip install <collection>/emulator' or run the "
    "chorialab.choria.setup_prereqs role against localhost"
)


def require_choria_emulator():
    """Raise a clear AnsibleError when the library is missing."""
    if not HAS_CHORIA_EMULATOR:
        raise AnsibleError("%s\n%s" % (INSTALL_HINT, CHORIA_EMULATOR_IMPORT_ERROR or ""))


def import_choria_module(name):
    """``choria_emulator.<name>`` (e.g. ``nodesets``), after the clear missing-package check."""
    require_choria_emulator()
    return importlib.import_module("choria_emulator." + name)
