"""A scriptable OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

Each request to POST .../chat/completions takes the next scripted reply:

- a `str`: the assistant message content of a normal 200 completion;
- an `int`: that HTTP status with an OpenAI-style error body;
- `Sleep(seconds, then)`: stall, then answer `then` (a stall the client gives up on);
- `DROP`: close the connection without answering;
- `Raw(body, status)`: exactly these bytes (for example a 200 that is not JSON);
- a callable taking the request body (a dict) and returning one of the above.

Once the script is used up, `default` answers every request (503 unless given).  Every
request body is recorded in `server.requests`.  Stalls wait on an event that `close()` sets,
so teardown never waits for a sleeping handler.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeAlias

MAX_BODY = 64 << 20


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer is part of the script, not a failure


@dataclass(frozen=True)
class Sleep:
    seconds: float
    then: Any = 500


@dataclass(frozen=True)
class Raw:
    body: bytes
    status: int = 200
    content_type: str = "application/json"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()
Reply: TypeAlias = str | int | Sleep | Raw | _Drop | Callable[[dict[str, Any]], Any]


def completion(content: str, model: str = "scripted", prompt_tokens: int = 11,
               completion_tokens: int = 7) -> bytes:
    return json.dumps({
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }).encode()


class ScriptedServer:
    def __init__(self, replies: list[Reply] | None = None, default: Reply = 503, retry_after_ms: int = 10):
        self.script: list[Reply] = list(replies or [])
        self.default = default
        self.retry_after_ms = retry_after_ms  # sent with error statuses so SDK retries are quick
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-openai-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else self.default
        for _ in range(8):  # a callable may return another callable; keep it bounded
            if not callable(reply) or isinstance(reply, (Sleep, Raw, _Drop)):
                break
            reply = reply(body)
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive loops

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                raw = self.rfile.read(length) if length > 0 else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                body["_path"] = self.path
                self._answer(server._next(body))

            def do_GET(self) -> None:
                self._send(404, b'{"error": {"message": "not found"}}')

            def _answer(self, reply: Reply) -> None:
                if isinstance(reply, Sleep):
                    server._stop.wait(reply.seconds)
                    reply = reply.then
                if isinstance(reply, _Drop) or server._stop.is_set():
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(reply, Raw):
                    self._send(reply.status, reply.body, reply.content_type)
                elif isinstance(reply, int):
                    err = {"message": f"scripted status {reply}", "type": "scripted", "code": reply}
                    self._send(reply, json.dumps({"error": err}).encode())
                else:
                    self._send(200, completion(str(reply)))

            def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    if status >= 400:
                        self.send_header("retry-after-ms", str(server.retry_after_ms))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout): nothing to answer
                    pass

        return Handler


@contextmanager
def scripted_server(replies: list[Reply] | None = None, default: Reply = 503,
                    retry_after_ms: int = 10) -> Iterator[ScriptedServer]:
    """`with scripted_server(["{...}", 500]) as srv: OpenAIProposer("m", base_url=srv.base_url)`."""
    server = ScriptedServer(replies, default, retry_after_ms)
    with server:
        yield server


def server_factory() -> Iterator[Callable[..., ScriptedServer]]:
    """Body of a pytest fixture: `make(replies, default=...)` starts a server, teardown stops all."""
    servers: list[ScriptedServer] = []

    def make(replies: list[Reply] | None = None, default: Reply = 503,
             retry_after_ms: int = 10) -> ScriptedServer:
        server = ScriptedServer(replies, default, retry_after_ms).start()
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()
