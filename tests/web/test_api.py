"""The HTTP API against the real server on 127.0.0.1: every endpoint, every
role, bad JSON, oversized bodies, hostile values in every field, path and
query, missing and wrong tokens, CSRF, and the rating workflow end to end.
Most tests share one server started with --demo (three suites run with the
baseline models)."""
import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

from assaytest import check, main
from webtest import Server, add_user, demo_cases, wait_runs, write_replay

_shared = {}


def shared():
    """One demo server for the tests that only add to its state."""
    if not _shared:
        root = tempfile.mkdtemp(prefix="assay-web-")
        srv = Server(os.path.join(root, "data"), demo=True)
        _shared.update(srv=srv, root=root, tokens={"admin": srv.token})
        for role in ("editor", "rater", "viewer"):
            _shared["tokens"][role] = add_user(srv, "the-" + role, role)
        _shared["tokens"]["rater2"] = add_user(srv, "second-rater", "rater")

        def stop():
            if srv.proc.poll() is None:
                srv.stop()
            shutil.rmtree(root, ignore_errors=True)
        atexit.register(stop)
    return _shared["srv"], _shared["tokens"]


def error_of(r, status, code=None):
    check(r.status == status, "expected %d: %r" % (status, r))
    e = r.json()["error"]
    check(isinstance(e["message"], str) and e["message"], r)
    if code:
        check(e["code"] == code, "expected code %s: %r" % (code, r))


def runs_of(srv, tok, suite):
    return {r["model"]: r["id"] for r in srv.api("GET", "/runs?suite=" + suite, token=tok).json()["runs"]}


# ---- server and auth ------------------------------------------------------

def health_needs_no_login(env):
    srv, _ = shared()
    r = srv.api("GET", "/health")
    check(r.status == 200 and r.json()["status"] == "ok" and r.json()["version"], r)
    csp = r.header("Content-Security-Policy")
    check("script-src 'self'" in csp and "unsafe-inline" not in csp, csp)
    page = srv.request("GET", "/")
    check(page.status == 200 and "<script" in page.body, page)
    check(page.header("Content-Security-Policy") == csp)
    # no inline script: every script tag has a src
    for tag in page.body.split("<script")[1:]:
        check(tag.lstrip().startswith("src="), "inline script in index.html")
    check(srv.request("GET", "/static/vendor/chartjs/chart.umd.min.js").status == 200)
    check(srv.request("GET", "/static/nope.js").status == 404)


def first_start_prints_admin_token_once(env):
    srv = Server(env.data)
    try:
        check(srv.token and srv.token.startswith("as_") and len(srv.token) >= 3 + 32, srv.lines)
        r = srv.api("GET", "/users", token=srv.token)
        check(r.status == 200 and [u["name"] for u in r.json()["users"]] == ["admin"], r)
    finally:
        check(srv.stop() == 0)
    con = env.db()
    hashes = [h for (h,) in con.execute("SELECT token_hash FROM user_tokens")]
    check(len(hashes) == 1 and srv.token not in hashes[0], "only the hash is stored")
    import hashlib
    check(hashes[0] == hashlib.sha256(srv.token.encode()).hexdigest())
    again = Server(env.data)
    try:
        check(again.token is None, "second start must not print a token")
    finally:
        again.stop()


def sigterm_and_sigint_stop_gracefully(env):
    for sig in (signal.SIGTERM, signal.SIGINT):
        srv = Server(env.data)
        check(srv.api("GET", "/health").status == 200)
        code = srv.stop(sig)
        check(code == 0 and "server stopped" in srv.stderr, (code, srv.stderr))


def missing_and_wrong_credentials(env):
    srv, tok = shared()
    error_of(srv.api("GET", "/prompts"), 401, "unauthorized")
    error_of(srv.api("GET", "/prompts", token="as_" + "0" * 64), 401, "unauthorized")
    error_of(srv.api("GET", "/prompts", headers={"Authorization": "Basic abc"}), 401)
    error_of(srv.api("GET", "/prompts", cookie="assay_session=deadbeef"), 401)
    error_of(srv.api("GET", "/prompts", token="x" * 5000), 401)
    error_of(srv.api("POST", "/session", {"token": "as_nope"}), 401)
    error_of(srv.api("POST", "/session", {}), 400, "invalid")


def session_cookie_and_csrf(env):
    srv, tok = shared()
    r = srv.api("POST", "/session", {"token": tok["editor"]})
    check(r.status == 200, r)
    cookie = r.header("Set-Cookie")
    check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, cookie)
    sid = cookie.split(";")[0]
    csrf = r.json()["csrf"]
    check(len(csrf) >= 32 and r.json()["role"] == "editor")
    me = srv.api("GET", "/session", cookie=sid)
    check(me.status == 200 and me.json()["name"] == "the-editor" and me.json()["csrf"] == csrf, me)
    body = {"name": "csrf-model", "provider": "baseline", "settings": {"strategy": "majority"}}
    error_of(srv.api("POST", "/models", body, cookie=sid), 403, "csrf")
    error_of(srv.api("POST", "/models", body, cookie=sid, csrf="0" * 64), 403, "csrf")
    r = srv.api("POST", "/models", body, cookie=sid, csrf=csrf)
    check(r.status == 201, r)
    error_of(srv.api("DELETE", "/models/csrf-model", cookie=sid), 403, "csrf")
    check(srv.api("DELETE", "/models/csrf-model", cookie=sid, csrf=csrf).status == 200)
    # the session id is stored hashed only
    out = srv.api("DELETE", "/session", cookie=sid, csrf=csrf)
    check(out.status == 200 and "Max-Age=0" in out.header("Set-Cookie"), out)
    error_of(srv.api("GET", "/session", cookie=sid), 401)


