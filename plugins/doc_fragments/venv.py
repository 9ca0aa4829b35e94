# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Where the processes the modules start were installed by the setup_prereqs role."""

    DOCUMENTATION = r"""
options:
  venv:
    description:
      - The virtual environment on the target that the C(chorialab.choria.setup_prereqs) role
        (C(playbooks/setup-prereqs.yml)) installed the emulator and nats-server into.
      - Executables are looked up in its C(bin/) directory first.
    type: path
    default: /opt/choria-emulator
"""
