"""A fake OpenAI-compatible model server for the evaluator's tests: real
HTTP on 127.0.0.1 (Python's standard library), chat and completions, plain
or streamed over SSE, with scripted faults.

The case a request is for is read from the prompt: the first "case ID:" in
it. The script (a dict) says what to do:

  outputs      {case: text}        the answer (default "answer to ID")
  faults       {case: [fault...]}  one fault per attempt, then normal answers
  latency_ms   delay before every answer (default 0)
  usage        include usage (default True)
  judge        {"mode": "single"|"pair", "answers": {case: text}, "default": text}
               answers for judge prompts (recognized by their headings)

  embed        {"vectors": {text: [numbers]}, "faults": {text: [fault...]}}
               for POST .../embeddings: each input's vector (default: the
               counts of the letters a-z in the text), faults keyed by the
               first input; answers list the vectors in reverse order

Ollama's native /api/chat (plain or NDJSON; script "total_duration" in ns,
"prompt_cached" to leave out prompt_eval_count) and /api/embed are served
from the same script.

Faults: "429" (Retry-After: 1), "429ms" (retry-after-ms: 200), "quota" (429
insufficient_quota), "500", "400", "badjson" (200, not JSON), "truncate" (a
stream or body cut short), "reset" (connection reset), "hang" (no answer
for 60 s), "slow" (a stream that stalls 60 s after its first chunk),
"big" (a 10 MB answer), "streamerror" (an error object inside the stream),
"latin1" (502 with an HTML body in Latin-1 on several lines); for embeddings
also "ragged" (vectors of two lengths); for Ollama streams "nodone" (the
stream ends cleanly without its "done" line).

Calls are counted per case (server.calls) and every request body is kept
(server.bodies). Run as a program it serves until killed, printing its
port, for benchmarks: fakeserver.py [--latency-ms N] [--port P].
"""
import json
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CASE_RE = re.compile(r"case ([A-Za-z0-9_.-]+):")


