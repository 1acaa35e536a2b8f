"""A faithful fake ezmdm server, built on the shared simulator framework.

Speaks ``/api/v1/<API_KEY>/<item>[/<id>]`` the way the vendor's page describes it (see
``VENDOR_APIS.md``): every API-level error is HTTP 200 with ``{"success":false,"error":...}``,
writes are form-encoded only, lists page with ``limit``/``page`` and report ``total``, and one
id after a list item means either "that item" or "the children of that parent".

Run it by hand with::

    python -m mdmbridge_ezmdm.simulator --port 8081 --devices 500 --api-key KEY \
        --latency-ms 20 --fault status:429:retry_after=2:times=3

Seeded fleets are made on demand: seeding registers only the group tree, and a record is made
from (seed, position) each time it is served (kept once changed), so 1,000,000 devices
seed instantly, memory stays flat and a page costs O(limit), never O(fleet).

Where the document is silent, the choices are marked **[sim decision]** in the modules.

The package, one job per module:

- ``app.py``: :class:`EzmdmSimulator`: the URL prefix, envelope errors, test hooks;
- ``routes.py``: the API's verbs, paging and form handling;
- ``seed.py``: the seeded fleet, made lazily;
- ``state.py``: ids, list orders, records and owner indexes;
- ``run.py``: :func:`start_simulator` and the command line (:func:`main`).
"""

from __future__ import annotations

from .app import EzmdmSimulator
from .run import main, start_simulator

__all__ = ["EzmdmSimulator", "main", "start_simulator"]
