"""HTTP clients for the sandbox store of ``bs_store``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.brightsites import BsStore


def plain_client(base_url: str, **options: object) -> httpx.Client:
    """An httpx client for plain http on loopback (no TLS context: faster to build)."""
    return httpx.Client(base_url=base_url, verify=False, **options)  # noqa: S501


@pytest.fixture
def api(bs_store: BsStore) -> Iterator[httpx.Client]:
    """A client with the read/write token in ``X-API-TOKEN``."""
    with plain_client(bs_store.api_url, timeout=10,
                      headers={"X-API-TOKEN": bs_store.read_write_token}) as client:
        yield client


@pytest.fixture
def anon(bs_store: BsStore) -> Iterator[httpx.Client]:
    """A client without a token."""
    with plain_client(bs_store.api_url, timeout=10) as client:
        yield client
