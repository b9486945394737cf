"""Who is acting, and the rules for what each role may see and change.

An owner sees and changes everything. A tenant admin sees and changes only
their own tenant's integrations, request log and audit trail; anything of
another tenant is answered as not found, so its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from scimrelay.errors import AccessDenied, NotFoundError

OWNER = "owner"
TENANT_ADMIN = "tenant_admin"
ROLES = (OWNER, TENANT_ADMIN)


@dataclass(frozen=True)
class Actor:
    """The admin behind one request, and where the request came from."""

    user_id: str | None
    email: str
    role: str
    tenant_id: str | None
    via: str
    client: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    def visible_tenants(self) -> list[str] | None:
        """Return the tenant ids this actor may see, or None for all of them."""
        if self.is_owner:
            return None
        return [self.tenant_id] if self.tenant_id else []

    def can_see(self, tenant_id: str | None) -> bool:
        return self.is_owner or (tenant_id is not None and tenant_id == self.tenant_id)

    def require_owner(self) -> None:
        if not self.is_owner:
            raise AccessDenied("only an owner can do this")

    def require_tenant(self, tenant_id: str | None, what: str) -> None:
        """Raise NotFoundError unless the actor may see the tenant's ``what``."""
        if not self.can_see(tenant_id):
            raise NotFoundError(f"{what} not found")


def system_actor(email: str = "cli") -> Actor:
    """Return the actor of a command run on the relay's own machine."""
    return Actor(None, email, OWNER, None, "cli")
