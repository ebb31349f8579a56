"""The sagemaker provider end to end: `assay model add --provider sagemaker`
then `assay eval`, against the fake SageMaker/S3 server on 127.0.0.1 (real
HTTP, real event-stream frames, SigV4 checked independently), with faults:
throttling, model errors, broken streams, async failures and timeouts."""
import json

from assaytest import check, main
from cloudtest import CASES, attempts, aws_env, catalog, expected, items
from fake_aws import SECRET_KEY, FakeAWS


def add_model(env, fake, name, *settings):
    env.ok("model", "add", name, "--provider", "sagemaker", "--region", "us-east-1",
           "--endpoint-url", fake.url, "--price-hour", "1.515", "--timeout-s", "20", *settings)


def assert_all_ok(env, model, fake):
    rows = items(env, model)
    check(len(rows) == len(CASES), "items: %r" % rows)
    for cid, q in CASES:
        r = rows[cid]
        check(r["status"] == "ok" and r["output"] == expected(q), "item %s: %r" % (cid, r))
        check(r["completion_tokens"] == 4 or r["completion_tokens"] == len(expected(q).split()),
              "generated tokens from details: %r" % r)
        check(r["usage_estimated"] == 1, "prompt tokens are estimated locally")
    check(not fake.sig_failures, "signature failures: %r" % fake.sig_failures)
    return rows


