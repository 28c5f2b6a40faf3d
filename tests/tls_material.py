"""Throwaway TLS certificates for the tests' local https servers (trusted by nobody by default).

Why pre-generated and not made per run: the standard library cannot make a certificate, the
``cryptography`` package is no dependency of pinner's, and a fresh machine need not have the
``openssl`` command. These are self-signed EC P-256 certificates, valid from 2000 to 2100 (a
machine with a wrong clock still accepts them), made once with ``openssl req -new`` and
``openssl ca -selfsign -startdate 20000101000000Z -enddate 21000101000000Z``. Their keys
protect nothing: they exist only for servers a test starts on 127.0.0.1.

* :data:`FOR_LOOPBACK` names ``127.0.0.1`` (subjectAltName ``IP:127.0.0.1``): trusted through
  ``SSL_CERT_FILE``, a handshake with ``https://127.0.0.1:PORT`` succeeds.
* :data:`FOR_ANOTHER_NAME` names only ``pinner-test.invalid``: even trusted, a handshake with
  ``https://127.0.0.1:PORT`` fails the host-name check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Certificate:
    name: str
    cert_pem: str
    key_pem: str

    def write(self, directory: Path) -> tuple[Path, Path]:
        """Write ``NAME.pem`` and ``NAME.key`` under ``directory``; their paths."""
        cert, key = directory / f"{self.name}.pem", directory / f"{self.name}.key"
        cert.write_text(self.cert_pem)
        key.write_text(self.key_pem)
        key.chmod(0o600)
        return cert, key


FOR_LOOPBACK = Certificate(
    "loopback",
    """-----BEGIN CERTIFICATE-----
MIIBWzCCAQKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFWim90SEm7xMtI8
ljKFjuhd8CtAaAUyytLxgSsXzPwP2KAkMh4NUrrCRGcfhwkgJGVNTQLkkio/UEdb
MaezIo+jQzBBMA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEfwAAATAdBgNV
HQ4EFgQUK5PW1G0Xrorig0djzd0DnLiZSxkwCgYIKoZIzj0EAwIDRwAwRAIgRA3+
DK3KBCx1rjFy22dYM48oo94wPmW2eviLMMJx3rcCIEDFbu4fqKWM5wv3tUSp2uOw
htCWPovkzDx5S8EMLIUd
-----END CERTIFICATE-----
""",
    """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvXD0Rg894j2U2nz0
Dqr5KlcTfUjMz3z76JZoiKpUjpKhRANCAARVopvdEhJu8TLSPJYyhY7oXfArQGgF
MsrS8YErF8z8D9igJDIeDVK6wkRnH4cJICRlTU0C5JIqP1BHWzGnsyKP
-----END PRIVATE KEY-----
""",
)

FOR_ANOTHER_NAME = Certificate(
    "another-name",
    """-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIBAjAKBggqhkjOPQQDAjAeMRwwGgYDVQQDDBNwaW5uZXIt
dGVzdC5pbnZhbGlkMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAe
MRwwGgYDVQQDDBNwaW5uZXItdGVzdC5pbnZhbGlkMFkwEwYHKoZIzj0CAQYIKoZI
zj0DAQcDQgAEH6cklmXmuNmIIUBKHrW4Kqqi0xCa5gc4+Df3eAa1vEBb0mORcI8h
GSVmNym/5b/g5iS2Nq/TnNu6BAkdC4adbKNSMFAwDwYDVR0TAQH/BAUwAwEB/zAe
BgNVHREEFzAVghNwaW5uZXItdGVzdC5pbnZhbGlkMB0GA1UdDgQWBBSbb4Cp1ZpT
YhGvDcm6ekXVQKsrhjAKBggqhkjOPQQDAgNJADBGAiEA6Z5/w0OXei5S5Gz8LSVh
o6PyBfBD0xUxRGPbiKOuG0ECIQCzlR+mD5GcJVlF6KpPahzrtDSPtuld0mkUgthH
zV0HTg==
-----END CERTIFICATE-----
""",
    """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCAF9ZpcLd7PsOwsW
mVJkVxC3e9jLMKI0WMxO7E50V0ahRANCAAQfpySWZea42YghQEoetbgqqqLTEJrm
Bzj4N/d4BrW8QFvSY5FwjyEZJWY3Kb/lv+DmJLY2r9Oc27oECR0Lhp1s
-----END PRIVATE KEY-----
""",
)
