"""Validate request bodies against Discord's published OpenAPI description.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so each operation's ``requestBody`` schema is
checked with :class:`jsonschema.Draft202012Validator`; ``#/components/schemas/...`` refs
resolve through a :mod:`referencing` registry holding the whole document. Validators are
built once per operation and cached.

Two deliberate relaxations (``_relax``) keep the spec from rejecting what Discord accepts:
snowflakes may be JSON integers (discord.py sends ids in ``allowed_mentions`` and
``message_reference`` as ints), and permission bitsets may be decimal strings
(discord.py sends ``default_member_permissions`` as a string, as Discord's docs specify).

:func:`limit_violations` adds limits Discord documents (or enforces) but the spec does not
carry, such as a modal field's pre-filled value longer than the field's own ``max_length``.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .routes import RouteTable

SPEC_URI = "urn:discord:openapi"

# Discord's error codes for the common schema failures (shape of "Invalid Form Body").
_DISCORD_CODES = {
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_BAD_TYPE",
    "enum": "BASE_TYPE_CHOICES",
    "maximum": "NUMBER_TYPE_MAX",
    "minimum": "NUMBER_TYPE_MIN",
}


@dataclass(frozen=True)
class Violation:
    """One reason Discord would reject a request: where in the body, and why."""

    location: str  # dotted path inside the body, "" for the body itself
    message: str
    code: str = "SCHEMA"
    source: str = "openapi"  # "openapi", "limit" (documented, not in spec), "protocol"

    def __str__(self) -> str:
        where = self.location or "<body>"
        return f"[{self.source}] {where}: {self.message}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _plausible_branch(errors: list[ValidationError]) -> bool:
    """False when a union branch failed on its discriminator or on the value's type."""
    for e in errors:
        path = list(e.relative_path)
        if not path and e.validator in ("type", "enum", "const"):
            return False
        if path == ["type"] and e.validator in ("enum", "const"):
            return False
    return True


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend through anyOf/oneOf into the branch the value was meant for.

    Discord's unions are discriminated by ``type`` (callback type, component type,
    option type) or are ``null | object``; reporting the chosen branch's own failures
    gives "embeds.0.title is too long" instead of "not valid under any given schema".
    """
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        candidates = [errs for errs in branches.values() if _plausible_branch(errs)]
        if candidates:
            leaves = [[leaf for sub in errs for leaf in _leaf_errors(sub)] for errs in candidates]
            yield from min(leaves, key=len)
            return
        best = best_match(error.context)
        if best is not None:
            yield from _leaf_errors(best)
            return
    yield error


def _describe(error: ValidationError) -> str:
    validator = error.validator
    if validator in ("maxLength", "minLength", "maxItems", "minItems", "maximum", "minimum"):
        size = len(error.instance) if isinstance(error.instance, (str, list)) else error.instance
        return f"{validator} {error.validator_value} (got {size}): {_short(error.instance)}"
    return error.message if len(error.message) <= 300 else error.message[:300] + "…"


def _relax(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {
        "anyOf": [snowflake, {"type": "integer", "minimum": 0, "maximum": (1 << 64) - 1}]
    }
    for schema in schemas.values():
        for name, prop in schema.get("properties", {}).items():
            if name in ("permissions", "default_member_permissions") and "integer" in str(
                prop.get("type")
            ):
                schema["properties"][name] = {
                    "anyOf": [prop, {"type": "string", "pattern": "^[0-9]{1,20}$"}]
                }
    return spec


def _pointer_escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class SpecValidator:
    """Finds the operation for a request and validates its body (and our responses)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = _relax(spec)
        resource = DRAFT202012.create_resource(self.spec)
        self._registry = Registry().with_resource(SPEC_URI, resource)
        self.routes = RouteTable(self.spec["paths"])
        self._validators: dict[str, Draft202012Validator | None] = {}

    @classmethod
    def load(cls, path: Path) -> SpecValidator:
        return _load_cached(str(path))

    def _validator(self, pointer: str) -> Draft202012Validator | None:
        if pointer not in self._validators:
            node: Any = self.spec
            for escaped in pointer.strip("/").split("/"):
                part = escaped.replace("~1", "/").replace("~0", "~")
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            self._validators[pointer] = (
                None
                if node is None
                else Draft202012Validator(
                    {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry
                )
            )
        return self._validators[pointer]

    def _run(self, pointer: str, instance: Any) -> list[Violation]:
        validator = self._validator(pointer)
        if validator is None:
            return []
        found: list[Violation] = []
        for error in validator.iter_errors(instance):
            for leaf in _leaf_errors(error):
                location = ".".join(str(p) for p in leaf.absolute_path)
                code = _DISCORD_CODES.get(str(leaf.validator), "SCHEMA")
                found.append(Violation(location, _describe(leaf), code))
        return found

    def has_request_body(self, method: str, template: str) -> bool:
        op = self.spec["paths"].get(template, {}).get(method.lower(), {})
        return "requestBody" in op

    def validate_request(self, method: str, template: str, body: Any) -> list[Violation]:
        """Check ``body`` (JSON, or a multipart ``payload_json``) against the operation."""
        pointer = (
            f"/paths/{_pointer_escape(template)}/{method.lower()}"
            "/requestBody/content/application~1json/schema"
        )
        return self._run(pointer, body)

    def validate_response(
        self, method: str, template: str, status: int, body: Any
    ) -> list[Violation]:
        pointer = (
            f"/paths/{_pointer_escape(template)}/{method.lower()}"
            f"/responses/{status}/content/application~1json/schema"
        )
        return [
            Violation(v.location, v.message, v.code, "response") for v in self._run(pointer, body)
        ]

    def validate_schema(self, name: str, instance: Any) -> list[Violation]:
        """Validate against ``#/components/schemas/<name>``."""
        return self._run(f"/components/schemas/{_pointer_escape(name)}", instance)


@cache
def _load_cached(path: str) -> SpecValidator:
    with open(path, encoding="utf-8") as fh:
        return SpecValidator(json.load(fh))


# -- limits Discord documents that the OpenAPI description does not carry -------------

CONTENT_LIMIT = 2000  # bots: 2000 characters (spec: 4000 on channel messages)
EMBED_TOTAL_LIMIT = 6000  # sum over all embeds of title/description/fields/footer/author
ACTION_ROW_LIMIT = 5  # top-level rows without the IS_COMPONENTS_V2 flag (spec: 40)
IS_COMPONENTS_V2 = 1 << 15
COMMAND_TOTAL_LIMIT = 4000  # names, descriptions, values of a command, options, choices
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"

_MESSAGE_BODIES = {
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
}
_COMMAND_BODIES = {
    ("PUT", "/applications/{application_id}/commands"),
    ("POST", "/applications/{application_id}/commands"),
    ("PATCH", "/applications/{application_id}/commands/{command_id}"),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"),
    ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"),
    ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}"),
}


