"""Node-set files: an inventory config (``node_sets:``) or a Choria playbook (``nodes:``), and their settings.

The inventory plugin reads its options with ``get_option`` and calls :func:`context_from_options`;
``choria-emulator nodes FILE`` reads the file with :func:`load_node_set_file`. Both then resolve
with the same :func:`~.resolve.resolve_node_sets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..client import ClientConfig, ClientConfigError
from .context import NodeSetContext
from .errors import NodeSetError, yaml_problem
from .puppetdb import PuppetDBConfig

# `choria:` keys -> ClientConfig fields (besides servers and config_file).
CHORIA_SETTINGS = {
    "main_collective": "main_collective",
    "collective": "main_collective",
    "identity": "identity",
    "certname": "certname",
    "tls": "tls",
    "tls_verify": "tls_verify",
    "tls_ca": "tls_ca",
    "tls_cert": "tls_cert",
    "tls_key": "tls_key",
    "secure": "secure",
    "credentials": "credentials",
    "user": "user",
    "password": "password",
    "discovery_timeout": "discovery_timeout",
}
CHORIA_OPTIONS = frozenset(CHORIA_SETTINGS) | {"servers", "config_file"}


def client_from_options(options: Mapping[str, Any] | None) -> ClientConfig:
    """A Choria client config from the ``choria:`` mapping; unset keys come from the user's Choria config."""
    options = {k: v for k, v in dict(options or {}).items() if v is not None}
    unknown = sorted(set(options) - CHORIA_OPTIONS)
    if unknown:
        raise NodeSetError(f"unknown choria option {', '.join(unknown)} (valid: {', '.join(sorted(CHORIA_OPTIONS))})")
    servers = options.get("servers")
    if isinstance(servers, str):
        servers = [servers]
    if servers is not None and (not isinstance(servers, list) or not all(isinstance(s, str) for s in servers)):
        raise NodeSetError("choria servers must be a list of host:port or nats:// URLs")
    overrides = {CHORIA_SETTINGS[k]: v for k, v in options.items() if k in CHORIA_SETTINGS}
    if "discovery_timeout" in overrides:
        try:
            overrides["discovery_timeout"] = float(overrides["discovery_timeout"])
        except (TypeError, ValueError):
            raise NodeSetError(
                f"choria discovery_timeout must be a number, got {options['discovery_timeout']!r}"
            ) from None
    try:
        return ClientConfig.load(servers=servers or None, config_file=options.get("config_file"), **overrides)
    except ClientConfigError as exc:
        raise NodeSetError(f"choria: {exc}") from None


def context_from_options(
    choria: Mapping[str, Any] | None = None,
    puppetdb: Mapping[str, Any] | None = None,
    uses: Mapping[str, Any] | None = None,
    base_dir: str | None = None,
    **settings: Any,
) -> NodeSetContext:
    """The context the inventory plugin and the CLI build from their settings."""
    if uses is not None and not isinstance(uses, Mapping):
        raise NodeSetError("uses should be a hash of agent name to version range")
    client = client_from_options(choria)
    ctx = NodeSetContext(
        client=client,
        puppetdb=PuppetDBConfig.from_options(puppetdb, client),
        uses={str(k): str(v) for k, v in (uses or {}).items()},
        discovery_timeout=client.discovery_timeout,
        base_dir=base_dir,
    )
    for key, value in settings.items():
        if value is not None:
            setattr(ctx, key, value)
    return ctx


@dataclass
class NodeSetFile:
    path: Path
    node_sets: dict[str, dict[str, Any]]
    choria: dict[str, Any] = field(default_factory=dict)
    puppetdb: dict[str, Any] = field(default_factory=dict)
    uses: dict[str, Any] = field(default_factory=dict)

    def context(self, **overrides: Any) -> NodeSetContext:
        choria = {**self.choria, **{k: v for k, v in overrides.pop("choria", {}).items() if v is not None}}
        return context_from_options(choria, self.puppetdb, self.uses, base_dir=str(self.path.parent), **overrides)


def load_node_set_file(path: str | Path) -> NodeSetFile:
    """Read ``node_sets`` (inventory config) or ``nodes`` (playbook) with its ``choria``/``puppetdb``/``uses``."""
    path = Path(path).expanduser().resolve()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise NodeSetError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise NodeSetError(f"{path} is not valid YAML{yaml_problem(exc)}") from None
    if not isinstance(data, dict):
        raise NodeSetError(f"{path}: expected a mapping with node_sets (inventory) or nodes (playbook)")
    node_sets = data.get("node_sets", data.get("nodes"))
    if not isinstance(node_sets, dict) or not node_sets:
        raise NodeSetError(f"{path}: node_sets (or a playbook's nodes) must be a non-empty mapping of name to options")
    sections = {}
    for key in ("choria", "puppetdb", "uses"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise NodeSetError(f"{path}: {key} must be a mapping")
        sections[key] = value
    return NodeSetFile(path, node_sets, **sections)
