"""assay model / eval / runs / rank against a fake OpenAI-compatible server:
scores, label normalization, cost arithmetic, streaming, cache, judges,
baselines, replay, bad input."""
import json
import os

from assaytest import check, main
from evalsetup import add_model, make_catalog, server


def test_model_commands(env):
    srv = server()
    try:
        env.ok("model", "add", "m1", "--provider", "openai", "--base-url", srv.base_url,
               "--model-id", "llama", "--stream", "--api-key-env", "MY_KEY", "--price-in", "0.15",
               "--price-out", "0.6", "--concurrency", "8", "--rpm", "600", "--timeout-s", "5",
               "--max-retries", "3")
        m = env.ok("model", "show", "m1", "--json").json()
        check(m["provider"] == "openai" and m["settings"]["model_id"] == "llama", m)
        check(m["settings"]["stream"] == "true" and m["settings"]["api_key_env"] == "MY_KEY", m)
        check(m["price_in"] == 0.15 and m["price_out"] == 0.6 and m["concurrency"] == 8, m)
        check(m["rpm"] == 600 and m["timeout_s"] == 5 and m["max_retries"] == 3, m)
        check(m["price_version"] == 1, m)
        env.fails("model", "add", "m1", "--provider", "openai", "--base-url", srv.base_url,
                  contains="exists")
        env.ok("model", "add", "m1", "--provider", "openai", "--base-url", srv.base_url,
               "--price-in", "0.2", "--replace")
        m = env.ok("model", "show", "m1", "--json").json()
        check(m["price_version"] == 2 and m["price_in"] == 0.2, m)
        check(m["instance_count"] == 1, m)
        # several instances billed by the hour: a price change like any other
        env.ok("model", "add", "m1", "--provider", "openai", "--base-url", srv.base_url,
               "--price-in", "0.2", "--price-hour", "7.09", "--instance-count", "3", "--replace")
        m = env.ok("model", "show", "m1", "--json").json()
        check(m["price_version"] == 3 and m["instance_count"] == 3 and m["price_hour"] == 7.09, m)
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", srv.base_url,
                  "--instance-count", "0", contains="instance count")
        # --help lists every registered provider with its summary
        h = env.ok("model", "add", "--help").out
        for name, words in (("openai", "OpenAI-compatible"), ("baseline", "--strategy"),
                            ("replay", "--file"), ("sagemaker", "--endpoint NAME"),
                            ("bedrock", "Converse/ConverseStream"), ("anthropic", "Messages API"),
                            ("local", "--path DIR")):
            check("\n  %s\n" % name in h and words in h, (name, h))
        env.ok("model", "add", "b1", "--provider", "baseline", "--strategy", "majority")
        names = [x["name"] for x in env.ok("model", "list", "--json").json()]
        check(names == ["b1", "m1"], names)
        check("b1" in env.ok("model", "list").out)
        env.fails("model", "add", "x", "--provider", "nosuch", contains="unknown provider")
        env.fails("model", "add", "x", "--provider", "openai", contains="base_url")
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", "ftp://h",
                  contains="base_url")
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", srv.base_url,
                  "--price-in", "cheap", contains="--price-in")
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", srv.base_url,
                  "--colour", "blue", code=2)
        env.fails("model", "add", "x y", "--provider", "baseline", "--strategy", "copy",
                  "--var", "a", contains="model name")
        env.fails("model", "add", "x", "--provider", "baseline", "--strategy", "lead-0",
                  "--var", "a", contains="strategy")
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", srv.base_url,
                  "--concurrency", "0", contains="concurrency")
        # a value that is not UTF-8 is refused, not dropped (os.fsencode: byte 0xff)
        env.fails("model", "add", "x", "--provider", "openai", "--base-url", srv.base_url,
                  "--model-id", "gpt\udcff", contains="--model-id: the value is not UTF-8")
        env.fails("model", "show", "x", contains="unknown model")
        env.ok("model", "rm", "b1")
        env.fails("model", "show", "b1", contains="unknown model")
        env.fails("model", "rm", "b1", contains="unknown model")
    finally:
        srv.stop()


def test_api_key_that_cannot_be_a_header(env):
    """A key read with its line break (KEY=$(cat file) done wrong) is refused
    before any call, naming the variable and never echoing the key."""
    srv = server()
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--api-key-env", "ASSAY_TEST_KEY")
        r = env.fails("eval", "sent", env={"ASSAY_TEST_KEY": "sk-secret-123\n"},
                      contains="ASSAY_TEST_KEY: only printable ASCII")
        check("sk-secret" not in r.err and srv.total == 0, (r.err, srv.total))
    finally:
        srv.stop()


