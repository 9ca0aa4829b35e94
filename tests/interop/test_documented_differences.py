"""The filter differences docs/protocol.md lists as deliberate, observed on a real daemon and emulated nodes.

``real-1`` (mcollectived, role web, class webserver) and emulated ``x-0``..``x-2`` (x-0, x-1
web; x-2 db) on one broker answer the same real ``mco find``. Where the table in
"Interoperability → Differences found" says they differ, they must; if upstream or we change,
this fails and the table needs updating.
"""

from __future__ import annotations

import pytest
from conftest import emulated_classes, emulated_facts
from realchoria import concurrently, mco

CASES = {
    # -S statement: Ruby 2.12 splits "role!=db" at the first "=" and looks up fact "role!"
    "-S role!=db": (("find", "-S", "role!=db"), set(), {"x-0", "x-1"}),
    # fact == on strings: Ruby compares case-sensitively, go-choria 58e80ba case-insensitively
    "-F role=WEB": (("find", "-F", "role=WEB"), set(), {"x-0", "x-1"}),
    "-S role=WEB": (("find", "-S", "role=WEB"), set(), {"x-0", "x-1"}),
    # several identity entries: Ruby passes only when exactly one matches
    "-I twice": (("find", "-I", "real-1", "-I", "/^(real-1|x-1)$/"), set(), {"x-1"}),
    # agent "mcollective": always present on a Ruby daemon
    "-A mcollective": (("find", "-A", "mcollective"), {"real-1"}, set()),
    # the same texts where both agree
    "-F role=web": (("find", "-F", "role=web"), {"real-1"}, {"x-0", "x-1"}),
    "-S not role=db": (("find", "-S", "not role=db"), {"real-1"}, {"x-0", "x-1"}),
}


@pytest.fixture(scope="module")
def answers(brokers, daemons, emulators):
    broker = brokers.start()
    daemons.start(broker, "real-1", facts=emulated_facts(1), classes=emulated_classes(1), insecure=True)
    network = emulators.start(broker, 3, name="x")
    calls = {key: (lambda args=args: mco(broker.url, *args, insecure=True)) for key, (args, _, _) in CASES.items()}
    yield concurrently(calls, workers=4)
    network.stop()


@pytest.mark.parametrize("case", list(CASES))
def test_difference_is_as_documented(answers, case):
    _, real, emulated = CASES[case]
    result = answers[case]
    assert result.rc == 0, result
    names = result.lines
    assert len(names) == len(set(names)), result
    assert {n for n in names if n.startswith("real-")} == real, result
    assert {n for n in names if n.startswith("x-")} == emulated, result
