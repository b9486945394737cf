"""Master key rotation: SCIMRELAY_SECRET_KEY lists the new key first, then old ones.

Downstream tokens are encrypted with the master key, so a relay restarted with
a new key in front must still decrypt what the old key encrypted. Without the
variable, the relay generates a key file in the data folder, readable by its
owner only.
"""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import RelayFactory, ScimServer
from tests.support.relay import Cli, Relay, relay_environment

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def create_user_status(relay: Relay) -> int:
    user = {"schemas": [USER_SCHEMA], "userName": f"keyed-{secrets.token_hex(4)}"}
    with relay.client() as client:
        return client.post("/Users", json=user).status_code


@pytest.fixture(scope="module")
def rotated(relay_factory: RelayFactory) -> Relay:
    """A relay created under the old key, restarted with the new key in front."""
    relay = relay_factory(env={"SCIMRELAY_SECRET_KEY": OLD_KEY})
    assert create_user_status(relay) == 201

    return relay_factory.restart(
        relay, {"SCIMRELAY_SECRET_KEY": f"{NEW_KEY},{OLD_KEY}"}
    )


def test_old_token_decrypts_after_key_rotation(rotated: Relay) -> None:
    assert create_user_status(rotated) == 201


def test_integration_created_under_new_key_works(
    rotated: Relay, scim_server: ScimServer
) -> None:
    integration = rotated.create_integration(
        scim_server.new_tenant_url(), scim_server.token
    )
    with rotated.client(integration=integration) as client:
        response = client.get("/Users")

    assert response.status_code == 200, response.text


def test_set_key_writes_no_key_file(rotated: Relay) -> None:
    names = [path.name for path in rotated.data_dir.iterdir()]

    assert not any("key" in name.lower() for name in names), names


def test_generated_key_file_is_private(tmp_path: Path) -> None:
    cli = Cli(relay_environment(tmp_path / "data", {}), cwd=tmp_path)
    cli.json("tenant", "create", "key-file-tenant")
    key_files = [path for path in (tmp_path / "data").iterdir() if "key" in path.name]

    assert len(key_files) == 1, key_files
    assert stat.S_IMODE(key_files[0].stat().st_mode) & 0o077 == 0