def bad_json_and_media_type(env):
    srv, tok = shared()
    a = tok["admin"]
    error_of(srv.api("POST", "/models", raw=b"{bad json", token=a), 400, "invalid")
    error_of(srv.api("POST", "/models", raw=b"[1,2]", token=a), 400, "invalid")
    error_of(srv.api("POST", "/models", raw=b'{"a":1,"a":2}', token=a), 400, "invalid")
    error_of(srv.api("POST", "/models", raw=b'{"name":"x"}', token=a, content_type="text/plain"), 415)
    error_of(srv.api("POST", "/ratings", {"queue": "one"}, token=tok["rater"]), 400, "invalid")
    error_of(srv.api("PUT", "/prompts/sentiment", raw=b"\xff\xfe", token=a), 400)
    # files named by settings are absolute: the client cannot know the server's folder
    r = srv.api("POST", "/models", {"name": "rel", "provider": "replay",
                                    "settings": {"file": "out.jsonl"}}, token=a)
    error_of(r, 400, "invalid")
    check("settings.file" in r.json()["error"]["message"], r)


def oversized_bodies_are_413(env):
    srv, tok = shared()
    big = b'{"name":"' + b"x" * (2 << 20) + b'"}'
    error_of(srv.api("POST", "/models", raw=big, token=tok["admin"]), 413, "too_big")
    # without Content-Length (chunked), the cap holds while reading
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.putrequest("POST", "/api/v1/models")
    conn.putheader("Authorization", "Bearer " + tok["admin"])
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"x" * 65536
    try:
        for _ in range(40):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = conn.getresponse()
    check(r.status == 413, r.status)
    conn.close()
    check(srv.api("GET", "/health").status == 200, "server still up")


def unknown_routes_and_methods(env):
    srv, tok = shared()
    error_of(srv.api("GET", "/nope", token=tok["admin"]), 404, "not_found")
    error_of(srv.api("PATCH", "/prompts", token=tok["admin"]), 405)
    error_of(srv.api("GET", "/runs/abc", token=tok["admin"]), 400, "invalid")
    error_of(srv.api("GET", "/runs/999999", token=tok["admin"]), 404, "not_found")
    error_of(srv.api("GET", "/runs?limit=5000", token=tok["admin"]), 400, "invalid")
    error_of(srv.api("GET", "/runs?offset=-1", token=tok["admin"]), 400, "invalid")


# ---- roles ------------------------------------------------------------------

def route_probes(srv, token):
    """One request per API route: (method, path, body, who may), where who
    may is "read" (any role), "rate" (rater, editor, admin), "edit" (editor,
    admin) or "admin". Adds a rating queue on the server to address."""
    runs = runs_of(srv, token, "news-summary")
    run = runs["lead-1-article"]
    other = runs["lead-2-article"]
    q = srv.api("POST", "/rating/queues", {"runs": [run]}, token=token).json()["id"]
    return [
        ("GET", "/session", None, "read"),
        ("GET", "/prompts", None, "read"),
        ("GET", "/prompts/sentiment", None, "read"),
        ("GET", "/prompts/sentiment/versions", None, "read"),
        ("GET", "/prompts/sentiment/diff?from=v1", None, "read"),
        ("POST", "/prompts", {"name": "role-probe", "task": "generation", "template": "{{x}}"}, "edit"),
        ("PUT", "/prompts/role-probe", {"task": "generation", "template": "{{y}}"}, "edit"),
        ("POST", "/prompts/sentiment/labels", {"label": "probe", "ref": "v1"}, "edit"),
        ("DELETE", "/prompts/sentiment/labels/probe", None, "edit"),
        ("GET", "/datasets", None, "read"),
        ("GET", "/datasets/news", None, "read"),
        ("GET", "/datasets/news/versions", None, "read"),
        ("GET", "/datasets/news/diff?from=v1", None, "read"),
        ("GET", "/suites", None, "read"),
        ("GET", "/suites/sentiment", None, "read"),
        ("GET", "/suites/sentiment/versions", None, "read"),
        ("GET", "/suites/sentiment/diff?from=v1", None, "read"),
        ("PUT", "/suites/probe-suite", {"prompt": "sentiment", "dataset": "reviews", "metrics": ["accuracy"]}, "edit"),
        ("GET", "/models", None, "read"),
        ("GET", "/models/majority", None, "read"),
        ("POST", "/models?replace=1", {"name": "probe-model", "provider": "baseline", "settings": {"strategy": "majority"}}, "edit"),
        ("DELETE", "/models/probe-model", None, "edit"),
        ("GET", "/runs", None, "read"),
        ("GET", "/runs/%d" % run, None, "read"),
        ("GET", "/runs/%d/items" % run, None, "read"),
        ("GET", "/runs/%d/diff/%d" % (run, other), None, "read"),
        ("GET", "/compare?ids=%d,%d" % (run, other), None, "read"),
        ("POST", "/runs", {"suite": "sentiment", "models": ["majority"], "limit": 3}, "edit"),
        ("POST", "/runs/%d/cancel" % run, None, "edit"),
        ("GET", "/leaderboard?suite=sentiment", None, "read"),
        ("GET", "/rating/queues", None, "read"),
        ("POST", "/rating/queues", {"runs": [run], "rate": 0.2}, "edit"),
        ("GET", "/rating/queues/%d" % q, None, "read"),
        ("GET", "/rating/next?queue=%d" % q, None, "rate"),
        ("POST", "/rating/skip", {"queue": q, "item_id": 1}, "rate"),
        ("GET", "/ratings?queue=%d" % q, None, "read"),
        ("POST", "/ratings", {"queue": q, "item_id": -1, "score": 5}, "rate"),
        ("POST", "/votes", {"queue": q, "case_id": "x", "left_item": 1, "right_item": 2, "winner": "tie"}, "rate"),
        ("GET", "/rating/results?queue=%d" % q, None, "read"),
        ("POST", "/promotions", {"dataset": "probe", "kind": "good", "ratings": [999999]}, "edit"),
        ("GET", "/users", None, "admin"),
        ("POST", "/users", {"name": "probe-user", "role": "viewer"}, "admin"),
        ("POST", "/users/probe-user/tokens", None, "admin"),
        ("DELETE", "/users/probe-user", None, "admin"),
    ]