def item_map(env, run):
    r = env.ok("runs", "show", run, "--items", "--json").json()
    return r, {i["case_id"]: i for i in r["items"]}


def test_eval_classification_scores_and_cost(env):
    outputs = {}
    for i in range(20):
        truth = "positive" if i % 2 == 0 else "negative"
        wrong = "negative" if truth == "positive" else "positive"
        outputs["c%d" % i] = ("**%s.**" % truth.capitalize()) if i < 14 else wrong
    outputs["c19"] = "I cannot tell, maybe neutral"
    srv = server({"outputs": outputs})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--price-in", "1.5", "--price-out", "6", "--api-key-env",
                  "ASSAY_TEST_KEY")
        r = env.ok("eval", "sent", env={"ASSAY_TEST_KEY": "sk-secret-123"})
        check("run 1" in r.out and "complete" in r.out, r)
        s, items = item_map(env, 1)
        for k in ("id", "suite", "model", "status", "items_total", "items_done", "items_failed",
                  "metrics", "cost_usd", "latency_ms", "ttft_ms", "tokens", "output_tokens_per_s"):
            check(k in s, k)
        check(s["status"] == "complete" and s["items_total"] == 20 and s["items_done"] == 20, s)
        check(s["items_failed"] == 0, s)
        # 14 right, c14..c18 wrong, c19 outside the label set (wrong, flagged)
        check(abs(s["metrics"]["accuracy"]["mean"] - 14 / 20) < 1e-12, s["metrics"])
        m = s["metrics"]["accuracy"]
        check(m["ci_low"] <= m["mean"] <= m["ci_high"] and m["ci_high"] - m["ci_low"] > 0.1, m)
        check(s["out_of_labels"] == 1 and items["c19"]["out_of_labels"] == 1, items["c19"])
        check(items["c19"]["label"] is None and items["c0"]["label"] == "positive", items["c0"])
        check(items["c3"]["scores"]["exact_match"] == 1.0, items["c3"])
        for k in ("p50", "p95", "p99"):
            check(s["latency_ms"][k] is not None, s["latency_ms"])
        check(s["classification"]["labels"]["positive"]["support"] == 10, s["classification"])
        # cost: the server's usage x the prices, per 1M tokens
        expect = 0.0
        for i in range(20):
            text = "Answer positive or negative.\ncase c%d: review %d" % (i, i)
            expect += (len(text.split()) * 1.5 + len(outputs["c%d" % i].split()) * 6) / 1e6
        check(abs(s["cost_usd"] - expect) < 1e-12, (s["cost_usd"], expect))
        check(abs(s["cost_per_1k"] - expect / 20 * 1000) < 1e-12, s["cost_per_1k"])
        check(s["tokens"]["estimated_items"] == 0, s["tokens"])
        # the key went to the server, never into the database
        check(all(a == "Bearer sk-secret-123" for a in srv.auth), srv.auth[:3])
        for name in os.listdir(env.data):
            if name.startswith("assay.db"):
                with open(os.path.join(env.data, name), "rb") as f:
                    check(b"sk-secret-123" not in f.read(), name)
        # the runs name the exact versions that produced them
        db = env.db()
        row = db.execute("SELECT prompt_commit, dataset_commit, model_settings, price_version, "
                         "assay_version FROM runs WHERE id = 1").fetchone()
        check(len(row[0]) == 40 and len(row[1]) == 40 and "ASSAY_TEST_KEY" in row[2], row)
        check(db.execute("SELECT count(*) FROM attempts WHERE run_id = 1").fetchone()[0] == 20)
        lst = env.ok("runs", "list", "--json").json()
        check(len(lst) == 1 and lst[0]["id"] == 1, lst)
        check("sent" in env.ok("runs", "list").out)
        check("accuracy" in env.ok("runs", "show", "1").out)
        # a missing key variable stops the run before any request
        before = srv.total
        env.fails("eval", "sent", contains="ASSAY_TEST_KEY")
        check(srv.total == before, srv.total)
    finally:
        srv.stop()


