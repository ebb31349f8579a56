"""A local stand-in for the AWS services assay's cloud providers call, on
127.0.0.1 over real HTTP, for integration tests (no AWS account needed):

- SageMaker Runtime: InvokeEndpoint, InvokeEndpointWithResponseStream (AWS
  event-stream frames whose PayloadPart events cut the container output at
  arbitrary bytes), InvokeEndpointAsync (reads its input from the S3 store,
  writes the output or the failure object later, scales from zero);
- SageMaker control plane: DescribeEndpoint (instance count);
- S3: PUT and GET of objects (path-style), 404 NoSuchKey;
- Bedrock Runtime: Converse and ConverseStream.

Every request's SigV4 signature is recomputed here independently (Python
hmac/hashlib, the AWS rules: double-encoded normalised path except for S3,
sorted query, the signed headers, payload hash) and rejected with 403 when
it differs. Faults are scripted per test through FakeAWS.faults.
"""
import hashlib
import hmac
import json
import re
import socket
import struct
import threading
import time
import zlib
from urllib.parse import parse_qsl, quote, unquote

from fakebase import FakeServer

ACCESS_KEY = "AKIDFAKEASSAY"
SECRET_KEY = "fake/secret/for-tests-only"


# --- the AWS event-stream encoding -------------------------------------

def ev_message(headers, payload):
    """One event-stream message; headers are (name, string value) pairs."""
    hb = b""
    for name, value in headers:
        v = value.encode()
        hb += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(v)) + v
    total = 16 + len(hb) + len(payload)
    prelude = struct.pack(">II", total, len(hb))
    msg = prelude + struct.pack(">I", zlib.crc32(prelude)) + hb + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def ev_event(event_type, payload, content_type="application/octet-stream"):
    return ev_message([(":event-type", event_type), (":content-type", content_type),
                       (":message-type", "event")], payload)


def ev_exception(exc_type, obj):
    return ev_message([(":exception-type", exc_type), (":content-type", "application/json"),
                       (":message-type", "exception")], json.dumps(obj).encode())


# --- SigV4, recomputed independently -----------------------------------

def _canonical_uri(raw_path, s3):
    if s3:
        return raw_path or "/"
    segs = []
    for seg in raw_path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segs:
                segs.pop()
            continue
        segs.append(quote(seg, safe="-_.~"))
    uri = "/" + "/".join(segs)
    if raw_path.endswith("/") and segs:
        uri += "/"
    return uri


def _canonical_query(raw_query):
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    enc = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def verify_sigv4(method, raw_target, headers, body, expect_service):
    """Returns (ok, reason, scope) for a request."""
    auth = headers.get("Authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return False, "malformed Authorization: %r" % auth, None
    key, day, region, service, signed, sig = m.groups()
    if key != ACCESS_KEY:
        return False, "unknown access key", None
    if service != expect_service:
        return False, "signed for service %s, expected %s" % (service, expect_service), None
    amz_date = headers.get("X-Amz-Date", "")
    if not amz_date.startswith(day):
        return False, "x-amz-date does not match the scope", None
    path, _, query = raw_target.partition("?")
    s3 = service == "s3"
    lines = []
    for name in signed.split(";"):
        values = headers.get_all(name) or []
        if not values:
            return False, "signed header %s missing" % name, None
        lines.append("%s:%s" % (name, ",".join(" ".join(v.split()) for v in values)))
    body_hash = hashlib.sha256(body).hexdigest()
    if s3:
        declared = headers.get("x-amz-content-sha256")
        if declared is None:
            return False, "S3 request without x-amz-content-sha256", None
        if declared != "UNSIGNED-PAYLOAD" and declared != body_hash:
            return False, "x-amz-content-sha256 does not match the body", None
        payload_hash = declared
    else:
        payload_hash = body_hash
    creq = "\n".join([method, _canonical_uri(path, s3), _canonical_query(query)] + lines +
                     ["", signed, payload_hash])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "%s/%s/%s/aws4_request" % (day, region, service),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SECRET_KEY).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        return False, "signature mismatch; canonical request was:\n" + creq, None
    return True, "", (region, service)


# --- answers of the model containers -----------------------------------

def model_answer(prompt):
    """The deterministic text the fake model 'generates' for a prompt."""
    words = prompt.split()
    return ("echo: " + " ".join(words[-3:])) if words else "echo:"


