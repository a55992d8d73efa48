"""``python -m pipelines.emulator --scenario FILE --port N``."""

import sys

from pipelines.emulator.cli import main

sys.exit(main())
