"""A local stand-in for the four vendor APIs the agent CLIs talk to (tests only).

One ``ThreadingHTTPServer`` on 127.0.0.1 answers, in the streaming shapes the real CLIs
accept (see shared/AGENT-CLIS.md §3):

- Anthropic messages SSE (``POST /v1/messages``, ``HEAD /api/hello``)      → claude
- OpenAI responses SSE (``POST /v1/responses``)                           → codex
- Gemini ``generateContent`` / ``streamGenerateContent?alt=sse``            → gemini
- OpenAI chat completions SSE (``POST /v1/chat/completions``)             → aider

Behaviour (``mock.behaviour``): ``answer`` replies with ``answer_text``; ``tool`` first asks to
run ``touch created_by_mock.txt`` (so the CLI raises its approval prompt) and answers once the
tool result comes back; ``401`` refuses the key; ``hang`` never answers a POST. Every request is logged in ``requests``.
The answer echoes a ``TOKEN:<word>`` found in the prompt, to prove the round trip.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOL_COMMAND = "touch created_by_mock.txt"


class VendorMock:
    """Start with ``with VendorMock() as mock:``; ``mock.url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, behaviour: str = "answer", answer_text: str = "Hello from mock.",
                 escalate: bool = False) -> None:
        self.behaviour = behaviour
        self.escalate = escalate  # codex: the tool call asks to leave the sandbox (raises its approval)
        self.answer_text = answer_text
        self.requests: list[tuple[str, str, Any]] = []
        self._closing = threading.Event()  # `hang`: requests wait for this (the mock's end)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> VendorMock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def reply_for(self, body: Any) -> str:
        """The text answer for a request body: echoes ``TOKEN:x`` and asks for confidence."""
        found = re.findall(r"TOKEN:(\w+)", json.dumps(body))  # the latest task's token
        token = f" The token is {found[-1]}." if found else ""
        return f"{self.answer_text}{token}\nCONFIDENCE: 0.85"

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]


def _has(body: Any, needle: str) -> bool:
    return needle in json.dumps(body)


