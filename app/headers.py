"""Security headers on every response the app sends: pages, JSON, files, the service worker,
errors and redirects.

The Content-Security-Policy allows only this origin and nothing inline. The app has no inline
script, event handler, style attribute or javascript: URL (tests/web/integration/test_headers.py
reads every template and script to keep it so): pages load their scripts from /static and
/vendor, QR codes and posters are PNGs the app serves, the scanner draws camera frames on a
canvas it never turns into a URL. So no 'unsafe-inline', no nonces, no data: or blob:.

- frame-ancestors 'none' and X-Frame-Options DENY (for browsers without CSP 2): no page may be
  framed, so a hand-over or payment button cannot be click-jacked.
- form-action 'self' tel:: forms post only here. tel: because the leader's "call" form is
  answered with a redirect to tel:<number> (the number leaves the server only then), and
  Chromium checks form-action against where a form's redirect goes: without it the call is
  refused (tests/web/browser/test_csp.py presses the button).
- base-uri 'none' and object-src 'none': no <base> hijack of relative URLs, no plugins.
- X-Content-Type-Options nosniff: a file is only ever what its Content-Type says (uploaded
  photos are served as images, never sniffed into HTML or script).

PDFs (labels, tickets, picking lists) get only the anti-framing part: older Chromium-based
browsers, still the engine of many browsers on shop counter PCs, applied the document's policy
to their PDF viewer's own page and showed it blank (crbug.com/271452); a PDF runs no script of
ours, so nothing is lost. (Current Chromium shows a PDF under the full policy too.)
HSTS is the proxy's to send (deploy/nginx/groupbuy.conf): the app may be served over plain
HTTP on a closed network, where it must not pin browsers to HTTPS.
"""

from __future__ import annotations

from flask import Flask

POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self' tel:",
        "frame-ancestors 'none'",
    )
)
PDF_POLICY = "frame-ancestors 'none'"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Browsers' default, stated: other sites see only the origin, never a path with a token.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        # setdefault: a view that needs a stricter value (an order page's no-referrer) keeps it.
        policy = PDF_POLICY if response.mimetype == "application/pdf" else POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