def embed_text(text, script=None):
    """The fake embedding of a text: the script's vector, else the counts
    of the letters a-z in it."""
    v = (script or {}).get("vectors", {}).get(text)
    if v is not None:
        return v
    low = text.lower()
    return [float(low.count(c)) for c in "abcdefghijklmnopqrstuvwxyz"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_stats":
            with self.server.lock:
                self.send_json(200, {"calls": dict(self.server.calls), "total": self.server.total})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
            return
        if self.path.endswith("/embeddings") or self.path == "/api/embed":
            self.embeddings(req, ollama=self.path == "/api/embed")
            return
        ollama = self.path == "/api/chat"
        chat = ollama or self.path.endswith("/chat/completions")
        if chat:
            text = "\n".join(m.get("content", "") for m in req.get("messages", []))
        else:
            text = req.get("prompt", "")
        m = CASE_RE.search(text)
        case = m.group(1) if m else "?"
        script = self.server.script
        judge = "[The Start of Assistant" in text
        key = ("judge:" if judge else "") + case
        fault = self.count(key, req, script.get("faults", {}).get(key, []))
        lat = script.get("latency_ms", 0)
        if lat:
            time.sleep(lat / 1000.0)
        if judge:
            j = script.get("judge", {})
            out = j.get("answers", {}).get(case, j.get("default", "Good. Rating: [[7]]"))
        else:
            out = script.get("outputs", {}).get(case, "answer to %s" % case)
        if fault == "big":
            out = "x" * (10 * 1024 * 1024)
        if self.do_fault(fault):
            return
        if ollama:
            self.ollama(req, text, out, fault)
            return
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": len(out.split()),
                 "total_tokens": len(text.split()) + len(out.split())}
        if req.get("stream"):
            self.stream(req, chat, out, usage if script.get("usage", True) else None, fault)
            return
        choice = {"index": 0, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": out}
        else:
            choice["text"] = out
        resp = {"id": "x", "object": "chat.completion" if chat else "text_completion",
                "model": req.get("model"), "choices": [choice]}
        if script.get("usage", True):
            resp["usage"] = usage
        if fault == "truncate":
            body = json.dumps(resp).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_hard()
            return
        self.send_json(200, resp)

    def count(self, key, req, faults):
        """Count a call under 'key', keep its body; the fault of this attempt."""
        with self.server.lock:
            self.server.calls[key] = self.server.calls.get(key, 0) + 1
            self.server.total += 1
            attempt = self.server.calls[key] - 1
            self.server.bodies.append(req)
            self.server.auth.append(self.headers.get("Authorization"))
        return faults[attempt] if attempt < len(faults) else None

    def ollama(self, req, text, out, fault):
        """Ollama's /api/chat: one object, or NDJSON lines ending in done."""
        script = self.server.script
        final = {"model": req.get("model"), "created_at": "2026-12-08T00:00:00Z",
                 "message": {"role": "assistant", "content": ""}, "done": True,
                 "done_reason": "stop", "total_duration": script.get("total_duration", 123456789),
                 "eval_count": len(out.split())}
        if not script.get("prompt_cached"):
            final["prompt_eval_count"] = len(text.split())
        if not req.get("stream", True):
            final["message"]["content"] = out
            self.send_json(200, final)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(obj):
            payload = (json.dumps(obj) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        third = max(1, len(out) // 3)
        for i, p in enumerate([out[i:i + third] for i in range(0, len(out), third)] or [""]):
            send({"model": req.get("model"), "message": {"role": "assistant", "content": p},
                  "done": False})
            if i == 0 and fault == "truncate":
                self.close_hard()
                return
            if i == 0 and fault == "streamerror":
                send({"error": "generation failed"})
                break
            if i == 0 and fault == "nodone":
                break
        else:
            send(final)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def embeddings(self, req, ollama=False):
        script = self.server.script.get("embed", {})
        inputs = req.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        first = inputs[0] if inputs else ""
        fault = self.count("embed:" + first, req, script.get("faults", {}).get(first, []))
        if self.do_fault(fault):
            return
        data = [{"object": "embedding", "index": i, "embedding": embed_text(t, script)}
                for i, t in enumerate(inputs)]
        if fault == "ragged":
            data[-1]["embedding"] = data[-1]["embedding"][:-1]
        words = sum(len(t.split()) for t in inputs)
        if ollama:
            self.send_json(200, {"model": req.get("model"), "prompt_eval_count": words,
                                 "embeddings": [d["embedding"] for d in data]})
            return
        data.reverse()
        self.send_json(200, {"object": "list", "data": data, "model": req.get("model"),
                             "usage": {"prompt_tokens": words, "total_tokens": words}})

    def close_hard(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        self.connection.close()

    def do_fault(self, fault):
        if fault is None or fault in ("big", "truncate", "slow", "streamerror", "ragged",
                                       "nodone"):
            return False
        if fault == "429":
            self.send_json(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                           {"Retry-After": "1"})
        elif fault == "429ms":
            self.send_json(429, {"error": "overloaded", "error_type": "overloaded"},
                           {"retry-after-ms": "200"})
        elif fault == "quota":
            self.send_json(429, {"error": {"message": "You exceeded your current quota",
                                           "type": "insufficient_quota", "code": "insufficient_quota"}})
        elif fault == "500":
            self.send_json(500, {"object": "error", "message": "internal error", "type": "server_error",
                                 "code": 500})
        elif fault == "400":
            self.send_json(400, {"error": {"message": "max_tokens is too large", "type": "invalid_request_error",
                                           "code": None}})
        elif fault == "badjson":
            body = b"<html>Bad gateway</html>"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif fault == "latin1":
            body = "<html>\r\n<h1>Passerelle erronée</h1>\n\x01</html>".encode("latin-1")
            self.send_response(502)
            self.send_header("Content-Type", "text/html; charset=iso-8859-1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif fault == "reset":
            self.close_hard()
        elif fault == "hang":
            time.sleep(60)
            self.close_hard()
        return True

    def stream(self, req, chat, out, usage, fault):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(obj):
            data = obj if isinstance(obj, str) else json.dumps(obj)
            payload = ("data: %s\n\n" % data).encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()

        def chunk(content=None, finish=None, role=False):
            delta = {}
            if role:
                delta["role"] = "assistant"
            if content is not None:
                delta["content"] = content
            c = {"index": 0, "finish_reason": finish}
            if chat:
                c["delta"] = delta
            else:
                c["text"] = content or ""
            return {"id": "x", "object": "chat.completion.chunk", "choices": [c]}

        send(chunk(role=True, content=""))
        third = max(1, len(out) // 3)
        pieces = [out[i:i + third] for i in range(0, len(out), third)] or [""]
        for i, p in enumerate(pieces):
            send(chunk(content=p))
            if i == 0 and fault == "slow":
                time.sleep(60)
            if i == 0 and fault == "truncate":
                self.close_hard()
                return
            if i == 0 and fault == "streamerror":
                send({"error": {"message": "generation failed", "type": "server_error", "code": 500}})
                break
        send(chunk(finish="stop"))
        so = req.get("stream_options") or {}
        if usage and so.get("include_usage"):
            send({"id": "x", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a killed assay) are expected: no traceback."""

    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass


class FakeServer:
    """Start with FakeServer(script).start(); base_url ends in /v1."""

    def __init__(self, script=None, port=0):
        self.httpd = QuietServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.script = script or {}
        self.httpd.calls = {}
        self.httpd.total = 0
        self.httpd.bodies = []
        self.httpd.auth = []
        self.httpd.lock = threading.Lock()
        self.thread = None

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/v1" % self.port

    @property
    def calls(self):
        with self.httpd.lock:
            return dict(self.httpd.calls)

    @property
    def total(self):
        return self.httpd.total

    @property
    def bodies(self):
        return list(self.httpd.bodies)

    @property
    def auth(self):
        return list(self.httpd.auth)

    def set_script(self, script):
        self.httpd.script = script

    def reset_counts(self):
        with self.httpd.lock:
            self.httpd.calls = {}
            self.httpd.total = 0

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    latency = 0
    port = 0
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--latency-ms":
            latency = int(args.pop(0))
        elif a == "--port":
            port = int(args.pop(0))
    srv = FakeServer({"latency_ms": latency}, port)
    print(srv.port, flush=True)
    srv.httpd.serve_forever()
