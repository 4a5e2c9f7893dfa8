"""A fake of every provider the adapters talk to, for tests and demos: loopback only.

Endpoints mimic the real ones closely enough for the adapters (Alpaca orders with unique
client_order_id, the order listing GET /v2/orders?status=&after=&limit=, GET /v2/positions and
GET /v2/account that trading's reconciliation reads, Shopify Admin GraphQL productCreate /
productUpdate / product(id) / products(query), Etsy draft listings (create, PATCH update, get),
YouTube videos.insert / search, a webhook sink at /webhook/..., and the OAuth token endpoints
of Google (/token) and Etsy (/v3/public/oauth/token), which answer a refresh_token grant with a
fresh access token). What was created is kept in memory. Control endpoints:

    POST /_faults  {"match": "/v2/orders", "mode": "500" | "429" | "slow" | "drop_after_commit"
                    | "drop_before_commit", "count": 1, "retry_after": 2, "delay": 3}
    GET  /_state   {"created": {"alpaca": [...], ...}, "side_effects": N}
    POST /_reset
    POST /_alpaca/orders     an order placed at the broker directly, not through Autopack
                             (client_order_id generated when absent; "status" default "new")
    POST /_alpaca/positions  {"symbol", "qty", "avg_entry_price"}: sets the broker's position
    POST /_alpaca/account    {"equity", "cash", ...}: sets fields of the broker's account

"slow" sleeps ``delay`` seconds, then does the work and answers; "drop_after_commit" does the
work and closes the connection without answering; "drop_before_commit" closes it without work.
"""

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _now() -> str:
    """Alpaca's timestamps: RFC 3339 in UTC with microseconds (sortable as text)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


OAUTH_TOKEN_PATHS = {"/token", "/v3/public/oauth/token"}


class FakeState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.created: dict[str, list[dict[str, Any]]] = {}
        # every order request that reached us, accepted or refused as a duplicate: what
        # "exactly once" is measured against
        self.order_requests: dict[str, int] = {}
        self.faults: list[dict[str, Any]] = []
        self.ids = itertools.count(1001)
        # the broker's view for reconciliation (Alpaca): positions by symbol, the account
        self.positions: dict[str, dict[str, Any]] = {}
        self.account: dict[str, Any] = {
            "id": "fake-account",
            "account_number": "PA0000FAKE",
            "status": "ACTIVE",
            "currency": "USD",
            "equity": "100000",
            "last_equity": "100000",
            "cash": "100000",
            "buying_power": "200000",
        }

    def add(self, provider: str, item: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.created.setdefault(provider, []).append(item)
        return item

    def take_fault(self, path: str) -> dict[str, Any] | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault["match"]) and fault["count"] > 0:
                    fault["count"] -= 1
                    return dict(fault)
        return None

    def alpaca_outside_order(self, body: dict[str, Any]) -> dict[str, Any]:
        """An order someone placed at the broker without Autopack (what reconciliation finds)."""
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": body.get("client_order_id") or uuid.uuid4().hex,
            "symbol": body.get("symbol", "AAPL"),
            "qty": str(body.get("qty", "1")),
            "side": body.get("side", "buy"),
            "type": body.get("type", "market"),
            "time_in_force": body.get("time_in_force", "day"),
            "status": body.get("status", "new"),
            "created_at": body.get("created_at") or _now(),
        }
        return self.add("alpaca", order)

    def alpaca_position(self, body: dict[str, Any]) -> dict[str, Any]:
        qty = str(body.get("qty", "0"))
        price = str(body.get("avg_entry_price", "0"))
        position = {
            "symbol": body["symbol"],
            "qty": qty,
            "side": "short" if qty.startswith("-") else "long",
            "avg_entry_price": price,
            "market_value": str(Decimal(qty) * Decimal(price)),
        }
        with self.lock:
            if Decimal(qty) == 0:
                self.positions.pop(body["symbol"], None)
            else:
                self.positions[body["symbol"]] = position
        return position

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            created = {k: [dict(i) for i in v] for k, v in self.created.items()}
            requests = dict(self.order_requests)
        return {
            "created": created,
            "side_effects": sum(len(v) for v in created.values()),
            "order_requests": requests,
        }


class Handler(BaseHTTPRequestHandler):
    server_version = "AutopackFake/1"
    state: FakeState

    def log_message(self, *args) -> None:  # quiet
        pass

    # --- plumbing ---------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        raw = self._body()
        if url.path.startswith("/_"):
            return self._control(method, url.path, raw)
        fault = self.state.take_fault(url.path)
        if fault:
            mode = fault["mode"]
            if mode == "500":
                return self._json(500, {"error": "injected failure"})
            if mode == "429":
                return self._json(
                    429,
                    {"error": "slow down"},
                    {"Retry-After": str(fault.get("retry_after", 1))},
                )
            if mode == "drop_before_commit":
                return self._drop()
            if mode == "slow":
                time.sleep(float(fault.get("delay", 2)))
        status, body = self._route(method, url.path, parse_qs(url.query), raw)
        if fault and fault["mode"] == "drop_after_commit":
            return self._drop()
        with contextlib.suppress(OSError):  # the client went away (e.g. killed mid-call)
            self._json(status, body)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _control(self, method: str, path: str, raw: bytes) -> None:
        if path == "/_state":
            return self._json(200, self.state.snapshot())
        if path == "/_reset" and method == "POST":
            with self.state.lock:
                self.state.reset()
            return self._json(200, {"ok": True})
        if path == "/_faults" and method == "POST":
            fault = {"count": 1, **json.loads(raw or b"{}")}
            with self.state.lock:
                self.state.faults.append(fault)
            return self._json(200, fault)
        if path.startswith("/_alpaca/") and method == "POST":
            body = json.loads(raw or b"{}")
            if path == "/_alpaca/orders":
                return self._json(200, self.state.alpaca_outside_order(body))
            if path == "/_alpaca/positions":
                return self._json(200, self.state.alpaca_position(body))
            if path == "/_alpaca/account":
                with self.state.lock:
                    self.state.account.update({k: str(v) for k, v in body.items()})
                    return self._json(200, dict(self.state.account))
        return self._json(404, {"error": "unknown control endpoint"})

    # --- providers ----------------------------------------------------------------------------
    def _route(self, method, path, query, raw) -> tuple[int, Any]:
        if path in OAUTH_TOKEN_PATHS and method == "POST":
            return self._token(parse_qs(raw.decode()))
        body = (
            json.loads(raw)
            if raw and method in ("POST", "PATCH") and not path.startswith("/webhook/")
            else {}
        )
        if path == "/v2/orders" and method == "POST":
            return self._alpaca_create(body)
        if path == "/v2/orders" and method == "GET":
            return self._alpaca_orders(query)
        if path == "/v2/positions" and method == "GET":
            with self.state.lock:
                return 200, [dict(p) for p in self.state.positions.values()]
        if path == "/v2/account" and method == "GET":
            with self.state.lock:
                return 200, dict(self.state.account)
        if path == "/v2/orders:by_client_order_id":
            wanted = (query.get("client_order_id") or [""])[0]
            for order in self.state.created.get("alpaca", []):
                if order["client_order_id"] == wanted:
                    return 200, order
            return 404, {"code": 40410000, "message": "order not found"}
        if path.startswith("/admin/api/") and path.endswith("/graphql.json"):
            return self._shopify(body)
        if path.startswith("/v3/application/shops/") and "/listings/" in path:
            return self._etsy_update(method, path, body)
        if path.startswith("/v3/application/listings/") and method == "GET":
            return self._etsy_listing(path.rsplit("/", 1)[-1])
        if path.startswith("/v3/application/shops/") and path.endswith("/listings"):
            shop = path.split("/")[4]
            if method == "POST":
                listing = {
                    "listing_id": next(self.state.ids),
                    "shop_id": int(shop),
                    "state": "draft",
                    **body,
                }
                return 201, self.state.add("etsy", listing)
            listings = [x for x in self.state.created.get("etsy", []) if str(x["shop_id"]) == shop]
            return 200, {"count": len(listings), "results": listings}
        if path == "/youtube/v3/videos" and method == "POST":
            video = {"id": uuid.uuid4().hex[:11], **body}
            return 200, self.state.add("youtube", video)
        if path == "/youtube/v3/search":
            q = (query.get("q") or [""])[0]
            items = [
                {"id": {"kind": "youtube#video", "videoId": v["id"]}}
                for v in self.state.created.get("youtube", [])
                if q in (v.get("snippet") or {}).get("tags", [])
            ]
            return 200, {"items": items}
        if path.startswith("/webhook/") and method == "POST":
            self.state.add(
                "webhook",
                {"path": path, "headers": dict(self.headers.items()), "body": raw.decode()},
            )
            return 200, {"received": True}
        return 404, {"error": f"no fake for {method} {path}"}

    def _etsy_listing(self, listing_id: str) -> tuple[int, Any]:
        for listing in self.state.created.get("etsy", []):
            if str(listing["listing_id"]) == listing_id:
                return 200, listing
        return 404, {"error": "listing not found"}

    def _etsy_update(self, method: str, path: str, body: dict) -> tuple[int, Any]:
        if method != "PATCH":
            return 405, {"error": "method not allowed"}
        parts = path.split("/")  # /v3/application/shops/{shop}/listings/{id}
        status, listing = self._etsy_listing(parts[-1])
        if status != 200 or str(listing["shop_id"]) != parts[4]:
            return 404, {"error": "listing not found"}
        with self.state.lock:
            listing.update(body)
        return 200, listing

    def _token(self, form: dict[str, list[str]]) -> tuple[int, Any]:
        if form.get("grant_type") != ["refresh_token"] or not form.get("refresh_token"):
            return 400, {"error": "invalid_grant"}
        token = f"fake-access-{uuid.uuid4().hex}"
        # an OAuth token type, not a secret:
        token_type = "Bearer"  # nosec B105
        return 200, {"access_token": token, "expires_in": 3600, "token_type": token_type}

    def _alpaca_create(self, body) -> tuple[int, Any]:
        with self.state.lock:
            reference = str(body.get("client_order_id"))
            self.state.order_requests[reference] = self.state.order_requests.get(reference, 0) + 1
            taken = any(
                o["client_order_id"] == body.get("client_order_id")
                for o in self.state.created.get("alpaca", [])
            )
        if taken:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        order = {"id": str(uuid.uuid4()), "status": "accepted", "created_at": _now(), **body}
        return 200, self.state.add("alpaca", order)

    def _alpaca_orders(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """Alpaca's listing: status open (default) | closed | all, orders created after
        ``after`` (ISO time), at most ``limit`` (default 50, at most 500), newest first."""
        status = (query.get("status") or ["open"])[0]
        after = (query.get("after") or [""])[0]
        try:
            limit = min(int((query.get("limit") or ["50"])[0]), 500)
        except ValueError:
            return 422, {"code": 40010001, "message": "invalid limit"}
        closed = {"filled", "canceled", "expired", "rejected", "done_for_day", "replaced"}
        with self.state.lock:
            orders = [dict(o) for o in self.state.created.get("alpaca", [])]
        if status == "open":
            orders = [o for o in orders if o.get("status") not in closed]
        elif status == "closed":
            orders = [o for o in orders if o.get("status") in closed]
        if after:
            orders = [o for o in orders if o.get("created_at", "") > after]
        orders.sort(key=lambda o: o.get("created_at", ""), reverse=True)
        return 200, orders[:limit]

    def _shopify(self, body) -> tuple[int, Any]:
        query, variables = body.get("query", ""), body.get("variables") or {}
        if "productCreate" in query:
            product = variables.get("product") or {}
            if not product.get("title"):
                return 200, {
                    "data": {
                        "productCreate": {
                            "product": None,
                            "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
                        }
                    }
                }
            number = next(self.state.ids)
            node = {
                "id": f"gid://shopify/Product/{number}",
                "title": product["title"],
                "handle": product["title"].lower().replace(" ", "-"),
                "descriptionHtml": product.get("descriptionHtml", ""),
                "tags": product.get("tags", []),
            }
            self.state.add("shopify", node)
            return 200, {"data": {"productCreate": {"product": node, "userErrors": []}}}
        if "productUpdate" in query:
            product = variables.get("product") or {}
            for node in self.state.created.get("shopify", []):
                if node["id"] == product.get("id"):
                    with self.state.lock:
                        node.update(
                            {
                                "title": product.get("title", node["title"]),
                                "descriptionHtml": product.get("descriptionHtml", ""),
                                "tags": product.get("tags", node.get("tags", [])),
                            }
                        )
                    shown = {k: node[k] for k in ("id", "title", "handle")}
                    return 200, {"data": {"productUpdate": {"product": shown, "userErrors": []}}}
            return 200, {
                "data": {
                    "productUpdate": {
                        "product": None,
                        "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
                    }
                }
            }
        if "product(id:" in query:
            for node in self.state.created.get("shopify", []):
                if node["id"] == variables.get("id"):
                    return 200, {"data": {"product": node}}
            return 200, {"data": {"product": None}}
        if "products(" in query:
            wanted = variables.get("query", "").removeprefix("tag:").strip("'\"")
            edges = [
                {"node": {k: p[k] for k in ("id", "title", "handle")}}
                for p in self.state.created.get("shopify", [])
                if wanted in p.get("tags", [])
            ][:1]
            return 200, {"data": {"products": {"edges": edges}}}
        return 200, {"errors": [{"message": "unsupported query"}]}


class FakeProviderServer:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        if host not in LOOPBACK:
            raise ValueError("the fake provider listens on loopback only")
        self.state = FakeState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeProviderServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # in-process conveniences for tests
    def fault(self, *, match: str, mode: str, count: int = 1, **extra) -> None:
        with self.state.lock:
            self.state.faults.append({"match": match, "mode": mode, "count": count, **extra})

    def state_snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def alpaca_outside_order(self, **order) -> dict[str, Any]:
        return self.state.alpaca_outside_order(order)

    def alpaca_position(self, symbol: str, qty: str, avg_entry_price: str) -> dict[str, Any]:
        return self.state.alpaca_position(
            {"symbol": symbol, "qty": qty, "avg_entry_price": avg_entry_price}
        )

    def alpaca_account(self, **fields) -> dict[str, Any]:
        with self.state.lock:
            self.state.account.update({k: str(v) for k, v in fields.items()})
            return dict(self.state.account)
