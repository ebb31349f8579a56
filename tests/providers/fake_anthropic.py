"""A local stand-in for the Anthropic Messages API on 127.0.0.1 over real
HTTP, for integration tests: POST /v1/messages plain or streamed (SSE with
the documented event types and cumulative usage), the key and version
headers checked, and scripted faults (529 overloaded_error, 429 with
retry-after, an error event mid-stream, a stream cut before message_stop).
"""
import json
import re
import time

from fakebase import FakeServer

API_KEY = "sk-ant-fake-for-tests"


def _text(content):
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content)
    return content or ""


def answer_for(req):
    """Deterministic answers: a judge prompt (MT-bench rubric) gets a rating,
    anything else an echo of the last words."""
    msgs = req.get("messages", [])
    everything = _text(req.get("system")) + " " + " ".join(_text(m.get("content")) for m in msgs)
    if "impartial judge" in everything:
        return "The response answers the question and is accurate. Rating: [[8]]"
    words = _text(msgs[-1]["content"]).split() if msgs else []
    return "claude: " + " ".join(words[-3:])


class FakeAnthropic(FakeServer):
    """faults: "overloaded": N (529), "rate_limited": N (429 + retry-after),
    "stream_error": True (overloaded_error event mid-stream),
    "stream_cut": True (close before message_stop)."""

    QUIET_DISCONNECTS = True

    def _json(self, h, status, obj, headers=None):
        body = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _err(self, h, status, etype, msg, headers=None):
        self._json(h, status, {"type": "error", "error": {"type": etype, "message": msg}}, headers)

    def _handle(self, h, method):
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        self.requests.append((h.path, dict(h.headers), body))
        if h.path != "/v1/messages":
            self._err(h, 404, "not_found_error", "no such route")
            return
        if h.headers.get("x-api-key") != API_KEY:
            self._err(h, 401, "authentication_error", "invalid x-api-key")
            return
        if h.headers.get("anthropic-version") != "2023-06-01":
            self._err(h, 400, "invalid_request_error", "anthropic-version missing")
            return
        req = json.loads(body)
        if not isinstance(req.get("max_tokens"), int) or any(m.get("role") == "system"
                                                               for m in req.get("messages", [])):
            self._err(h, 400, "invalid_request_error", "max_tokens required; system is top-level")
            return
        if self.take("overloaded"):
            self._err(h, 529, "overloaded_error", "Overloaded")
            return
        if self.take("rate_limited"):
            self._err(h, 429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                      {"retry-after": "1"})
            return
        text = answer_for(req)
        in_tok = sum(len(str(m.get("content", "")).split()) for m in req["messages"])
        out_tok = len(text.split())
        if not req.get("stream"):
            self._json(h, 200, {"id": "msg_fake", "type": "message", "role": "assistant",
                                "model": req["model"], "content": [{"type": "text", "text": text}],
                                "stop_reason": "end_turn", "stop_sequence": None,
                                "usage": {"input_tokens": in_tok, "output_tokens": out_tok}})
            return
        events = [("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
            "model": req["model"], "stop_reason": None,
            "usage": {"input_tokens": in_tok, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"})]
        pieces = re.findall(r"\S+\s*|\s+", text)
        for i, piece in enumerate(pieces):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": piece}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
        events.append(("message_delta", {"type": "message_delta",
                                         "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                         "usage": {"output_tokens": out_tok}}))
        events.append(("message_stop", {"type": "message_stop"}))
        if self.take("stream_error"):          # one stream fault per request
            events = events[:4] + [("error", {"type": "error", "error": {
                "type": "overloaded_error", "message": "Overloaded"}})]
        elif self.take("stream_cut"):
            events = events[:-2]
        data = "".join("event: %s\ndata: %s\n\n" % (e, json.dumps(d)) for e, d in events).encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        time.sleep(0.05)
        i, step = 0, 5
        while i < len(data):
            h.wfile.write(data[i:i + step])
            h.wfile.flush()
            i += step
            step = step * 7 % 53 + 3
            time.sleep(0.001)
