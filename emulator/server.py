"""The emulated accounts on a loopback port, for the AWS CLI, the SDKs and the builds' processes.

moto's own server answers anyone who reaches the port: it reflects any ``Origin`` in its
CORS headers, serves ``/moto-api/*`` (a reset wipes every account) and an instance-metadata
endpoint, and honours ``x-moto-account-id``. An AWS endpoint does none of this. In front
of moto's WSGI application, ``Guard`` lets through only what an AWS endpoint would serve:

- ``Host`` must name this port on the loopback (``127.0.0.1``, ``localhost`` or a name under
  ``.localhost``, which resolvers keep on the loopback, RFC 6761): a DNS-rebinding page's
  requests carry its own host name, and are refused;
- a request from a browser (``Origin`` or ``Sec-Fetch-Site``, which every browser sends on
  a page's request to another site and no SDK sends) is refused, and no answer carries an
  ``Access-Control-Allow-*`` header: a web page can neither send a preflighted call nor
  read an answer;
- ``/moto-api/*`` and ``/latest/*`` (instance metadata) are not served, by path or by any
  other way to reach them: moto also picks its backend from the signature's credential
  scope, so a signed request scoped to the service ``motoapi`` (or to the metadata
  address) at ``/%2Fmoto-api/reset`` would reach the reset; the backend moto would pick
  is asked, and only AWS services' backends are served;
- every request is authenticated with SigV4 (``emulator.authentication``), which also
  refuses ``x-moto-account-id``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from emulator.authentication import IncomingRequest, Refusal, authenticate, refusal_response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_LOOPBACK_HOST = re.compile(r"^(?:127\.0\.0\.1|localhost|(?:[a-z0-9\-]+\.)+localhost)$", re.IGNORECASE)
_NOT_SERVED = ("/moto-api", "/latest/", "/favicon.ico")
# The largest body read, before the request is authenticated (its signature covers it). The
# project's largest request is an asset upload of a few MiB; AWS takes far more (S3: 5 GB in
# one PUT), so a larger body is refused here (413) rather than read into memory unasked.
MAX_BODY = 64 * 1024 * 1024
# moto's own backends, which no AWS endpoint serves: its control API (reset, data.json, the
# recorder, the seed) and the instance-metadata endpoint.
_NOT_SERVED_BACKENDS = ("moto_api", "instance_metadata")
_BROWSER_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE")


def refused_as_foreign(host: str, port: int, headers: dict[str, str] | None = None) -> str:
    """Why a request to this machine's service on ``port`` is refused ("" if it is not):
    ``host`` is not this port on the loopback (a DNS-rebinding page's requests carry its own
    host name), or ``headers`` (lower-case names) are a browser's (``Origin`` or
    ``Sec-Fetch-*``, which every browser sends on a page's request and no SDK sends)."""
    name, _, host_port = host.rpartition(":")
    if host_port != str(port) or not _LOOPBACK_HOST.match(name):
        return f"Host {host!r} is not this service (127.0.0.1:{port})"
    if any(header in (headers or {}) for header in ("origin", "sec-fetch-site", "sec-fetch-mode")):
        return "requests from web pages are refused (no CORS)"
    return ""


def _plain(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


class Guard:
    """moto's WSGI application, behind the checks an AWS endpoint makes."""

    def __init__(self, app: WsgiApp, port: int, backend_of: Callable[[dict[str, Any]], str | None] | None = None) -> None:
        self._app = app
        self._port = port
        # Which of moto's backends the application would hand a request to (None: unknown).
        self._backend_of = backend_of

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST", ""))
        browser = {name[5:].lower().replace("_", "-"): "" for name in _BROWSER_HEADERS if name in environ}
        foreign = refused_as_foreign(host, self._port, browser)
        if foreign:
            return _plain(start_response, "403 Forbidden", foreign)
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return _plain(start_response, "403 Forbidden", "requests from web pages are refused (no CORS)")
        path = str(environ.get("PATH_INFO", ""))
        if ("/" + path.lstrip("/")).startswith(_NOT_SERVED):  # "//moto-api" is "/moto-api" to moto's routes
            return _plain(start_response, "404 Not Found", f"{path} is not served: only the AWS APIs are")
        body = _read_body(environ)
        if body is None:
            return _plain(start_response, "413 Request Entity Too Large", f"a body over {MAX_BODY} bytes is not read here")
        raw = str(environ.get("REQUEST_URI") or environ.get("RAW_URI") or path)
        raw_path, _, query = raw.partition("?")
        headers = {key[5:].replace("_", "-").title(): str(value) for key, value in environ.items() if key.startswith("HTTP_")}
        for key, header in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
            if environ.get(key):
                headers[header] = str(environ[key])
        request = IncomingRequest(str(environ.get("REQUEST_METHOD", "GET")), host, raw_path or "/", query, headers, body)
        outcome = authenticate(request)
        if isinstance(outcome, Refusal):
            status, answer_headers, answer = refusal_response(request, outcome)
            start_response(
                f"{status} {'Bad Request' if status == 400 else 'Forbidden'}",
                [*answer_headers.items(), ("Content-Length", str(len(answer)))],
            )
            return [answer]

        backend = self._backend_of(environ) if self._backend_of else None
        if backend is not None and backend.startswith(_NOT_SERVED_BACKENDS):
            return _plain(start_response, "404 Not Found", f"{path} is not served: only the AWS APIs are ({backend} is moto's)")

        def without_cors(status: str, response_headers: list[tuple[str, str]], *rest: Any) -> Any:
            kept = [(name, value) for name, value in response_headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept, *rest)

        return self._app(environ, without_cors)


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """Read the body, and put it back for moto; None if it is longer than ``MAX_BODY``
    (declared so, or found so), and then nothing more is read."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):
        body = stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return None
    else:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return None
        body = stream.read(length) if length > 0 else b""
    environ["wsgi.input"] = BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)
    return bytes(body)


def _moto_backend(dispatcher: Any, environ: dict[str, Any]) -> str | None:
    """The backend moto's ``DomainDispatcherApplication.get_application`` would pick for a
    signed request: by path first, then from the host its credential scope names. Asked of
    moto's own functions, so the answer is moto's; None when moto would fail on it anyway."""
    path = str(environ.get("PATH_INFO", ""))
    try:
        host = dispatcher.infer_service_region_host(dict(environ), path)
        backend = dispatcher.get_backend_for_host(host) if host else None
    except (KeyError, IndexError, ValueError, AttributeError):
        return None
    finally:
        body = environ.get("wsgi.input")
        if body is not None and body.seekable():
            body.seek(0)  # whatever moto read while guessing, it reads again from the start
    return str(backend) if backend else None


class GuardedServer:
    """moto's server application behind ``Guard``, on 127.0.0.1:``port``, in a thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server import werkzeug_app
        from werkzeug.serving import make_server

        # No CORS on moto's side either (moto.settings reads MOTO_DISABLE_GLOBAL_CORS once, at import).
        werkzeug_app.DISABLE_GLOBAL_CORS = True  # type: ignore[attr-defined]
        app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
        guard = Guard(app, self.port, backend_of=lambda environ: _moto_backend(app, environ))
        self._server = make_server("127.0.0.1", self.port, guard, threaded=True, request_handler=werkzeug_app.MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulated-accounts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
