"""What the local fake cloud services of the provider tests share
(fake_aws.FakeAWS, fake_anthropic.FakeAnthropic): a threaded HTTP/1.0
server on a free port of 127.0.0.1 that hands every request to the fake's
_handle(handler, method), and the scripted faults consumed with take().
"""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    """Subclasses set METHODS (the HTTP methods served) and define
    _handle(handler, method). With QUIET_DISCONNECTS a client that hangs up
    mid-answer (the provider gave up on a stream) is not reported."""

    METHODS = ("POST",)
    QUIET_DISCONNECTS = False

    def __init__(self):
        self.faults = {}
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

        def serve(method):
            def do(handler):
                try:
                    fake._handle(handler, method)
                except (BrokenPipeError, ConnectionResetError):
                    if not fake.QUIET_DISCONNECTS:
                        raise
            return do

        for method in self.METHODS:
            setattr(Handler, "do_" + method, serve(method))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def take(self, name):
        """Consume one occurrence of fault 'name': a count is decremented
        (True while it was above 0), any other value is removed and
        returned."""
        with self.lock:
            v = self.faults.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                if v > 0:
                    self.faults[name] = v - 1
                    return True
                return False
            if v:
                del self.faults[name]
                return v
            return False

    def _handle(self, h, method):
        raise NotImplementedError
