"""Request signing and verification (protocol.md §2.2), as go-choria's ``file`` security provider.

Insecure mode writes ``insecure`` as signature and pubcert. Signed mode puts the caller's PEM
certificate in ``pubcert`` and an RSA PKCS#1 v1.5 SHA-256 signature over the exact ``message``
text in ``signature``; requests to ``aaa_signer`` are never signed.

:class:`RequestVerifier` does what go-choria's ``SecureRequest.Valid`` does with
``ShouldAllowCaller`` (2022+ code): take the certname from ``callerid`` (``^[a-z]+=([\\w.\\-]+)``),
check the certificate chains to the CA (validity times, client-auth key usage), then either
the certificate carries a privileged name (default ``\\.privileged.mcollective$`` or
``\\.privileged.choria$``: it may act for any caller) or the certname is its common name or a
DNS name and matches the allowed list (default ``\\.mcollective$``, ``\\.choria$``); finally the
signature must verify with the certificate's key. Any failure raises :class:`SecurityError`
and the daemon counts the request ``unvalidated``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import gobase64
from .errors import SecurityError
from .goregex import search as go_search
from .request import Request
from .secure import INSECURE, INSECURE_REGISTRATION, SecureRequest

# go-choria config defaults: plugin.choria.security.certname_whitelist / privileged_users
DEFAULT_ALLOWED = (r"\.mcollective$", r"\.choria$")
DEFAULT_PRIVILEGED = (r"\.privileged.mcollective$", r"\.privileged.choria$")
REMOTE_SIGNER_AGENT = "aaa_signer"
REGISTRATION_AGENT = "registration"
UNSIGNED_AGENTS = (REMOTE_SIGNER_AGENT,)
MAX_CHAIN = 8  # intermediates between a leaf and the CA
MAX_PUBCERT_CERTS = 1 + MAX_CHAIN  # a pubcert with more PEM blocks is refused before parsing any
MAX_ISSUER_CHECKS = 64  # signature checks to chain one pubcert: a real chain needs one per link
_CLIENT_USAGES = {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}


class Signer:
    """Produces the secure request for a request's JSON text."""

    def secure(self, message: str, agent: str) -> SecureRequest:
        return SecureRequest(message)


class InsecureSigner(Signer):
    pass


class X509Signer(Signer):
    """Signs with the caller's private key and ships the caller's certificate (PKCS#1 or PKCS#8 RSA)."""

    def __init__(self, certificate: str | Path, key: str | Path, password: bytes | None = None):
        self.pubcert = Path(certificate).read_text()
        loaded = serialization.load_pem_private_key(Path(key).read_bytes(), password)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key}: Choria protocol v1 signs with RSA keys, not {type(loaded).__name__}")
        self._key = loaded

    @property
    def certname(self) -> str:
        """The certificate's common name: what ``callerid`` should carry (``choria=<certname>``)."""
        return common_name(x509.load_pem_x509_certificate(self.pubcert.encode()))

    def sign(self, message: str) -> str:
        signature = self._key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def secure(self, message: str, agent: str) -> SecureRequest:
        if agent in UNSIGNED_AGENTS:
            return SecureRequest(message)
        return SecureRequest(message, self.sign(message), self.pubcert)


