"""The scanner page of the PWA: camera, keyboard-wedge scanner and typed codes, online and offline.

The page is a shell driven by static/js/scanner/*: it talks to /api/v1/pickup/* with the session
cookie, keeps its point's offline manifest, and is cached by the service worker so it opens
with no network. Everything it shows in the page's language comes from here.
"""

from __future__ import annotations

from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import staff_required
from app.blueprints.pickup import bp
from app.services import pwa
from app.services.counter import redemption


def _strings() -> dict[str, str]:
    return {
        "prompt": _("Scan a pickup QR code, or type the 8-digit code."),
        "online": _("Online"),
        "offline": _("Offline"),
        "offline_queued": _("Offline · %(n)s hand-overs to sync"),
        "slot": _("Slot"),
        "slot_n": _("Slot %(slot)s"),
        "order": _("Order %(number)s"),
        "short": _("%(n)s short"),
        "confirm": _("Hand over"),
        "cancel": _("Cancel"),
        "checked_offline": _("Checked offline"),
        "nothing_left": _("Nothing left to hand over."),
        "redeemed": _("Handed over"),
        "partly": _("Partly handed over"),
        "queued": _("Handed over offline — will sync"),
        "already": _("Already redeemed"),
        "already_by": _("Already handed over by %(who)s."),
        "invalid": _("Unknown code"),
        # Offline the device holds nothing to check a typed code against (see offline_manifest).
        "typed_offline": _("Offline: typed codes can't be checked — scan the QR code, or wait for the network."),
        "bad_signature": _("Invalid signature: this QR code was not issued by us."),
        "not_arrived": _("Not arrived yet"),
        "refused": _("Not handed over"),
        "locked": _("Code entry locked"),
        "locked_until": _("Too many wrong codes. Try again after %(time)s."),
        "signed_out": _("You are signed out. Sign in again to continue."),
        "no_crypto": _("This browser cannot check codes offline (it needs HTTPS)."),
        "storage_full": _("This phone's storage is full: the hand-over could not be queued."),
        "manifest_missing": _("No offline list yet: open this page once while online."),
        "manifest_info": _("Offline list: %(n)s bags waiting, updated %(time)s."),
        "manifest_stale": _("Offline list is out of date (updated %(time)s): connect to refresh it."),
        "sync_conflicts": _("%(n)s offline hand-over(s) not accepted"),
        "conflict_detail": _("already redeemed by %(who)s"),
        "outcome_redeemed": _("Synced"),
        "outcome_conflict": _("Conflict"),
        "outcome_refused": _("Refused"),
        "camera_start": _("Start camera"),
        "camera_stop": _("Stop camera"),
        "camera_native": _("Camera on: point it at a QR code."),
        "camera_jsqr": _("Camera on: point it at a QR code."),
        "camera_no_decoder": _("Camera on, but no QR decoder is available: type the code."),
        "camera_denied": _("Camera permission denied: allow it in the browser, or type the code."),
        "camera_unavailable": _("No camera available: use a scanner or type the code."),
        "camera_stopped": "",
    }


@bp.get("/scan")
@staff_required
def scan():
    points = redemption.counter_points(current_user)
    cfg = current_app.config
    config = {
        "points": [{"id": point.id, "name": point.name} for point in points],
        "urls": {
            "preview": url_for("api.pickup_preview"),
            "redeem": url_for("api.pickup_redeem"),
            "sync": url_for("api.pickup_sync"),
            "manifest": url_for("api.pickup_manifest", point_id=0).replace("/0/", "/{id}/"),
        },
        "lock": {
            "failures": int(cfg.get("CODE_LOCK_FAILURES", 5)),
            "windowMinutes": int(cfg.get("CODE_LOCK_WINDOW_MINUTES", 10)),
            "lockMinutes": int(cfg.get("CODE_LOCK_MINUTES", 10)),
        },
        "strings": _strings(),
    }
    return render_template("pickup/scan.html", points=points, config=config, has_jsqr=bool(pwa.vendor_path("jsqr.js")))
