"""The root of the errors a user can act on: the CLI prints them as one line, never a traceback."""


class ChoriaEmulatorError(Exception):
    """Something went wrong that the message explains well enough to fix (a bad setting, an unreachable broker)."""
