"""The DuoSTATION simulator as one ``VendorApp``: Basic authentication, then the route of
``/api/<resource>[/<id>[/<command>]]`` to the resource's handler.

The handlers live in the ``routes_*.py`` mixins and the fleet in ``seed.py``; this class
puts them together, so the check order (authentication, route, method, then the handler's
own checks) is decided in one place.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import TypeVar

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import ID_SHAPES, Refused
from .routes_apps import AppRoutes
from .routes_devices import COMMANDS, DeviceRoutes
from .routes_groups_users import GroupUserRoutes
from .routes_tags import TagRoutes
from .seed import FleetSeeding

REALM = "DuoSTATION"
DENIED = "Authorization has been denied for this request."

CollectionHandler = Callable[[SimRequest], SimResponse]
ItemHandler = Callable[[SimRequest, str], SimResponse]
_H = TypeVar("_H", CollectionHandler, ItemHandler)


class DuoStationSimulator(GroupUserRoutes, DeviceRoutes, TagRoutes, AppRoutes, FleetSeeding):
    """The DuoSTATION MDM REST API in memory; a ``VendorApp`` for :class:`SimServer`.

    State is public so tests can inspect it: ``groups``, ``users``, ``tags``, ``device_tags``,
    ``user_tags``, ``group_tags`` and ``apps`` are dicts keyed by integer id, ``devices`` is
    keyed by the lowercase GUID; every value is the record in its wire shape (groups without
    the derived ``Path``, user tags without the derived ``UserName``). ``commands`` lists every
    accepted device command as ``(device id, command, body)``. Hold ``lock`` to read state
    consistently while the server runs.
    """

    def __init__(
        self,
        *,
        username: str = "api",
        password: str = "secret",
        devices: int = 0,
        seed: int = 1,
        id_shape: str = "number",
    ) -> None:
        if id_shape not in ID_SHAPES:
            raise ValueError(f"id_shape must be one of {', '.join(ID_SHAPES)}, not {id_shape!r}")
        if devices < 0:
            raise ValueError("devices must be >= 0")
        super().__init__(username=username, password=password, id_shape=id_shape)
        self._collections: dict[str, dict[str, CollectionHandler]] = {
            "groups": {"GET": self._list_groups, "POST": self._create_group},
            "users": {"GET": self._list_users, "POST": self._create_user},
            "devices": {"GET": self._list_devices},
            "tags": {"GET": self._list_tags, "POST": self._create_tag},
            "devicetags": {"GET": self._list_device_tags, "POST": self._create_device_tag},
            "usertags": {"GET": self._list_user_tags, "POST": self._create_user_tag},
            "grouptags": {"GET": self._list_group_tags, "POST": self._create_group_tag},
            "apps": {"GET": self._list_apps, "POST": self._save_app},
        }
        self._items: dict[str, dict[str, ItemHandler]] = {
            "groups": {
                "GET": self._get_group,
                "PUT": self._update_group,
                "DELETE": self._delete_group,
            },
            "users": {"GET": self._get_user, "PUT": self._update_user, "DELETE": self._delete_user},
            "devices": {"GET": self._get_device, "PUT": self._update_device},
            "tags": {"GET": self._get_tag, "PUT": self._update_tag, "DELETE": self._delete_tag},
            "devicetags": {"GET": self._get_device_tag, "DELETE": self._delete_device_tag},
            "usertags": {"GET": self._get_user_tag, "DELETE": self._delete_user_tag},
            "grouptags": {"GET": self._get_group_tag, "DELETE": self._delete_group_tag},
            "apps": {"GET": self._get_app},
        }
        if devices:
            self._seed(devices, seed)

    # ------------------------------------------------------------------ VendorApp protocol

    def handle(self, request: SimRequest) -> SimResponse:
        try:
            self._authenticate(request)
            with self.lock:
                return self._dispatch(request)
        except Refused as exc:
            response = self.error_response(exc.status, exc.message)
            response.headers.update(exc.headers)
            return response

    def error_response(self, status: int, message: str) -> SimResponse:
        response = SimResponse.json({"Message": message}, status=status)
        if status == 401:
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        return response

    # ------------------------------------------------------------------ plumbing

    def _authenticate(self, request: SimRequest) -> None:
        header = (request.headers.get("Authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            raise Refused(401, DENIED)
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise Refused(401, DENIED) from None
        # RFC 7617 says UTF-8 (charset="UTF-8"), but requests and many scripts encode
        # user:password as latin-1; the server accepts either, UTF-8 tried first.
        for encoding in ("utf-8", "latin-1"):
            try:
                decoded = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            user, sep, password = decoded.partition(":")
            if sep and user == self.username and password == self.password:
                return
        raise Refused(401, DENIED)

    def _dispatch(self, request: SimRequest) -> SimResponse:
        not_found = Refused(
            404, f"No HTTP resource was found that matches the request URI '{request.raw_path}'."
        )
        trimmed = request.path.rstrip("/")
        if not trimmed.startswith("/"):
            raise not_found
        parts = trimmed[1:].split("/")
        if len(parts) < 2 or parts[0].lower() != "api" or "" in parts:
            raise not_found
        resource, rest = parts[1].lower(), parts[2:]
        if resource not in self._collections:
            raise not_found
        if not rest:
            handlers = self._collections[resource]
            return self._method(handlers, request)(request)
        if len(rest) == 1:
            item_handlers = self._items[resource]
            return self._method(item_handlers, request)(request, rest[0])
        if len(rest) == 2 and resource == "devices" and rest[1].lower() in COMMANDS:
            command = rest[1].lower()

            def run(req: SimRequest, raw_id: str) -> SimResponse:
                return self._command(req, raw_id, command)

            return self._method({"POST": run}, request)(request, rest[0])
        raise not_found

    @staticmethod
    def _method(handlers: Mapping[str, _H], request: SimRequest) -> _H:
        handler = handlers.get(request.method)
        if handler is None:
            raise Refused(
                405,
                f"The requested resource does not support http method '{request.method}'.",
                {"Allow": ", ".join(sorted(handlers))},
            )
        return handler