def every_route_enforces_roles(env):
    srv, tok = shared()
    routes = route_probes(srv, tok["admin"])
    allowed = {"read": {"admin", "editor", "rater", "viewer"}, "rate": {"admin", "editor", "rater"},
               "edit": {"admin", "editor"}, "admin": {"admin"}}
    for method, path, body, perm in routes:
        for role in ("viewer", "rater", "editor", "admin"):
            r = srv.api(method, path, body, token=tok[role])
            if role in allowed[perm]:
                check(r.status not in (401, 403), "%s %s as %s: %r" % (method, path, role, r))
            else:
                check(r.status == 403, "%s %s as %s must be 403: %r" % (method, path, role, r))
                check(r.json()["error"]["code"] == "forbidden", r)
    # a rater cannot read others' tokens or users at all
    check(srv.api("GET", "/users", token=tok["rater"]).status == 403)


# Values a field may hold instead of the right one.
HOSTILE_VALUES = [None, True, 0, -1, 2 ** 63, -2 ** 63 - 1, 1e308, -0.5, "", " ", "x" * 70000,
                  "../../etc/passwd", "a\u0000b", "\u2603" * 40, "%FF", "v-1", "@@", [], [[[]]], {},
                  {"a": {"b": None}}]
# Raw bodies that are not what any route expects.
HOSTILE_BODIES = [b"", b"{", b"[]", b"null", b"42", b'"s"', b"\xff\xfe", b'{"name":"\xff\xc3("}',
                  b'{"a":' * 500 + b"1" + b"}" * 500, b'{"name":"x","name":"y"}', b"{}" * 3]
# Path segments and query values instead of the right ones.
HOSTILE_SEGMENTS = ["%FF", "%00", "x" * 300, "..", "-1", "0", "99999999999999999999", "%2F", "a%20b"]


def hostile_variants(path, body):
    """(path, json_body, raw_body) variants of one probe request."""
    out = []
    if isinstance(body, dict):
        for key in body:
            out.append((path, {k: v for k, v in body.items() if k != key}, None))
            for bad in HOSTILE_VALUES:
                out.append((path, dict(body, **{key: bad}), None))
        out.append((path, dict(body, unexpected=1), None))
    if body is not None or path.startswith(("/session",)):
        out += [(path, None, raw) for raw in HOSTILE_BODIES]
    base, _, query = path.partition("?")
    segs = base.split("/")
    for i in range(2, len(segs)):
        for bad in HOSTILE_SEGMENTS:
            out.append(("/".join(segs[:i] + [bad] + segs[i + 1:]) + ("?" + query if query else ""),
                        body, None))
    if query:
        params = query.split("&")
        for i, kv in enumerate(params):
            k = kv.split("=")[0]
            for bad in ["%FF", "", "-1", "1e999", "x" * 1000, "1,%FF,2"]:
                out.append((base + "?" + "&".join(params[:i] + [k + "=" + bad] + params[i + 1:]), body, None))
    for extra in ("limit=%FF", "offset=-5", "limit=99999999999999999999"):
        out.append((path + ("&" if query else "?") + extra, body, None))
    return out


