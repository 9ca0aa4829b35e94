"""One NATS server address grammar on both sides of the plugin/package boundary.

The collection's modules validate ``servers`` on targets with ``plugins/module_utils/connection.py``
(standard library only: targets need not have the package), the emulator and the client parse the
same strings with ``choria_emulator.natsproto.parse_server``. The two cannot share code, so this
table holds them equal: what one accepts the other accepts as the same scheme, host and port, and
what one refuses the other refuses.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from choria_emulator.natsproto import parse_server

MODULE_UTILS = Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "connection.py"


def _module_utils_connection():
    spec = importlib.util.spec_from_file_location("choria_module_utils_connection", MODULE_UTILS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


module_utils = _module_utils_connection()

# text -> (scheme, host, port), or None where both must refuse it
CASES: list[tuple[str, tuple[str, str, int] | None]] = [
    ("broker", ("nats", "broker", 4222)),
    ("broker:4300", ("nats", "broker", 4300)),
    ("127.0.0.1:4222", ("nats", "127.0.0.1", 4222)),
    ("  10.0.0.1:4222 ", ("nats", "10.0.0.1", 4222)),
    ("h_1.x-y:2", ("nats", "h_1.x-y", 2)),
    ("broker:", ("nats", "broker", 4222)),
    ("broker:01", ("nats", "broker", 1)),
    ("broker:65535", ("nats", "broker", 65535)),
    ("broker:4222/", ("nats", "broker", 4222)),
    ("nats://broker:4223", ("nats", "broker", 4223)),
    ("NATS://broker:4223", ("nats", "broker", 4223)),
    ("tls://broker.example.net:4443/", ("tls", "broker.example.net", 4443)),
    ("tls://broker", ("tls", "broker", 4222)),
    ("nats://user:secret@broker:4300", ("nats", "broker", 4300)),
    ("nats://token@broker", ("nats", "broker", 4222)),
    ("user@broker:1", ("nats", "broker", 1)),
    ("[::1]:4222", ("nats", "::1", 4222)),
    ("[::1]", ("nats", "::1", 4222)),
    ("nats://[fe80::1]:5", ("nats", "fe80::1", 5)),
    ("", None),
    ("   ", None),
    ("nats://", None),
    (":4222", None),
    ("nats://:4222", None),
    ("broker:0", None),
    ("broker:65536", None),
    ("broker:99999", None),
    ("broker:-1", None),
    ("broker:+1", None),
    ("broker:http", None),
    ("broker:\u0663", None),  # ARABIC-INDIC DIGIT THREE: str.isdigit, but no port
    ("http://broker:80", None),
    ("bro ker:4222", None),
    ("bad!host:1", None),
    ("nats://broker:4222/path", None),
    ("nats://broker:1?x=1", None),
    ("broker:1:2", None),
    ("::1", None),  # IPv6 without brackets: ambiguous with a port
    ("[::1", None),
    ("[not-v6]:1", None),
    ("[]:1", None),
    ("[::1]x", None),
]


def _package(text: str) -> tuple[str, str, int] | None:
    try:
        address = parse_server(text)
    except ValueError:
        return None
    return ("tls" if address.tls else "nats", address.host, address.port)


def _plugins(text: str) -> tuple[str, str, int] | None:
    try:
        address = module_utils.parse_server(text)
    except module_utils.AddressError:
        return None
    return (address.scheme, address.host, address.port)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(text) for text, _ in CASES])
def test_both_parsers_read_the_address_the_same(text, expected):
    assert _package(text) == expected
    assert _plugins(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, expected) for text, expected in CASES if expected is not None],
    ids=[repr(text) for text, expected in CASES if expected is not None],
)
def test_both_print_an_address_the_same(text, expected):
    assert str(parse_server(text)) == str(module_utils.parse_server(text))
    assert parse_server(text).url == module_utils.parse_server(text).url


def test_the_package_keeps_the_credentials_of_the_url():
    assert parse_server("nats://user:secret@broker:4300").user == "user"
    assert parse_server("nats://user:secret@broker:4300").password == "secret"
    assert parse_server("nats://token@broker").user == "token"
    assert parse_server("nats://token@broker").password is None
