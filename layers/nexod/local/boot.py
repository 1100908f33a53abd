"""Boot the whole local stack in this process: Postgres, orchestrator, API server, seed data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import Settings
from .model import OfflineModel
from .platform import LocalPlatform
from .seed import seed
from .server import LocalServer
from .supervisor import Supervisor


@dataclass
class LocalStack:
    platform: LocalPlatform
    server: LocalServer
    seeded: dict[str, str] | None

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.server.stop()
        self.platform.close()


def boot(
    state_dir: Path,
    port: int = 8000,
    static_dir: Path | None = None,
    settings: Settings | None = None,
    with_seed: bool = True,
    jwks_client: Any = None,
    supervisor: Supervisor | None = None,
    offline: OfflineModel | None = None,
) -> LocalStack:
    from functions.api import broker as broker_api
    from functions.api import handler as api

    server = LocalServer(None, None, static_dir, port=port)  # bind first: the issuer URL needs the port
    try:
        platform = LocalPlatform.start(
            state_dir,
            base_url=server.url,
            settings=settings,
            jwks_client=jwks_client,
            supervisor=supervisor,
            offline=offline,
        )
    except BaseException:
        server.stop()
        raise
    server.issuer = platform.issuer
    server.event_bell = platform.event_bell
    server.ingress_door = platform.ingress_door
    api.configure(platform.services, platform.verifier, health=platform.health)
    broker_api.bind(lambda: platform.broker)
    server.api_handler = api.handler
    server.broker_handler = api.broker_handler
    server.hook_handler = api.hook_handler
    server.start()
    seeded = seed(platform.services, server.url) if with_seed else None
    return LocalStack(platform, server, seeded)