def common_name(cert: x509.Certificate) -> str:
    """Go's ``Subject.CommonName``: the last CN attribute, or empty."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[-1].value) if values else ""


def dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):  # none, or malformed extensions
        return []
    return [str(name) for name in san.value.get_values_for_type(x509.DNSName)]


def certificate_names(cert: x509.Certificate) -> list[str]:
    """Common name first, then DNS subject alternative names (go-choria ``certDNSNames``)."""
    return [common_name(cert), *dns_names(cert)]


def match_any(name: str, patterns: tuple[str, ...]) -> bool:
    """go-choria ``MatchAnyRegex``: Go regexps, optionally written as ``/re/``."""
    for pattern in patterns:
        if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
            pattern = pattern.strip("/")
        if go_search(pattern, name):
            return True
    return False


class _Exhausted(Exception):
    """A pubcert needed more than MAX_ISSUER_CHECKS signature checks: it does not chain."""


def _load_chain(pem: str) -> tuple[x509.Certificate, ...]:
    """The leaf and any intermediates in a ``pubcert`` (PEM blocks in order)."""
    if pem.count("-----BEGIN") > MAX_PUBCERT_CERTS:
        raise SecurityError(f"pubcert holds more than {MAX_PUBCERT_CERTS} certificates")
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise SecurityError("pubcert is not a PEM certificate") from None
    if not certs:
        raise SecurityError("pubcert is not a PEM certificate")
    return tuple(certs)


def _valid_at(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _allows_client_auth(cert: x509.Certificate) -> bool:
    """Go's ``ExtKeyUsageClientAuth`` check: certificates without the extension allow any usage."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return True
    except ValueError:  # malformed extensions
        return False
    return bool(_CLIENT_USAGES.intersection(usage.value))


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def load_ca(path: str | Path) -> list[x509.Certificate]:
    """The CA certificates of a PEM file; ValueError with a one-line reason when there are none."""
    data = Path(path).read_bytes()
    try:
        roots = x509.load_pem_x509_certificates(data)
    except ValueError:
        roots = []
    if not roots:
        raise ValueError(f"{path} holds no PEM certificate")
    return roots