def hostile_inputs_get_4xx_never_5xx(env):
    """Every route with every field, path segment and query value replaced
    by something wrong (wrong types, huge numbers, bytes that are not
    UTF-8, deep nesting, duplicate keys...): a JSON error below 500 or a
    success, never a server error, and the server stays up and stops
    cleanly. Its own server: these requests change and delete things."""
    root = tempfile.mkdtemp(prefix="assay-web-hostile-")
    srv = Server(os.path.join(root, "data"), demo=True)
    try:
        probes = route_probes(srv, srv.token)
        probes += [("GET", "/health", None, "public"), ("POST", "/session", {"name": "admin", "token": "x"}, "public"),
                   ("DELETE", "/session", None, "read")]
        sent = 0
        for method, path, body, _ in probes:
            for vpath, vbody, raw in hostile_variants(path, body):
                r = srv.api(method, vpath, vbody, raw=raw, token=srv.token)
                sent += 1
                check(r.status < 500, "%s %s %r %r: %r" % (method, vpath, str(vbody)[:200], (raw or b"")[:60], r))
                if r.status >= 400:
                    error_of(r, r.status)
        check(sent > 1000, sent)
        check(srv.api("GET", "/health").status == 200)
    finally:
        code = srv.stop()
        shutil.rmtree(root, ignore_errors=True)
    check(code == 0 and "ERROR" not in srv.stderr and "runtime error" not in srv.stderr,
          (code, srv.stderr[-3000:]))


# ---- catalog ----------------------------------------------------------------

def catalog_read_and_edit(env):
    srv, tok = shared()
    e = tok["editor"]
    lst = srv.api("GET", "/prompts", token=e).json()
    names = [p["name"] for p in lst["prompts"]]
    check({"sentiment", "summarize-news", "short-answer"} <= set(names), names)
    p = srv.api("GET", "/prompts/summarize-news", token=e).json()
    check(p["doc"]["task"] == "summarization" and p["version"]["version"] == 1, p)
    doc = dict(p["doc"])
    doc["description"] = "One sentence, names and numbers kept."
    r = srv.api("PUT", "/prompts/summarize-news?message=tighter%20description", doc, token=e)
    check(r.status == 201 and r.json()["changed"] and r.json()["version"]["version"] == 2, r)
    check(r.json()["version"]["author"].startswith("the-editor"), r)
    same = srv.api("PUT", "/prompts/summarize-news", doc, token=e)
    check(same.status == 200 and not same.json()["changed"], same)
    log = subprocess.run(["git", "-C", os.path.join(_shared["root"], "data", "catalog"), "log", "-1",
                          "--format=%an|%s"], capture_output=True, text=True).stdout
    check(log.startswith("the-editor|tighter description"), log)
    vs = srv.api("GET", "/prompts/summarize-news/versions", token=e).json()["versions"]
    check([v["version"] for v in vs] == [2, 1], vs)
    d = srv.api("GET", "/prompts/summarize-news/diff?from=v1&to=v2", token=e).json()["diff"]
    check("+" in d and "names and numbers kept" in d and "Summarize a short local news" in d, d)
    old = srv.api("GET", "/prompts/summarize-news?ref=v1", token=e).json()
    check(old["version"]["version"] == 1 and "names and numbers" not in old["text"])
    r = srv.api("POST", "/prompts/summarize-news/labels", {"label": "production", "ref": "v1"}, token=e)
    check(r.status == 200 and r.json()["version"]["version"] == 1, r)
    p = srv.api("GET", "/prompts/summarize-news?ref=production", token=e).json()
    check(p["version"]["version"] == 1 and any(l["label"] == "production" for l in p["labels"]), p)
    check(srv.api("DELETE", "/prompts/summarize-news/labels/production", token=e).status == 200)
    error_of(srv.api("GET", "/prompts/summarize-news?ref=production", token=e), 404)
    error_of(srv.api("PUT", "/prompts/summarize-news", {"task": "nonsense"}, token=e), 400, "invalid")
    error_of(srv.api("GET", "/prompts/nope", token=e), 404)
    # datasets page by offset/limit
    d1 = srv.api("GET", "/datasets/news?offset=0&limit=10", token=e).json()
    d2 = srv.api("GET", "/datasets/news?offset=50&limit=10", token=e).json()
    check(d1["total"] == 54 and len(d1["cases"]) == 10 and len(d2["cases"]) == 4, (d1["total"], len(d2["cases"])))
    check(d1["cases"][0]["id"] == "news-001" and d2["cases"][0]["id"] == "news-051")
    ds = srv.api("GET", "/datasets?limit=1", token=e).json()
    check(len(ds["datasets"]) == 1 and ds["total"] >= 3, ds)
    s = srv.api("GET", "/suites/news-summary", token=e).json()
    check(s["doc"]["primary_metric"] == "rougeL", s)


def models_api(env):
    srv, tok = shared()
    e = tok["editor"]
    ms = {m["name"] for m in srv.api("GET", "/models", token=e).json()["models"]}
    check({"majority", "lead-1-article", "copy-question"} <= ms, ms)
    body = {"name": "api-model", "provider": "openai", "settings": {"base_url": "http://127.0.0.1:9", "model_id": "m"},
            "price_in": 1.5, "price_out": 2}
    r = srv.api("POST", "/models", body, token=e)
    check(r.status == 201 and r.json()["name"] == "api-model", r)
    error_of(srv.api("POST", "/models", body, token=e), 409, "exists")
    error_of(srv.api("POST", "/models", {"name": "bad", "provider": "nope"}, token=e), 404)
    check(srv.api("GET", "/models/api-model", token=tok["viewer"]).json()["price_in"] == 1.5)
    check(srv.api("DELETE", "/models/api-model", token=e).status == 200)
    error_of(srv.api("GET", "/models/api-model", token=e), 404)


