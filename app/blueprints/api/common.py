"""Helpers every /api/v1 module uses: parse a JSON body, guard a view, answer in JSON.

A typical view (document outermost under the route, the guard next, then the body)::

    @bp.post("/things")
    @document(summary="Create a thing", request=ThingIn, response=ThingOut, auth="session_or_token")
    @api_role("merchant")
    def create_thing():
        data = parse(ThingIn)
        return respond(ThingOut.model_validate(things.create(g.merchant, **data.model_dump())), status=201)
"""

from __future__ import annotations

import json
from typing import TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError

from app.blueprints.access import (
    admin_required,
    leader_required,
    login_required,
    merchant_area_required,
    merchant_owner_required,
    merchant_required,
    staff_required,
)
from app.blueprints.api.openapi import ROLE_ATTR, document  # noqa: F401  (re-exported for API modules)
from app.services.core.errors import DomainError, ValidationFailed

M = TypeVar("M", bound=BaseModel)

MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32

api_login_required = login_required
_ROLE_DECORATORS = {
    "admin": admin_required,
    "merchant": merchant_required,
    "merchant_owner": merchant_owner_required,
    "leader": leader_required,
    "staff": staff_required,
}


def api_role(role: str):
    """Require a role ("admin", "merchant", "merchant:<area>", "merchant_owner", "leader", "staff");
    401/403 JSON.

    The role is also recorded on the view so the OpenAPI document can say who may call it.
    """
    if role.startswith("merchant:"):  # a merchant member allowed that area
        guard = merchant_area_required(role.split(":", 1)[1])
    elif role in _ROLE_DECORATORS:
        guard = _ROLE_DECORATORS[role]
    else:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view):
        guarded = guard(view)
        setattr(guarded, ROLE_ATTR, role)
        return guarded

    return decorator


class BadJson(DomainError):
    status = 400
    code = "bad_json"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _depth(value, limit: int, level: int = 0) -> int:
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((_depth(v, limit, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, limit, level + 1) for v in value), default=level + 1)
    return level


def read_json(max_bytes: int = MAX_JSON_BYTES):
    """The request body as JSON, or BadJson: wrong content type, empty, malformed, too big or too deep."""
    if not request.is_json:
        raise BadJson(_("Send a JSON body with Content-Type: application/json."))
    if request.content_length is not None and request.content_length > max_bytes:
        raise BadJson(_("The JSON body is too large (at most %(n)d bytes).", n=max_bytes))
    raw = request.get_data(cache=True)
    if len(raw) > max_bytes:
        raise BadJson(_("The JSON body is too large (at most %(n)d bytes).", n=max_bytes))
    if not raw.strip():
        raise BadJson(_("The request body is empty; send a JSON object."))
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise BadJson(_("The request body is not valid JSON.")) from None
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BadJson(_("The JSON body is nested too deeply."))
    return value


# pydantic's own messages are English only; the common ones get translated text.
# Each entry: the message, and which pydantic ctx value fills its %(n)s.
_MESSAGES = {
    "missing": (_l("This field is required."), None),
    "extra_forbidden": (_l("Unknown field."), None),
    "string_too_long": (_l("At most %(n)s characters."), "max_length"),
    "string_too_short": (_l("At least %(n)s characters."), "min_length"),
    "string_type": (_l("Enter text."), None),
    "int_type": (_l("Enter a whole number."), None),
    "int_parsing": (_l("Enter a whole number."), None),
    "int_from_float": (_l("Enter a whole number."), None),
    "bool_type": (_l("Enter true or false."), None),
    "bool_parsing": (_l("Enter true or false."), None),
    "greater_than_equal": (_l("Must be at least %(n)s."), "ge"),
    "greater_than": (_l("Must be more than %(n)s."), "gt"),
    "less_than_equal": (_l("Must be at most %(n)s."), "le"),
    "less_than": (_l("Must be less than %(n)s."), "lt"),
    "literal_error": (_l("Choose one of: %(n)s."), "expected"),
    "enum": (_l("Choose one of: %(n)s."), "expected"),
    "too_long": (_l("At most %(n)s items."), "max_length"),
    "too_short": (_l("At least %(n)s items."), "min_length"),
    "model_type": (_l("Send a JSON object."), None),
    "model_attributes_type": (_l("Send a JSON object."), None),
    "dict_type": (_l("Send a JSON object."), None),
    "list_type": (_l("Send a JSON array."), None),
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Field path ("items.0.quantity"; "body" for the whole document) to its first problem."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "body"
        if path in fields:
            continue
        message, ctx_key = _MESSAGES.get(err["type"], (None, None))
        if message is None:
            fields[path] = err["msg"]
        elif ctx_key is None:
            fields[path] = str(message)
        else:
            fields[path] = str(message) % {"n": (err.get("ctx") or {}).get(ctx_key, "")}
    return fields


def parse(model_cls: type[M], *, max_bytes: int = MAX_JSON_BYTES) -> M:
    """Read the JSON body and validate it with `model_cls`: 400 bad_json or 422 with fields."""
    data = read_json(max_bytes)
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


def parse_query(model_cls: type[M]) -> M:
    """Validate the query string with `model_cls` (single values); 422 with fields on error."""
    try:
        return model_cls.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


def respond(payload=None, status: int = 200, headers: dict | None = None):
    """A JSON response from a pydantic model, a list of them, or plain JSON-able data; None is 204."""
    if payload is None:
        return "", 204, headers or {}
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        payload = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in payload]
    return jsonify(payload), status, headers or {}


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    """An error answer in the API's one error shape, for cases no DomainError covers."""
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status
