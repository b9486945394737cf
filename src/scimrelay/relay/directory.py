"""The in-process cache of integrations and API keys used on the request path.

The request path never touches the database: it reads this cache, which a
background task reloads whenever the store's configuration version changes.
The task checks the version when woken by a change notice (see
:mod:`scimrelay.ops.notify`) and at a fixed interval, so a change made by any
process (CLI, console, API) is seen within that interval even without notices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from scimrelay import __version__
from scimrelay.adapt.profiles import enabled_rules
from scimrelay.integrations.keys import secret_matches, split_key
from scimrelay.integrations.service import IntegrationService, config_version
from scimrelay.resilience import policies
from scimrelay.resilience.policy import DEFAULT_POLICY, Policy
from scimrelay.store.models import Integration

logger = structlog.get_logger(__name__)

REFRESH_INTERVAL = 0.5
USER_AGENT = f"scimrelay/{__version__}"


@dataclass(frozen=True, slots=True)
class RuntimeIntegration:
    """Everything the request path needs about one integration, decrypted."""

    id: str
    tenant_id: str
    tenant_name: str
    name: str
    scim_url: str
    group_description: str
    force_group_description: bool
    outbound_headers: dict[str, str] = field(repr=False)
    secret_values: tuple[str, ...] = field(repr=False)
    policy: Policy = DEFAULT_POLICY
    profile: str = "generic"
    rules: tuple[str, ...] = ()
    provider_auth: str = "bearer"
    adaptation: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class _KeyEntry:
    integration_id: str
    secret_hash: str


class Directory:
    """Integrations and active API keys, indexed for the request path."""

    def __init__(self, service: IntegrationService) -> None:
        self._service = service
        self._integrations: dict[str, RuntimeIntegration] = {}
        self._keys: dict[str, _KeyEntry] = {}
        self._changed = asyncio.Event()
        self._removed: list[str] = []
        self._removal_listeners: list[Callable[[str], None]] = []
        self.version = -1

    def __len__(self) -> int:
        return len(self._integrations)

    def integrations(self) -> list[RuntimeIntegration]:
        return list(self._integrations.values())

    def get(self, integration_id: str) -> RuntimeIntegration | None:
        return self._integrations.get(integration_id)

    def authenticate(
        self, integration_id: str, presented_key: str
    ) -> RuntimeIntegration | None:
        """Return the integration if the key is active and belongs to it."""
        parts = split_key(presented_key)
        if parts is None:
            return None

        entry = self._keys.get(parts[0])
        if entry is None or not secret_matches(parts[1], entry.secret_hash):
            return None
        if entry.integration_id != integration_id:
            return None
        return self._integrations.get(integration_id)

    def on_removed(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with the id of each integration that a reload drops.

        Listeners run on the event loop, in ``keep_fresh``, after the reload.
        """
        self._removal_listeners.append(listener)

    def refresh_if_changed(self) -> bool:
        """Reload everything if the configuration version moved; blocking."""
        with self._service.store.session() as session:
            version = config_version(session)
            if version == self.version:
                return False

            integrations = session.scalars(
                select(Integration).options(
                    selectinload(Integration.tenant),
                    selectinload(Integration.api_keys),
                )
            ).all()
            self._load(integrations, policies.load_all(session))
        self.version = version
        logger.info("configuration loaded", version=version, integrations=len(self))
        return True

    def _load(
        self, integrations: Sequence[Integration], limits: dict[str, Policy]
    ) -> None:
        loaded: dict[str, RuntimeIntegration] = {}
        keys: dict[str, _KeyEntry] = {}
        for integration in integrations:
            policy = limits.get(integration.id, DEFAULT_POLICY)
            loaded[integration.id] = self._runtime(integration, policy)
            for key in integration.api_keys:
                if key.revoked_at is None:
                    keys[key.id] = _KeyEntry(integration.id, key.secret_hash)
        self._removed += [old for old in self._integrations if old not in loaded]
        self._integrations = loaded
        self._keys = keys

    def _runtime(self, integration: Integration, policy: Policy) -> RuntimeIntegration:
        token, headers = self._service.decrypt_secrets(integration)
        outbound = {header.name: header.value for header in headers}
        outbound["Authorization"] = f"Bearer {token}"
        outbound["User-Agent"] = USER_AGENT
        secrets = tuple(
            value for value in [token, *(h.value for h in headers)] if len(value) >= 4
        )
        return RuntimeIntegration(
            id=integration.id,
            tenant_id=integration.tenant_id,
            tenant_name=integration.tenant.name,
            name=integration.name,
            scim_url=integration.scim_url,
            group_description=integration.group_description,
            force_group_description=integration.force_group_description,
            outbound_headers=outbound,
            secret_values=secrets,
            policy=policy,
            profile=integration.profile,
            rules=enabled_rules(integration.profile, integration.disabled_rules),
            provider_auth=integration.provider_auth,
            adaptation=dict(integration.adaptation or {}),
            capabilities=integration.capabilities,
        )

    def wake(self) -> None:
        """Make ``keep_fresh`` check the configuration version now."""
        self._changed.set()

    async def keep_fresh(self, interval: float = REFRESH_INTERVAL) -> None:
        """Check the configuration version when woken or every ``interval`` s."""
        while True:
            # asyncio.timeout, unlike wait_for on Python 3.11, never swallows a
            # cancellation that arrives as the timeout expires.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._changed.wait()
            self._changed.clear()
            try:
                await asyncio.to_thread(self.refresh_if_changed)
            except Exception:
                logger.exception("configuration refresh failed; keeping the last one")
            self._announce_removals()

    def _announce_removals(self) -> None:
        removed, self._removed = self._removed, []
        for integration_id in removed:
            for listener in self._removal_listeners:
                listener(integration_id)