# ---- runs and leaderboard ---------------------------------------------------

def runs_start_in_background_and_read(env):
    srv, tok = shared()
    e = tok["editor"]
    t0 = time.time()
    r = srv.api("POST", "/runs", {"suite": "short-answer", "models": ["lead-1-context", "copy-question"]}, token=e)
    check(r.status == 202 and len(r.json()["runs"]) == 2, r)
    check(time.time() - t0 < 5, "start returns at once")
    ids = r.json()["runs"]
    wait_runs(srv, e, ids)
    s = srv.api("GET", "/runs/%d" % ids[0], token=e).json()
    check(s["status"] == "complete" and s["items_total"] == 60 and s["model"] == "lead-1-context", s)
    check("token_f1" in s["metrics"] and not s["in_progress"], s)
    p1 = srv.api("GET", "/runs/%d/items?offset=0&limit=7" % ids[0], token=e).json()["items"]
    p2 = srv.api("GET", "/runs/%d/items?offset=7&limit=7" % ids[0], token=e).json()["items"]
    check(len(p1) == 7 and len(p2) == 7 and p1[-1]["case_id"] < p2[0]["case_id"], (p1[-1], p2[0]))
    low = srv.api("GET", "/runs/%d/items?filter=lowest&limit=60" % ids[0], token=e).json()
    vals = [i["scores"]["token_f1"] for i in low["items"]]
    check(vals == sorted(vals) and low["matched"] == 60, vals[:5])
    fails = srv.api("GET", "/runs/%d/items?filter=failures" % ids[0], token=e).json()
    check(fails["matched"] == 0 and fails["items"] == [], fails)
    error_of(srv.api("GET", "/runs/%d/items?filter=bogus" % ids[0], token=e), 400)
    lst = srv.api("GET", "/runs?suite=short-answer&model=copy-question", token=e).json()["runs"]
    check(lst and all(x["model"] == "copy-question" for x in lst), lst)
    cmp_ = srv.api("GET", "/compare?ids=%d,%d&limit=5" % tuple(ids), token=e).json()
    check(len(cmp_["rows"]) == 5 and len(cmp_["rows"][0]["cells"]) == 2 and cmp_["matched"] == 60, cmp_)
    check(cmp_["rows"][0]["cells"][0]["case_id"] == cmp_["rows"][0]["case_id"])
    dis = srv.api("GET", "/compare?ids=%d,%d&filter=disagreements" % tuple(ids), token=e).json()
    check(0 < dis["matched"] <= 60, dis["matched"])
    diff = srv.api("GET", "/runs/%d/diff/%d" % tuple(ids), token=e).json()
    c = diff["counts"]
    check(c["improved"] + c["regressed"] + c["unchanged"] == 60 and c["regressed"] > 0, c)
    deltas = [abs(x["delta"]) for x in diff["changes"]]
    check(deltas == sorted(deltas, reverse=True), "largest changes first")
    news = runs_of(srv, e, "news-summary")["lead-1-article"]
    error_of(srv.api("GET", "/runs/%d/diff/%d" % (ids[0], news), token=e), 400)
    error_of(srv.api("GET", "/compare?ids=%d" % ids[0], token=e), 400)
    error_of(srv.api("POST", "/runs", {"suite": "nope"}, token=e), 404)
    error_of(srv.api("POST", "/runs", {"suite": "sentiment", "models": ["nope"]}, token=e), 404)
    error_of(srv.api("POST", "/runs/%d/cancel" % ids[0], token=e), 404)


