"""The harness's golden vectors (``../shared/real-choria/captures``) and the unit tests that replay them.

``tests/emulator/test_real_ruby_captures.py`` decodes every captured message and dispatches every
captured request, byte for byte, to emulated node1..node3 at the capture's time (the signed
requests are minutes old by now, past their TTL on a live network). It reads a copy of
``captures/raw.jsonl`` so the unit tier runs without ``../shared``; this test keeps the copy
equal to the harness's and every golden file consistent with it. The commands that made the
captures run live against emulated networks in ``test_mco_to_emulator.py``.
"""

from __future__ import annotations

import json

import pytest
from realchoria import HARNESS, REPO

from choria_emulator.protocol.messages import decode_reply, decode_request

CAPTURES = HARNESS / "captures"
COPY = REPO / "tests" / "emulator" / "fixtures" / "real-choria" / "raw.jsonl"
GOLDEN = sorted(p.name for p in CAPTURES.glob("*.json") if p.name != "all-decoded.json") if CAPTURES.is_dir() else []


def test_the_unit_tests_replay_the_current_captures(harness):
    assert COPY.read_bytes() == (CAPTURES / "raw.jsonl").read_bytes(), (
        f"captures changed: cp {CAPTURES / 'raw.jsonl'} {COPY} and rerun tests/emulator/test_real_ruby_captures.py"
    )


def test_there_are_golden_files(harness):
    assert len(GOLDEN) >= 8, GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_file_decodes_as_its_summary_says(harness, name):
    golden = json.loads((CAPTURES / name).read_text())
    raw = {json.loads(line)["payload"] for line in (CAPTURES / "raw.jsonl").read_text().splitlines() if line}
    summary = golden["summary"]
    for item in golden["requests"]:
        assert item["raw_payload"] in raw
        incoming = decode_request(item["raw_payload"])
        assert incoming.request.requestid == summary["requestid"]
        assert incoming.request.agent == summary["agent"]
        assert item["nats"]["subject"] in summary["request_subjects"]
        assert incoming.transport.reply_to == summary["reply_subject"]
    repliers = []
    for item in golden["replies"]:
        assert item["raw_payload"] in raw
        reply = decode_reply(item["raw_payload"]).reply
        assert reply.requestid == summary["requestid"]
        repliers.append(reply.senderid)
    assert sorted(repliers) == sorted(summary["repliers"])