def tgi_sse_lines(text):
    toks = re.findall(r"\S+\s*|\s+", text) or [""]
    out = []
    for i, t in enumerate(toks):
        last = i == len(toks) - 1
        ev = {"index": i, "token": {"id": i, "text": t, "logprob": -0.5, "special": False},
              "generated_text": text if last else None,
              "details": {"finish_reason": "eos_token", "generated_tokens": len(toks), "seed": None}
              if last else None}
        out.append("data:" + json.dumps(ev) + "\n\n")
    return out, len(toks)


def lmi_json_lines(text):
    toks = re.findall(r"\S+\s*|\s+", text) or [""]
    out = []
    for i, t in enumerate(toks):
        ev = {"token": {"id": [i], "text": t, "log_prob": -0.5}}
        if i == len(toks) - 1:
            ev["generated_text"] = text
            ev["details"] = {"finish_reason": "length", "generated_tokens": len(toks), "inputs": ""}
        out.append(json.dumps(ev) + "\n")
    return out, len(toks)


# --- the server ---------------------------------------------------------

class FakeAWS(FakeServer):
    """Start with FakeAWS(); .url is the endpoint for every service.

    faults: a dict the tests set, read per request:
      "throttle": N      -> the next N model calls answer 429 (Bedrock
                            ThrottlingException, SageMaker ModelNotReady)
      "model_error": N   -> the next N SageMaker calls answer 424 ModelError
                            (original status 500)
      "server_error": N  -> the next N model calls answer 503
      "stream_error": "ModelStreamError" | "InternalStreamFailure" |
                      "throttlingException" -> the next stream breaks
                            mid-way with that exception
      "stream_cut": True -> the next stream closes mid-frame
      "stream_crc": True -> the next stream has a corrupted frame
      "async_fail": True -> async invocations write a failure object
      "async_never": True -> async invocations never write anything
    """

    METHODS = ("GET", "PUT", "POST")

    def __init__(self, cold_delay=0.0, proc_delay=0.05, instances=1):
        self.headers = []           # the headers of every request
        self.sig_failures = []
        self.objects = {}           # (bucket, key) -> bytes
        self.instances = instances
        self.cold_delay = cold_delay
        self.proc_delay = proc_delay
        self.ready_at = None        # when a scaling endpoint has an instance
        # (method, path, service) of every request: FakeServer.requests
        super().__init__()

    # -- plumbing --
    def _send(self, h, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _error(self, h, status, etype, message, extra=None):
        body = {"message": message}
        body.update(extra or {})
        self._send(h, status, body, {"x-amzn-ErrorType": etype + ":http://internal.amazon.com/coral/"})

    def _handle(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = h.path.split("?")[0]
        if path.startswith("/endpoints/"):
            service = "sagemaker"
        elif path.startswith("/model/"):
            service = "bedrock"
        elif method == "POST" and path == "/" and h.headers.get("X-Amz-Target"):
            service = "sagemaker"
        else:
            service = "s3"
        ok, reason, _ = verify_sigv4(method, h.path, h.headers, body, service)
        self.requests.append((method, h.path, service))
        self.headers.append(dict(h.headers))
        if not ok:
            self.sig_failures.append(reason)
            self._error(h, 403, "InvalidSignatureException", reason.splitlines()[0])
            return
        try:
            if service == "s3":
                self._s3(h, method, path, body)
            elif service == "bedrock":
                self._bedrock(h, path, body)
            elif path == "/":
                self._describe(h, body)
            else:
                self._sagemaker(h, path, body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # -- S3 --
    def _s3(self, h, method, path, body):
        parts = path.lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1]:
            self._send(h, 400, b"<Error><Code>InvalidRequest</Code></Error>", ctype="application/xml")
            return
        bucket, key = parts[0], unquote(parts[1])
        if method == "PUT":
            with self.lock:
                self.objects[(bucket, key)] = body
            self._send(h, 200, b"", {"ETag": '"%s"' % hashlib.md5(body).hexdigest()})
            return
        with self.lock:
            data = self.objects.get((bucket, key))
        if data is None:
            self._send(h, 404, b"<Error><Code>NoSuchKey</Code><Message>The specified key does "
                               b"not exist.</Message></Error>", ctype="application/xml")
        else:
            self._send(h, 200, data, ctype="application/octet-stream")

    # -- SageMaker --
    def _describe(self, h, body):
        req = json.loads(body or b"{}")
        if h.headers.get("X-Amz-Target") != "SageMaker.DescribeEndpoint":
            self._error(h, 400, "UnknownOperationException", "unknown operation")
            return
        self._send(h, 200, {"EndpointName": req.get("EndpointName"), "EndpointStatus": "InService",
                            "ProductionVariants": [{"VariantName": "AllTraffic",
                                                    "CurrentInstanceCount": self.instances,
                                                    "DesiredInstanceCount": self.instances}]})

    def _model_faults(self, h, sagemaker):
        if self.take("throttle"):
            if sagemaker:
                self._error(h, 429, "ModelNotReadyException", "Model is not ready")
            else:
                self._error(h, 429, "ThrottlingException",
                            "Too many requests, please wait before trying again.")
            return True
        if sagemaker and self.take("model_error"):
            self._error(h, 424, "ModelError", "Received server error (500) from primary with "
                        "message \"CUDA out of memory\"",
                        {"OriginalStatusCode": 500, "OriginalMessage": "CUDA out of memory",
                         "LogStreamArn": "arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/x"})
            return True
        if self.take("server_error"):
            self._error(h, 503, "ServiceUnavailable", "Service unavailable")
            return True
        return False

    def _sagemaker(self, h, path, body):
        m = re.match(r"^/endpoints/([A-Za-z0-9-]+)/(invocations|invocations-response-stream|"
                     r"async-invocations)$", path)
        if not m:
            self._error(h, 404, "ValidationError", "no such route")
            return
        name, op = m.groups()
        if op == "async-invocations":
            self._async_invoke(h, name)
            return
        if self._model_faults(h, True):
            return
        req = json.loads(body)
        fmt = "openai" if "messages" in req else ("lmi" if name.startswith("lmi") else "tgi")
        if fmt != "openai":
            params = req.get("parameters", {})
            if params.get("return_full_text") is not False or params.get("details") is not True:
                self._error(h, 424, "ModelError", "the test container wants return_full_text "
                            "false and details true", {"OriginalStatusCode": 422})
                return
            text = model_answer(req["inputs"])
        else:
            text = model_answer(req["messages"][-1]["content"])
        if op == "invocations":
            if fmt == "lmi":
                out = {"generated_text": text, "details": {"finish_reason": "length",
                                                           "generated_tokens": len(text.split()),
                                                           "inputs": req["inputs"]}}
            elif fmt == "tgi":
                out = [{"generated_text": text, "details": {"finish_reason": "eos_token",
                                                            "generated_tokens": len(text.split())}}]
            else:
                out = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 9, "completion_tokens": len(text.split())}}
            time.sleep(self.proc_delay)
            self._send(h, 200, out)
            return
        lines, _ = lmi_json_lines(text) if fmt == "lmi" else tgi_sse_lines(text)
        data = "".join(lines).encode()
        # PayloadParts cut at arbitrary bytes, never aligned to lines
        frames, i, step = [], 0, 1
        while i < len(data):
            frames.append(ev_event("PayloadPart", data[i:i + step]))
            i += step
            step = step % 11 + 3
        self._stream(h, frames, "application/jsonlines" if fmt == "lmi" else "text/event-stream",
                     "ModelStreamError")

    def _stream(self, h, frames, model_ctype, default_exc):
        exc = self.take("stream_error")        # one stream fault per request
        cut = not exc and self.take("stream_cut")
        crc = not exc and not cut and self.take("stream_crc")
        if exc:
            half = frames[:max(1, len(frames) // 2)]
            if exc == "InternalStreamFailure":
                frames = half + [ev_exception(exc, {"Message": "Internal stream failure"})]
            elif exc == "ModelStreamError":
                frames = half + [ev_exception(exc, {"Message": "model crashed mid-stream",
                                                    "ErrorCode": "StreamBroken"})]
            else:
                frames = half + [ev_exception(exc, {"message": "Too many tokens, slow down"})]
        data = b"".join(frames)
        if crc:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x55
            data = bytes(data)
        if cut:
            data = data[:len(data) // 2 + 3]
        h.send_response(200)
        h.send_header("Content-Type", "application/vnd.amazon.eventstream")
        h.send_header("X-Amzn-SageMaker-Content-Type", model_ctype)
        h.end_headers()
        h.wfile.flush()
        time.sleep(self.proc_delay)
        # written in uneven slices so the client sees frames split anywhere
        i, step = 0, 7
        while i < len(data):
            h.wfile.write(data[i:i + step])
            h.wfile.flush()
            i += step
            step = step * 3 % 61 + 5
            time.sleep(0.002)
        if cut:
            h.connection.shutdown(socket.SHUT_RDWR)

    def _async_invoke(self, h, name):
        if self._model_faults(h, True):
            return
        loc = h.headers.get("X-Amzn-SageMaker-InputLocation", "")
        m = re.match(r"^s3://([^/]+)/(.+)$", loc)
        with self.lock:
            data = self.objects.get((m.group(1), m.group(2))) if m else None
        if data is None:
            self._error(h, 400, "ValidationError", "input location %s does not exist" % loc)
            return
        iid = hashlib.sha256(loc.encode()).hexdigest()[:16]
        out_key, fail_key = "async-out/%s.out" % iid, "async-fail/%s-error.out" % iid
        now = time.monotonic()
        with self.lock:
            if self.instances == 0 and self.ready_at is None:
                self.ready_at = now + self.cold_delay       # scale up from zero
            start = max(now, self.ready_at or now)
        fail, never = self.faults.get("async_fail"), self.faults.get("async_never")

        def finish():
            time.sleep(max(0.0, start - time.monotonic()) + self.proc_delay)
            with self.lock:
                self.instances = max(self.instances, 1)
                if never:
                    return
                if fail:
                    self.objects[("fake-out", fail_key)] = b"ModelError: CUDA out of memory"
                    return
            req = json.loads(data)
            text = model_answer(req.get("inputs", ""))
            with self.lock:
                self.objects[("fake-out", out_key)] = json.dumps(
                    [{"generated_text": text, "details": {"finish_reason": "eos_token",
                                                         "generated_tokens": len(text.split())}}]
                ).encode()

        threading.Thread(target=finish, daemon=True).start()
        self._send(h, 202, {"InferenceId": iid},
                   {"X-Amzn-SageMaker-OutputLocation": "s3://fake-out/" + out_key,
                    "X-Amzn-SageMaker-FailureLocation": "s3://fake-out/" + fail_key})

    # -- Bedrock --
    def _bedrock(self, h, path, body):
        m = re.match(r"^/model/([^/]+)/(converse|converse-stream)$", path)
        if not m:
            self._error(h, 404, "ResourceNotFoundException", "no such route")
            return
        model_id, op = unquote(m.group(1)), m.group(2)
        if ":" in model_id and "%3A" not in m.group(1):
            self._error(h, 400, "ValidationException", "model id not percent-encoded")
            return
        if self._model_faults(h, False):
            return
        req = json.loads(body)
        prompt = " ".join(b.get("text", "") for msg in req["messages"] for b in msg["content"])
        text = model_answer(prompt)
        if req.get("system"):
            text = "[sys] " + text
        usage = {"inputTokens": len(prompt.split()), "outputTokens": len(text.split()),
                 "totalTokens": len(prompt.split()) + len(text.split())}
        if op == "converse":
            time.sleep(self.proc_delay)
            self._send(h, 200, {"output": {"message": {"role": "assistant",
                                                       "content": [{"text": text}]}},
                                "stopReason": "end_turn", "usage": usage,
                                "metrics": {"latencyMs": int(self.proc_delay * 1000)}})
            return
        frames = [ev_event("messageStart", json.dumps({"role": "assistant"}).encode(),
                           "application/json")]
        for piece in re.findall(r"\S+\s*|\s+", text):
            frames.append(ev_event("contentBlockDelta", json.dumps(
                {"contentBlockIndex": 0, "delta": {"text": piece}}).encode(), "application/json"))
        frames.append(ev_event("contentBlockStop", b'{"contentBlockIndex":0}', "application/json"))
        frames.append(ev_event("messageStop", b'{"stopReason":"end_turn"}', "application/json"))
        frames.append(ev_event("metadata", json.dumps({"usage": usage, "metrics": {"latencyMs": 5}}
                                                      ).encode(), "application/json"))
        self._stream(h, frames, "application/json", "throttlingException")