def embed_text_length(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def _message_limits(body: dict[str, Any], prefix: str = "") -> list[Violation]:
    found = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_LIMIT:
        message = f"content is {len(content)} characters; bots may send {CONTENT_LIMIT}"
        found.append(Violation(f"{prefix}content", message, "BASE_TYPE_MAX_LENGTH", "limit"))
    embeds = body.get("embeds") or []
    total = sum(embed_text_length(e) for e in embeds if isinstance(e, dict))
    if total > EMBED_TOTAL_LIMIT:
        message = f"embeds hold {total} characters in total; Discord allows {EMBED_TOTAL_LIMIT}"
        found.append(Violation(f"{prefix}embeds", message, "MAX_EMBED_SIZE_EXCEEDED", "limit"))
    rows = body.get("components") or []
    v2 = int(body.get("flags") or 0) & IS_COMPONENTS_V2
    if not v2 and len(rows) > ACTION_ROW_LIMIT:
        message = f"{len(rows)} action rows; {ACTION_ROW_LIMIT} allowed without IS_COMPONENTS_V2"
        found.append(Violation(f"{prefix}components", message, "BASE_TYPE_MAX_LENGTH", "limit"))
    return found


def _text_inputs(components: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every text input of a modal, in action rows or labels, with its dotted location."""
    for i, component in enumerate(components if isinstance(components, list) else []):
        if not isinstance(component, dict):
            continue
        at = f"{where}{i}"
        if component.get("type") == 4:
            yield at, component
        elif component.get("type") == 18:
            yield from _text_inputs([component.get("component")], f"{at}.component.")
        else:
            yield from _text_inputs(component.get("components"), f"{at}.components.")


def _modal_limits(data: dict[str, Any]) -> list[Violation]:
    """A text input's pre-filled ``value`` must fit its own ``max_length`` (the spec only
    bounds it by 4000); Discord refuses the modal with 50035 otherwise."""
    found = []
    for where, field in _text_inputs(data.get("components"), "data.components."):
        value, longest = field.get("value"), field.get("max_length")
        if isinstance(value, str) and isinstance(longest, int) and len(value) > longest:
            message = f"value is {len(value)} characters; the field's max_length is {longest}"
            found.append(Violation(f"{where}.value", message, "BASE_TYPE_BAD_LENGTH", "limit"))
        shortest = field.get("min_length")
        if isinstance(shortest, int) and isinstance(longest, int) and shortest > longest:
            message = f"min_length {shortest} is above max_length {longest}"
            found.append(Violation(f"{where}.min_length", message, "BASE_TYPE_BAD_LENGTH", "limit"))
    return found


def _valid_chat_input_name(name: str) -> bool:
    """Discord's ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lowercase if cased."""
    return (
        1 <= len(name) <= 32
        and name == name.lower()
        and all(
            ch.isalnum() or ch in "-_'" or unicodedata.category(ch).startswith("M") for ch in name
        )
    )


def _command_chars(node: dict[str, Any]) -> int:
    total = len(str(node.get("name") or "")) + len(str(node.get("description") or ""))
    for choice in node.get("choices") or []:
        total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return total + sum(_command_chars(o) for o in node.get("options") or [] if isinstance(o, dict))


def _command_limits(cmd: dict[str, Any], where: str) -> list[Violation]:
    found = []
    if cmd.get("type", 1) not in (1, None):
        return found  # USER/MESSAGE commands may use capitals and spaces
    name = cmd.get("name")
    if isinstance(name, str) and not _valid_chat_input_name(name):
        message = f"{name!r}: chat-input names are 1-32 lowercase letters, digits, - _ '"
        found.append(
            Violation(f"{where}name", message, "APPLICATION_COMMAND_INVALID_NAME", "limit")
        )
    if not cmd.get("description"):
        message = "chat-input commands need a description of 1-100 characters"
        found.append(Violation(f"{where}description", message, "BASE_TYPE_MIN_LENGTH", "limit"))
    total = _command_chars(cmd)
    if total > COMMAND_TOTAL_LIMIT:
        message = f"command holds {total} characters in total; Discord allows {COMMAND_TOTAL_LIMIT}"
        found.append(
            Violation(where.rstrip("."), message, "APPLICATION_COMMAND_TOO_LARGE", "limit")
        )
    return found


def limit_violations(method: str, template: str, body: Any) -> list[Violation]:
    """Documented Discord limits that the OpenAPI description does not express."""
    key = (method, template)
    if key in _MESSAGE_BODIES and isinstance(body, dict):
        return _message_limits(body)
    if template == CALLBACK and isinstance(body, dict):
        data = body.get("data")
        if isinstance(data, dict) and body.get("type") in (4, 7):
            return _message_limits(data, "data.")
        if isinstance(data, dict) and body.get("type") == 9:
            return _modal_limits(data)
        return []
    if key in _COMMAND_BODIES:
        if isinstance(body, list):
            return [
                v
                for i, cmd in enumerate(body)
                if isinstance(cmd, dict)
                for v in _command_limits(cmd, f"{i}.")
            ]
        if isinstance(body, dict) and method != "PATCH":
            return _command_limits(body, "")
    return []


def discord_error_body(violations: list[Violation]) -> dict[str, Any]:
    """Discord's ``50035 Invalid Form Body`` shape, nested by field path."""
    errors: dict[str, Any] = {}
    for v in violations:
        node = errors
        for part in v.location.split(".") if v.location else []:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": v.code, "message": v.message})
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}
