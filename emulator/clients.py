"""boto3 clients inside the emulator: each made once per service, region, credentials and
configuration, from one session, for as long as the emulated accounts live.

botocore builds a client from its service's JSON model and copies the session's event
handlers into it: 20 to 40 ms of CPU each, and a fresh session reads the model files
again (moto drops boto3's default session at every start). Deploying, running a pipeline
and every task of every execution made a new client per call: 800 clients, 30 s of a
test session, and the concurrent executions queued on the GIL behind them. A client is
thread-safe, a session is not (boto3 developer guide, "Multithreading or
multiprocessing with clients"): clients are made under a lock, then shared.

A client is only as good as the moto start it was made under: ``forget_clients`` runs
when an ``Emulator`` starts and stops, so none outlives its accounts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from emulator.identity import Credentials

_LOCK = threading.Lock()
_SESSION: list[boto3.Session] = []  # made on first use: after moto has registered its handlers
_CLIENTS: dict[tuple[str, str, Credentials, int], Any] = {}


def client(service: str, *, region: str, credentials: Credentials, config: Config | None = None) -> Any:
    """A ``service`` client in ``region`` signing with ``credentials``. ``config``, if any, is
    one of the callers' module constants: it is told apart by identity."""
    key = (service, region, credentials, id(config))
    with _LOCK:
        made = _CLIENTS.get(key)
        if made is None:
            if not _SESSION:
                _SESSION.append(boto3.Session())
            # The service is named at run time; the stubs overload each name as a literal.
            make_client: Callable[..., BaseClient] = _SESSION[0].client
            made = make_client(service, region_name=region, config=config, **credentials.as_boto3_kwargs())
            _CLIENTS[key] = made
        return made


def forget_clients() -> None:
    """The emulated accounts start or end: their clients go with them."""
    with _LOCK:
        _CLIENTS.clear()
