"""``python -m ivs_realtime_emulator --scenario FILE --port N``."""

import sys

from ivs_realtime_emulator.cli import main

sys.exit(main())