def run_cancel_and_stop_leave_runs_resumable(env):
    """A slow replay model: cancel one run through the API, and stop the
    server in the middle of another; both stay resumable (not 'running')."""
    srv = Server(env.data, demo=False)
    try:
        a = srv.token
        cases = demo_cases("reviews")
        # the fake remote model: an OpenAI-compatible server that answers slowly
        fake = subprocess.Popen(["python3", "-c", SLOW_SERVER], stdout=subprocess.PIPE, text=True)
        port = int(fake.stdout.readline())
        try:
            r = srv.api("POST", "/prompts", json.load(open(os.path.join(os.environ["ASSAY_SOURCE_DIR"], "demo", "prompts", "sentiment.json"))), token=a)
            check(r.status == 201, r)
            with open(env.path("reviews.jsonl"), "w") as f:
                for c in cases:
                    f.write(json.dumps(c) + "\n")
            env.ok("dataset", "add", "reviews", "--file", env.path("reviews.jsonl"))
            r = srv.api("PUT", "/suites/slow", {"prompt": "sentiment", "dataset": "reviews", "metrics": ["accuracy"]}, token=a)
            check(r.status == 201, r)
            r = srv.api("POST", "/models", {"name": "slow", "provider": "openai", "concurrency": 1,
                                            "settings": {"base_url": "http://127.0.0.1:%d/v1" % port, "model_id": "slow"}}, token=a)
            check(r.status == 201, r)
            t0 = time.time()
            ids = srv.api("POST", "/runs", {"suite": "slow", "models": ["slow"]}, token=a).json()["runs"]
            check(time.time() - t0 < 6, "POST /runs returns before the model answers (60 x 0.3 s = 18 s)")
            time.sleep(1.0)
            # the server keeps answering while the run waits on its model
            t0 = time.time()
            for _ in range(20):
                check(srv.api("GET", "/health").status == 200)
                check(srv.api("GET", "/runs?suite=slow", token=a).status == 200)
            check(time.time() - t0 < 5, "requests are not held up by the run")
            check(srv.api("GET", "/runs/%d" % ids[0], token=a).json()["in_progress"])
            r = srv.api("POST", "/runs/%d/cancel" % ids[0], token=a)
            check(r.status == 202, r)
            wait_runs(srv, a, ids, timeout=30)
            s = srv.api("GET", "/runs/%d" % ids[0], token=a).json()
            check(s["status"] == "canceled" and s["items_done"] < 60, s)
            ids2 = srv.api("POST", "/runs", {"suite": "slow", "models": ["slow"]}, token=a).json()["runs"]
            time.sleep(1.0)
        finally:
            code = srv.stop()
            fake.kill()
            fake.wait()
        check(code == 0, code)
        st = env.db().execute("SELECT status FROM runs WHERE id = ?", (ids2[0],)).fetchone()[0]
        check(st in ("canceled", "partial"), st)
    finally:
        if srv.proc.poll() is None:
            srv.stop()


SLOW_SERVER = r'''
import http.server, json, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(0.3)
        body = json.dumps({"id": "x", "object": "chat.completion", "model": "slow",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "positive"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
'''


def leaderboard_policies(env):
    srv, tok = shared()
    v = tok["viewer"]
    lb = srv.api("GET", "/leaderboard?suite=news-summary", token=v).json()
    check(lb["policy"].startswith("weighted:quality=0.8"), lb["policy"])
    check([m["rank"] for m in lb["models"]] == [1, 2, 3], lb)
    check({m["model"] for m in lb["models"]} == {"lead-1-article", "lead-2-article", "lead-3-article"})
    # baselines answer in microseconds, so speed is noise: rank by quality alone
    q = srv.api("GET", "/leaderboard?suite=news-summary&policy=weighted:quality=1,cost=0,speed=0", token=v).json()
    check([m["model"] for m in q["models"]] == ["lead-2-article", "lead-1-article", "lead-3-article"], q)
    for p in ("pareto", "priority:quality,cost,speed", "weighted:quality=1,cost=0,speed=0"):
        r = srv.api("GET", "/leaderboard?suite=news-summary&policy=" + p, token=v)
        check(r.status == 200 and len(r.json()["models"]) == 3, r)
    # the tolerance band after ',' (documented) or ';' (accepted too)
    for p in ("priority:quality,cost,speed,tolerance=0.05", "priority:quality,cost,speed;tolerance=0.05"):
        r = srv.api("GET", "/leaderboard?suite=news-summary&policy=" + urllib.parse.quote(p), token=v)
        check(r.status == 200 and r.json()["policy"] == p and len(r.json()["models"]) == 3, r)
    error_of(srv.api("GET", "/leaderboard?suite=news-summary&policy=" +
                     urllib.parse.quote("priority:quality;tolerance=2"), token=v), 400)
    r = srv.api("GET", "/leaderboard?suite=news-summary&policy=weighted:quality=1&require=quality>=0.4", token=v).json()
    check(len(r["models"]) == 2 and len(r["excluded"]) == 1, r)
    error_of(srv.api("GET", "/leaderboard?suite=news-summary&policy=bogus", token=v), 400)
    # bytes that are not UTF-8 are refused with a JSON error, never a model dropped
    error_of(srv.api("GET", "/leaderboard?suite=news-summary&require=quality>=0.4,q%FF%9B>=1", token=v),
             400, "invalid")
    error_of(srv.api("GET", "/leaderboard?suite=news-summary&policy=%FFbogus", token=v), 400, "invalid")
    error_of(srv.api("GET", "/leaderboard", token=v), 400)
    error_of(srv.api("GET", "/leaderboard?suite=nope", token=v), 404)


# ---- rating -----------------------------------------------------------------

