"""The sample nginx config (deploy/nginx/groupbuy.conf), run for real in front of test app hosts.

The config is used as shipped, with only what a site changes replaced: the app hosts'
addresses, the listening ports (free loopback ports instead of 80 and 443), the certificate (a
self-signed one made here) and where the release is checked out. Each replacement must find
its text, so a change to the config's shape fails here instead of testing something else.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.engines import IN_CI
from tests.support.live_server import ROOT, free_port, stop_process, wait_until_ready

SAMPLE = ROOT / "deploy" / "nginx" / "groupbuy.conf"


def require_nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    if IN_CI:
        pytest.fail("nginx is not installed: in CI the sample proxy config must be run (.ci/run installs nginx-light)")
    pytest.skip("sample nginx config: nginx is not installed (apt-get install nginx-light)")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx/groupbuy.conf no longer holds {old!r}: update tests/support/nginx.py"
    return text.replace(old, new)


def site_config(app_ports: list[int], http_port: int, https_port: int, cert: Path, key: Path) -> str:
    site = SAMPLE.read_text()
    site = _replace(site, "server 10.0.0.11:8000", f"server 127.0.0.1:{app_ports[0]}")
    site = _replace(site, "server 10.0.0.12:8000", f"server 127.0.0.1:{app_ports[1]}")
    site = _replace(site, "    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n")
    site = _replace(site, "    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https_port} ssl http2;\n")
    # Loopback only, as every test here (and the machine may have no IPv6).
    site = _replace(site, "    listen [::]:80;\n", "")
    site = _replace(site, "    listen [::]:443 ssl http2;\n", "")
    site = _replace(site, "/etc/letsencrypt/live/shop.example.com/fullchain.pem", str(cert))
    site = _replace(site, "/etc/letsencrypt/live/shop.example.com/privkey.pem", str(key))
    return _replace(site, "/srv/groupbuy/", f"{ROOT}/")


def main_config(prefix: Path, site: str) -> str:
    """What /etc/nginx/nginx.conf gives a site, with every path under `prefix`."""
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root nginx would hand its workers to "nobody", who cannot read the test's private folders.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""{user}
worker_processes 1;
error_log {prefix / "error.log"};
pid {prefix / "nginx.pid"};
events {{ worker_connections 256; }}
http {{
    {mime}
    access_log {prefix / "access.log"};
{temp}
{site}
}}
"""


class Nginx:
    """nginx in the foreground with the sample config in front of the given app ports."""

    def __init__(self, binary: str, prefix: Path, app_ports: list[int]):
        prefix.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.http_port, self.https_port = free_port(), free_port()
        self.cert, key = self_signed(prefix)
        site = site_config(app_ports, self.http_port, self.https_port, self.cert, key)
        conf = prefix / "nginx.conf"
        conf.write_text(main_config(prefix, site))
        checked = subprocess.run(
            [binary, "-t", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
        # A file, not a pipe: a pipe nobody reads fills up and stalls the process.
        self._output = open(prefix / "nginx.out", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        self.url = f"https://127.0.0.1:{self.https_port}"
        self.plain_url = f"http://127.0.0.1:{self.http_port}"
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until_ready(self.proc, listening, self.log, timeout, pause=0.05)

    def log(self) -> str:
        """What nginx printed, then its error log."""
        error_log = self.prefix / "error.log"
        return (self.prefix / "nginx.out").read_text() + (error_log.read_text() if error_log.exists() else "")

    def stop(self) -> None:
        stop_process(self.proc)
        self._output.close()
