"""``type: yaml``: a named group of a YAML node source file (upstream ``YamlNodes``)."""

from __future__ import annotations

import os

import yaml

from ..context import Discovered
from ..errors import yaml_problem
from .base import Source


class YAMLSource(Source):
    type = "yaml"
    options = frozenset({"source", "group"})

    def configure(self) -> None:
        source = self.opts.string("source")
        if not source:
            raise self.error("No node group YAML source file specified")
        self.source = self.path(source)
        if not (self.source.is_file() and os.access(self.source, os.R_OK)):
            raise self.error(f"Node group YAML source file {self.source} is not readable")
        self.group = self.opts.string("group")
        if not self.group:
            raise self.error("No node group name specified")

    def discover(self) -> Discovered:
        try:
            data = yaml.safe_load(self.source.read_text())
        except OSError as exc:
            raise self.error(f"Node group YAML source file {self.source} is not readable: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise self.error(
                f"Node group YAML source file {self.source} is not valid YAML{yaml_problem(exc)}"
            ) from None
        if not isinstance(data, dict) or self.group not in data:
            raise self.error(f"No data group {self.group} defined in the data file {self.source.resolve()}")
        nodes = data[self.group]
        if not isinstance(nodes, list):
            raise self.error(f"Data group {self.group} is not an array")
        if not nodes and not self.empty_handled:
            raise self.error(f"Data group {self.group} is empty")
        for number, node in enumerate(nodes, 1):
            if not isinstance(node, (str, int)) or isinstance(node, bool) or str(node) == "":
                raise self.error(f"Data group {self.group} item {number} is not a node name: {node!r}")
        return Discovered([str(n) for n in nodes])
