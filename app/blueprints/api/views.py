"""Platform endpoints: who am I, my language, and the API's own description."""

import json

from flask import current_app, render_template
from flask_login import current_user

from app.blueprints.api import bp
from app.blueprints.api.common import api_login_required, parse, respond
from app.blueprints.api.openapi import build_spec, document, endpoints
from app.blueprints.api.schemas import LocaleIn, Me
from app.permissions import roles_of, staff_point_ids
from app.services.accounts import accounts


def _me() -> Me:
    return Me(
        id=current_user.id,
        name=current_user.name,
        locale=current_user.locale,
        roles=sorted(roles_of(current_user)),
        pickup_point_ids=staff_point_ids(current_user),
    )


@bp.get("/me")
@document(summary="The current user, their roles and pickup points", response=Me, tags=["account"])
@api_login_required
def me():
    return respond(_me())


@bp.post("/me/locale")
@document(summary="Set the current user's interface language", request=LocaleIn, response=Me, tags=["account"])
@api_login_required
def set_locale():
    data = parse(LocaleIn)
    accounts.set_locale(current_user, data.locale)
    return respond(_me())


@bp.get("/openapi.json")
@document(summary="This API's OpenAPI 3.1 document", auth="public", tags=["meta"])
def openapi():
    return respond(build_spec(current_app))


def _pretty(model, mode: str) -> str | None:
    if model is None:
        return None
    return json.dumps(model.model_json_schema(mode=mode), indent=2, ensure_ascii=False)


@bp.get("/docs")
@document(summary="Browsable API reference (HTML)", auth="public", tags=["meta"], media_type="text/html")
def docs():
    operations = [
        {
            "ep": ep,
            "query_schema": _pretty(ep.operation.query, "validation"),
            "request_schema": _pretty(ep.operation.request, "validation"),
            "response_schema": _pretty(ep.operation.response, "serialization"),
        }
        for ep in endpoints(current_app)
    ]
    return render_template("api/docs.html", operations=operations)
