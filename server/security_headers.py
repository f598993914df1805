"""Security headers on every HTTP answer: a Content Security Policy without inline script, no framing, no MIME
sniffing, no referrer (candidate pages carry their token in the URL), a feature policy, and HSTS behind TLS.

The OpenAPI viewers under /schema load their scripts from a CDN and run inline code: they keep every header but CSP.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# Inline styles stay allowed: the pages set a few `style` attributes, which cannot run code.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The candidate page uses the microphone and camera of this origin; nothing else is ever needed.
PERMISSIONS = "camera=(self), microphone=(self), geolocation=(), payment=(), usb=(), serial=(), interest-cohort=()"
HSTS = "max-age=31536000; includeSubDomains"
_CSP_EXEMPT = ("/schema",)


def security_headers(*, behind_tls: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if behind_tls:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeadersMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, *, behind_tls: bool) -> None:
        self.headers = security_headers(behind_tls=behind_tls)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        extra = list(self.headers)
        if not scope["path"].startswith(_CSP_EXEMPT):
            extra.append((b"content-security-policy", CSP.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in present),
                ]
            await send(message)

        await next_app(scope, receive, send_with_headers)
