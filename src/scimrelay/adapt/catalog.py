"""Every rewrite rule: its name, what it does and why, in application order.

This module imports nothing heavy, so the CLI and the service layer can check
rule names without loading the SCIM parser.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A named rewrite, what it does and the provider behaviour it fixes."""

    name: str
    does: str
    because: str


PATCH_NO_CONTENT = "patch-no-content-to-resource"

RULES: tuple[Rule, ...] = (
    Rule(
        "lowercase-patch-ops",
        "sends PATCH op values such as Replace, Add and Remove in lower case",
        "Entra ID capitalises op values; RFC 7644 §3.5.2 names them in lower "
        "case and strict servers refuse anything else",
    ),
    Rule(
        "drop-unknown-schemas",
        "removes schema URNs that the downstream's /Schemas does not announce, "
        "with the attributes kept under them",
        "Entra ID adds its own ADSCIM Group schema to every group it creates",
    ),
    Rule(
        "nest-dotted-keys",
        'turns "name.givenName" keys of a path-less add or replace value into '
        "nested attributes, and URN-prefixed keys into extension objects",
        "Entra ID writes sub-attributes as dotted keys in path-less values",
    ),
    Rule(
        "drop-read-only-values",
        "drops id, meta, schemas and attributes the schema marks readOnly from "
        "path-less add or replace values",
        "Okta repeats the group id in path-less replace operations; RFC 7643 "
        "§7 lets servers refuse writes to read-only attributes",
    ),
    Rule(
        "string-booleans",
        'turns "True"/"False" strings (any case) into JSON booleans where the '
        "schema says boolean; any other string there is a 400 invalidValue",
        'Entra ID sends booleans such as active as the strings "True" and "False"',
    ),
    Rule(
        "remove-members-by-value",
        "turns a members removal with a value list into one "
        'members[value eq "id"] removal per member',
        "Entra ID removes members with a value list, which RFC 7644 §3.5.2.2 "
        "does not define and servers read as removing every member",
    ),
    Rule(
        "manager-value",
        'wraps a bare enterprise manager id as {"value": id}',
        "Entra ID sends the manager as a bare id; RFC 7643 §4.3 makes it a "
        "complex attribute",
    ),
    Rule(
        "add-as-replace",
        "sends add on a single-valued attribute as replace, which has the same "
        "effect (RFC 7644 §3.5.2.1)",
        "providers send add for single-valued attributes, which some servers refuse",
    ),
    Rule(
        PATCH_NO_CONTENT,
        "answers a PATCH that the downstream answered with 204 by reading the "
        "resource and returning it with 200",
        "Okta expects 200 with the resource after a PATCH",
    ),
)

RULES_BY_NAME = {rule.name: rule for rule in RULES}