def rating_single_blind_keyboard_flow(env):
    srv, tok = shared()
    runs = runs_of(srv, tok["admin"], "news-summary")
    q = srv.api("POST", "/rating/queues", {"name": "news all", "runs": [runs["lead-1-article"], runs["lead-3-article"]],
                                           "rate": 0.1, "seed": 7, "raters_per_item": 2}, token=tok["editor"])
    check(q.status == 201, q)
    qid = q.json()["id"]
    seen = []
    for rater, scores in (("rater", [8, 3, 10, 6]), ("rater2", [7, 3, 9, 6])):
        for s in scores:
            n = srv.api("GET", "/rating/next?queue=%d" % qid, token=tok[rater]).json()
            check(not n["done"], n)
            item = n["item"]
            text = json.dumps(item)
            check("lead-" not in text and "model" not in item, "blind: %s" % text)
            check(item["input"]["article"] and item["reference"], item)
            r = srv.api("POST", "/ratings", {"queue": qid, "item_id": item["item_id"], "score": s,
                                             "feedback": "ok" if s > 5 else "misses the point"}, token=tok[rater])
            check(r.status == 201, r)
            error_of(srv.api("POST", "/ratings", {"queue": qid, "item_id": item["item_id"], "score": s}, token=tok[rater]), 409)
            seen.append((rater, item["item_id"]))
    # both raters saw the same items (the sample and its order depend on the seed)
    a = [i for r, i in seen if r == "rater"]
    b = [i for r, i in seen if r == "rater2"]
    check(a == b, (a, b))
    con = sqlite_of()
    rows = con.execute("SELECT u.name, r.score, r.model, r.created_at FROM ratings r JOIN users u ON u.id = r.rater_id "
                       "WHERE r.queue_id = ? ORDER BY r.id", (qid,)).fetchall()
    check(len(rows) == 8 and rows[0][0] == "the-rater" and rows[0][1] == 8 and rows[0][3], rows)
    res = srv.api("GET", "/rating/results?queue=%d" % qid, token=tok["viewer"]).json()
    check(res["ratings"] == 8 and res["agreement"]["raters"] == 2, res)
    check("cohen_kappa" in res["agreement"] and "krippendorff_alpha" in res["agreement"], res)
    for m in res["models"]:
        check(m["ci_low"] <= m["mean"] <= m["ci_high"], m)
    error_of(srv.api("POST", "/ratings", {"queue": qid, "item_id": a[0], "score": 11}, token=tok["rater"]), 400)
    # skip moves on
    n1 = srv.api("GET", "/rating/next?queue=%d" % qid, token=tok["rater"]).json()
    if not n1["done"]:
        check(srv.api("POST", "/rating/skip", {"queue": qid, "item_id": n1["item"]["item_id"]}, token=tok["rater"]).status == 200)
        n2 = srv.api("GET", "/rating/next?queue=%d" % qid, token=tok["rater"]).json()
        check(n2["done"] or n2["item"]["item_id"] != n1["item"]["item_id"])
    # promote the good ones to a dataset, by a commit that names the ratings
    ids = [r["id"] for r in srv.api("GET", "/ratings?queue=%d" % qid, token=tok["editor"]).json()["ratings"] if r["score"] >= 8]
    r = srv.api("POST", "/promotions", {"dataset": "news-good", "kind": "good", "ratings": ids}, token=tok["editor"])
    check(r.status == 201 and r.json()["cases"] == len(ids), r)
    ds = srv.api("GET", "/datasets/news-good", token=tok["viewer"]).json()
    check(len(ds["cases"]) == len(ids) and "promoted" in ds["cases"][0]["tags"], ds)
    check(ds["cases"][0]["vars"]["article"] and ds["cases"][0]["expected"], ds["cases"][0])
    msg = r.json()["message"]
    check(all(str(i) in msg for i in ids), msg)
    bad = srv.api("POST", "/promotions", {"dataset": "news-bad", "kind": "bad", "ratings": ids[:1]}, token=tok["editor"])
    check(bad.status == 201, bad)
    bd = srv.api("GET", "/datasets/news-bad", token=tok["viewer"]).json()["cases"][0]
    check(bd["vars"]["rejected_output"] and "bad" in bd["tags"], bd)


def sqlite_of():
    import sqlite3
    return sqlite3.connect(os.path.join(_shared["root"], "data", "assay.db"))


def rating_sample_is_deterministic(env):
    srv, tok = shared()
    run = runs_of(srv, tok["admin"], "sentiment")["majority"]

    def sample(seed, rater):
        qid = srv.api("POST", "/rating/queues", {"runs": [run], "rate": 0.25, "seed": seed}, token=tok["admin"]).json()["id"]
        got = []
        while True:
            n = srv.api("GET", "/rating/next?queue=%d" % qid, token=tok[rater]).json()
            if n["done"]:
                return got, n["progress"]["sample"]
            got.append(n["item"]["case_id"])
            srv.api("POST", "/rating/skip", {"queue": qid, "item_id": n["item"]["item_id"]}, token=tok[rater])
    a, na = sample(11, "rater")
    b, nb = sample(11, "rater2")
    c, _ = sample(12, "rater")
    check(a == b and len(a) == na and 5 <= na <= 30, (a, b, na))
    check(set(a) != set(c), "another seed, another sample")


