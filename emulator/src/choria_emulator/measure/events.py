"""The original measure tool's CloudEvents 1.0, published on NATS (protocol.md §4.8).

Subject and type ``io.choria.event.emulator.test_suite`` (data: the suite) once per suite and
``io.choria.event.emulator.test_result`` once per test; source
``io.choria.choria-emulator.measure``. Anyone can ``nats sub 'io.choria.event.emulator.>'``.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from typing import Any

SOURCE = "io.choria.choria-emulator.measure"
SUITE_EVENT = "io.choria.event.emulator.test_suite"
RESULT_EVENT = "io.choria.event.emulator.test_result"


def cloudevent(kind: str, data: dict[str, Any]) -> bytes:
    """A structured-mode CloudEvents 1.0 JSON document."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": kind,
        "datacontenttype": "application/json",
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(event, separators=(",", ":")).encode()
