"""The npm registry the builds install from: the project's pinned packages, nothing else.

A CodeBuild build on AWS runs ``npm install -g aws-cdk@<pin>`` (CDK Pipelines'
self-mutation) and ``npm install -g cdk-assets@<pin>`` (asset publishing) against the
public registry, into the build image's global prefix. Here each build installs into a
prefix of its own (``CodeBuildAction``: its HOME's ``.npmrc``), never into this machine's
global npm, from this registry, which serves the packages ``package-lock.json`` pins, as
``make install`` fetched them: the registry's own tarballs, read from npm's cache on this
machine (or else from the registry), each checked against the lockfile's ``integrity``,
so an ``npm ci`` that checks it too passes. A pinned package asked at
another version is answered 404 naming the pin, so a buildspec that drifted from
package.json fails here, by name. Every other package (the Synth build's own ``npm ci``)
is read from the registry this machine's npm is configured with (``npm config get
registry``), as a build on AWS reads it from the public one; without one, it is answered
404 naming what is served.

It answers only its callers: the builds' ``.npmrc`` carries a token (``_authToken``, sent
by npm as ``Authorization: Bearer``), a request without it is refused (401), and so is a
request from a web page or to another host name (``emulator.server.refused_as_foreign``).
It listens on 127.0.0.1 only.

Served as the npm registry API describes a package ("packument": ``GET /<name>``, its
``versions`` with ``dist.tarball``, ``dist.shasum`` and ``dist.integrity``; ``GET
<tarball>``), the parts of it npm install reads (npm docs, "registry" and the
"package-metadata" document of the npm/registry repository).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from emulator.server import refused_as_foreign


class RegistryError(Exception):
    """The pinned packages cannot be served (a lockfile or a package that is missing)."""


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    version: str
    manifest: Mapping[str, Any]  # its package.json
    tarball: bytes

    @property
    def file_name(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


def _tarball(name: str, version: str, integrity: str, upstream: str) -> bytes:
    """The registry's own tarball of ``name@version``, checked against the lockfile's
    ``integrity``: from npm's cache on this machine (``npm ci`` of `make install` put it
    there, stored under its digest), else from ``upstream``."""
    algorithm, _, digest = integrity.partition("-")
    if algorithm != "sha512":
        raise RegistryError(f"package-lock.json: {name}@{version} has no sha512 integrity ({integrity!r})")
    hexdigest = base64.b64decode(digest).hex()
    cached = npm_cache() / "_cacache" / "content-v2" / "sha512" / hexdigest[:2] / hexdigest[2:4] / hexdigest[4:]
    if cached.is_file():
        data = cached.read_bytes()
    elif upstream:
        url = f"{upstream}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=300) as answer:  # noqa: S310  (the configured registry's URL)
                data = answer.read()
        except (urllib.error.URLError, TimeoutError) as error:
            raise RegistryError(f"{name}@{version} is neither in npm's cache nor readable from {upstream}: {error}") from None
    else:
        raise RegistryError(f"{name}@{version} is not in npm's cache ({cached.parent}), and npm names no registry")
    if hashlib.sha512(data).hexdigest() != hexdigest:
        raise RegistryError(f"{name}@{version}: the tarball does not match package-lock.json's integrity")
    return data


def pinned_packages(project: Path, names: Iterable[str], upstream: str = "") -> dict[str, PinnedPackage]:
    """The packages ``names`` at the versions ``project``'s package-lock.json pins, as the
    registry serves them (``_tarball``); RegistryError naming what is missing."""
    lockfile = project / "package-lock.json"
    try:
        locked = json.loads(lockfile.read_text())["packages"]
    except (OSError, ValueError, KeyError) as error:
        raise RegistryError(f"{lockfile}: {error}") from None
    packages: dict[str, PinnedPackage] = {}
    for name in names:
        entry = locked.get(f"node_modules/{name}")
        folder = project / "node_modules" / name
        if entry is None:
            raise RegistryError(f"{lockfile} pins no {name}")
        if not (folder / "package.json").is_file():
            raise RegistryError(f"{folder} is missing: run `make install`")
        manifest = json.loads((folder / "package.json").read_text())
        if manifest.get("version") != entry.get("version"):
            raise RegistryError(
                f"{folder} holds {name}@{manifest.get('version')}, the lockfile pins {entry.get('version')}: run `make install`"
            )
        if manifest.get("dependencies"):
            # npm would ask for them too; none of the packages the pipeline installs has any.
            raise RegistryError(f"{name}@{entry['version']} has dependencies ({', '.join(manifest['dependencies'])}): not served")
        packages[name] = PinnedPackage(
            name, str(entry["version"]), manifest, _tarball(name, str(entry["version"]), str(entry.get("integrity", "")), upstream)
        )
    return packages


class NpmRegistry:
    """The registry on 127.0.0.1:<port>, in a thread, until ``stop``."""

    def __init__(self, packages: Mapping[str, PinnedPackage], upstream: str = "") -> None:
        self.packages = dict(packages)
        self.upstream = upstream.rstrip("/")  # where the rest is read; "" for nowhere
        self.token = secrets.token_urlsafe(32)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the registry is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def npmrc(self, prefix: Path, cache: Path) -> str:
        """A build's ``.npmrc``: this registry and its token, a global prefix and a cache of its own."""
        host = self.url.removeprefix("http:")
        settings = [f"registry={self.url}", f"{host}:_authToken={self.token}", f"prefix={prefix}", f"cache={cache}"]
        return "\n".join([*settings, "update-notifier=false", "fund=false", "audit=false", ""])

    def start(self) -> NpmRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                status, content_type, body = registry.answer(self.path, dict(self.headers.items()), registry.port)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (a build's install is in its own log)
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="npm-registry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def answer(self, path: str, headers: Mapping[str, str], port: int) -> tuple[int, str, bytes]:
        """(status, content type, body) for ``GET path``."""
        lowered = {key.lower(): value for key, value in headers.items()}
        foreign = refused_as_foreign(lowered.get("host", ""), port, lowered)
        if foreign:
            return HTTPStatus.FORBIDDEN, "text/plain; charset=utf-8", foreign.encode()
        offered = lowered.get("authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {self.token}".encode()):
            return HTTPStatus.UNAUTHORIZED, "application/json", json.dumps({"error": "this registry answers the builds only"}).encode()
        name, _, tarball = unquote(path.split("?", 1)[0]).lstrip("/").partition("/-/")
        package = self.packages.get(name)
        if package is None and self.upstream and ".." not in path.split("/"):
            return self._from_upstream(path)
        if package is None or (tarball and tarball != package.file_name):
            served = ", ".join(f"{p.name}@{p.version}" for p in self.packages.values())
            error = f"{name or path} is not served here: only the packages package-lock.json pins are ({served})"
            return HTTPStatus.NOT_FOUND, "application/json", json.dumps({"error": error}).encode()
        if tarball:
            return HTTPStatus.OK, "application/octet-stream", package.tarball
        return HTTPStatus.OK, "application/json", json.dumps(self.packument(package, port)).encode()

    def _from_upstream(self, path: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(f"{self.upstream}/{path.lstrip('/')}", headers={"Accept": "application/json"})  # noqa: S310  (the configured registry's https URL)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
                return answer.status, answer.headers.get("Content-Type", "application/octet-stream"), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", "application/json"), error.read()
        except (urllib.error.URLError, TimeoutError) as error:
            return HTTPStatus.BAD_GATEWAY, "application/json", json.dumps({"error": f"the registry {self.upstream}: {error}"}).encode()

    def packument(self, package: PinnedPackage, port: int) -> dict[str, Any]:
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(package.tarball).digest()).decode()
        dist = {
            "tarball": f"http://127.0.0.1:{port}/{package.name}/-/{package.file_name}",
            "shasum": hashlib.sha1(package.tarball).hexdigest(),  # noqa: S324  (npm's field: the tarball's SHA-1)
            "integrity": integrity,
        }
        version = {key: value for key, value in package.manifest.items() if key not in ("scripts", "devDependencies")}
        return {
            "name": package.name,
            "dist-tags": {"latest": package.version},
            "versions": {package.version: {**version, "_id": f"{package.name}@{package.version}", "dist": dist}},
        }


# What the pipeline's builds install with `npm install -g` (CDK Pipelines' self-mutation
# and asset publishing), pinned in package.json.
SERVED = ("aws-cdk", "cdk-assets")


class RegistryOnUse:
    """The registry of ``project``'s pinned packages, started when a build first asks for it."""

    def __init__(self, project: Path, names: Iterable[str] = SERVED) -> None:
        self._project, self._names = project, tuple(names)
        self._registry: NpmRegistry | None = None
        self._lock = threading.Lock()

    def __call__(self) -> NpmRegistry:
        with self._lock:
            if self._registry is None:
                upstream = configured_registry()
                self._registry = NpmRegistry(pinned_packages(self._project, self._names, upstream), upstream=upstream).start()
            return self._registry

    def stop(self) -> None:
        with self._lock:
            if self._registry is not None:
                self._registry.stop()
                self._registry = None


def _npm_config(key: str) -> str:
    npm = shutil.which("npm")
    if npm is None:
        return ""
    found = subprocess.run([npm, "config", "get", key], capture_output=True, text=True, check=False, timeout=60)
    return found.stdout.strip() if found.returncode == 0 else ""


def configured_registry() -> str:
    """The registry this machine's npm reads (``npm config get registry``), "" if none."""
    value = _npm_config("registry").rstrip("/")
    return value if value.startswith(("https://", "http://")) else ""


def npm_cache() -> Path:
    """npm's cache on this machine (``npm config get cache``; npm's default, ~/.npm)."""
    return Path(_npm_config("cache") or Path.home() / ".npm")
