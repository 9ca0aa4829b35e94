"""Semantic versions and the two range languages Choria uses over them.

:mod:`.version` holds the one :class:`Version` type (strict and loose parsing, SemVer 2.0
precedence). The range languages really differ and stay apart: :mod:`.puppet` is SemanticPuppet's
(playbook ``uses``: ``~1.0``, ``>= 1.0 < 2``, ``1.x``, ``a - b``, ``||``) and :mod:`.masterminds`
is Masterminds/semver v1's (compound filters' ``semver()``: ``,``-joined comparisons, ``!=``,
``=>``, dirty ``x`` constraints). A leaf package: it imports nothing else of ``choria_emulator``.
"""

from .version import SemVerError, Version

__all__ = ["SemVerError", "Version"]
