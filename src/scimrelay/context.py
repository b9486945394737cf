"""Opening the store and checking the master key, shared by the CLI and server."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError

from scimrelay.errors import ConfigurationError
from scimrelay.integrations.service import IntegrationService
from scimrelay.settings import Settings
from scimrelay.store.crypto import Keyring, load_keyring
from scimrelay.store.database import Store
from scimrelay.store.models import StoreState


@dataclass
class AppContext:
    settings: Settings
    store: Store
    keyring: Keyring
    service: IntegrationService

    @classmethod
    def open(cls, settings: Settings) -> AppContext:
        """Open and migrate the store, then check the master key against it."""
        keyring = load_keyring(settings)
        try:
            store = Store.open(settings)
        except OperationalError as error:
            raise ConfigurationError(
                f"the store cannot be opened: {error.orig}; check "
                "SCIMRELAY_DATABASE_URL and that the database server is running"
            ) from None
        check_master_key(store, keyring)
        service = IntegrationService(
            store,
            keyring,
            allow_private_downstreams=settings.allow_private_downstreams,
        )
        return cls(settings, store, keyring, service)

    def close(self) -> None:
        self.store.dispose()


def check_master_key(store: Store, keyring: Keyring) -> None:
    """Verify the key check value, writing it on a store's first start."""
    with store.session() as session:
        state = session.get(StoreState, 1, with_for_update=True)
        if state is None:
            session.add(
                StoreState(id=1, key_check=keyring.make_key_check(), config_version=0)
            )
            return
        if state.key_check is None:
            state.key_check = keyring.make_key_check()
            return
        keyring.verify_key_check(state.key_check)
