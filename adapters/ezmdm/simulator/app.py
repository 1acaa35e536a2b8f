"""The ezmdm simulator as one ``VendorApp``: the ``/api/v1/`` prefix, the envelope errors,
and the hooks tests use to read state and to switch on the vendor's paging bugs.

The routes live in ``routes.py``, the fleet in ``seed.py`` and the storage in ``state.py``;
this class puts them together.
"""

from __future__ import annotations

from mdmbridge.simulation.server import BadRequest, SimRequest, SimResponse

from .routes import ApiError, EzmdmRoutes
from .state import Record

API_PREFIX = "/api/v1/"


class EzmdmSimulator(EzmdmRoutes):
    """The ezmdm REST API as a :class:`~mdmbridge.simulation.server.VendorApp`.

    Public state for tests: ``pushes`` (device ids that received ``push=1``, in order) and
    ``list_requests`` (list GETs answered successfully). Paging-bug hooks: :meth:`short_page`
    and :meth:`drift_total`. Read-only helpers: :meth:`count`, :meth:`ids`, :meth:`record`.
    """

    def __init__(
        self,
        *,
        api_key: str = "ez-demo-key",
        devices: int = 0,
        seed: int = 1,
        max_page_size: int = 100,
    ) -> None:
        if devices < 0:
            raise ValueError("devices must be >= 0")
        if max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        super().__init__(api_key=api_key, seed=seed, max_page_size=max_page_size)
        if devices:
            self._seed_fleet(devices)

    # ------------------------------------------------------------------ VendorApp protocol

    def error_response(self, status: int, message: str) -> SimResponse:
        return SimResponse.json({"success": False, "error": message}, status=status)

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path
        # [sim decision] the prefix is matched case-insensitively, like the rest of the URL.
        if not path.lower().startswith(API_PREFIX):
            return SimResponse(
                status=404, body=b"Not Found", content_type="text/plain; charset=utf-8"
            )
        parts = path[len(API_PREFIX) :].split("/")
        if len(parts) > 1 and parts[-1] == "":
            parts.pop()  # [sim decision] one trailing slash is ignored
        with self._lock:
            try:
                return self._route(request, parts)
            except (ApiError, BadRequest) as exc:
                return self.error_response(200, str(exc))

    # ------------------------------------------------------------------ test hooks

    def short_page(self, page: int, missing: int = 1, times: int = 1) -> None:
        """The next ``times`` list answers for ``page`` drop their last ``missing`` items
        while still reporting the full ``total`` (the vendor's short-page bug)."""
        if page < 1 or missing < 1 or times < 1:
            raise ValueError("page, missing and times must be >= 1")
        with self._lock:
            self._short_pages.append([page, missing, times])

    def drift_total(self, by: int, times: int = 1) -> None:
        """The next ``times`` list answers report ``total + by`` (never below 0)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._drifts.append([by, times])

    def reset_counters(self) -> None:
        """Zero ``list_requests``, forget ``pushes`` and pending paging hooks."""
        with self._lock:
            self.list_requests = 0
            self.pushes.clear()
            self._short_pages.clear()
            self._drifts.clear()

    def count(self, item: str) -> int:
        """How many items of a kind exist (what an unfiltered list reports as ``total``)."""
        with self._lock:
            return len(self._order[item.lower()])

    def ids(self, item: str) -> list[str]:
        """All ids of a kind, in list order (a copy)."""
        with self._lock:
            return list(self._order[item.lower()])

    def record(self, item: str, item_id: str) -> Record | None:
        """A copy of one record as the API would serve it, or None."""
        with self._lock:
            if self._kind_of(item_id) != item.lower():
                return None
            return dict(self._peek(item_id))

    def built(self) -> int:
        """How many records exist as objects (changed, created or handed out); the rest of
        a seeded fleet is made each time it is served (a test's window on memory)."""
        with self._lock:
            return len(self._objects)
