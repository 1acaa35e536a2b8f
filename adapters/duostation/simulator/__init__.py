"""A faithful fake DuoSTATION MDM server (REST API 4.8.49) on the shared simulator framework.

It answers the way the vendor's ASP.NET server does as far as the document and the public
evidence tell: compact JSON with PascalCase keys, device ids as bare 36-character GUIDs,
errors as ``{"Message": "..."}``, Basic Authentication on every request, case-insensitive
routes and query-parameter names, and empty 200 bodies for updates, deletes and commands.

Where the vendor document is silent this package takes a decision; every one is listed in the
"Decisions" block below so it can be corrected in one place when the vendor says otherwise.

The package, one job per module:

- ``app.py``: :class:`DuoStationSimulator`: authentication and routing to the handlers;
- ``routes_groups_users.py``, ``routes_devices.py`` (and device commands),
  ``routes_tags.py`` (tags and tag links), ``routes_apps.py``: the handlers by resource;
- ``state.py``: the tables, id counters and indexes the handlers share;
- ``seed.py``: the generated fleet;
- ``body.py``: reading path ids, query values and JSON bodies;
- ``answers.py``: the answers (errors, empty 200s, new ids, arrays);
- ``run.py``: :func:`start_simulator` and the command line (:func:`main`).

Run it stand-alone::

    python -m mdmbridge_duostation.simulator --port 8080 --devices 500 \\
        --username api --password secret --latency-ms 20 --fault status:429:retry_after=2:times=3

Decisions (the document is silent):

- Empty query values (``?email=``) are ignored, as ASP.NET model binding turns them into
  null. Unknown query parameters and unknown body keys are ignored.
- ``GET /api/groups?number=&path=``: both may be given; ``number`` narrows the candidates and
  ``path`` then selects exactly one. A ``path`` whose segments are all empty is a 400.
  Empty path segments (``A//B``) are skipped.
- A referenced id inside a body that does not exist (``parentId``, ``groupId``, ``userId``,
  ``tagId``, ``deviceId``, ``appId``) is a 404, like the device PUT the brief specifies.
  ``groupId`` 0 or null on users and tags means "no group".
- String fields must be JSON strings or null; integer fields must be JSON integers (not
  booleans, not floats). Only the link endpoints (devicetags, usertags, grouptags) also take
  numeric strings for their ids, because the vendor document quotes them.
- A required text field must be non-blank. A PUT that sends ``name`` must send a non-blank one.
- Lost mode: a value that is blank (empty or whitespace) counts as "no value".
- Changing a user's group moves the user's devices to the new group; clearing the group
  (null/0) leaves the devices where they are. Relinking a device to a user without a group
  keeps the device's group.
- Deleting a user (allowed only without devices) also removes the user's usertags.
- Linking the same (device|user|group, tag) pair twice is a 409.
- Apps are matched on (packageId compared case-insensitively, platform, store). On update,
  absent optional keys (description, versionNumber) keep their stored value; the image given
  replaces both image fields. ``imageData`` must be valid base64, ``imageUrl`` an http(s) URL;
  an App Store ``storeId`` is ASCII digits only.
- Filters compare strings case-insensitively and exactly (after trimming the query value);
  ``tagId`` filters use the direct links only (devicetags / usertags). An unknown ``tagId``
  or ``groupId`` in a filter gives an empty array, not a 404.
- Every resource has its own id sequence starting at 1; ids are never reused.
- Device GUIDs are accepted in any form ``uuid.UUID`` parses (upper case, braces, no
  dashes) and always answered in the lowercase 36-character form.
- Check order: authentication, route (404), method (405), id syntax (400), existence (404),
  body (400), referenced ids (404), refusals (409).
- Basic credentials are accepted whether ``user:password`` was encoded as UTF-8 (RFC 7617)
  or as latin-1 (what ``requests`` sends) before base64.
"""

from __future__ import annotations

from .answers import ID_SHAPES
from .app import DuoStationSimulator
from .run import main, start_simulator

__all__ = ["ID_SHAPES", "DuoStationSimulator", "main", "start_simulator"]
