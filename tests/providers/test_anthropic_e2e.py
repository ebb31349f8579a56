"""The anthropic provider end to end, as a candidate and as the LLM judge:
`assay model add --provider anthropic` then `assay eval` against the fake
Messages API (real HTTP, SSE streams), with 529 overloaded, 429 with
retry-after, an error event mid-stream and a stream cut short."""
import time

from assaytest import check, main
from cloudtest import CASES, attempts, aws_env, catalog, expected, items
from fake_anthropic import FakeAnthropic


def add_model(env, fake, name, *settings):
    env.ok("model", "add", name, "--provider", "anthropic", "--model-id", "claude-3-5-haiku-latest",
           "--base-url", fake.url, "--price-in", "0.8", "--price-out", "4", "--timeout-s", "20",
           *settings)


def test_messages_plain_and_stream(env):
    fake = FakeAnthropic()
    try:
        catalog(env, ["cl", "cl-stream"], prefix="claude:")
        add_model(env, fake, "cl")
        add_model(env, fake, "cl-stream", "--stream")
        env.ok("eval", "qa-suite", env=aws_env())
        for model in ("cl", "cl-stream"):
            rows = items(env, model)
            for cid, q in CASES:
                r = rows[cid]
                check(r["status"] == "ok" and r["output"] == expected(q, "claude:"), (model, r))
                check(r["usage_estimated"] == 0 and r["completion_tokens"] == len(
                    expected(q, "claude:").split()), r)
                if model == "cl-stream":
                    check(r["ttft_ms"] is not None and 0 < r["ttft_ms"] < r["latency_ms"], r)
        bodies = [b for _, _, b in fake.requests]
        check(all(b"max_tokens" in b for b in bodies))
    finally:
        fake.close()


def test_overloaded_and_rate_limited(env):
    fake = FakeAnthropic()
    try:
        catalog(env, ["cl"], prefix="claude:", cases=CASES[:1])
        add_model(env, fake, "cl", "--stream", "--max-retries", "4")
        fake.faults.update({"overloaded": 1, "rate_limited": 1, "stream_error": True,
                            "stream_cut": True})
        t0 = time.monotonic()
        env.ok("eval", "qa-suite", env=aws_env())
        took = time.monotonic() - t0
        r = items(env, "cl")["c1"]
        check(r["status"] == "ok" and r["attempts"] == 5, r)
        got = attempts(env, "c1")
        check([a[0] for a in got] == [529, 429, 200, 200, 200], got)
        check("overloaded_error" in got[0][1] and "rate_limit_error" in got[1][1], got)
        check("overloaded_error: Overloaded" in got[2][1], got)
        check("without message_stop" in got[3][1], got)
        check(took >= 1.0, "retry-after: 1 was honoured (%.2f s)" % took)
    finally:
        fake.close()


def test_bad_request_not_retried_and_key_required(env):
    fake = FakeAnthropic()
    try:
        catalog(env, ["cl"], prefix="claude:", cases=CASES[:1])
        add_model(env, fake, "cl")
        r = env.run("eval", "qa-suite", env=aws_env(ANTHROPIC_API_KEY="sk-wrong"))
        check(r.code == 1, r)
        item = items(env, "cl")["c1"]
        check(item["attempts"] == 1 and "HTTP 401 authentication_error" in item["error"], item)
        check("sk-wrong" not in item["error"] + r.out + r.err, "the key leaked")
        r = env.run("eval", "qa-suite", env=aws_env(ANTHROPIC_API_KEY=""))
        check(r.code != 0 and "ANTHROPIC_API_KEY" in r.err, r)
    finally:
        fake.close()


def test_as_judge(env):
    fake = FakeAnthropic()
    try:
        catalog(env, ["cand"], prefix="claude:", judge={"model": "judge", "mode": "single"})
        add_model(env, fake, "cand")
        add_model(env, fake, "judge", "--stream")
        env.ok("eval", "qa-suite", env=aws_env())
        con = env.db()
        rows = con.execute("SELECT case_id, judge_model, score, error FROM judgments "
                           "ORDER BY case_id").fetchall()
        con.close()
        check(len(rows) == len(CASES) and all(r[1] == "judge" and r[2] == 8 and r[3] is None
                                              for r in rows), rows)
        judged = [b for _, _, b in fake.requests if b"impartial judge" in b]
        check(len(judged) == len(CASES) and all(b'"system"' in b or b"messages" in b
                                                for b in judged), judged)
    finally:
        fake.close()


if __name__ == "__main__":
    main([test_messages_plain_and_stream, test_overloaded_and_rate_limited,
          test_bad_request_not_retried_and_key_required, test_as_judge])
