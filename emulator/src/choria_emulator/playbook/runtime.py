"""What a run talks to: the Choria broker, HTTP endpoints, the clock. One place, easy to swap in tests."""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TextIO

from .bridge import LoopThread

if TYPE_CHECKING:
    from ..client import ClientConfig, RPCResult

DEFAULT_SLACK_API = "https://slack.com/api"


@dataclass
class RunOptions:
    """How to run a playbook; every field has a default that works on a Choria client machine.

    ``client``: the Choria connection (default: ``ClientConfig.load()``, i.e. ``~/.choriarc``,
    ``/etc/choria/client.conf``, else ``nats://127.0.0.1:4222``). ``slack_api``: base URL of the
    Slack Web API (default ``$CHORIA_SLACK_API`` or https://slack.com/api) so Slack-compatible
    servers and tests can receive messages. ``sleep``: the clock used for ``tries``/``pre_sleep``.
    """

    client: ClientConfig | None = None
    puppetdb: Any = None
    slack_api: str | None = None
    sleep: Callable[[float], None] = time.sleep
    stream: TextIO | None = None  # console for log lines (default stderr)
    quiet: bool = False  # no console output at all
    loglevel: str | None = None
    discovery_timeout: float | None = None
    rpc_timeout: float = 10.0
    collective: str | None = None  # sub-collective for mcollective tasks (default: the main one)
    owner: str | None = None
    ca_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()  # playbook files running this one through ``playbook`` tasks, outermost first

    def console(self) -> TextIO | None:
        if self.quiet:
            return None
        return self.stream if self.stream is not None else sys.stderr


@dataclass
class HTTPResponse:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body or "null")


class Services:
    """The run's connections; created lazily, closed by :meth:`close`."""

    def __init__(self, options: RunOptions):
        self.options = options
        self._loop: LoopThread | None = None
        self._client: Any = None
        self._config: ClientConfig | None = options.client

    # -- event loop and broker ----------------------------------------------------------
    def loop(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    @property
    def client_config(self) -> ClientConfig:
        if self._config is None:
            from ..client import ClientConfig

            self._config = ClientConfig.load()
        return self._config

    @property
    def ddl_path(self) -> list[str]:
        """Directories of agent JSON DDLs besides ``$CHORIA_DDL_PATH`` (``--ddl-path``)."""
        return list(self.options.extra.get("ddl_path") or [])

    @property
    def caller_id(self) -> str:
        return self.client_config.callerid

    def rpc(
        self,
        agent: str,
        action: str,
        data: dict[str, Any],
        nodes: list[str],
        batch_size: int | None = None,
        batch_sleep: float = 0.0,
    ) -> RPCResult:
        from ..client import ChoriaClient
        from ..client import rpc as rpc_call

        async def call() -> RPCResult:
            if self._client is None:
                client = ChoriaClient(self.client_config)
                await client.__aenter__()
                self._client = client
                self.loop().on_close(self._close_client)
            return await rpc_call(
                self._client,
                agent,
                action,
                data,
                targets=list(nodes),
                batch_size=batch_size,
                batch_sleep=batch_sleep or 0.0,
                timeout=self.options.rpc_timeout,
                collective=self.options.collective,
            )

        return self.loop().call(call())

    async def _close_client(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    # -- HTTP -----------------------------------------------------------------------------
    def http(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None = None,
        verify: bool = True,
        timeout: float = 30.0,
    ) -> HTTPResponse:
        """One HTTP request; any status is returned (not raised), connection errors raise OSError."""
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        context = None
        if url.startswith("https:"):
            context = (
                ssl.create_default_context(cafile=self.options.ca_file) if verify else ssl._create_unverified_context()
            )  # verify_ssl: false was asked for
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # URL from the playbook
                return HTTPResponse(response.status, response.read().decode(errors="replace"))
        except urllib.error.HTTPError as exc:
            return HTTPResponse(exc.code, exc.read().decode(errors="replace"))

    @property
    def slack_api(self) -> str:
        return (self.options.slack_api or os.environ.get("CHORIA_SLACK_API") or DEFAULT_SLACK_API).rstrip("/")

    def sleep(self, seconds: float) -> None:
        self.options.sleep(seconds)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None
