"""The TLS client context of a NATS connection, shared by the emulated instances and the client."""

from __future__ import annotations

import ssl


def client_context(
    ca: str | None = None, cert: str | None = None, key: str | None = None, verify: bool = True
) -> ssl.SSLContext:
    """Verify the broker against ``ca`` (else the system CAs) unless ``verify`` is off; present ``cert`` if given.

    Unreadable or invalid files raise ``ValueError`` naming them, for a one-line error.
    """
    try:
        context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if cert:
            context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(
            f"cannot load the TLS files (CA {ca or 'system'}, certificate {cert or 'none'}, key {key or 'none'}): "
            f"{reason}"
        ) from None
    return context
