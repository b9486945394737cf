"""Building blocks of the admin API's OpenAPI document."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {JSON: {"schema": schema}}
    return answer


ERRORS = {
    "401": response("No valid admin API token.", ref("Error")),
    "403": response("The token's admin lacks the role.", ref("Error")),
    "404": response("Not found, or in another tenant.", ref("Error")),
    "422": response("A field is invalid; each error names it.", ref("Error")),
}


def op(
    summary: str,
    answers: dict[str, Any],
    *,
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": summary.lower().replace(" ", "_").replace("'", ""),
        "responses": {**answers, **ERRORS},
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": ref(body)}},
        }
    if params:
        operation["parameters"] = params
    return operation


def path_param(name: str, schema: dict[str, Any] = STRING) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_param(
    name: str, schema: dict[str, Any] = STRING, text: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": text,
    }


def list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}
