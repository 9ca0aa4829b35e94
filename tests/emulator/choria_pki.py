"""Test credentials made offline: an x509 CA with server/client certificates, and NATS operator/account/user JWTs.

NATS JWTs are plain JWTs (``{"typ":"JWT","alg":"ed25519-nkey"}``) signed with the issuer's
nkey, so an operator-mode nats-server and a ``.creds`` file can be built with the ``nkeys``
package alone, without the ``nsc`` tool.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nkeys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass
class CertFiles:
    cert: Path
    key: Path


@dataclass
class CertAuthority:
    cert: Path
    key: Path
    _cert: x509.Certificate
    _key: rsa.RSAPrivateKey

    @classmethod
    def create(cls, directory: Path, name: str = "Test CA", issuer: CertAuthority | None = None) -> CertAuthority:
        """A self-signed CA, or with ``issuer`` an intermediate CA it signs."""
        directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer._cert.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(issuer._key if issuer else key, hashes.SHA256())
        )
        slug = name.lower().replace(" ", "-")
        cert_path, key_path = directory / f"{slug}.pem", directory / f"{slug}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(_key_pem(key))
        return cls(cert_path, key_path, cert, key)

    def issue(
        self,
        directory: Path,
        common_name: str,
        *,
        server: bool = False,
        file_name: str | None = None,
        dns_names: tuple[str, ...] = (),
        days: tuple[int, int] = (-1, 30),
        usage: list[x509.ObjectIdentifier] | None = None,
        include_chain: bool = False,
    ) -> CertFiles:
        """A certificate for ``common_name`` (also its first DNS name) valid from ``days[0]`` to
        ``days[1]`` days from now; ``usage`` adds an extended key usage extension,
        ``include_chain`` appends this CA's certificate to the PEM (an intermediate's bundle)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
        )
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in (common_name, *dns_names)]
        if server:
            names += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = (
            directory / f"{file_name or common_name}.pem",
            directory / f"{file_name or common_name}.key",
        )
        chain = [cert, self._cert] if include_chain else [cert]
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        key_path.write_bytes(_key_pem(key))
        return CertFiles(cert_path, key_path)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def tls_server_config(directory: Path, ca: CertAuthority, *, verify_clients: bool = False) -> Path:
    """A nats-server config with TLS (handshake timeout 10 s: the test machine may be busy)."""
    server = ca.issue(directory, "nats.test", server=True)
    lines = ["tls {", f'  cert_file: "{server.cert}"', f'  key_file: "{server.key}"', "  timeout: 10"]
    if verify_clients:
        lines += [f'  ca_file: "{ca.cert}"', "  verify: true"]
    path = directory / "tls.conf"
    path.write_text("\n".join(lines + ["}"]) + "\n")
    return path


# ---- NATS decentralised auth ------------------------------------------------------------------
def new_nkey(prefix: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_jwt(claims: dict, issuer: nkeys.KeyPair) -> str:
    """A NATS JWT: the ``jti`` is base32 of SHA-512/256 of the claims, as the Go library writes it."""
    claims = {**claims, "iss": issuer.public_key.decode(), "iat": int(time.time())}
    claims["jti"] = (
        base64.b32encode(hashlib.new("sha512_256", json.dumps(claims, sort_keys=True).encode()).digest())
        .decode()
        .rstrip("=")
    )
    header = _b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    signature = issuer.sign(f"{header}.{payload}".encode())
    return f"{header}.{payload}.{_b64url(signature)}"


@dataclass
class OperatorSetup:
    server_config: Path
    creds: Path
    wrong_creds: Path


def operator_setup(directory: Path) -> OperatorSetup:
    """An operator, an account and a user; a nats-server config with a memory resolver; a .creds file."""
    directory.mkdir(parents=True, exist_ok=True)
    operator = new_nkey(nkeys.PREFIX_BYTE_OPERATOR)
    account = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    user = new_nkey(nkeys.PREFIX_BYTE_USER)
    operator_jwt = encode_jwt(
        {"sub": operator.public_key.decode(), "name": "test-operator", "nats": {"type": "operator", "version": 2}},
        operator,
    )
    account_jwt = encode_jwt(
        {
            "sub": account.public_key.decode(),
            "name": "test-account",
            "nats": {
                "type": "account",
                "version": 2,
                "limits": {
                    "subs": -1,
                    "conn": -1,
                    "leaf": -1,
                    "imports": -1,
                    "exports": -1,
                    "data": -1,
                    "payload": -1,
                    "wildcards": True,
                },
            },
        },
        operator,
    )
    user_jwt = encode_jwt(
        {
            "sub": user.public_key.decode(),
            "name": "emulator",
            "nats": {"type": "user", "version": 2, "subs": -1, "data": -1, "payload": -1},
        },
        account,
    )
    config = directory / "operator.conf"
    config.write_text(
        f'operator: "{operator_jwt}"\n'
        "resolver: MEMORY\n"
        f'resolver_preload: {{\n  {account.public_key.decode()}: "{account_jwt}"\n}}\n'
    )
    creds = directory / "user.creds"
    creds.write_text(_creds(user_jwt, user.seed.decode()))
    # a user of an account the server does not know
    stranger_account = new_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    stranger = new_nkey(nkeys.PREFIX_BYTE_USER)
    stranger_jwt = encode_jwt(
        {"sub": stranger.public_key.decode(), "name": "stranger", "nats": {"type": "user", "version": 2}},
        stranger_account,
    )
    wrong = directory / "stranger.creds"
    wrong.write_text(_creds(stranger_jwt, stranger.seed.decode()))
    return OperatorSetup(config, creds, wrong)


def _creds(jwt: str, seed: str) -> str:
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed}\n"
        "------END USER NKEY SEED------\n"
    )
