"""``python -m mdmbridge_intune.simulator``: serve the simulator until Ctrl-C."""

from . import main

raise SystemExit(main())
