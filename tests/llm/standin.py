"""A tiny OpenAI-compatible server of the tests' own, over real HTTP, for the LLM layer's error paths only.

`StandIn` runs in a thread of the test process; what it answers is set per test (`content`, `status`,
`body`, `delay`), and it records every request (path, headers, JSON body). Run as a script it serves
like vLLM's OpenAI server would be started (`--port`, `--served-model-name`), optionally listening only
after `--delay-start` seconds: the managed-provider tests start it in vLLM's place.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class StandIn:
    """What the server answers; change the fields while it runs."""

    model: str = "standin-model"
    owned_by: str = "standin"
    content: str = "{}"
    """Text of the assistant message of every completion."""
    status: int = 200
    """HTTP status of completions."""
    body: bytes | None = None
    """Raw completion body, replacing the OpenAI JSON (garbage, error documents)."""
    delay: float = 0.0
    """Seconds a completion waits before answering."""
    models_status: int = 200
    finish_reason: str = "stop"
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def completions(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def answer(self, path: str) -> tuple[int, bytes, float]:
        if path == "/v1/models":
            listing = {
                "object": "list",
                "data": [{"id": self.model, "object": "model", "owned_by": self.owned_by}],
            }
            return self.models_status, json.dumps(listing).encode(), 0.0
        if path != "/v1/chat/completions":
            return 404, b'{"detail": "Not Found"}', 0.0
        if self.body is not None:
            return self.status, self.body, self.delay
        completion = {
            "id": "cmpl-1",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.content},
                    "finish_reason": self.finish_reason,
                }
            ],
        }
        return self.status, json.dumps(completion).encode(), self.delay


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            self._serve(json.loads(raw) if raw else None)

        def _serve(self, body: dict[str, Any] | None) -> None:
            standin.requests.append(Request(self.path, dict(self.headers.items()), body))
            status, payload, delay = standin.answer(self.path)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the slow-answer tests)

    return Handler


@contextmanager
def serve_standin(standin: StandIn | None = None, port: int = 0) -> Iterator[StandIn]:
    """Serve `standin` on 127.0.0.1 (a free port unless given) in a background thread."""
    standin = standin or StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(standin))
    server.daemon_threads = True
    standin.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name=f"standin-{standin.port}", daemon=True
    )
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--served-model-name", default="standin-model")
    parser.add_argument("--delay-start", type=float, default=0.0)
    options, _ = parser.parse_known_args()  # the rest of vLLM's flags (--model, --dtype, ...)
    time.sleep(options.delay_start)
    standin = StandIn(model=options.served_model_name, content='{"ok": true}')
    server = ThreadingHTTPServer(("127.0.0.1", options.port), _handler(standin))
    server.serve_forever()


if __name__ == "__main__":
    main()
