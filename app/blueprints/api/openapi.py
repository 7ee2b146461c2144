"""The OpenAPI 3.1 document, built from the URL map and the `@document` on every API view."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from app.blueprints.api.schemas import ErrorResponse
from app.errors import MAX_ID

AUTH_KINDS = ("public", "session_or_token")
OPERATION_ATTR = "_openapi_operation"
ROLE_ATTR = "_api_role"
_PARAM_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")
# Werkzeug's int converter takes no sign; past MAX_ID an id answers 404 (app/errors.py).
_PARAM_TYPES = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}
_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Malformed JSON (bad_json) or missing CSRF header on a session write (csrf_failed).",
    401: "Not logged in, or the Bearer token is invalid or revoked.",
    403: "Logged in without the role this needs.",
    404: "No such object, or it belongs to another tenant.",
    409: "The object is not in a state that allows this.",
    422: "The body does not match the schema; `fields` says where.",
    429: "Too many attempts; wait a few minutes and try again.",
}


def _accepts_null(schema: JsonSchemaValue) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_accepts_null(branch) for key in ("anyOf", "oneOf") for branch in schema.get(key, ()))


class OpenApiJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema 2020-12 (OpenAPI 3.1's own dialect), with two things mended:

    - `field: str = None` means "absent keeps the value; null is refused". pydantic writes
      `default: null` beside `type: string`, a default its own schema refuses, which makes the
      document invalid; such a default is left out (the field is simply optional).
    - Integer keys of a JSON object (`dict[int, ...]`) travel as strings; pydantic states no
      rule for them, so `propertyNames` says they are digits.
    """

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        json_schema = super().default_schema(schema)
        if "default" in json_schema and json_schema["default"] is None and not _accepts_null(json_schema):
            del json_schema["default"]
        return json_schema

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        json_schema = super().dict_schema(schema)
        keys = schema.get("keys_schema", {})
        if keys.get("type") == "int" and "propertyNames" not in json_schema:
            signed = keys.get("ge", keys.get("gt", -1)) < 0
            digits = {"pattern": "^-?[0-9]+$" if signed else "^[0-9]+$", "maxLength": len(str(keys.get("le", 10**19)))}
            json_schema["propertyNames"] = digits
        return json_schema


@dataclass(frozen=True)
class Operation:
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    auth: str = "session_or_token"
    tags: tuple[str, ...] = ()
    status: int = 200
    description: str | None = None
    errors: tuple[int, ...] = ()
    media_type: str = "application/json"
    query: type[BaseModel] | None = None


@dataclass
class Endpoint:
    """One documented (path, method) of the running app."""

    path: str
    method: str
    endpoint: str
    operation: Operation
    role: str | None
    parameters: list[dict] = field(default_factory=list)

    @property
    def is_write(self) -> bool:
        return self.method not in ("get", "head", "options")


def document(
    *,
    summary: str,
    request: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    auth: str = "session_or_token",
    tags: list[str] | tuple[str, ...] = (),
    status: int = 200,
    description: str | None = None,
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
    query: type[BaseModel] | None = None,
):
    """Record how an API view is called; the OpenAPI document and /api/v1/docs read it.

    `request` is the JSON body model (read it with common.parse), `query` the query-string
    model (common.parse_query), `response` the body of the `status` answer. `errors` adds
    documented error statuses beyond those implied (400/422 with a body, 401 unless public,
    403 with api_role).
    """
    if auth not in AUTH_KINDS:
        raise ValueError(f"auth must be one of {AUTH_KINDS}, not {auth!r}")
    operation = Operation(
        summary, request, response, auth, tuple(tags), status, description, tuple(errors), media_type, query
    )

    def decorator(view):
        setattr(view, OPERATION_ATTR, operation)
        return view

    return decorator


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for match in _PARAM_RE.finditer(rule):
        schema = _PARAM_TYPES.get(match.group("converter") or "default", {"type": "string"})
        params.append({"name": match.group("name"), "in": "path", "required": True, "schema": schema})
    return _PARAM_RE.sub(lambda m: "{" + m.group("name") + "}", rule), params


