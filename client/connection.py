"""Connecting to Temporal, the one documented default client, and ``using(client)``.

The address and credentials come from Temporal's standard environment variables, so the same
code talks to ``jobmodule dev``, a docker-compose cluster or Temporal Cloud. Every jobmodule
object that talks to the server takes its client the same way, ``.using(client)``, and uses the
default client without one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError, RPCStatusCode

import jobmodule.shutdown  # noqa: F401 - registers the clean-exit hook with every client
from jobmodule.errors import SearchAttributesMissingError, ServerUnreachableError
from jobmodule.settings import DEFAULT_ADDRESS, default_settings
from jobmodule.workflows import ALL_SEARCH_ATTRIBUTES

T = TypeVar("T")

log = logging.getLogger("jobmodule")

_default_clients: dict[asyncio.AbstractEventLoop, Client] = {}
_explicit_default: Client | None = None

SEARCH_ATTRIBUTES_SETTLE_SECONDS = 10.0
"""How long a start may keep meeting "no mapping" after we registered the attributes."""


def connect_options() -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from TEMPORAL_* variables and the config file."""
    options: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    options.setdefault("target_host", DEFAULT_ADDRESS)
    options["data_converter"] = pydantic_data_converter
    return options


async def connect(*, tracing: bool | None = None, **overrides: Any) -> Client:
    """Connect with jobmodule's data converter; a clear error names the address if it fails.

    With ``tracing`` (default: ``JOBS_TRACING``, on) the client carries OpenTelemetry trace
    context from a dispatch to the workflow and each attempt (``jobmodule.tracing``).
    """
    options = connect_options()
    options.update(overrides)
    if default_settings().tracing if tracing is None else tracing:
        from jobmodule.tracing import JobTracingInterceptor

        options["interceptors"] = [*options.get("interceptors", ()), JobTracingInterceptor()]
    try:
        return await Client.connect(**options)
    except RuntimeError as error:
        raise ServerUnreachableError(str(options["target_host"]), error) from error


def set_default_client(client: Client | None) -> None:
    """Use ``client`` wherever no client is passed explicitly (tests, apps with their own)."""
    global _explicit_default
    _explicit_default = client


async def get_default_client() -> Client:
    """The default client: the one set explicitly, else one connected from the environment.

    One client per event loop, because a Temporal client belongs to the loop that made it.
    """
    if _explicit_default is not None:
        return _explicit_default
    loop = asyncio.get_running_loop()
    client = _default_clients.get(loop)
    if client is None:
        client = await connect()
        _default_clients[loop] = client
    return client


class UsesClient:
    """Talks to Temporal through the client given to ``using()``, else the default client."""

    _client: Client | None = None

    def using(self, client: Client) -> Self:
        """Send through ``client`` instead of the default one."""
        self._client = client
        return self

    async def client(self) -> Client:
        """The client in use (the default one unless ``using()`` named one)."""
        if self._client is None:
            self._client = await get_default_client()
        return self._client


# -- search attributes ------------------------------------------------------------------------


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register our custom search attributes where missing; return the names added."""
    wanted = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in ALL_SEARCH_ATTRIBUTES
    }
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in existing.custom_attributes}
    except RPCError as error:
        if error.status != RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server
            raise
        missing = wanted
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def lacks_search_attributes(error: BaseException) -> bool:
    """Whether the server refused a start or a query because our attributes are unknown."""
    if not isinstance(error, RPCError) or error.status != RPCStatusCode.INVALID_ARGUMENT:
        return False
    message = error.message.lower()
    return "search attribute" in message and any(
        key.name.lower() in message for key in ALL_SEARCH_ATTRIBUTES
    )


async def with_search_attributes(client: Client, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call``; on a fresh namespace without our search attributes, register them, again.

    Costs nothing on a namespace that has them (a worker registers them when it starts), so a
    dispatch before any worker ever ran works instead of failing with a raw "no mapping".
    """
    try:
        return await call()
    except RPCError as error:
        if not lacks_search_attributes(error):
            raise
    try:
        added = await ensure_search_attributes(client)
    except RPCError as error:
        raise SearchAttributesMissingError(
            f"jobmodule's search attributes are not registered on namespace "
            f"{client.namespace!r}, and registering them failed ({error.message}). Ask an "
            "operator to add them, or start a worker once with rights to do so."
        ) from None
    if added:
        log.info("registered search attributes: %s", ", ".join(added))
    deadline = asyncio.get_running_loop().time() + SEARCH_ATTRIBUTES_SETTLE_SECONDS
    while True:  # the server may take a moment to see the new mapping
        try:
            return await call()
        except RPCError as error:
            if not lacks_search_attributes(error):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.1)
