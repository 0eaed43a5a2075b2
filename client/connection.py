"""Connecting to Temporal, and the one documented default client.

The address and credentials come from Temporal's standard environment variables, so the same
code talks to ``jobs dev``, a docker-compose cluster or Temporal Cloud.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

from client.errors import ServerUnreachableError
from client.settings import DEFAULT_ADDRESS

_default_clients: dict[asyncio.AbstractEventLoop, Client] = {}
_explicit_default: Client | None = None


def connect_options() -> dict[str, Any]:
    """Keyword arguments for ``Client.connect`` from TEMPORAL_* variables and the config file."""
    options: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    options.setdefault("target_host", DEFAULT_ADDRESS)
    options["data_converter"] = pydantic_data_converter
    return options


async def connect(**overrides: Any) -> Client:
    """Connect with jobmodule's data converter; a clear error names the address if it fails."""
    options = connect_options()
    options.update(overrides)
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
