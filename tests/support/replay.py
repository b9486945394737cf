"""Replay an identity provider's SCIM request sequence and check each response.

A sequence file is JSON: ``{"idp", "title", "steps": [...]}``. Each step has a
``name``, a ``request`` (``method``, ``path`` relative to the SCIM base URL,
optional ``query``, ``headers`` and ``body``), an ``expect`` (``status``, a list
of accepted codes; optional ``body``, contained recursively in the response;
optional ``content_type``; optional ``lengths``, mapping a dotted path to the
exact length of the list there) and an optional ``save`` (variable name to
dotted path). ``${name}`` in a request's path, query or body, and in an
expected body, is replaced by a saved variable, and ``${run}`` by a value
unique to the replay. An optional
``direct_fails`` marks a step that the reference SCIM server rejects.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MISSING = object()


class MissingVariable(KeyError):
    """A step refers to a variable that no earlier step saved."""


@dataclass(frozen=True)
class Step:
    """One request of a sequence and what its response must look like."""

    name: str
    request: dict[str, Any]
    expect: dict[str, Any]
    save: dict[str, str] = field(default_factory=dict)
    direct_fails: bool = False


@dataclass(frozen=True)
class Sequence:
    """A named list of steps that one identity provider sends."""

    idp: str
    title: str
    steps: list[Step]


@dataclass
class StepResult:
    """The outcome of one step: its status and every expectation it missed."""

    step: Step
    status: int | None = None
    body: Any = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "; ".join(self.problems)
        return f"{self.step.name} [{self.status}]: {verdict}"


def load_sequence(path: Path) -> Sequence:
    """Read a sequence file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    steps = [
        Step(
            name=raw["name"],
            request=raw["request"],
            expect=raw["expect"],
            save=raw.get("save", {}),
            direct_fails=raw.get("direct_fails", False),
        )
        for raw in document["steps"]
    ]

    return Sequence(idp=document["idp"], title=document["title"], steps=steps)


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace each ``${name}`` in the strings of ``value``, recursively."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda match: lookup(variables, match.group(1)), value)

    if isinstance(value, list):
        return [substitute(item, variables) for item in value]

    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}

    return value


def lookup(variables: dict[str, str], name: str) -> str:
    if name not in variables:
        raise MissingVariable(name)

    return variables[name]


def resolve_path(document: Any, dotted: str) -> Any:
    """Return the value at a dotted path such as ``Resources.0.id``, or MISSING."""
    current = document
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING

    return current


def contains(actual: Any, expected: Any, where: str = "body") -> list[str]:
    """List where ``expected`` is not contained in ``actual``.

    Objects are compared key by key, recursively. Lists and scalars are compared
    by equality.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where} is {actual!r}, expected an object"]

        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key} is missing")
            else:
                problems.extend(contains(actual[key], value, f"{where}.{key}"))

        return problems

    if actual != expected:
        return [f"{where} is {actual!r}, expected {expected!r}"]

    return []


def check_response(
    response: httpx.Response,
    body: Any,
    expect: dict[str, Any],
    variables: dict[str, str],
) -> list[str]:
    """List every expectation of a step that ``response`` misses."""
    problems = []
    if response.status_code not in expect["status"]:
        problems.append(
            f"status {response.status_code} not in {expect['status']}: "
            f"{response.text[:300]}"
        )

    if "content_type" in expect:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type != expect["content_type"]:
            problems.append(
                f"content type {media_type!r}, expected {expect['content_type']!r}"
            )

    if "body" in expect:
        problems.extend(contains(body, substitute(expect["body"], variables)))

    for dotted, length in expect.get("lengths", {}).items():
        value = resolve_path(body, dotted)
        actual = len(value) if isinstance(value, list) else value
        if actual != length:
            problems.append(f"length of {dotted} is {actual!r}, expected {length}")

    return problems


def decode_body(response: httpx.Response) -> Any:
    if not response.content:
        return None

    try:
        return response.json()
    except ValueError:
        return response.text


def build_request(step: Step, variables: dict[str, str]) -> dict[str, Any]:
    """Return the keyword arguments of ``httpx.Client.request`` for a step."""
    request = step.request
    arguments: dict[str, Any] = {
        "method": request["method"],
        "url": substitute(request["path"], variables),
        "params": substitute(request.get("query"), variables),
        "headers": request.get("headers"),
    }
    if "body" in request:
        arguments["json"] = substitute(request["body"], variables)

    return arguments


def save_variables(
    result: StepResult, variables: dict[str, str], save: dict[str, str]
) -> None:
    for name, dotted in save.items():
        value = resolve_path(result.body, dotted)
        if value is MISSING:
            result.problems.append(f"cannot save {name}: {dotted} is missing")
        else:
            variables[name] = str(value)


def run_step(client: httpx.Client, step: Step, variables: dict[str, str]) -> StepResult:
    """Send one step and check its response, saving the variables it names."""
    result = StepResult(step)
    try:
        arguments = build_request(step, variables)
    except MissingVariable as error:
        result.problems.append(f"variable {error.args[0]} was never saved")
        return result

    response = client.request(**arguments)
    result.status = response.status_code
    result.body = decode_body(response)
    try:
        problems = check_response(response, result.body, step.expect, variables)
    except MissingVariable as error:
        problems = [f"variable {error.args[0]} was never saved"]
    result.problems.extend(problems)
    save_variables(result, variables, step.save)

    return result


def run_sequence(client: httpx.Client, sequence: Sequence) -> list[StepResult]:
    """Send every step in order through ``client`` and return one result each.

    ``client`` carries the SCIM base URL and the Authorization header. A failed
    step does not stop the replay, so that every step gets a result.
    """
    variables = {"run": uuid.uuid4().hex[:12]}

    return [run_step(client, step, variables) for step in sequence.steps]
