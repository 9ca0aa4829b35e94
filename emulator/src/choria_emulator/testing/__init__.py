"""Harness for the tests, the benchmarks and the demos: not used by the emulator, the client or the plugins.

* :mod:`.localnet`: real nats-server, emulator and federation broker processes on random ports;
* :mod:`.cluster`: a routed NATS cluster (and leaf nodes) on this machine;
* :mod:`.rehearsal`: the blue/green deploy rehearsal (its test, ``make demo-deploy``, the benchmark).

It ships in the package so that an installed collection's tests and ``make demo`` find it; nothing in
the runtime imports it (``scripts/check_imports.py``, run by ``make lint``, keeps it so).
"""
