"""Every rewrite rule, in the order the relay applies them."""

from __future__ import annotations

from scimrelay.adapt.rules import patch_ops, schemas, values
from scimrelay.adapt.rules.base import Rule, Target

PATCH_NO_CONTENT = "patch-no-content-to-resource"

RULES: tuple[Rule, ...] = (
    Rule(
        "lowercase-patch-ops",
        "sends PATCH op values such as Replace, Add and Remove in lower case",
        "Entra ID capitalises op values; RFC 7644 §3.5.2 names them in lower "
        "case and strict servers refuse anything else",
        patch_ops.lowercase_ops,
    ),
    Rule(
        "drop-unknown-schemas",
        "removes schema URNs that the downstream's /Schemas does not announce, "
        "with the attributes kept under them",
        "Entra ID adds its own ADSCIM Group schema to every group it creates",
        schemas.drop_unknown_schemas,
    ),
    Rule(
        "nest-dotted-keys",
        'turns "name.givenName" keys of a path-less add or replace value into '
        "nested attributes, and URN-prefixed keys into extension objects",
        "Entra ID writes sub-attributes as dotted keys in path-less values",
        values.nest_dotted_keys,
    ),
    Rule(
        "drop-read-only-values",
        "drops id, meta, schemas and attributes the schema marks readOnly from "
        "path-less add or replace values",
        "Okta repeats the group id in path-less replace operations; RFC 7643 "
        "§7 lets servers refuse writes to read-only attributes",
        values.drop_read_only,
    ),
    Rule(
        "string-booleans",
        'turns "True"/"False" strings (any case) into JSON booleans where the '
        "schema says boolean; any other string there is a 400 invalidValue",
        'Entra ID sends booleans such as active as the strings "True" and "False"',
        values.string_booleans,
    ),
    Rule(
        "remove-members-by-value",
        "turns a members removal with a value list into one "
        'members[value eq "id"] removal per member',
        "Entra ID removes members with a value list, which RFC 7644 §3.5.2.2 "
        "does not define and servers read as removing every member",
        patch_ops.remove_members_by_value,
    ),
    Rule(
        "manager-value",
        'wraps a bare enterprise manager id as {"value": id}',
        "Entra ID sends the manager as a bare id; RFC 7643 §4.3 makes it a "
        "complex attribute",
        patch_ops.manager_value,
    ),
    Rule(
        "add-as-replace",
        "sends add on a single-valued attribute as replace, which has the same "
        "effect (RFC 7644 §3.5.2.1)",
        "providers send add for single-valued attributes, which some servers refuse",
        patch_ops.add_as_replace,
    ),
    Rule(
        PATCH_NO_CONTENT,
        "answers a PATCH that the downstream answered with 204 by reading the "
        "resource and returning it with 200",
        "Okta expects 200 with the resource after a PATCH",
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}

__all__ = ["PATCH_NO_CONTENT", "RULES", "RULES_BY_NAME", "Rule", "Target"]
