"""``scimrelay rotate-secret-key``: re-encrypt stored secrets under a new key."""

from __future__ import annotations

import click

from scimrelay.cli.common import json_option, open_context, print_json, reports_errors
from scimrelay.errors import ConfigurationError
from scimrelay.settings import Settings
from scimrelay.store import rekey
from scimrelay.store.crypto import KEY_FILE_NAME, Keyring, read_or_create_key_file

ENV_STEPS = (
    "every stored secret is now encrypted under the first key of "
    "SCIMRELAY_SECRET_KEY; remove the older keys once every instance runs with "
    "the new key first"
)
FILE_STEPS = (
    "a new key was added first in {path} and every stored secret re-encrypted "
    "under it; restart the relay, then run `scimrelay rotate-secret-key "
    "--drop-old-keys`"
)


@click.command("rotate-secret-key")
@click.option(
    "--drop-old-keys",
    is_flag=True,
    help="Key file only: keep just the newest key, once nothing needs the others.",
)
@json_option
@reports_errors
def rotate_secret_key(drop_old_keys: bool, as_json: bool) -> None:
    """Re-encrypt every stored secret under the newest master key.

    With SCIMRELAY_SECRET_KEY, list the new key first and the current one
    after it (``NEW,OLD``) on every instance, then run this. With the embedded
    store's key file, this generates the new key itself.
    """
    settings = Settings.from_env()
    if settings.secret_key is None and settings.uses_embedded_store:
        result = _rotate_key_file(settings, drop_old_keys)
    else:
        result = _rotate_environment(drop_old_keys)
    if as_json:
        print_json(result)
    else:
        click.echo(result["message"])


def _rotate_environment(drop_old_keys: bool) -> dict[str, object]:
    if drop_old_keys:
        raise ConfigurationError(
            "--drop-old-keys applies to the key file only: remove old keys from "
            "SCIMRELAY_SECRET_KEY instead"
        )
    with open_context() as context:
        count = rekey.reencrypt_all(context.store, context.keyring)
    return {"integrations": count, "message": f"{count} integrations: {ENV_STEPS}"}


def _rotate_key_file(settings: Settings, drop_old_keys: bool) -> dict[str, object]:
    path = settings.data_dir / KEY_FILE_NAME
    with open_context() as context:
        keys = read_or_create_key_file(path)
        if drop_old_keys:
            rekey.check_all(context.store, Keyring(keys[:1]))
            rekey.write_key_file(path, keys[:1])
            return {"integrations": 0, "message": f"{path} now holds one key"}
        keys = [rekey.new_key(), *keys]
        rekey.write_key_file(path, keys)
        count = rekey.reencrypt_all(context.store, Keyring(keys))
    message = f"{count} integrations: {FILE_STEPS.format(path=path)}"
    return {"integrations": count, "message": message}
