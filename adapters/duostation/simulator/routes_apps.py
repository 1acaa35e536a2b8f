"""DuoSTATION's apps: ``/api/apps[/{id}]``. A ``POST`` adds an app or, when one with the
same (package id, platform, store) exists, updates it: the vendor's "save".
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from typing import cast

from mdmbridge.simulation.server import SimRequest, SimResponse

from .answers import bad, listing
from .body import Body, blank, int_id, is_http_url, read_body
from .state import DuoStationState, Record, find

PLATFORMS = {0: "iOS", 1: "Android", 2: "macOS", 3: "tvOS"}
STORES = {0: "App Store", 1: "Play", 2: "in-house"}

_DIGITS = re.compile(r"[0-9]+")


class AppRoutes(DuoStationState):
    """The handlers of ``apps``."""

    def _list_apps(self, request: SimRequest) -> SimResponse:
        return listing(request, [dict(a) for a in self.apps.values()])

    def _get_app(self, request: SimRequest, raw_id: str) -> SimResponse:
        return SimResponse.json(dict(find(self.apps, int_id(raw_id, "app"), "App")))

    @staticmethod
    def _app_input(body: Body) -> Record:
        """Validate an add-or-update body; returns the fields present (PascalCase)."""
        name = body.text("name", required=True)
        company = body.text("company", required=True)
        package_id = cast(str, body.text("packageId", required=True))
        version_text = body.text("versionText", required=True)
        store_id = cast(str, body.text("storeId", required=True))
        platform = cast(int, body.integer("platform", required=True))
        size = cast(int, body.integer("size", required=True))
        store = cast(int, body.integer("store", required=True))
        if platform not in PLATFORMS:
            raise bad(
                f"The field 'platform' must be 0 (iOS), 1 (Android), 2 (macOS) or 3 (tvOS), "
                f"not {platform}."
            )
        if store not in STORES:
            raise bad(
                f"The field 'store' must be 0 (App Store), 1 (Play) or 2 (in-house), not {store}."
            )
        if size < 0:
            raise bad(f"The field 'size' must be a number of bytes >= 0, not {size}.")
        image_data = body.text("imageData")
        image_url = body.text("imageUrl")
        image_data = None if blank(image_data) else image_data
        image_url = None if blank(image_url) else image_url
        if image_data is not None and image_url is not None:
            raise bad("imageData and imageUrl cannot be combined; give only one of them.")
        if image_data is None and image_url is None:
            raise bad("One of imageData (base64 PNG) or imageUrl is required.")
        if image_data is not None:
            try:
                base64.b64decode(image_data.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise bad("The field 'imageData' must be base64-encoded PNG data.") from None
        if image_url is not None and not is_http_url(image_url):
            raise bad(f"The field 'imageUrl' must be an http(s) URL, not '{image_url}'.")
        if store == 0 and not _DIGITS.fullmatch(store_id.strip()):
            raise bad(
                f"With store 0 (App Store), storeId must be the App Store id, not '{store_id}'."
            )
        if store == 1 and store_id != package_id:
            raise bad(
                f"With store 1 (Play), storeId must equal packageId ('{package_id}'), "
                f"not '{store_id}'."
            )
        if store == 2 and platform == 2:
            path = urllib.parse.urlsplit(store_id.strip()).path.lower()
            if not is_http_url(store_id) or not path.endswith((".pkg", ".zip")):
                raise bad(
                    "With store 2 (in-house) and platform 2 (macOS), storeId must be an http(s) "
                    f"URL to a .pkg or .zip file, not '{store_id}'."
                )
        fields: Record = {
            "Name": name,
            "Company": company,
            "PackageId": package_id,
            "VersionText": version_text,
            "Platform": platform,
            "Size": size,
            "Store": store,
            "StoreId": store_id,
            "ImageUrl": image_url,
            "ImageData": image_data,
        }
        if body.has("description"):
            fields["Description"] = body.text("description")
        if body.has("versionNumber"):
            fields["VersionNumber"] = body.integer("versionNumber")
        return fields

    def _save_app(self, request: SimRequest) -> SimResponse:
        fields = self._app_input(read_body(request))
        key = (fields["PackageId"].casefold(), fields["Platform"], fields["Store"])
        for app in self.apps.values():
            if (app["PackageId"].casefold(), app["Platform"], app["Store"]) == key:
                app.update(fields)
                return self._created(app["Id"])
        app_id = self._next_id("apps")
        self.apps[app_id] = {
            "Id": app_id,
            "Name": fields["Name"],
            "Description": fields.get("Description"),
            "Company": fields["Company"],
            "PackageId": fields["PackageId"],
            "VersionText": fields["VersionText"],
            "VersionNumber": fields.get("VersionNumber"),
            "Platform": fields["Platform"],
            "Size": fields["Size"],
            "Store": fields["Store"],
            "StoreId": fields["StoreId"],
            "ImageUrl": fields["ImageUrl"],
            "ImageData": fields["ImageData"],
        }
        return self._created(app_id)
