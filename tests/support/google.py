"""Service accounts, directories and the fake Google server, for the sync tests.

:func:`make_service_account` makes an RSA key pair with ``cryptography`` and
the JSON key file Google Cloud would hand out. :class:`Workspace` builds a
customer's directory in Google's resource shapes. :func:`start_fake_google`
runs :mod:`tests.support.google_fake` as a process on a loopback port and
returns a :class:`FakeGoogle` that loads accounts and directories into it.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.processes import ManagedProcess, start_server

REPO_ROOT = Path(__file__).resolve().parents[2]
SCOPE_ROOT = "https://www.googleapis.com/auth/admin.directory."
READ_SCOPES = [
    SCOPE_ROOT + "user.readonly",
    SCOPE_ROOT + "group.readonly",
    SCOPE_ROOT + "group.member.readonly",
]


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    client_id: str
    private_key_id: str
    private_key_pem: str
    public_key_pem: str

    def key_json(self, token_uri: str) -> str:
        """Return the JSON key file as Google Cloud writes it."""
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "scimrelay-tests",
                "private_key_id": self.private_key_id,
                "private_key": self.private_key_pem,
                "client_email": self.client_email,
                "client_id": self.client_id,
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri,
                "universe_domain": "googleapis.com",
            },
            indent=2,
        )


def make_service_account(name: str) -> ServiceAccount:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    return ServiceAccount(
        client_email=f"{name}@scimrelay-tests.iam.gserviceaccount.com",
        client_id=str(secrets.randbelow(10**20)).zfill(21),
        private_key_id=secrets.token_hex(20),
        private_key_pem=private_pem,
        public_key_pem=public_pem,
    )


@dataclass
class Workspace:
    """One Google Workspace customer: users, groups and memberships."""

    customer_id: str
    domain: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add_user(
        self,
        local: str,
        org_unit: str = "/",
        *,
        given: str | None = None,
        family: str = "Tester",
        title: str | None = None,
        department: str | None = None,
        manager: dict[str, Any] | None = None,
        admin: bool = False,
        suspended: bool = False,
    ) -> dict[str, Any]:
        given = given or local.split(".")[0].capitalize()
        user: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": str(10**20 + secrets.randbelow(10**20)),
            "primaryEmail": f"{local}@{self.domain}",
            "name": {
                "givenName": given,
                "familyName": family,
                "fullName": f"{given} {family}",
            },
            "isAdmin": admin,
            "suspended": suspended,
            "archived": False,
            "orgUnitPath": org_unit,
            "customerId": self.customer_id,
        }
        if title or department:
            user["organizations"] = [
                {"title": title, "department": department, "primary": True}
            ]
        if manager is not None:
            user["relations"] = [{"value": manager["primaryEmail"], "type": "manager"}]
        self.users[user["id"]] = user
        return user

    def add_group(self, local: str, name: str) -> dict[str, Any]:
        group = {
            "kind": "admin#directory#group",
            "id": secrets.token_hex(8),
            "email": f"{local}@{self.domain}",
            "name": name,
        }
        self.groups[group["id"]] = group
        self.members[group["id"]] = []
        return group

    def add_member(self, group: dict[str, Any], member: dict[str, Any]) -> None:
        is_group = "name" in member and "primaryEmail" not in member
        self.members[group["id"]].append(
            {
                "kind": "admin#directory#member",
                "id": member["id"],
                "email": member["email"] if is_group else member["primaryEmail"],
                "role": "MEMBER",
                "type": "GROUP" if is_group else "USER",
                "status": "ACTIVE",
            }
        )

    def remove_member(self, group: dict[str, Any], member: dict[str, Any]) -> None:
        self.members[group["id"]] = [
            item for item in self.members[group["id"]] if item["id"] != member["id"]
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "users": list(self.users.values()),
            "groups": list(self.groups.values()),
            "members": self.members,
        }


@dataclass
class FakeGoogle:
    """The fake's process and its control API."""

    process: ManagedProcess

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def _put(self, path: str, document: dict[str, Any]) -> None:
        with httpx.Client(trust_env=False, timeout=30.0) as client:
            response = client.put(f"{self.url}/_control/{path}", json=document)
        assert response.status_code == 200, response.text

    def load_accounts(self, grants: list[tuple[ServiceAccount, list[str]]]) -> None:
        """Register service accounts and their domain-wide delegation scopes."""
        accounts = {
            account.client_email: {
                "client_id": account.client_id,
                "private_key_id": account.private_key_id,
                "public_key_pem": account.public_key_pem,
            }
            for account, _ in grants
        }
        delegation = {account.client_id: scopes for account, scopes in grants}
        self._put("accounts", {"accounts": accounts, "delegation": delegation})

    def load(self, workspace: Workspace) -> None:
        self._put(f"customers/{workspace.customer_id}", workspace.to_json())

    def rate_limit_every(self, requests: int) -> None:
        self._put("settings", {"rate_limit_every": requests})

    def stats(self) -> dict[str, int]:
        with httpx.Client(trust_env=False, timeout=30.0) as client:
            stats: dict[str, int] = client.get(f"{self.url}/_control/stats").json()
        return stats


def start_fake_google(log_dir: Path) -> FakeGoogle:
    def build_argv(port: int) -> list[str]:
        module = "tests.support.google_fake"
        return [sys.executable, "-m", module, "--port", str(port)]

    process = start_server("fake-google", build_argv, log_dir=log_dir, cwd=REPO_ROOT)
    return FakeGoogle(process)


@dataclass(frozen=True)
class Google:
    """The running fake and the service accounts registered in it."""

    fake: FakeGoogle
    account: ServiceAccount
    users_only_account: ServiceAccount
