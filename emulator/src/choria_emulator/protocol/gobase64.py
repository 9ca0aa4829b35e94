"""Base64 the way Go's ``encoding/base64.StdEncoding`` reads it.

Go's decoder skips ``\\r`` and ``\\n`` anywhere in the input and is strict about everything else
(alphabet, padding). The Ruby client and daemon write ``Base64.encode64``: a newline every 60
characters and one at the end. go-choria daemons accept that, so we do too; anything else that
is not standard padded base64 is refused as Go refuses it.
"""

from __future__ import annotations

import base64
import binascii


def decode_std(text: str | bytes) -> bytes:
    """Decode standard padded base64, ignoring CR and LF; raise :class:`ValueError` otherwise."""
    if isinstance(text, str):
        if "\n" in text or "\r" in text:
            text = text.replace("\n", "").replace("\r", "")
    elif b"\n" in text or b"\r" in text:
        text = text.replace(b"\n", b"").replace(b"\r", b"")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None
