"""The PuppetDB client's HTTPS side: CA verification, client certificates and RBAC tokens.

The sandbox PuppetDB listens on plain HTTP, so these run against a small HTTPS endpoint that
requires a client certificate and records what it was sent (the PQL itself is tested on the
real PuppetDB in test_nodeset_puppetdb.py).
"""

from __future__ import annotations

import importlib.util
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from choria_emulator.nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, resolve_node_set

from nodeset_support import REPO


def _emulator_pki():
    """The emulator tests' throw-away PKI module (one copy, shared with tests/emulator)."""
    if "x509_fixtures" in sys.modules:
        return sys.modules["x509_fixtures"]
    spec = importlib.util.spec_from_file_location("x509_fixtures", REPO / "tests" / "emulator" / "x509_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["x509_fixtures"] = module
    spec.loader.exec_module(module)
    return module


x509_fixtures = _emulator_pki()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("pki")
    with pytest.MonkeyPatch.context() as patch:
        # OpenSSL's default security level refuses the 1024-bit keys the emulator tests use for speed.
        patch.setattr(x509_fixtures, "new_key", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
        ca = x509_fixtures.make_ca(directory, "puppet-ca")
        server = x509_fixtures.issue(directory, ca, "puppetdb", dns_names=["localhost"], usage=[ExtendedKeyUsageOID.SERVER_AUTH])
        client = x509_fixtures.issue(directory, ca, "ansible.example.net")
        other_ca = x509_fixtures.make_ca(directory, "other-ca")
    return {"ca": ca, "server": server, "client": client, "other_ca": other_ca}


@pytest.fixture
def https_puppetdb(pki):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            peer = self.connection.getpeercert()
            seen.append({"path": self.path, "query": body["query"], "token": self.headers.get("X-Authentication"), "peer": dict(x[0] for x in peer["subject"])})
            data = json.dumps([{"certname": "a.example.net"}, {"certname": "b.example.net", "deactivated": "2026-01-01T00:00:00Z"}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki["ca"].cert_file))
    context.load_cert_chain(pki["server"].cert_file, pki["server"].key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_client_certificate_ca_and_token(https_puppetdb, pki, tmp_path: Path) -> None:
    url, seen = https_puppetdb
    token = tmp_path / "token"
    token.write_text("rbac-token-from-file\n")
    config = PuppetDBConfig.from_options(
        {"server_urls": [url], "cacert": str(pki["ca"].cert_file), "cert": str(pki["client"].cert_file), "key": str(pki["client"].key_file), "token": str(token)},
        None,
    )
    nodes = resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config)).nodes
    assert nodes == ["a.example.net"]  # the deactivated one is dropped
    assert seen == [{"path": "/pdb/query/v4", "query": "nodes[certname] {}", "token": "rbac-token-from-file", "peer": {"commonName": "ansible.example.net"}}]


def test_untrusted_server_certificate_is_a_clear_error(https_puppetdb, pki) -> None:
    url, _ = https_puppetdb
    config = PuppetDBConfig(server_urls=[url], cacert=str(pki["other_ca"].cert_file), cert=str(pki["client"].cert_file), key=str(pki["client"].key_file))
    with pytest.raises(NodeSetError, match=rf"^Node set s: Failed to make request to PuppetDB: TLS error with {url}: .*CERTIFICATE_VERIFY_FAILED"):
        resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config))


def test_missing_tls_files_are_a_clear_error(https_puppetdb, tmp_path: Path) -> None:
    url, _ = https_puppetdb
    config = PuppetDBConfig(server_urls=[url], cacert=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(NodeSetError, match="cannot load the PuppetDB TLS files"):
        resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config))
