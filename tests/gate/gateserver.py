"""A small fake OpenAI-compatible chat server for the gate's tests: real
HTTP on 127.0.0.1 (standard library only). It stands for a model whose
quality the test controls case by case.

A prompt carries "case ID: say WORD"; the model answers WORD, except for
cases in `wrong` (answers "wrong answer") and cases in `flaky` (right and
wrong by turns, per call). Calls are counted (`total`).
"""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CASE_RE = re.compile(r"case ([A-Za-z0-9_.-]+): .*?say (\S+)", re.S)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n))
        text = "\n".join(m.get("content", "") for m in req.get("messages", []))
        m = CASE_RE.search(text)
        if not m:
            self.send_json(400, {"error": {"message": "no case in prompt", "type": "invalid_request_error"}})
            return
        case, word = m.group(1), m.group(2).rstrip(".")
        srv = self.server
        with srv.lock:
            srv.total += 1
            srv.calls[case] = srv.calls.get(case, 0) + 1
            k = srv.calls[case]
        out = word
        if case in srv.wrong or (case in srv.flaky and k % 2 == 0):
            out = "wrong answer"
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": len(out.split()),
                 "total_tokens": len(text.split()) + len(out.split())}
        self.send_json(200, {"id": "x", "object": "chat.completion", "model": req.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": out}}],
                             "usage": usage})


class GateServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.total = 0
        self.httpd.calls = {}
        self.httpd.wrong = set()
        self.httpd.flaky = set()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/v1" % self.httpd.server_address[1]

    @property
    def total(self):
        return self.httpd.total

    def answer(self, wrong=(), flaky=()):
        """From now on answer the cases in 'wrong' wrongly and those in 'flaky' by turns."""
        self.httpd.wrong = set(wrong)
        self.httpd.flaky = set(flaky)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
