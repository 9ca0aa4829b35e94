"""NATS authentication material: user/password, token, and ``.creds`` files (JWT + nkey seed)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from ..compat import slotted_dataclass

_JWT = re.compile(r"-----BEGIN NATS USER JWT-----\s*(\S+)\s*------END NATS USER JWT------")
_SEED = re.compile(r"-----BEGIN USER NKEY SEED-----\s*(\S+)\s*------END USER NKEY SEED------")


class CredentialsError(ValueError):
    pass


@slotted_dataclass(frozen=True)
class Credentials:
    """A user JWT and the nkey seed that signs the server's nonce."""

    jwt: str
    seed: bytes

    @classmethod
    def load(cls, path: str | Path) -> Credentials:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise CredentialsError(f"cannot read NATS credentials {path}: {exc.strerror}") from None
        jwt, seed = _JWT.search(text), _SEED.search(text)
        if not jwt or not seed:
            raise CredentialsError(f"{path} is not a NATS credentials file (need a user JWT and an nkey seed)")
        return cls(jwt.group(1), seed.group(1).encode())

    def sign(self, nonce: str) -> str:
        return sign_nonce(self.seed, nonce)


def sign_nonce(seed: bytes, nonce: str) -> str:
    """Sign the INFO nonce with an nkey seed; NATS accepts raw URL-safe base64."""
    try:
        import nkeys
    except ImportError as exc:  # pragma: no cover - nkeys is a dependency
        raise CredentialsError("the nkeys package is needed for NATS credentials") from exc
    keypair = nkeys.from_seed(seed)
    try:
        signature = keypair.sign(nonce.encode())
    finally:
        keypair.wipe()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
