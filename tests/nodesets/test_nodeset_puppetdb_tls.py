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
from cryptography.x509.oid import ExtendedKeyUsageOID
from nodeset_support import REPO

from choria_emulator.nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, resolve_node_set


def _emulator_pki():
    """The emulator tests' throw-away PKI module (one copy, shared with tests/emulator)."""
    if "choria_pki" in sys.modules:
        return sys.modules["choria_pki"]
    spec = importlib.util.spec_from_file_location("choria_pki", REPO / "tests" / "emulator" / "choria_pki.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["choria_pki"] = module
    spec.loader.exec_module(module)
    return module


choria_pki = _emulator_pki()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("pki")
    ca = choria_pki.CertAuthority.create(directory, "puppet-ca")
    server = ca.issue(directory, "puppetdb", dns_names=("localhost",), usage=[ExtendedKeyUsageOID.SERVER_AUTH])
    client = ca.issue(directory, "ansible.example.net")
    other_ca = choria_pki.CertAuthority.create(directory, "other-ca")
    return {"ca": ca, "server": server, "client": client, "other_ca": other_ca}


@pytest.fixture
def https_puppetdb(pki):
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            peer = self.connection.getpeercert()
            seen.append(
                {
                    "path": self.path,
                    "query": body["query"],
                    "token": self.headers.get("X-Authentication"),
                    "peer": dict(x[0] for x in peer["subject"]),
                }
            )
            data = json.dumps(
                [{"certname": "a.example.net"}, {"certname": "b.example.net", "deactivated": "2026-01-01T00:00:00Z"}]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki["ca"].cert))
    context.load_cert_chain(pki["server"].cert, pki["server"].key)
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
        {
            "server_urls": [url],
            "cacert": str(pki["ca"].cert),
            "cert": str(pki["client"].cert),
            "key": str(pki["client"].key),
            "token": str(token),
        },
        None,
    )
    nodes = resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config)).nodes
    assert nodes == ["a.example.net"]  # the deactivated one is dropped
    assert seen == [
        {
            "path": "/pdb/query/v4",
            "query": "nodes[certname] {}",
            "token": "rbac-token-from-file",
            "peer": {"commonName": "ansible.example.net"},
        }
    ]


def test_untrusted_server_certificate_is_a_clear_error(https_puppetdb, pki) -> None:
    url, _ = https_puppetdb
    config = PuppetDBConfig(
        server_urls=[url], cacert=str(pki["other_ca"].cert), cert=str(pki["client"].cert), key=str(pki["client"].key)
    )
    with pytest.raises(
        NodeSetError,
        match=rf"^Node set s: Failed to make request to PuppetDB: TLS error with {url}: .*CERTIFICATE_VERIFY_FAILED",
    ):
        resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config))


def test_missing_tls_files_are_a_clear_error(https_puppetdb, tmp_path: Path) -> None:
    url, _ = https_puppetdb
    config = PuppetDBConfig(server_urls=[url], cacert=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(NodeSetError, match="cannot load the PuppetDB TLS files"):
        resolve_node_set("s", {"type": "pql", "query": "nodes[certname] {}"}, NodeSetContext(puppetdb=config))
