"""A tour of the DrChrono emulator as any script sees it, with plain HTTP (no chronobridge client):

    chronobridge emulator --auto-approve doctor1 --rate-limit 200 &
    python examples/emulator_tour.py http://127.0.0.1:8700

1. completes the OAuth authorization-code flow (the emulator approves doctor1 unattended);
2. registers a webhook receiver, answers DrChrono's verification, creates a patient and
   receives the signed PATIENT_CREATE delivery;
3. pages through every list endpoint of the API by following `next` links;
4. keeps calling until the application's hourly limit answers 429.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2

from chronobridge.catalog import CATALOG, Kind

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret-not-for-production"  # noqa: S105 - the emulator demo app
REDIRECT_URI = "http://127.0.0.1:8600/oauth/callback"
# The one list with a required plain filter; lists that need one of since/date/date_range
# (the catalog's required_one_of) get since.
NEEDED = {"insurances": {"payer_type": "primary"}}


def authorize(http: httpx2.Client) -> str:
    state = secrets.token_urlsafe(16)
    query = urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
                       "response_type": "code", "state": state})  # fmt: skip
    answer = http.get(f"/o/authorize/?{query}")
    sent_back = parse_qs(urlparse(answer.headers["location"]).query)
    assert sent_back["state"] == [state], "the state must come back unchanged"
    token = http.post("/o/token/", data={
        "grant_type": "authorization_code", "code": sent_back["code"][0],
        "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    }).json()  # fmt: skip
    print(f"oauth: access token for doctor1, expires in {token['expires_in']} s")
    return str(token["access_token"])


class Receiver(BaseHTTPRequestHandler):
    secret = secrets.token_urlsafe(24)
    deliveries: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    def do_GET(self) -> None:  # DrChrono's verification: HMAC-SHA256 of msg, keyed by the secret
        msg = parse_qs(urlparse(self.path).query)["msg"][0]
        answer = hmac.new(self.secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
        self._reply(json.dumps({"secret_token": answer}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.deliveries.put((dict(self.headers), body))
        self._reply(b"{}")

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def webhooks(http: httpx2.Client, api: httpx2.Client) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    registered = http.put(f"/_emulator/webhooks/{CLIENT_ID}",
                          json={"url": url, "secret": Receiver.secret}).json()  # fmt: skip
    print(f"webhooks: registered {url}, verified: {registered['verified']}")
    created = api.post("/api/patients", json={"first_name": "Tour", "last_name": "Example",
                                               "gender": "Female", "doctor": 268001})  # fmt: skip
    headers, body = Receiver.deliveries.get(timeout=10)
    assert hmac.compare_digest(headers["X-drchrono-signature"], Receiver.secret)
    assert json.loads(body)["object"]["id"] == created.json()["id"]
    print(f"webhooks: {headers['X-drchrono-event']} for patient {created.json()['id']}, "
          f"delivery {headers['X-drchrono-delivery']}, signature checked")  # fmt: skip
    server.shutdown()


def every_list(api: httpx2.Client) -> int:
    calls = 0
    for op in CATALOG:
        if op.kind is not Kind.LIST:
            continue
        needed = NEEDED.get(op.resource, {})
        if op.required_one_of:
            needed = needed | {"since": "2000-01-01"}
        rows, url = 0, op.path + "?" + urlencode(needed)
        while url:
            page = api.get(url)
            calls += 1
            page.raise_for_status()
            body = page.json()
            rows += len(body["results"])
            url = body["next"]
        print(f"lists: {op.path:<42} {rows:>6} records")
    return calls


def until_throttled(api: httpx2.Client) -> None:
    for count in range(1, 10_000):
        answer = api.get("/api/doctors")
        if answer.status_code == 429:
            print(f"rate limit: 429 after {count} more calls: {answer.json()['detail']}")
            return
    raise SystemExit("no 429: is the emulator's --rate-limit higher than 10,000?")


def main(base_url: str) -> None:
    with httpx2.Client(base_url=base_url, timeout=30) as http:
        token = authorize(http)
        with httpx2.Client(base_url=base_url, timeout=30,
                           headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
            webhooks(http, api)
            print(f"lists: every list endpoint read in {every_list(api)} calls")
            until_throttled(api)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8700")