def _handler_for(mock: VendorMock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                return json.loads(raw or b"{}")
            except ValueError:
                return {}

        def _send(self, status: int, payload: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def _sse(self, events: list[tuple[str | None, Any]]) -> None:
            out = []
            for name, data in events:
                head = f"event: {name}\n" if name else ""
                text = data if isinstance(data, str) else json.dumps(data)
                out.append(f"{head}data: {text}\n\n")
            self._send(200, "".join(out).encode(), "text/event-stream")

        def do_HEAD(self) -> None:  # noqa: N802 - claude's connectivity check
            mock.requests.append(("HEAD", self.path, None))
            self._send(200, b"", "text/plain")

        def do_GET(self) -> None:  # noqa: N802
            mock.requests.append(("GET", self.path, None))
            if self.path.startswith("/v1/models"):
                return self._json(200, {"object": "list", "data": [{"id": "mock-model", "object": "model"}]})
            self._json(200, {})

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            mock.requests.append(("POST", self.path, body))
            if mock.behaviour == "hang":  # a model that never answers (the CLI goes silent)
                mock._closing.wait(120)
                return None
            if mock.behaviour == "401":
                return self._json(401, {"error": {"type": "authentication_error", "message": "invalid x-api-key",
                                                  "code": 401, "status": "UNAUTHENTICATED"}})
            path = self.path.split("?")[0]
            if path.endswith("/messages/count_tokens"):
                return self._json(200, {"input_tokens": 10})
            if path.endswith("/messages"):
                return self._anthropic(body)
            if path.endswith("/responses"):
                return self._responses(body)
            if path.endswith("/chat/completions"):
                return self._chat(body)
            if ":streamGenerateContent" in path or ":generateContent" in path:
                return self._gemini(body, stream=":stream" in path)
            self._json(404, {"error": {"message": f"mock: no route {path}"}})

        # --- Anthropic messages -------------------------------------------------------
        def _anthropic(self, body: Any) -> None:
            tools = body.get("tools") or []
            want_tool = (mock.behaviour == "tool" and any(t.get("name") == "Bash" for t in tools)
                         and not _has(body.get("messages"), "tool_result"))
            usage = {"input_tokens": 12, "output_tokens": 7}
            msg = {"id": "msg_mock", "type": "message", "role": "assistant", "model": body.get("model", "m"),
                   "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
            if want_tool:
                block = {"type": "tool_use", "id": "toolu_mock1", "name": "Bash", "input": {}}
                delta = {"type": "input_json_delta",
                         "partial_json": json.dumps({"command": TOOL_COMMAND, "description": "create file"})}
                stop = "tool_use"
            else:
                block = {"type": "text", "text": ""}
                delta = {"type": "text_delta", "text": mock.reply_for(body.get("messages"))}
                stop = "end_turn"
            if not body.get("stream"):
                final = dict(msg, stop_reason=stop)
                final["content"] = ([dict(block, input=json.loads(delta["partial_json"]))] if want_tool
                                    else [{"type": "text", "text": delta["text"]}])
                return self._json(200, final)
            self._sse([
                ("message_start", {"type": "message_start", "message": msg}),
                ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                   "usage": {"output_tokens": 7}}),
                ("message_stop", {"type": "message_stop"}),
            ])

        # --- OpenAI responses ---------------------------------------------------------
        def _responses(self, body: Any) -> None:
            want_tool = mock.behaviour == "tool" and not _has(body.get("input"), "function_call_output")
            rid = f"resp_{int(time.time() * 1000)}"
            if want_tool:
                item = {"type": "function_call", "id": "fc_mock1", "call_id": "call_mock1", "name": "exec_command",
                        "arguments": json.dumps(self._codex_args()), "status": "completed"}
                text_events: list[tuple[str | None, Any]] = []
            else:
                text = mock.reply_for(body.get("input"))
                item = {"type": "message", "id": "msg_mock1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}
                text_events = [("response.output_text.delta", {"type": "response.output_text.delta",
                                "item_id": "msg_mock1", "output_index": 0, "content_index": 0, "delta": text})]
            usage = {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 9,
                     "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 29}
            resp = {"id": rid, "object": "response", "status": "in_progress", "model": body.get("model", "m"),
                    "output": []}
            added = dict(item, content=[]) if item["type"] == "message" else item
            self._sse([
                ("response.created", {"type": "response.created", "response": resp}),
                ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                                "item": added}),
                *text_events,
                ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
                ("response.completed", {"type": "response.completed",
                                        "response": dict(resp, status="completed", output=[item], usage=usage)}),
            ])

        def _codex_args(self) -> dict[str, Any]:
            args: dict[str, Any] = {"cmd": TOOL_COMMAND}
            if mock.escalate:
                args.update(sandbox_permissions="require_escalated", justification="create the file")
            return args

        # --- OpenAI chat completions (aider) ------------------------------------------
        def _chat(self, body: Any) -> None:
            msgs = body.get("messages") or []
            text = mock.reply_for(msgs)
            if mock.behaviour == "tool" and not _has(msgs, TOOL_COMMAND):
                text = f"Run this:\n\n```bash\n{TOOL_COMMAND}\n```\n\n{text}"
            base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": int(time.time()),
                    "model": body.get("model", "m")}
            if not body.get("stream"):
                return self._json(200, dict(base, object="chat.completion", choices=[{
                    "index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    usage={"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38}))
            self._sse([
                (None, dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": text},
                                            "finish_reason": None}])),
                (None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}],
                            usage={"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38})),
                (None, "[DONE]"),
            ])

        # --- Gemini -------------------------------------------------------------------
        def _gemini(self, body: Any, stream: bool) -> None:
            contents = body.get("contents") or []
            cfg = body.get("generationConfig") or {}
            usage = {"promptTokenCount": 25, "candidatesTokenCount": 8, "totalTokenCount": 33}
            if not stream and cfg.get("responseMimeType") == "application/json":
                # The model router asks which model to use, in JSON mode.
                part = {"text": json.dumps({"reasoning": "mock", "model_choice": "flash"})}
            elif (mock.behaviour == "tool" and _has(body.get("tools"), "run_shell_command")
                  and not _has(contents, "functionResponse")):
                part = {"functionCall": {"name": "run_shell_command",
                                         "args": {"command": TOOL_COMMAND, "description": "create file"}}}
            else:
                part = {"text": mock.reply_for(contents)}
            cand = {"candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP",
                                    "index": 0}], "usageMetadata": usage, "modelVersion": "mock-model"}
            if stream:
                return self._sse([(None, cand)])
            self._json(200, cand)

    return Handler