def test_streaming_ttft_usage_and_completions(env):
    srv = server({"outputs": {"s%d" % i: "the cat sat on the mat" for i in range(6)}})
    try:
        make_catalog(env)
        add_model(env, "st", srv, "--stream", "--price-out", "1")
        env.ok("eval", "summ", "--model", "st")
        s, items = item_map(env, 1)
        check(s["status"] == "complete", s)
        check(s["ttft_ms"]["p50"] is not None and s["ttft_ms"]["p95"] is not None, s["ttft_ms"])
        check(all(i["ttft_ms"] is not None and i["ttft_ms"] <= i["latency_ms"] for i in items.values()))
        check(items["s0"]["output"] == "the cat sat on the mat", items["s0"])
        check(items["s0"]["usage_estimated"] == 0 and items["s0"]["completion_tokens"] == 6, items["s0"])
        check(abs(s["metrics"]["rougeL"]["mean"] - 1.0) < 1e-12, s["metrics"])
        check(all(b.get("stream") and b["stream_options"]["include_usage"] for b in srv.bodies))
        # no usage from the server: counted locally and flagged
        srv.set_script({"usage": False})
        add_model(env, "nu", srv, "--stream", "--api", "completions")
        env.ok("eval", "summ", "--model", "nu")
        s, items = item_map(env, 2)
        check(s["tokens"]["estimated_items"] == 6 and items["s1"]["usage_estimated"] == 1, s["tokens"])
        check(items["s1"]["completion_tokens"] > 0, items["s1"])
        body = srv.bodies[-1]
        check("prompt" in body and "messages" not in body, body)
        check(body["prompt"].startswith("case s"), body)
    finally:
        srv.stop()