@dataclass
class RequestVerifier:
    """Checks signed requests like go-choria's ``SecureRequest.Valid`` + ``ShouldAllowCaller``."""

    ca_file: str | Path
    allowed: tuple[str, ...] = DEFAULT_ALLOWED
    privileged: tuple[str, ...] = DEFAULT_PRIVILEGED
    require_signature: bool = True
    _roots: list[x509.Certificate] = field(default_factory=list, init=False, repr=False)
    _chains: dict[bytes, tuple[x509.Certificate, tuple[datetime, datetime] | None]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._roots = load_ca(self.ca_file)
        self._root_fingerprints = {root.fingerprint(hashes.SHA256()) for root in self._roots}
        self.allowed = tuple(self.allowed)
        self.privileged = tuple(self.privileged)

    # ---- certificate chain ---------------------------------------------------------------
    def _chain_window(
        self, cert: x509.Certificate, pool: tuple[x509.Certificate, ...]
    ) -> tuple[datetime, datetime] | None:
        """The time window in which ``cert`` chains to a root (every link valid, client auth allowed).

        A path search over the pool that is linear, not exponential (issue 12: five mutually
        issuing intermediates took 44 s on 1,000 nodes): every intermediate is explored at most
        once (memoised, cycles cut), a signature is checked only where the issuer name matches
        the subject (as Go's chain builder does), the depth stops at MAX_CHAIN and the number of
        signature checks at MAX_ISSUER_CHECKS per certificate bundle.
        """
        try:
            return self._window(cert, pool, 0, {}, [MAX_ISSUER_CHECKS])
        except _Exhausted:
            return None  # cached like any other certificate that does not chain

    def _issued(self, cert: x509.Certificate, issuer: x509.Certificate, budget: list[int]) -> bool:
        if cert.issuer != issuer.subject:
            return False
        if budget[0] <= 0:
            raise _Exhausted
        budget[0] -= 1
        return _issued_by(cert, issuer)

    def _window(
        self,
        cert: x509.Certificate,
        pool: tuple[x509.Certificate, ...],
        depth: int,
        seen: dict[int, tuple[datetime, datetime] | None],
        budget: list[int],
    ) -> tuple[datetime, datetime] | None:
        if not _allows_client_auth(cert):
            return None
        window = (cert.not_valid_before_utc, cert.not_valid_after_utc)
        if cert.fingerprint(hashes.SHA256()) in self._root_fingerprints:
            return window
        for root in self._roots:
            if _allows_client_auth(root) and self._issued(cert, root, budget):
                return max(window[0], root.not_valid_before_utc), min(window[1], root.not_valid_after_utc)
        if depth >= MAX_CHAIN:
            return None
        for index, intermediate in enumerate(pool):
            if intermediate is cert or not _is_ca(intermediate):
                continue
            if index in seen:  # explored already (or on the current path: a cycle cannot help)
                upper = seen[index]
            elif self._issued(cert, intermediate, budget):
                seen[index] = None
                upper = seen[index] = self._window(intermediate, pool, depth + 1, seen, budget)
            else:
                continue
            if upper is not None:
                return max(window[0], upper[0]), min(window[1], upper[1])
        return None

    def verify_certificate(self, pubcert: str, now: datetime | None = None) -> x509.Certificate:
        """The leaf certificate of ``pubcert`` if it chains to the CA and is valid now.

        Verdicts are kept per certificate digest (bounded), so a caller's certificate is chained
        once, not once per request; the validity window is checked against ``now`` every time.
        """
        key = hashlib.sha256(pubcert.encode(errors="replace")).digest()
        entry = self._chains.get(key)
        if entry is None:
            chain = _load_chain(pubcert)
            entry = (chain[0], self._chain_window(chain[0], chain[1:]))
            if len(self._chains) >= 1024:
                self._chains.clear()
            self._chains[key] = entry
        leaf, window = entry
        now = now or datetime.now(timezone.utc)
        if window is None:
            raise SecurityError("certificate is not signed by the CA (or may not be used for client auth)")
        if not window[0] <= now <= window[1]:
            raise SecurityError("certificate is expired or not yet valid")
        return leaf

    # ---- the request -----------------------------------------------------------------------
    def should_allow_caller(
        self, pubcert: str, certname: str, now: datetime | None = None
    ) -> tuple[x509.Certificate, bool]:
        """go-choria ``ShouldAllowCaller``: the verified certificate and whether it is privileged."""
        leaf = self.verify_certificate(pubcert, now)
        names = certificate_names(leaf)
        if any(match_any(name, self.privileged) for name in names):
            return leaf, True
        if certname not in dns_names(leaf) and certname != names[0]:
            raise SecurityError(f"certificate is valid for {names[0]}, not {certname}")
        if not match_any(certname, self.allowed):
            raise SecurityError(f"certname {certname} is not on the allowed list {list(self.allowed)}")
        return leaf, False

    def verify(self, secure: SecureRequest, request: Request, now: datetime | None = None) -> None:
        """Raise :class:`SecurityError` unless the request may be processed."""
        try:
            self._verify(secure, request, now)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # certificates cryptography cannot read
            if isinstance(exc, SecurityError):
                raise
            raise SecurityError(f"unusable certificate: {exc}") from None

    def _verify(self, secure: SecureRequest, request: Request, now: datetime | None) -> None:
        if secure.signature == INSECURE and secure.pubcert == INSECURE and not self.require_signature:
            return
        certname = request.certname
        if not certname:
            raise SecurityError(f"could not find a valid caller identity name in {request.callerid}")
        if INSECURE in (secure.signature, secure.pubcert) or INSECURE_REGISTRATION == secure.pubcert:
            raise SecurityError(f"unsigned request to {request.agent} from {request.callerid}")
        leaf, _privileged = self.should_allow_caller(secure.pubcert, certname, now)
        try:
            signature = gobase64.decode_std(secure.signature)  # Ruby wraps at 60 columns
        except ValueError:
            raise SecurityError("could not base64 decode signature") from None
        public_key: Any = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise SecurityError("signer certificate does not hold an RSA key")
        try:
            public_key.verify(signature, secure.message.encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise SecurityError(
                "signature in request did not pass validation with embedded public certificate"
            ) from None
