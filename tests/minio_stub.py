"""A stub of the parts of MinIO that `ray101 bucket create [--minio-user]` and
`ray101 wait bucket` talk to, on a loopback port, recording what they asked for.

No MinIO server can run on these machines, so this is not MinIO: it answers
HeadBucket/CreateBucket and the three admin calls of jobs/bucket_user.py, takes
admin calls only from the root access key, and decrypts the user's secret key
the way MinIO does (the minio SDK's own sio format). It proves the wiring (which
keys reach which call, re-runs converge); what MinIO then enforces is checked
on a cluster by tests/e2e.
"""

from __future__ import annotations

import http.server
import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

ADMIN_PREFIX = "/minio/admin/v3/"


@dataclass
class MinioState:
    root_access_key: str
    root_secret_key: str
    buckets: set[str] = field(default_factory=set)
    policies: dict[str, dict] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    user_policy: dict[str, str] = field(default_factory=dict)
    admin_calls: list[str] = field(default_factory=list)
    # Set to an HTTP status to make every admin call fail with it.
    admin_fails_with: int | None = None


class _Body(io.BytesIO):
    """What minio.crypto.decrypt reads from: a urllib3 response's read/close/release_conn."""

    def release_conn(self) -> None:
        pass


def _signed_by(headers) -> str:
    found = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
    return found.group(1) if found else ""


def _handler(state: MinioState) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _bucket(self) -> str:
            return urlsplit(self.path).path.strip("/").split("/")[0]

        def do_HEAD(self):  # noqa: N802 - the name http.server calls
            self._reply(200 if self._bucket() in state.buckets else 404)

        def do_PUT(self):  # noqa: N802
            if self.path.startswith(ADMIN_PREFIX):
                return self._admin()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.buckets.add(self._bucket())
            self._reply(200)

        def do_POST(self):  # noqa: N802
            return self._admin()

        def _admin(self) -> None:
            url = urlsplit(self.path)
            command = url.path.removeprefix(ADMIN_PREFIX)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.admin_calls.append(command)
            if state.admin_fails_with:
                return self._reply(state.admin_fails_with, b'{"Code":"XMinioAdminNope"}')
            if _signed_by(self.headers) != state.root_access_key:
                return self._reply(403, b'{"Code":"AccessDenied"}')
            if command == "add-canned-policy":
                state.policies[query["name"]] = json.loads(body)
            elif command == "add-user":
                from minio.crypto import decrypt

                plain = json.loads(decrypt(_Body(body), state.root_secret_key))
                state.users[query["accessKey"]] = plain["secretKey"]
            elif command == "set-user-or-group-policy":
                if query["policyName"] not in state.policies:
                    return self._reply(404, b'{"Code":"XMinioAdminNoSuchPolicy"}')
                if query["userOrGroup"] not in state.users:
                    return self._reply(404, b'{"Code":"XMinioAdminNoSuchUser"}')
                state.user_policy[query["userOrGroup"]] = query["policyName"]
            else:
                return self._reply(400, b'{"Code":"NotImplementedByTheStub"}')
            self._reply(200)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def minio_stub(root_access_key: str, root_secret_key: str) -> Iterator[tuple[str, MinioState]]:
    """(endpoint URL, the recorded state) of a stub serving until the block ends."""
    state = MinioState(root_access_key, root_secret_key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()
        server.server_close()
