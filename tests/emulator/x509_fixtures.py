"""A throw-away PKI for the security tests: CAs, client certificates and keys as PEM files.

Made fresh per test session with ``cryptography`` (1024-bit RSA keys: these certificates guard
nothing and key generation is the slow part). Every certificate is written next to its key as
``<name>.pem`` / ``<name>.key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.now(timezone.utc)


@dataclass
class Issued:
    name: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_file: Path
    key_file: Path

    @property
    def pem(self) -> str:
        return self.cert_file.read_text()


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def _write(directory: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey, chain: list[x509.Certificate] = ()) -> Issued:
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *chain]))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    return Issued(name, cert, key, cert_file, key_file)


def make_ca(directory: Path, name: str, issuer: Issued | None = None) -> Issued:
    """A CA certificate; with ``issuer`` an intermediate signed by it."""
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return _write(directory, name, cert, key)


def issue(
    directory: Path,
    ca: Issued,
    common_name: str,
    *,
    file_name: str | None = None,
    dns_names: list[str] | None = None,
    days: tuple[int, int] = (-1, 30),
    usage: list[x509.ObjectIdentifier] | None = None,
    include_chain: bool = False,
) -> Issued:
    """A client certificate for ``common_name`` signed by ``ca``."""
    key = new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
        .add_extension(x509.ExtendedKeyUsage(usage or [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return _write(directory, file_name or common_name, cert, key, [ca.cert] if include_chain else [])