def test_response_cache(env):
    srv = server({"outputs": {"c%d" % i: "positive" for i in range(20)}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv, "--price-in", "1", "--price-out", "1")
        env.ok("eval", "sent", "--limit", "8")
        check(srv.total == 8, srv.total)
        env.ok("eval", "sent", "--limit", "10")
        check(srv.total == 10, srv.total)      # 8 from the cache
        s = env.ok("runs", "show", "2", "--json").json()
        check(s["items_cached"] == 8 and s["items_total"] == 10, s)
        first = env.ok("runs", "show", "1", "--json").json()["cost_usd"]
        check(abs(s["cost_usd"] - first / 8 * 2) < 1e-12, (s["cost_usd"], first))
        env.ok("eval", "sent", "--limit", "8", "--no-cache")
        check(srv.total == 18, srv.total)
        # another version of the prompt: a different request, not cached
        env.write_json("p_sent2.json", {
            "name": "sent", "task": "classification",
            "messages": [{"role": "user", "content": "case {{id}}: {{text}} Positive or negative?"}],
            "labels": ["positive", "negative"]})
        env.ok("prompt", "add", "sent", "--file", env.path("p_sent2.json"))
        env.ok("eval", "sent", "--limit", "2", "--prompt", "sent@v2")
        check(srv.total == 20, srv.total)
        row = env.db().execute("SELECT prompt_version FROM runs ORDER BY id DESC").fetchone()
        check(row[0] == 2, row)
        check(srv.bodies[-1]["messages"][0]["content"].endswith("Positive or negative?"), srv.bodies[-1])
        env.fails("eval", "sent", "--prompt", "sent@v9", contains="v9")
        # the repeat number is part of the key
        env.ok("eval", "sent", "--limit", "2", "--repeat", "3")
        check(srv.total == 24, srv.total)
        s = env.ok("runs", "show", "5", "--json").json()
        check(s["items_total"] == 6 and s["items_cached"] == 2, s)
        # a run answered wholly from the cache: speed and cost per 1,000
        # cases from the cached answers (written by run 1; --no-cache runs
        # neither read nor write the cache)
        env.ok("eval", "sent", "--limit", "8", "--prompt", "sent@v1")
        check(srv.total == 24, srv.total)
        s6 = env.ok("runs", "show", "6", "--json").json()
        s1 = env.ok("runs", "show", "1", "--json").json()
        s3 = env.ok("runs", "show", "3", "--json").json()
        check(s6["cost_usd"] == 0 and s6["speed_basis"] == "cache" and s3["speed_basis"] == "calls", s6)
        check(abs(s6["cost_per_1k"] - s1["cost_per_1k"]) < 1e-12, (s6["cost_per_1k"], s1["cost_per_1k"]))
        check(s6["latency_ms"]["p50"] == s1["latency_ms"]["p50"], (s6["latency_ms"], s1["latency_ms"]))
    finally:
        srv.stop()


def test_judge_single_and_errors(env):
    srv = server({"outputs": {"s%d" % i: "the cat sat" for i in range(6)},
                  "judge": {"default": "Helpful and accurate. Rating: [[8]]",
                            "answers": {"s1": "I would give it an eight", "s2": "{\"score\": 5}"}}})
    try:
        make_catalog(env)
        env.write_json("s_j.json", {"name": "judged", "prompt": "summ", "dataset": "summ",
                                    "metrics": ["rougeL", "judge"], "primary_metric": "judge",
                                    "models": ["m1"],
                                    "judge": {"model": "jm", "mode": "single", "with_reference": True}})
        env.ok("suite", "add", "judged", "--file", env.path("s_j.json"))
        add_model(env, "m1", srv)
        add_model(env, "jm", srv, "--price-in", "10", "--price-out", "10")
        out = env.ok("eval", "judged").out
        check("; 1 judge errors;" in out, out)
        s, items = item_map(env, 1)
        j = s["judge"]
        check(j["mode"] == "single" and j["errors"] == 1, j)
        check(s["metrics"]["judge"]["n"] == 5, s["metrics"])
        check(abs(s["metrics"]["judge"]["mean"] - (8 * 4 + 5) / 5) < 1e-12, s["metrics"])
        check(items["s1"]["judge_score"] is None and "judge answer" in items["s1"]["judge_error"], items["s1"])
        check(items["s0"]["judge_score"] == 8 and "Helpful" in items["s0"]["judge_rationale"], items["s0"])
        check(s["judge_cost_usd"] > 0, s)
        judge_bodies = [b for b in srv.bodies if "Assistant's Answer" in json.dumps(b)]
        check(len(judge_bodies) == 6 and "Reference Answer" in json.dumps(judge_bodies[0]))
        check("helpfulness, relevance, accuracy" in json.dumps(judge_bodies[0]))
        db = env.db()
        check(db.execute("SELECT count(*) FROM attempts WHERE kind = 'judge'").fetchone()[0] == 6)
        # resuming judges only what has no score yet: the unparseable one
        srv.set_script({"judge": {"default": "Rating: [[9]]"}})
        env.ok("eval", "--resume", "1")
        s = env.ok("runs", "show", "1", "--json").json()
        check(s["judge"]["errors"] == 0 and s["metrics"]["judge"]["n"] == 6, s["judge"])
        check(len([b for b in srv.bodies if "Assistant's Answer" in json.dumps(b)]) == 7)
    finally:
        srv.stop()


def test_judge_pairwise_both_orders(env):
    srv = server({"judge": {"default": "[[A]]", "answers": {"s0": "[[C]]", "s1": "no verdict"}}})
    try:
        make_catalog(env)
        env.write_json("s_p.json", {"name": "pair", "prompt": "summ", "dataset": "summ",
                                    "metrics": ["rougeL"], "models": ["m1", "m2"],
                                    "judge": {"model": "jm", "mode": "pairwise"}})
        env.ok("suite", "add", "pair", "--file", env.path("s_p.json"))
        add_model(env, "m1", srv)
        add_model(env, "m2", srv)
        add_model(env, "jm", srv)
        env.ok("eval", "pair")
        db = env.db()
        rows = db.execute("SELECT case_id, verdict_ab, verdict_ba, winner, disagree, error "
                          "FROM pairwise ORDER BY case_id").fetchall()
        check(len(rows) == 6, rows)
        byc = {r[0]: r for r in rows}
        # always "A": each order prefers the answer shown first -> disagreement, tie
        check(byc["s2"][1:5] == ("a", "b", "tie", 1), byc["s2"])
        check(byc["s0"][1:5] == ("tie", "tie", "tie", 0), byc["s0"])
        check(byc["s1"][3] is None and "judge answer" in byc["s1"][5], byc["s1"])
        s = env.ok("runs", "show", "1", "--json").json()
        check(s["judge"]["ties"] == 5 and s["judge"]["errors"] == 1, s["judge"])
        check(abs(s["judge"]["disagreement_rate"] - 4 / 5) < 1e-12, s["judge"])
        check(srv.calls.get("judge:s3") == 2, srv.calls)
    finally:
        srv.stop()


def test_baselines_and_replay(env):
    make_catalog(env)
    env.ok("model", "add", "maj", "--provider", "baseline", "--strategy", "majority")
    env.ok("model", "add", "lead", "--provider", "baseline", "--strategy", "lead-1", "--var", "article")
    env.ok("model", "add", "copy", "--provider", "baseline", "--strategy", "copy", "--var", "article")
    env.ok("eval", "sent", "--model", "maj")
    s = env.ok("runs", "show", "1", "--json").json()
    check(s["metrics"]["accuracy"]["mean"] == 0.5 and s["cost_usd"] == 0, s["metrics"])
    env.ok("eval", "summ", "--model", "lead", "--model", "copy")
    s, items = item_map(env, 2)
    check(items["s0"]["output"] == "The cat sat on the mat.", items["s0"])
    check(abs(s["metrics"]["rougeL"]["mean"] - 1.0) < 1e-12, s["metrics"])
    s, items = item_map(env, 3)
    check(items["s0"]["output"].endswith("Then it left."), items["s0"])
    recs = [{"id": "s%d" % i, "output": "the cat", "latency_ms": 100 + i * 10,
             "prompt_tokens": 10, "completion_tokens": 2} for i in range(5)]
    env.write("replay.jsonl", "\n".join(json.dumps(r) for r in recs) + "\n")
    env.ok("model", "add", "rp", "--provider", "replay", "--file", env.path("replay.jsonl"),
           "--price-in", "1", "--price-out", "1")
    r = env.fails("eval", "summ", "--model", "rp", contains="partial")
    s, items = item_map(env, 4)
    check(s["status"] == "partial" and s["items_failed"] == 1, s)
    check("no output for case 's5'" in items["s5"]["error"], items["s5"])
    check(s["latency_ms"]["p50"] == 120, s["latency_ms"])
    check(abs(s["cost_usd"] - 5 * 12 / 1e6) < 1e-15, s["cost_usd"])
    # a relative --file is stored absolute: runs started elsewhere find it
    env.ok("model", "add", "rel", "--provider", "replay", "--file", "replay.jsonl", cwd=env.root)
    m = env.ok("model", "show", "rel", "--json").json()
    check(m["settings"]["file"] == os.path.realpath(env.path("replay.jsonl")), m)
    os.makedirs(env.path("elsewhere"))
    env.fails("eval", "summ", "--model", "rel", contains="partial", cwd=env.path("elsewhere"))
    env.write("bad.jsonl", '{"id": "s0"}\n')
    env.ok("model", "add", "bad", "--provider", "replay", "--file", env.path("bad.jsonl"))
    env.fails("eval", "summ", "--model", "bad", contains="line 1")
    # counts are whole numbers, latencies not negative (1e300 tokens used to
    # be cast to an integer it does not fit)
    for bad, why in (('"prompt_tokens": 1e300', "prompt_tokens"), ('"completion_tokens": -1', "completion_tokens"),
                     ('"completion_tokens": 2.5', "completion_tokens"), ('"latency_ms": -3', "latency_ms")):
        env.write("bad.jsonl", '{"id": "s0", "output": "x", %s}\n' % bad)
        env.fails("eval", "summ", "--model", "bad", contains=why)


def test_bad_input(env):
    srv = server()
    try:
        make_catalog(env)
        add_model(env, "m1", srv)
        env.fails("eval", "nosuch", contains="nosuch")
        env.fails("eval", "sent", "--model", "ghost", contains="unknown model 'ghost'")
        env.fails("eval", code=2)
        env.fails("eval", "sent", "--limit", "x", contains="--limit")
        # over the largest values a run takes: refused, not silently cut
        env.fails("eval", "sent", "--repeat", "1001", contains="--repeat: '1001' is not a whole number in 1..1000")
        env.fails("eval", "sent", "--concurrency", "4097", contains="in 1..4096")
        env.fails("eval", "--resume", "99", contains="unknown run 99")
        env.fails("runs", "show", "42", contains="unknown run 42")
        env.fails("runs", "show", "abc", contains="not a run id")
        env.fails("rank", "sent", contains="no complete run")
        # a dataset lacking a prompt variable is caught before any request
        env.write("d_bad.jsonl", json.dumps({"id": "a", "vars": {"id": "a"}, "expected": "positive"}) + "\n")
        env.ok("dataset", "add", "badset", "--file", env.path("d_bad.jsonl"))
        env.write_json("s_bad.json", {"name": "bad", "prompt": "sent", "dataset": "badset",
                                      "metrics": ["accuracy"], "models": ["m1"]})
        env.ok("suite", "add", "bad", "--file", env.path("s_bad.json"))
        env.fails("eval", "bad", contains="lacks variable 'text'")
        check(srv.total == 0, srv.total)
        check(env.db().execute("SELECT count(*) FROM runs").fetchone()[0] == 0)
    finally:
        srv.stop()


def test_rank_command(env):
    srv = server({"outputs": {"c%d" % i: ("positive" if i % 2 == 0 else "negative") if i < 16 else "x"
                              for i in range(20)}})
    try:
        make_catalog(env)
        add_model(env, "cheap", srv, "--price-in", "0.1", "--price-out", "0.1")
        add_model(env, "dear", srv, "--price-in", "10", "--price-out", "10")
        env.ok("model", "add", "maj", "--provider", "baseline", "--strategy", "majority")
        env.ok("eval", "sent", "--model", "cheap", "--model", "dear", "--model", "maj")
        r = env.ok("rank", "sent", "--policy", "priority:cost,quality,speed", "--json").json()
        order = [m["model"] for m in r["models"]]
        check(order == ["maj", "cheap", "dear"], order)
        check(r["models"][0]["cost_per_1k"] == 0 and r["models"][1]["quality"] == 0.8, r["models"])
        check(r["models"][1]["quality_ci_low"] < 0.8 < r["models"][1]["quality_ci_high"], r["models"][1])
        r = env.ok("rank", "sent", "--policy", "priority:quality,cost", "--json").json()
        check([m["model"] for m in r["models"]][:2] == ["cheap", "dear"], r)
        r = env.ok("rank", "sent", "--policy", "pareto", "--json").json()
        fronts = {m["model"]: m["front"] for m in r["models"]}
        ms = {m["model"]: m for m in r["models"]}

        def dominates(a, b):
            ge = (a["quality"] >= b["quality"] and a["cost_per_1k"] <= b["cost_per_1k"]
                  and a["p50_ms"] <= b["p50_ms"])
            gt = (a["quality"] > b["quality"] or a["cost_per_1k"] < b["cost_per_1k"]
                  or a["p50_ms"] < b["p50_ms"])
            return ge and gt
        for name, m in ms.items():
            beaten = any(dominates(o, m) for o in ms.values() if o is not m)
            check((fronts[name] > 1) == beaten, (name, fronts, ms))
        check(fronts["cheap"] == 1 and fronts["maj"] == 1, fronts)  # best quality / cheapest
        r = env.ok("rank", "sent", "--require", "quality>=0.6", "--json").json()
        check([m["model"] for m in r["models"]] == ["cheap", "dear"], r)
        check(r["excluded"][0]["model"] == "maj" and "quality" in r["excluded"][0]["why"], r)
        out = env.ok("rank", "sent").out
        check("cheap" in out and "RANK" in out, out)
        env.fails("rank", "sent", "--policy", "fastest", contains="policy")
    finally:
        srv.stop()


def test_hour_priced_cost_attributed_by_latency(env):
    srv = server({"latency_ms": 30})
    try:
        make_catalog(env)
        add_model(env, "gpu", srv, "--price-hour", "36", "--concurrency", "2")
        env.ok("eval", "summ", "--model", "gpu")
        s, items = item_map(env, 1)
        check(s["busy_s"] > 0.05, s["busy_s"])
        check(abs(s["cost_usd"] - 36 * s["busy_s"] / 3600) < 1e-12, (s["cost_usd"], s["busy_s"]))
        total = sum(i["cost_usd"] for i in items.values())
        check(abs(total - s["cost_usd"]) < 1e-12, (total, s["cost_usd"]))
        per_ms = [i["cost_usd"] / i["latency_ms"] for i in items.values()]
        check(max(per_ms) - min(per_ms) < 1e-12, per_ms)
        # an inline model of a suite is checked like a stored one
        env.write_json("s_inline.json", {"name": "inl", "prompt": "summ", "dataset": "summ",
                                         "metrics": ["rougeL"],
                                         "models": [{"name": "x", "provider": "warp"}]})
        env.ok("suite", "add", "inl", "--file", env.path("s_inline.json"))
        env.fails("eval", "inl", contains="unknown provider 'warp'")
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_model_commands, test_eval_classification_scores_and_cost,
          test_streaming_ttft_usage_and_completions, test_response_cache,
          test_judge_single_and_errors, test_judge_pairwise_both_orders,
          test_baselines_and_replay, test_bad_input, test_rank_command,
          test_hour_priced_cost_attributed_by_latency, test_api_key_that_cannot_be_a_header])
