"""The web app manifest, the service worker, the app icons and the npm-installed browser libraries."""

from __future__ import annotations

from flask import Response, abort, current_app, render_template, send_file, url_for
from flask_babel import gettext as _

from app.blueprints.pwa import bp
from app.services import pwa


def _no_cache(response: Response) -> Response:
    # The browser checks for a new worker on every navigation; an HTTP-cached one would delay
    # updates (and a cached manifest would keep old names and icons) for the cache's lifetime.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "id": "/",
        "name": _("GroupBuy Workstation"),
        "short_name": _("GroupBuy"),
        "description": _("Community group-buy workstation: orders, arrivals and pickup codes."),
        "start_url": url_for("auth.index") + "?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#e4572e",
        "icons": [
            *(
                {
                    "src": url_for("pwa.icon", size=size),
                    "sizes": f"{size}x{size}",
                    "type": "image/png",
                    "purpose": "any",
                }
                for size in pwa.ICON_SIZES
            ),
            {"src": url_for("pwa.maskable_icon"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": _("Scan pickup codes"), "url": url_for("pickup.scan")},
            {"name": _("Today's orders"), "url": url_for("leader.orders")},
            {"name": _("Pickup counter"), "url": url_for("pickup.counter")},
        ],
    }
    response = current_app.response_class(current_app.json.dumps(body), mimetype="application/manifest+json")
    return _no_cache(response)


@bp.get("/sw.js")
def service_worker():
    precache = [url_for("static", filename=name) for name in pwa.SHELL_STATIC]
    precache += [url_for("pwa.vendor", name=name) for name in sorted(pwa.VENDOR) if pwa.vendor_path(name)]
    precache += [url_for("pwa.icon", size=192), url_for("pwa.offline")]
    # Pages kept for offline use (network-first; the last good copy when the network drops):
    # the scanner, and the leader's today and orders pages. Signing out forgets them.
    offline_pages = [url_for("pickup.scan"), url_for("leader.index"), url_for("leader.orders")]
    body = render_template("pwa/sw.js", version=pwa.shell_version(), precache=precache, offline_pages=offline_pages)
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return _no_cache(response)


@bp.get("/offline")
def offline():
    return render_template("pwa/offline.html")


@bp.get("/icons/<int:size>.png")
def icon(size: int):
    if size not in pwa.ICON_SIZES:
        abort(404)
    return Response(pwa.icon_png(size), mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/icons/maskable-512.png")
def maskable_icon():
    return Response(
        pwa.icon_png(512, maskable=True), mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@bp.get("/vendor/<name>")
def vendor(name: str):
    path = pwa.vendor_path(name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/javascript", max_age=3600)
