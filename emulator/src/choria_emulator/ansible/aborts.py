"""Which failures of a converted play are Choria run-time aborts (§3.2), not task failures.

0.6.0 aborts the whole run, without ``on_fail`` or ``post_book``, when a template cannot be
resolved (a dynamic input without a value) or a task's configuration is invalid (an empty node
list, an assertion that does not parse). In Ansible both are failed tasks; the converted play's
``rescue`` asks :func:`is_abort` and then skips the hooks as Choria did.
"""

from __future__ import annotations

import re
from typing import Any

ABORTS = re.compile(
    r"Could not resolve \S+ for input |Input \S+ has no value, data source or default|Unknown input \S+"
    r"|Could not parse the assertion|Nodes need to be supplied, refusing to run against empty node list"
    r"|Nodes have to be an array"
)


def is_abort(result: Any) -> bool:
    """True when the failed task's result is one of 0.6.0's run-time aborts."""
    if not isinstance(result, dict):
        return False
    if result.get("choria_abort"):
        return True
    return bool(ABORTS.search(str(result.get("msg", ""))))
