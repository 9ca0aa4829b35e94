"""``python -m choria_emulator``: the same as the ``choria-emulator`` command."""

import sys

from .cli import main

sys.exit(main())
