"""Faults between assay and a model server: 429 with Retry-After and
retry-after-ms, quota errors, 500s, validation errors, responses that are
not JSON or not UTF-8, truncated streams and bodies, connection resets, hung
connections, stalled streams and 10 MB outputs. None crashes assay or
loses a finished result; every attempt is recorded."""
import time

from assaytest import check, main
from evalsetup import add_model, make_catalog, server


def attempts(env, case):
    return env.db().execute("SELECT attempt, http_status, error FROM attempts WHERE case_id = ? "
                            "AND kind = 'model' ORDER BY id", (case,)).fetchall()


def show(env, run):
    r = env.run("runs", "show", run, "--items", "--json")
    check(r.code == 0, r)
    s = r.json()
    return s, {i["case_id"]: i for i in s["items"]}


def test_retry_after_honoured(env):
    srv = server({"faults": {"s0": ["429"], "s1": ["429ms", "429ms"]}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--max-retries", "2")
        t0 = time.time()
        env.ok("eval", "summ")
        took = time.time() - t0
        check(took >= 1.0, took)        # Retry-After: 1
        s, it = show(env, 1)
        check(s["status"] == "complete", s)
        check(srv.calls["s0"] == 2 and srv.calls["s1"] == 3 and srv.calls["s2"] == 1, srv.calls)
        check(it["s0"]["attempts"] == 2 and it["s1"]["attempts"] == 3, it["s1"])
        a = attempts(env, "s0")
        check([x[1] for x in a] == [429, 200] and "rate limited" in a[0][2] and a[1][2] is None, a)
    finally:
        srv.stop()


def test_no_retry_on_quota_and_validation(env):
    srv = server({"faults": {"s0": ["quota"], "s1": ["400"]}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--max-retries", "3")
        env.fails("eval", "summ", contains="--resume 1")
        s, it = show(env, 1)
        check(s["status"] == "partial" and s["items_failed"] == 2 and s["items_ok"] == 4, s)
        check(srv.calls["s0"] == 1 and srv.calls["s1"] == 1, srv.calls)
        check("quota" in it["s0"]["error"] and "HTTP 429" in it["s0"]["error"], it["s0"])
        check("max_tokens is too large" in it["s1"]["error"], it["s1"])
    finally:
        srv.stop()


def test_error_bodies_that_are_not_utf8(env):
    """A server's error page in another encoding is quoted as one line of
    UTF-8 in the item, the attempt and the run's JSON."""
    srv = server({"faults": {"s0": ["latin1"]}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--max-retries", "0")
        env.fails("eval", "summ", contains="--resume 1")
        s, it = show(env, 1)
        err = it["s0"]["error"]
        check(isinstance(err, str) and err == "HTTP 502: <html>  <h1>Passerelle erron?e</h1> ?</html>",
              it["s0"])
        check("\n" not in err and "\r" not in err and "\x01" not in err, err)
        a = attempts(env, "s0")
        check(len(a) == 1 and a[0][1] == 502 and a[0][2] == err, a)
    finally:
        srv.stop()


def test_server_errors_then_resume(env):
    srv = server({"faults": {"s0": ["500", "500", "500"], "s1": ["500"], "s2": ["badjson"],
                             "s3": ["reset"], "s4": ["truncate"]}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--max-retries", "2")
        r = env.fails("eval", "summ", contains="partial")
        check("run 1" in r.out, r)
        s, it = show(env, 1)
        check(s["status"] == "partial" and s["items_failed"] == 1, s)
        check("internal error" in it["s0"]["error"] and it["s0"]["attempts"] == 3, it["s0"])
        for c in ("s1", "s2", "s3", "s4"):
            check(it[c]["status"] == "ok" and srv.calls[c] == 2, (c, it[c], srv.calls))
        check("not JSON" in attempts(env, "s2")[0][2], attempts(env, "s2"))
        check(attempts(env, "s3")[0][1] in (None, 0), attempts(env, "s3"))
        # the failed case is sent again on resume; finished ones never
        srv.set_script({})
        env.ok("eval", "--resume", "1")
        s, it = show(env, 1)
        check(s["status"] == "complete" and s["items_failed"] == 0, s)
        check(srv.calls["s0"] == 4 and srv.calls["s1"] == 2 and srv.calls["s5"] == 1, srv.calls)
        check(it["s0"]["attempts"] == 4, it["s0"])
    finally:
        srv.stop()


def test_unreachable_server(env):
    srv = server()
    url = srv.base_url
    srv.stop()
    make_catalog(env, sum_n=2)
    env.ok("model", "add", "gone", "--provider", "openai", "--base-url", url, "--max-retries", "1")
    env.fails("eval", "summ", "--model", "gone", contains="partial")
    s, it = show(env, 1)
    check(s["items_failed"] == 2 and it["s0"]["attempts"] == 2, it["s0"])
    check(len(attempts(env, "s0")) == 2 and "onnect" in it["s0"]["error"], it["s0"])


def test_streams_cut_hung_and_stalled(env):
    srv = server({"faults": {"s0": ["truncate"], "s1": ["streamerror"], "s2": ["hang"],
                             "s3": ["slow"]}})
    try:
        make_catalog(env, sum_n=4)
        add_model(env, "m1", srv, "--stream", "--timeout-s", "1.5", "--max-retries", "1")
        t0 = time.time()
        env.ok("eval", "summ")
        check(time.time() - t0 < 20, time.time() - t0)
        s, it = show(env, 1)
        check(s["status"] == "complete", s)
        a0, a1, a2, a3 = (attempts(env, c) for c in ("s0", "s1", "s2", "s3"))
        check("[DONE]" in a0[0][2] or "connection" in a0[0][2].lower() or "recv" in a0[0][2].lower(), a0)
        check("generation failed" in a1[0][2], a1)
        check("timed out" in a2[0][2] or "stalled" in a2[0][2], a2)
        check("stalled" in a3[0][2] or "timed out" in a3[0][2], a3)
        for c in ("s0", "s1", "s2", "s3"):
            check(it[c]["attempts"] == 2 and it[c]["output"] == "answer to %s" % c, it[c])
    finally:
        srv.stop()


def test_huge_output_capped(env):
    srv = server({"faults": {"s0": ["big"]}})
    try:
        make_catalog(env, sum_n=2)
        add_model(env, "m1", srv)
        env.ok("eval", "summ")
        s, it = show(env, 1)
        check(s["status"] == "complete" and s["items_truncated"] == 1, s)
        check(it["s0"]["output_truncated"] == 1 and len(it["s0"]["output"]) == 1 << 20, len(it["s0"]["output"]))
        check(it["s1"]["output_truncated"] == 0, it["s1"])
    finally:
        srv.stop()


def test_rate_limit_rpm(env):
    srv = server()
    try:
        make_catalog(env, sum_n=4)
        add_model(env, "m1", srv, "--rpm", "120", "--concurrency", "4")
        t0 = time.time()
        env.ok("eval", "summ")
        took = time.time() - t0
        # 4 requests at 2 per second: the last starts 1.5 s after the first
        check(took >= 1.4, took)
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_retry_after_honoured, test_no_retry_on_quota_and_validation,
          test_error_bodies_that_are_not_utf8,
          test_server_errors_then_resume, test_unreachable_server,
          test_streams_cut_hung_and_stalled, test_huge_output_capped, test_rate_limit_rpm])