def rating_pairwise_both_orders(env):
    srv, tok = shared()
    runs = runs_of(srv, tok["admin"], "news-summary")
    ra, rb = runs["lead-1-article"], runs["lead-3-article"]
    error_of(srv.api("POST", "/rating/queues", {"mode": "pairwise", "runs": [ra]}, token=tok["editor"]), 400)
    qid = srv.api("POST", "/rating/queues", {"mode": "pairwise", "runs": [ra, rb], "raters_per_item": 2, "seed": 3},
                  token=tok["editor"]).json()["id"]
    orders = {}
    for rater in ("rater", "rater2"):
        for _ in range(12):
            n = srv.api("GET", "/rating/next?queue=%d" % qid, token=tok[rater]).json()
            it = n["item"]
            check("model" not in json.dumps(it), it)
            orders.setdefault(it["case_id"], []).append(it["left"]["item_id"])
            # prefer the longer output (lead-3) as a rater might
            w = "left" if len(it["left"]["output"]) > len(it["right"]["output"]) else "right"
            r = srv.api("POST", "/votes", {"queue": qid, "case_id": it["case_id"], "left_item": it["left"]["item_id"],
                                           "right_item": it["right"]["item_id"], "winner": w}, token=tok[rater])
            check(r.status == 201 and r.json()["winner"] == "b", r)
    check(any(len(set(v)) == 2 for v in orders.values()), "both orders shown across raters")
    res = srv.api("GET", "/rating/results?queue=%d" % qid, token=tok["viewer"]).json()
    bt = {m["model"]: m for m in res["bradley_terry"]}
    check(bt["lead-3-article"]["score"] > bt["lead-1-article"]["score"] and res["votes"] == 24, res)
    check(bt["lead-3-article"]["ci_low"] <= bt["lead-3-article"]["score"] <= bt["lead-3-article"]["ci_high"])
    error_of(srv.api("POST", "/votes", {"queue": qid, "case_id": "news-001", "left_item": 1, "right_item": 1,
                                        "winner": "left"}, token=tok["rater"]), 400)


def run_queue_from_run_id(env):
    srv, tok = shared()
    run = runs_of(srv, tok["admin"], "short-answer")["majority"]
    n = srv.api("GET", "/rating/next?run=%d" % run, token=tok["rater"]).json()
    check(n["queue"]["runs"] == [run] and n["queue"]["rate"] == 1 and not n["done"], n)
    again = srv.api("GET", "/rating/next?run=%d" % run, token=tok["rater2"]).json()
    check(again["queue"]["id"] == n["queue"]["id"], "the same queue")


def users_and_tokens(env):
    srv, tok = shared()
    a = tok["admin"]
    r = srv.api("POST", "/users", {"name": "new-viewer", "role": "viewer"}, token=a)
    check(r.status == 201 and r.json()["token"].startswith("as_"), r)
    t = r.json()["token"]
    check(srv.api("GET", "/prompts", token=t).status == 200)
    error_of(srv.api("POST", "/users", {"name": "new-viewer", "role": "viewer"}, token=a), 409)
    error_of(srv.api("POST", "/users", {"name": "x y", "role": "viewer"}, token=a), 400)
    error_of(srv.api("POST", "/users", {"name": "z", "role": "god"}, token=a), 400)
    t2 = srv.api("POST", "/users/new-viewer/tokens", token=a).json()["token"]
    check(t2 != t and srv.api("GET", "/prompts", token=t2).status == 200)
    users = srv.api("GET", "/users", token=a).json()["users"]
    nv = [u for u in users if u["name"] == "new-viewer"][0]
    check(nv["tokens"] == 2 and "token" not in json.dumps(users).replace('"tokens"', ""), users)
    check(srv.api("DELETE", "/users/new-viewer", token=a).status == 200)
    error_of(srv.api("GET", "/prompts", token=t), 401)
    error_of(srv.api("DELETE", "/users/admin", token=a), 400)


def user_command_line(env):
    r = env.ok("user", "add", "alice", "--role", "rater")
    token = r.out.strip()
    check(token.startswith("as_") and len(token) == 3 + 64, r)
    lst = env.ok("user", "list", "--json").json()
    check([(u["name"], u["role"], u["tokens"]) for u in lst] == [("alice", "rater", 1)], lst)
    env.fails("user", "add", "alice", "--role", "rater", contains="already exists")
    env.fails("user", "add", "bob", "--role", "boss", contains="role")
    env.fails("user", "add", "bob", code=2)
    t2 = env.ok("user", "token", "alice").out.strip()
    check(t2 != token and t2.startswith("as_"))
    env.ok("user", "rm", "alice")
    env.fails("user", "rm", "alice", contains="no user")
    check(env.ok("user", "list", "--json").json() == [])


def shared_server_stops_cleanly(env):
    """Last: the server that served every test above stops on SIGTERM with
    status 0 (under the sanitizers: no leak, no error reported)."""
    srv, _ = shared()
    code = srv.stop()
    check(code == 0 and "ERROR" not in srv.stderr and "runtime error" not in srv.stderr,
          (code, srv.stderr[-3000:]))


main([health_needs_no_login, first_start_prints_admin_token_once, sigterm_and_sigint_stop_gracefully,
      missing_and_wrong_credentials, session_cookie_and_csrf, bad_json_and_media_type,
      oversized_bodies_are_413, unknown_routes_and_methods, every_route_enforces_roles,
      hostile_inputs_get_4xx_never_5xx,
      catalog_read_and_edit, models_api, runs_start_in_background_and_read,
      run_cancel_and_stop_leave_runs_resumable, leaderboard_policies,
      rating_single_blind_keyboard_flow, rating_sample_is_deterministic,
      rating_pairwise_both_orders, run_queue_from_run_id, users_and_tokens, user_command_line,
      shared_server_stops_cleanly])
