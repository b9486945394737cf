"""The functions behind the rewrite rules named in :mod:`scimrelay.adapt.catalog`."""

from __future__ import annotations

from scimrelay.adapt.rules import patch_ops, schemas, values
from scimrelay.adapt.rules.base import RuleFunction, Target

APPLY: dict[str, RuleFunction] = {
    "lowercase-patch-ops": patch_ops.lowercase_ops,
    "drop-unknown-schemas": schemas.drop_unknown_schemas,
    "nest-dotted-keys": values.nest_dotted_keys,
    "drop-read-only-values": values.drop_read_only,
    "string-booleans": values.string_booleans,
    "remove-members-by-value": patch_ops.remove_members_by_value,
    "manager-value": patch_ops.manager_value,
    "add-as-replace": patch_ops.add_as_replace,
}

__all__ = ["APPLY", "RuleFunction", "Target"]
