# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Options that every module running a ``choria-emulator`` sub-command documents alike.

    Shared by chorialab.choria.emulator and chorialab.choria.federation; the argument spec is
    ``emulator_command_argument_spec()`` in ``plugins/module_utils/emulator_command.py``. Their other
    options there are documented by each module in its own words.
    """

    DOCUMENTATION = r"""
options:
  executable:
    description: C(choria-emulator) executable, when not C(<venv>/bin/choria-emulator).
    type: path
  state_dir:
    description: Directory for the PID, port and log files (created if missing).
    type: path
    default: /tmp/choria-emulator
"""