def test_realtime_tgi_and_lmi(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm-tgi", "sm-lmi", "sm-oa"])
        add_model(env, fake, "sm-tgi", "--endpoint", "tgi-ep")
        add_model(env, fake, "sm-lmi", "--endpoint", "lmi-ep", "--format", "lmi")
        add_model(env, fake, "sm-oa", "--endpoint", "oa-ep", "--format", "openai")
        env.ok("eval", "qa-suite", env=aws_env())
        assert_all_ok(env, "sm-tgi", fake)
        assert_all_ok(env, "sm-lmi", fake)
        for cid, q in CASES:        # the messages API reports usage itself
            r = items(env, "sm-oa")[cid]
            check(r["output"] == expected(q) and r["usage_estimated"] == 0 and
                  r["prompt_tokens"] == 9, r)
        paths = {p for _, p, s in fake.requests if s == "sagemaker"}
        check(paths == {"/endpoints/tgi-ep/invocations", "/endpoints/lmi-ep/invocations",
                        "/endpoints/oa-ep/invocations"}, paths)
    finally:
        fake.close()


def test_stream_ttft(env):
    fake = FakeAWS(proc_delay=0.2)
    try:
        catalog(env, ["sm-stream"])
        add_model(env, fake, "sm-stream", "--endpoint", "tgi-ep", "--stream")
        env.ok("eval", "qa-suite", env=aws_env())
        for r in assert_all_ok(env, "sm-stream", fake).values():
            check(r["ttft_ms"] is not None and 150 <= r["ttft_ms"] < r["latency_ms"],
                  "time to first token: %r" % r)
        check(all(p.endswith("/invocations-response-stream")
                  for _, p, s in fake.requests if s == "sagemaker"))
    finally:
        fake.close()


def test_throttling_and_model_errors_retried(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm"], cases=CASES[:1])
        add_model(env, fake, "sm", "--endpoint", "tgi-ep", "--max-retries", "3")
        fake.faults.update({"throttle": 1, "model_error": 1, "server_error": 1})
        env.ok("eval", "qa-suite", env=aws_env())
        r = items(env, "sm")["c1"]
        check(r["status"] == "ok" and r["attempts"] == 4, r)
        statuses = [a[0] for a in attempts(env, "c1")]
        check(statuses == [429, 424, 503, 200], statuses)
        check("original status 500" in attempts(env, "c1")[1][1], attempts(env, "c1"))
    finally:
        fake.close()


def test_model_error_exhausts_retries(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm"], cases=CASES[:1])
        add_model(env, fake, "sm", "--endpoint", "tgi-ep", "--max-retries", "1")
        fake.faults["model_error"] = 5
        r = env.run("eval", "qa-suite", env=aws_env())
        check(r.code == 1, r)
        item = items(env, "sm")["c1"]
        check(item["status"] == "failed" and "ModelError (original status 500)" in item["error"],
              item)
        check(item["attempts"] == 2, item)
    finally:
        fake.close()


def test_broken_streams_retried(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm"], cases=CASES[:1])
        add_model(env, fake, "sm", "--endpoint", "tgi-ep", "--stream", "--max-retries", "4")
        fake.faults.update({"stream_error": "ModelStreamError"})
        env.ok("eval", "qa-suite", "--no-cache", env=aws_env())
        check(items(env, "sm")["c1"]["status"] == "ok")
        errs = [a[1] or "" for a in attempts(env, "c1")]
        check("ModelStreamError StreamBroken" in errs[0], errs)
        for fault in ({"stream_error": "InternalStreamFailure"}, {"stream_cut": True},
                      {"stream_crc": True}):
            fake.faults.update(fault)
            env.ok("eval", "qa-suite", "--no-cache", env=aws_env())
            r = items(env, "sm")["c1"]
            check(r["status"] == "ok" and r["attempts"] == 2 and r["output"] == expected(CASES[0][1]),
                  (fault, r))
    finally:
        fake.close()


def test_async_cold_start(env):
    fake = FakeAWS(cold_delay=1.5, proc_delay=0.05, instances=0)
    try:
        catalog(env, ["sm-async"])
        add_model(env, fake, "sm-async", "--endpoint", "tgi-ep", "--async", "--s3-input",
                  "s3://in-bucket/assay/inputs", "--async-poll", "0.05", "--concurrency", "1",
                  "--instance-count", "2")
        r = env.ok("--verbose", "eval", "qa-suite", env=aws_env(AWS_ENDPOINT_URL=fake.url))
        check("sagemaker tgi-ep: cold start: the endpoint had no instance" in r.err, r.err)
        check(SECRET_KEY not in r.err + r.out, "the secret key was logged")
        rows = assert_all_ok(env, "sm-async", fake)
        first, rest = rows["c1"], [rows["c2"], rows["c3"]]
        check(first["latency_ms"] >= 1500, "the first answer waited for the scale-up: %r" % first)
        check(all(r["latency_ms"] < 1000 for r in rest), "later answers are warm: %r" % rest)
        # the cold start is stored per item: the first call waited, the others met a
        # running endpoint (concurrency 1: invoked after the first answer)
        check(1400 <= first["cold_start_ms"] <= first["latency_ms"], first)
        check(all(r["cold_start_ms"] == 0 for r in rest), rest)
        # ... and reported apart from the steady latency
        s = json.loads(env.ok("runs", "show", str(first["run_id"]), "--json").out)
        cold = s["cold_start_ms"]
        check(cold["count"] == 1 and cold["checked"] == 3 and
              cold["p50"] == cold["max"] == first["cold_start_ms"], cold)
        steady = sorted(r["latency_ms"] for r in rest)
        check(s["latency_ms"]["p99"] <= steady[-1] and s["latency_ms"]["p50"] >= steady[0] and
              s["latency_ms"]["p99"] < 1000, "steady latency leaves the cold call out: %r" % s)
        text = env.ok("runs", "show", str(first["run_id"])).out
        check("cold starts  1 of 3 calls, wait p50 %.1f ms" % first["cold_start_ms"] in text, text)
        item_cold = {i["case_id"]: i["cold_start_ms"] for i in
                     json.loads(env.ok("runs", "show", str(first["run_id"]), "--items",
                                       "--json").out)["items"]}
        check(item_cold == {"c1": first["cold_start_ms"], "c2": 0, "c3": 0}, item_cold)
        # two instances billed by the hour: busy time x price x 2
        want = s["busy_s"] * 1.515 * 2 / 3600
        check(s["price"]["instances"] == 2 and abs(s["cost_usd"] - want) < 1e-12, s["price"])
        # the payloads went to S3 under the prefix, with the TGI parameters
        keys = [k for (b, k) in fake.objects if b == "in-bucket"]
        check(len(keys) == 3 and all(k.startswith("assay/inputs/assay-tgi-ep-") for k in keys), keys)
        services = [s for _, _, s in fake.requests]
        check(services[0] == "sagemaker" and "s3" in services, services)
    finally:
        fake.close()


def test_async_failure_and_timeout(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm-fail", "sm-slow"], cases=CASES[:1])
        add_model(env, fake, "sm-fail", "--endpoint", "tgi-ep", "--async", "--s3-input",
                  "s3://in-bucket/x", "--async-poll", "0.05")
        add_model(env, fake, "sm-slow", "--endpoint", "tgi-ep", "--async", "--s3-input",
                  "s3://in-bucket/x", "--async-poll", "0.05", "--async-timeout", "1")
        fake.faults["async_fail"] = True
        r = env.run("eval", "qa-suite", "--model", "sm-fail", env=aws_env(AWS_ENDPOINT_URL=fake.url))
        check(r.code == 1, r)
        item = items(env, "sm-fail")["c1"]
        check(item["status"] == "failed" and
              "async inference failed: ModelError: CUDA out of memory" in item["error"], item)
        del fake.faults["async_fail"]
        fake.faults["async_never"] = True
        r = env.run("eval", "qa-suite", "--model", "sm-slow", env=aws_env(AWS_ENDPOINT_URL=fake.url))
        check(r.code == 1, r)
        item = items(env, "sm-slow")["c1"]
        check(item["status"] == "failed" and "no async output after" in item["error"], item)
    finally:
        fake.close()


def test_bad_credentials_and_settings(env):
    fake = FakeAWS()
    try:
        catalog(env, ["sm"], cases=CASES[:1])
        env.fails("model", "add", "bad", "--provider", "sagemaker", "--endpoint", "no_such!",
                  contains="endpoint")
        env.fails("model", "add", "bad", "--provider", "sagemaker", "--endpoint", "e", "--async",
                  contains="s3_input")
        add_model(env, fake, "sm", "--endpoint", "tgi-ep")
        r = env.run("eval", "qa-suite", env=aws_env(AWS_SECRET_ACCESS_KEY="wrong-secret"))
        check(r.code == 1, r)
        item = items(env, "sm")["c1"]
        check("403 InvalidSignatureException" in item["error"] and item["attempts"] == 1, item)
        check("wrong-secret" not in r.out + r.err + item["error"], "the secret leaked")
        r = env.run("eval", "qa-suite", env=aws_env(AWS_ACCESS_KEY_ID=""))
        check(r.code != 0 and "AWS_ACCESS_KEY_ID" in r.err, r)
    finally:
        fake.close()


if __name__ == "__main__":
    main([test_realtime_tgi_and_lmi, test_stream_ttft, test_throttling_and_model_errors_retried,
          test_model_error_exhausts_retries, test_broken_streams_retried, test_async_cold_start,
          test_async_failure_and_timeout, test_bad_credentials_and_settings])
