"""``python -m mdmbridge_ezmdm.simulator``: the simulator stand-alone (see :func:`main`)."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
