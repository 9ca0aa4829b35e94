"""Request signing and verification (protocol.md §2.2).

Insecure mode writes ``insecure`` as signature and pubcert. Signed mode puts the caller's
PEM certificate in ``pubcert`` and an RSA PKCS#1 v1.5 SHA-256 signature over the exact
``message`` text in ``signature``. A verifier checks the certificate against a CA, the
certname in ``callerid`` against the certificate name (or the privileged pattern), the
allowed-name pattern, and finally the signature.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from .errors import ProtocolError
from .request import Request
from .secure import INSECURE, SecureRequest

DEFAULT_ALLOWED = (r"\.mcollective$",)
DEFAULT_PRIVILEGED = (r"\.privileged\.mcollective$",)
UNSIGNED_AGENTS = ("aaa_signer",)


class SecurityError(ProtocolError):
    """A request failed security validation; the daemon drops it and counts it ``unvalidated``."""


class Signer:
    """Produces the secure request for a request's JSON text."""

    def secure(self, message: str, agent: str) -> SecureRequest:
        return SecureRequest(message)


class InsecureSigner(Signer):
    pass


class X509Signer(Signer):
    """Signs with the caller's private key and ships the caller's certificate."""

    def __init__(self, certificate: str | Path, key: str | Path, password: bytes | None = None):
        from cryptography.hazmat.primitives import serialization

        self.pubcert = Path(certificate).read_text()
        self._key = serialization.load_pem_private_key(Path(key).read_bytes(), password)

    def sign(self, message: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self._key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
        return base64.b64encode(signature).decode("ascii")

    def secure(self, message: str, agent: str) -> SecureRequest:
        if agent in UNSIGNED_AGENTS:
            return SecureRequest(message)
        return SecureRequest(message, self.sign(message), self.pubcert)


@lru_cache(maxsize=1024)
def _load_cert(pem: str):  # type: ignore[no-untyped-def]
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode())


def certificate_names(cert) -> list[str]:  # type: ignore[no-untyped-def]
    """Common name first, then DNS subject alternative names."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names += [n for n in san.value.get_values_for_type(x509.DNSName) if n not in names]
    except x509.ExtensionNotFound:
        pass
    return [str(n) for n in names]


@dataclass
class RequestVerifier:
    """Checks signed requests like go-choria's ``SecureRequest.Valid``."""

    ca_file: str | Path
    allowed: tuple[str, ...] = DEFAULT_ALLOWED
    privileged: tuple[str, ...] = DEFAULT_PRIVILEGED
    require_signature: bool = True
    _cas: list = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        from cryptography import x509

        self._cas = x509.load_pem_x509_certificates(Path(self.ca_file).read_bytes())
        self._allowed = [re.compile(p) for p in self.allowed]
        self._privileged = [re.compile(p) for p in self.privileged]
        self._verified: dict[tuple[str, str], None] = {}

    def _issued_by_ca(self, cert) -> bool:  # type: ignore[no-untyped-def]
        now = datetime.now(timezone.utc)
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            return False
        for ca in self._cas:
            try:
                cert.verify_directly_issued_by(ca)
                return True
            except Exception:  # noqa: BLE001 - any verification failure means "not this CA"
                continue
        return False

    def verify(self, secure: SecureRequest, request: Request) -> None:
        """Raise :class:`SecurityError` unless the request may be processed."""
        if secure.insecure:
            if self.require_signature and request.agent not in UNSIGNED_AGENTS:
                raise SecurityError(f"unsigned request from {request.callerid}")
            return
        certname = request.certname
        if not certname:
            raise SecurityError(f"invalid callerid {request.callerid}")
        try:
            cert = _load_cert(secure.pubcert)
        except ValueError:
            raise SecurityError("pubcert is not a PEM certificate") from None
        if not self._issued_by_ca(cert):
            raise SecurityError(f"certificate of {certname} is not signed by the CA or has expired")
        names = certificate_names(cert)
        privileged = any(p.search(n) for p in self._privileged for n in names)
        if certname not in names and not privileged:
            raise SecurityError(f"callerid {request.callerid} does not match certificate names {names}")
        if not privileged and not any(p.search(certname) for p in self._allowed):
            raise SecurityError(f"certname {certname} is not allowed by {list(self.allowed)}")
        self._check_signature(cert, secure)

    @staticmethod
    def _check_signature(cert, secure: SecureRequest) -> None:  # type: ignore[no-untyped-def]
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            signature = base64.b64decode(secure.signature, validate=True)
            cert.public_key().verify(signature, secure.message.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (binascii.Error, ValueError, InvalidSignature, TypeError):
            raise SecurityError("signature verification failed") from None


def is_insecure(value: str) -> bool:
    return value == INSECURE