def endpoints(app: Flask) -> list[Endpoint]:
    """Every documented API operation, sorted by path then method."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, OPERATION_ATTR, None)
        if operation is None:
            continue
        path, params = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            role = getattr(view, ROLE_ATTR, None)
            found.append(Endpoint(path, method.lower(), rule.endpoint, operation, role, params))
    return sorted(found, key=lambda e: (e.path, e.method))


def _security(ep: Endpoint) -> list[dict]:
    if ep.operation.auth == "public":
        return []
    session = {"sessionCookie": [], "csrfHeader": []} if ep.is_write else {"sessionCookie": []}
    return [{"bearerToken": []}, session]


def _error_statuses(ep: Endpoint) -> list[int]:
    statuses = set(ep.operation.errors)
    if ep.operation.request is not None:
        statuses |= {400, 422}
    if ep.operation.query is not None:
        statuses.add(422)
    if ep.operation.auth != "public":
        statuses.add(401)
        if ep.is_write:
            statuses.add(400)
    if ep.role:
        statuses.add(403)
    return sorted(statuses)


def _query_parameters(model: type[BaseModel], refs: dict, defs: dict) -> list[dict]:
    schema = defs[refs[(model, "validation")]["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation_object(ep: Endpoint, refs: dict, defs: dict, operation_id: str) -> dict:
    op = ep.operation
    error_ref = {"$ref": _REF.format(model="ErrorResponse")}
    success: dict = {"description": "Success"}
    if op.response is not None:
        success["content"] = {op.media_type: {"schema": refs[(op.response, "serialization")]}}
    elif op.media_type != "application/json":
        success["content"] = {op.media_type: {"schema": {"type": "string"}}}
    responses = {str(op.status): success}
    for status in _error_statuses(ep):
        responses[str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    responses["default"] = {"description": "Any other error", "content": {"application/json": {"schema": error_ref}}}
    body = {
        "operationId": operation_id,
        "summary": str(op.summary),
        "tags": list(op.tags),
        "security": _security(ep),
        "responses": responses,
    }
    description = str(op.description) if op.description else ""
    if ep.role:
        description = f"{description}\n\nRequires the `{ep.role}` role.".strip()
    if description:
        body["description"] = description
    parameters = list(ep.parameters)
    if op.query is not None:
        parameters += _query_parameters(op.query, refs, defs)
    if parameters:
        body["parameters"] = parameters
    if op.request is not None:
        body["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.request, "validation")]}},
        }
    return body


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3.1 document for everything mounted under /api/v1."""
    eps = endpoints(app)
    wanted = [(ErrorResponse, "serialization")]
    for ep in eps:
        if ep.operation.request is not None:
            wanted.append((ep.operation.request, "validation"))
        if ep.operation.query is not None:
            wanted.append((ep.operation.query, "validation"))
        if ep.operation.response is not None:
            wanted.append((ep.operation.response, "serialization"))
    refs, top = models_json_schema(list(dict.fromkeys(wanted)), ref_template=_REF, schema_generator=OpenApiJsonSchema)
    defs = top.get("$defs", {})
    paths: dict[str, dict] = {}
    seen_ids: set[str] = set()
    for ep in eps:
        operation_id = ep.endpoint.removeprefix("api.")
        if operation_id in seen_ids:
            operation_id = f"{operation_id}_{ep.method}"
        seen_ids.add(operation_id)
        paths.setdefault(ep.path, {})[ep.method] = _operation_object(ep, refs, defs, operation_id)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GroupBuy Workstation API",
            "version": "1",
            "description": (
                "JSON API for the PWA, pickup scanners and integrations. Authenticate with a personal "
                "token (`Authorization: Bearer gbw_...`, created under /account/tokens) or, from the browser, "
                "with the session cookie plus an `X-CSRFToken` header on writes. Errors always have the "
                'shape `{"error": {"code", "message", "fields"}}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token from /account/tokens; only /api/ accepts it.",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                    "description": "The browser session after logging in at /login.",
                },
                "csrfHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "Required with the session cookie on POST/PUT/PATCH/DELETE; the value of "
                    "the page's csrf-token meta tag.",
                },
            },
        },
    }
