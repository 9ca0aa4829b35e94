# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Attribute descriptions every module of the collection shares (``support`` is set per module)."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when run with C(--diff).
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
      - This assumes nothing relevant changed on the target in between (for example a process killed by hand).
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    DAEMON = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

    ACTIONGROUP_CHORIA = r"""
options: {}
attributes:
  action_group:
    description: >-
      Use C(group/chorialab.choria.choria) in C(module_defaults) to set the connection options
      (O(servers), TLS, O(credentials)) once for every task of the collection that talks to NATS.
    support: full
    membership:
      - chorialab.choria.choria
"""
