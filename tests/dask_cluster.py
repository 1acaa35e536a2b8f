"""A real Dask cluster for the ``--executor`` tests: a LocalCluster of two single-threaded
worker processes, one per test module (starting one costs a few seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def make_cluster(**config: Any) -> Any:
    """A new LocalCluster, with ``config`` (dask settings) applied while it starts."""
    import dask
    import distributed

    with dask.config.set(config):
        return distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            dashboard_address=None,
            scheduler_port=0,
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with make_cluster() as running:
        yield running
