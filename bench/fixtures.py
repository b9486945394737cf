"""SCIM payloads and credentials shared by the downstream, the targets and wrk."""

from __future__ import annotations

import json
from typing import Any

USER_ID = "2819c223-7f76-453a-919d-413861904646"
GROUP_ID = "e9e30dba-f08f-4109-8486-d5c6a331660a"
DOWNSTREAM_TOKEN = "bench-downstream-token-6f1d2c"
# Headers the relay is configured to add to every downstream request.
CUSTOM_HEADERS = {"X-Request-Origin": "bench", "X-Other": "2"}
# Bearer value that clients of the nginx and floor references send. Both
# replace it, as the relay replaces its own API key.
REFERENCE_CLIENT_TOKEN = "bench-reference-client-token"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def downstream_headers() -> dict[str, str]:
    """Return the headers every downstream request must carry."""
    return {"Authorization": f"Bearer {DOWNSTREAM_TOKEN}", **CUSTOM_HEADERS}


def new_user() -> dict[str, Any]:
    """Return the body of a POST /Users request: a user without id or meta."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "externalId": "00u1a2b3c4d5e6f7g8h9",
        "userName": "barbara.jensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III",
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": True,
        "emails": [
            {"value": "barbara.jensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.example.org", "type": "home"},
        ],
        "phoneNumbers": [{"value": "+1-555-555-8377", "type": "work"}],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "US",
                "primary": True,
            }
        ],
        ENTERPRISE_SCHEMA: {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
        },
    }


def stored_user(scim_base_url: str) -> dict[str, Any]:
    """Return the user resource as the downstream at `scim_base_url` stores it."""
    user = new_user()
    user["id"] = USER_ID
    user["groups"] = [
        {
            "value": GROUP_ID,
            "$ref": f"{scim_base_url}/Groups/{GROUP_ID}",
            "display": "Tour Guides",
        }
    ]
    user["meta"] = {
        "resourceType": "User",
        "created": "2024-03-01T04:56:22Z",
        "lastModified": "2024-05-13T04:42:34Z",
        "location": user_location(scim_base_url),
        "version": 'W/"3694e05e9dff590"',
    }
    return user


def user_location(scim_base_url: str) -> str:
    """Return the URL of the benchmark user under `scim_base_url`."""
    return f"{scim_base_url}/Users/{USER_ID}"


def to_json(document: dict[str, Any]) -> str:
    """Serialize `document` compactly, as SCIM servers usually send it."""
    return json.dumps(document, separators=(",", ":"))
