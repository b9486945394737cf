"""Google source settings: validation, the key kept secret, and the CLI."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from scimrelay.context import AppContext
from scimrelay.errors import NotFoundError, SettingsError
from scimrelay.integrations.service import IntegrationInput
from scimrelay.settings import Settings
from scimrelay.sync.links import LinkBook, load_links
from scimrelay.sync.plan import USER
from scimrelay.sync.service import GoogleSourceInput, SourceService
from tests.conftest import RelayFactory, ScimServer, scim2_server_command
from tests.support.google import ServiceAccount, Workspace
from tests.support.processes import ManagedProcess, start_server
from tests.support.sync import SyncDriver, list_resources
from tests.sync.conftest import Google

TOKEN_URI = "http://127.0.0.1:9/token"


@pytest.fixture
def context(tmp_path: Path) -> Iterator[AppContext]:
    opened = AppContext.open(Settings(data_dir=tmp_path / "data"))
    yield opened
    opened.close()


@pytest.fixture
def integration_id(context: AppContext) -> str:
    tenant = context.service.create_tenant("Acme")
    created = context.service.create_integration(
        tenant.id,
        IntegrationInput(
            name="App", scim_url="https://app.example.com/scim/v2", token="t0ken-x"
        ),
    )
    return created.integration.id


def source_input(account: ServiceAccount, **changes: object) -> GoogleSourceInput:
    data = GoogleSourceInput(
        subject="admin@example.com",
        customer="my_customer",
        key_json=account.key_json(TOKEN_URI),
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def ec_key_json(account: ServiceAccount) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    document = json.loads(account.key_json(TOKEN_URI))
    return json.dumps({**document, "private_key": pem})


BAD_INPUTS = [
    ("key_json", "not json at all", "key_file", "not a service-account JSON key"),
    ("key_json", '{"type": "authorized_user"}', "key_file", "Keys tab"),
    ("subject", "admin", "subject", "not an email address"),
    ("customer", None, "customer", "either a customer ID"),
    ("domain", "example.com", "customer", "not both"),
    ("customer", "my customer", "customer", "not a customer ID"),
    ("org_units", ["Sales"], "org_units[1]", "from the root, such as /Sales"),
    ("group_patterns", ["eng team@x"], "group_patterns[1]", "without spaces"),
    ("interval_minutes", -5, "interval_minutes", "between 0"),
    ("api_url", "admin.googleapis.com", "api_url", "absolute URL"),
    ("mapping", {"password": "name.givenName"}, "mapping.password", "not a target"),
    ("mapping", {"title": "organizations..title"}, "mapping.title", "dotted"),
]


@pytest.mark.parametrize(("name", "value", "field", "message"), BAD_INPUTS)
def test_bad_setting_rejected_with_fix(
    context: AppContext,
    integration_id: str,
    google: Google,
    name: str,
    value: object,
    field: str,
    message: str,
) -> None:
    service = SourceService(context.store, context.keyring)
    data = source_input(google.account, **{name: value})

    with pytest.raises(SettingsError) as raised:
        service.set_google(integration_id, data)

    assert [error.field for error in raised.value.errors] == [field]
    assert message in raised.value.errors[0].message
    with pytest.raises(NotFoundError):
        service.get_google(integration_id)


def test_non_rsa_key_rejected(
    context: AppContext, integration_id: str, google: Google
) -> None:
    service = SourceService(context.store, context.keyring)
    data = source_input(google.account, key_json=ec_key_json(google.account))

    with pytest.raises(SettingsError, match="not an RSA key"):
        service.set_google(integration_id, data)


def test_key_required_first_then_kept(
    context: AppContext, integration_id: str, google: Google
) -> None:
    service = SourceService(context.store, context.keyring)
    with pytest.raises(SettingsError, match="required when the source is first set"):
        service.set_google(integration_id, source_input(google.account, key_json=None))
    service.set_google(integration_id, source_input(google.account))
    changed = service.set_google(
        integration_id, source_input(google.account, key_json=None, subject="b@x.io")
    )
    config = service.config(integration_id)

    assert changed.subject == "b@x.io"
    assert config.key_info["private_key"] == google.account.private_key_pem
    assert changed.client_id == google.account.client_id


def test_private_key_encrypted_and_hidden(
    context: AppContext, integration_id: str, google: Google, tmp_path: Path
) -> None:
    service = SourceService(context.store, context.keyring)
    view = service.set_google(integration_id, source_input(google.account))
    context.close()
    key_body = google.account.private_key_pem.splitlines()[5]
    stored = b"".join(path.read_bytes() for path in (tmp_path / "data").iterdir())
    shown = json.dumps(view.to_dict())

    assert key_body.encode() not in stored
    assert google.account.client_email.encode() in stored
    assert key_body not in shown
    assert "private_key" not in shown


def test_remove_drops_source_and_links(
    context: AppContext, integration_id: str, google: Google
) -> None:
    service = SourceService(context.store, context.keyring)
    service.set_google(integration_id, source_input(google.account))
    book = LinkBook(context.store, integration_id)
    book.set((USER, "g-1"), "d-1")
    book.write(book.take())
    service.remove_google(integration_id)

    assert load_links(context.store, integration_id) == {}
    with pytest.raises(NotFoundError, match="has no Google source"):
        service.get_google(integration_id)


def test_integration_deletion_removes_source(
    context: AppContext, integration_id: str, google: Google
) -> None:
    service = SourceService(context.store, context.keyring)
    service.set_google(integration_id, source_input(google.account))
    context.service.delete_integration(integration_id)

    with pytest.raises(NotFoundError):
        service.config(integration_id)


@pytest.fixture(scope="module")
def driver(
    google: Google,
    relay_factory: RelayFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SyncDriver]:
    env = {"SCIMRELAY_GOOGLE_RETRY_SECONDS": "0.01", "SCIMRELAY_LOG_LEVEL": "DEBUG"}
    relay = relay_factory(env=env)
    keys = tmp_path_factory.mktemp("keys")
    driver = SyncDriver(relay, google.fake, google.account, keys)
    yield driver
    driver.close()


def test_cli_reports_all_bad_fields(driver: SyncDriver) -> None:
    completed = driver.relay.cli.run(
        "source",
        "google",
        "set",
        driver.relay.integration_id,
        "--key-file",
        str(driver.key_file()),
        "--subject",
        "nobody",
        "--customer",
        "C01",
        "--domain",
        "example.com",
        "--org-unit",
        "Sales",
        "--interval",
        "-1",
        "--map",
        "nickName=",
        "--map",
        "shoeSize=name.givenName",
    )

    assert completed.returncode == 2
    for field in ("subject", "customer", "org_units[1]", "interval_minutes"):
        assert f"error: {field}:" in completed.stderr
    assert "error: mapping.shoeSize:" in completed.stderr
    assert "mapping.nickName" not in completed.stderr


def test_delete_users_deletes_departed_user(
    driver: SyncDriver, scim_server: ScimServer
) -> None:
    workspace = Workspace(f"C0{secrets.token_hex(3)}", "leavers.example")
    workspace.add_user("admin", "/", admin=True)
    leaver = workspace.add_user("leaver", "/")
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    driver.set_source(integration, workspace, "--delete-users", "--no-groups")
    _, first = driver.run(integration)
    del workspace.users[leaver["id"]]
    driver.fake.load(workspace)
    code, second = driver.run(integration)
    with scim_server.client(url) as direct:
        remaining = [u["userName"] for u in list_resources(direct, "Users")]

    assert first["created"] == 2
    assert (code, second["deleted"], second["unchanged"]) == (0, 1, 1)
    assert remaining == ["admin@leavers.example"]


def test_debug_run_logs_no_secret(
    driver: SyncDriver, google: Google, scim_server: ScimServer
) -> None:
    workspace = Workspace(f"C0{secrets.token_hex(3)}", "secrets.example")
    workspace.add_user("admin", "/", admin=True)
    workspace.add_user("someone", "/")
    url = scim_server.new_tenant_url()
    integration = driver.new_integration(url, scim_server.token)
    source = driver.set_source(integration, workspace, "--map", "title=")
    completed = driver.relay.cli.run("sync", "run", integration)
    shown = driver.relay.cli.run("source", "google", "show", integration)
    logs = json.dumps(driver.relay.logs(integration))
    key_lines = google.account.private_key_pem.splitlines()[1:-1]
    printed = completed.stdout + completed.stderr + shown.stdout + logs

    assert completed.returncode == 0, completed.stderr
    assert "google directory read" in completed.stderr
    assert "2 created" in completed.stdout
    assert source["mapping"] == {"title": None}
    assert "title" not in source["effective_mapping"]
    assert google.account.client_id in shown.stdout
    assert not any(line in printed for line in key_lines)
    assert "ya29." not in printed
    assert scim_server.token not in printed


GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
DESCRIPTION = {
    "name": "description",
    "type": "string",
    "multiValued": False,
    "required": False,
    "caseExact": False,
    "mutability": "readWrite",
    "returned": "default",
    "uniqueness": "none",
}


@pytest.fixture(scope="module")
def described_server(
    scim_server: ScimServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagedProcess]:
    """Start a scim2-server whose Group schema has a ``description``."""
    with scim_server.client(scim_server.new_tenant_url()) as client:
        schemas = client.get("/Schemas").json()["Resources"]
    for schema in schemas:
        if schema["id"] == GROUP_SCHEMA:
            schema["attributes"].append(DESCRIPTION)
    directory = tmp_path_factory.mktemp("described")
    (directory / "schemas.json").write_text(json.dumps(schemas))

    def build_argv(port: int) -> list[str]:
        options = ["--bearer-token", scim_server.token]
        options += ["--schema", str(directory / "schemas.json")]
        return [*scim2_server_command(), "--port", str(port), *options]

    process = start_server("scim2-described", build_argv, log_dir=directory)
    yield process
    process.stop()


def test_synced_group_gets_description_template(
    driver: SyncDriver, scim_server: ScimServer, described_server: ManagedProcess
) -> None:
    workspace = Workspace(f"C0{secrets.token_hex(3)}", "described.example")
    workspace.add_user("admin", "/", admin=True)
    team = workspace.add_group("team", "Team")
    workspace.add_member(team, workspace.add_user("member", "/"))
    url = f"{described_server.url}/v2"
    integration = driver.new_integration(
        url, scim_server.token, group_description="{display_name} from Google"
    )
    driver.set_source(integration, workspace)
    code, report = driver.run(integration)
    with scim_server.client(url) as direct:
        groups = direct.get("/Groups").json()["Resources"]

    assert code == 0, report
    assert [group["description"] for group in groups] == ["Team from Google"]
