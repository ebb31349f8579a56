"""The bedrock provider end to end: `assay model add --provider bedrock`
then `assay eval` against the fake Bedrock Runtime (real HTTP, real
event-stream frames, SigV4 recomputed by the server with the model id's
':' double-encoded), with throttling and stream exceptions."""
import json

from assaytest import check, main
from cloudtest import CASES, attempts, aws_env, catalog, expected, items
from fake_aws import FakeAWS

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


def add_model(env, name, *settings):
    env.ok("model", "add", name, "--provider", "bedrock", "--model-id", MODEL_ID,
           "--price-in", "0.25", "--price-out", "1.25", "--timeout-s", "20", *settings)


def check_items(env, model, fake):
    rows = items(env, model)
    check(len(rows) == len(CASES), rows)
    for cid, q in CASES:
        r = rows[cid]
        check(r["status"] == "ok" and r["output"] == expected(q), (cid, r))
        check(r["usage_estimated"] == 0 and r["prompt_tokens"] == len(q.split()) and
              r["completion_tokens"] == len(expected(q).split()), "Bedrock usage: %r" % r)
        want = (r["prompt_tokens"] * 0.25 + r["completion_tokens"] * 1.25) / 1e6
        check(abs(r["cost_usd"] - want) < 1e-12, "token cost: %r vs %r" % (r["cost_usd"], want))
    check(not fake.sig_failures, fake.sig_failures)
    return rows


def con_last_run(env, model):
    con = env.db()
    run = con.execute("SELECT max(id) FROM runs WHERE model = ?", (model,)).fetchone()[0]
    con.close()
    return run


def test_converse_with_colon_model_id(env):
    fake = FakeAWS()
    try:
        catalog(env, ["br"])
        add_model(env, "br", "--region", "eu-west-1")
        env.ok("eval", "qa-suite", env=aws_env(AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url,
                                               AWS_SESSION_TOKEN="FwoGZXIvYXdzEXAMPLETOKEN"))
        rows = check_items(env, "br", fake)
        # Bedrock's own metrics.latencyMs is kept next to the measured latency
        check(all(r["server_latency_ms"] == 50 and r["latency_ms"] >= 50 for r in rows.values()),
              rows)
        check(all(r["cold_start_ms"] is None for r in rows.values()), rows)
        run = con_last_run(env, "br")
        s = json.loads(env.ok("runs", "show", str(run), "--json").out)
        check(s["server_latency_ms"]["n"] == 3 and s["server_latency_ms"]["p50"] == 50 and
              s["server_latency_ms"]["p99"] == 50, s["server_latency_ms"])
        check(s["latency_ms"]["p50"] >= 50, s["latency_ms"])
        text = env.ok("runs", "show", str(run)).out
        check("server ms    p50 50.0  p95 50.0  p99 50.0" in text and "cold starts" not in text,
              text)
        check(s["cold_start_ms"] == {"count": 0, "checked": 0, "p50": None, "max": None},
              s["cold_start_ms"])
        for h in fake.headers:      # temporary credentials: the token is sent and signed
            check(h.get("X-Amz-Security-Token") == "FwoGZXIvYXdzEXAMPLETOKEN" and
                  "x-amz-security-token" in h["Authorization"] and
                  "/eu-west-1/bedrock/aws4_request" in h["Authorization"], h)
        paths = {p for _, p, _ in fake.requests}
        check(paths == {"/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"}, paths)
    finally:
        fake.close()


def test_converse_stream_and_faults(env):
    fake = FakeAWS(proc_delay=0.15)
    try:
        catalog(env, ["br-stream"])
        add_model(env, "br-stream", "--stream", "--endpoint-url", fake.url, "--max-retries", "3",
                  "--concurrency", "1")
        fake.faults.update({"throttle": 1, "stream_error": "throttlingException"})
        env.ok("eval", "qa-suite", env=aws_env(AWS_REGION="ap-southeast-2"))
        rows = check_items(env, "br-stream", fake)
        for r in rows.values():
            check(r["ttft_ms"] is not None and 100 <= r["ttft_ms"] < r["latency_ms"], r)
            check(r["server_latency_ms"] == 5, "the metadata event's latencyMs: %r" % r)
        errs = [a for a in attempts(env, "c1")]
        check(errs[0][0] == 429 and "ThrottlingException" in errs[0][1], errs)
        check("throttlingException: Too many tokens" in errs[1][1], errs)
        check(rows["c1"]["attempts"] == 3, rows["c1"])
        check(all(p.endswith("/converse-stream") for _, p, _ in fake.requests))
    finally:
        fake.close()


def test_validation_error_not_retried(env):
    fake = FakeAWS()
    try:
        catalog(env, ["br"], cases=CASES[:1])
        add_model(env, "br", "--endpoint-url", fake.url, "--stream")
        fake.faults["stream_error"] = "validationException"
        r = env.run("eval", "qa-suite", env=aws_env())
        check(r.code == 1, r)
        item = items(env, "br")["c1"]
        check(item["status"] == "failed" and item["attempts"] == 1 and
              "validationException" in item["error"], item)
    finally:
        fake.close()


if __name__ == "__main__":
    main([test_converse_with_colon_model_id, test_converse_stream_and_faults,
          test_validation_error_not_retried])
