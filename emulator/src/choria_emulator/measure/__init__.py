"""Load-test suites (``choria-emulator measure``): the original's files, ``report.json``, plots, compare."""

from .compare import load_run, table
from .files import ORIGINAL_FILES, REQUESTS_HEADER, read_report, read_requests, read_times
from .model import MeasureError, SuiteOptions, SuiteResult, TestResult
from .suite import Observer, run_suite

__all__ = [
    "MeasureError",
    "ORIGINAL_FILES",
    "Observer",
    "REQUESTS_HEADER",
    "SuiteOptions",
    "SuiteResult",
    "TestResult",
    "load_run",
    "read_report",
    "read_requests",
    "read_times",
    "run_suite",
    "table",
]
