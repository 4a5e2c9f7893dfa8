"""A provider's policy pages on loopback, changeable between fetches: each page has a body and
an ETag (its version); a request with the current ETag gets 304; a page can be told to fail."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PolicyPages:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: dict[str, tuple[str, int]] = {}  # path -> (html, version)
        self.failing: dict[str, int] = {}  # path -> status to answer
        self.requests: list[tuple[str, str | None]] = []  # (path, If-None-Match)

    def set(self, path: str, html: str) -> None:
        with self.lock:
            _old, version = self.pages.get(path, ("", 0))
            self.pages[path] = (html, version + 1)


class PolicyServer:
    def __init__(self) -> None:
        self.pages = PolicyPages()
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                tag = self.headers.get("If-None-Match")
                with pages.lock:
                    pages.requests.append((self.path, tag))
                    failing = pages.failing.get(self.path)
                    page = pages.pages.get(self.path)
                if failing:
                    return self._answer(failing, b"upstream trouble", {})
                if page is None:
                    return self._answer(404, b"not found", {})
                html, version = page
                etag = f'"v{version}"'
                if tag == etag:
                    return self._answer(304, b"", {"ETag": etag})
                return self._answer(
                    200, html.encode(), {"ETag": etag, "Content-Type": "text/html; charset=utf-8"}
                )

            def _answer(self, status, body, headers):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def page(*paragraphs: str, noise: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>Rules</title><script>var x = '{noise}';</script></head><body>"
        f"<nav>Menu {noise}</nav><main id='content'><h1>Rules</h1>{body}</main>"
        f"<footer>(c) {noise}</footer></body></html>"
    )
