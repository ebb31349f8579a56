"""assay gate against a fake OpenAI-compatible model server: passing and
failing changes, significance, flaky cases, a provider that is down, bad
input, and the JUnit and markdown reports."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import check, main  # noqa: E402
from gateserver import GateServer  # noqa: E402

N = 40
IDS = ["c%02d" % i for i in range(N)]
XSD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "junit.xsd")


def prompt_version(env, system):
    env.write_json("p_qa.json", {"name": "qa", "task": "qa", "messages": [
        {"role": "system", "content": system},
        {"role": "user", "content": "case {{id}}: say {{word}}"}]})
    env.ok("prompt", "add", "qa", "--file", env.path("p_qa.json"))


def dataset(env, n=N):
    lines = [json.dumps({"id": "c%02d" % i, "vars": {"id": "c%02d" % i, "word": "w%02d" % i},
                         "expected": "w%02d" % i}) for i in range(n)]
    env.write("d_qa.jsonl", "\n".join(lines) + "\n")
    env.ok("dataset", "add", "qa", "--file", env.path("d_qa.jsonl"))


def setup(env, srv, suite_extra=None):
    """Prompt v1, the dataset, the suite and model 'fake'; then the first
    gate (no baseline) runs v1 and v1 becomes production."""
    prompt_version(env, "Repeat the word.")
    dataset(env)
    suite = {"name": "qa", "prompt": "qa", "dataset": "qa",
             "metrics": ["exact_match", "token_f1"], "primary_metric": "exact_match",
             "models": ["fake"]}
    suite.update(suite_extra or {})
    env.write_json("s_qa.json", suite)
    env.ok("suite", "add", "qa", "--file", env.path("s_qa.json"))
    env.ok("model", "add", "fake", "--provider", "openai", "--base-url", srv.base_url,
           "--model-id", "fake", "--max-retries", "0")
    res = gate(env, "--baseline", "none", code=0)
    check(res["baseline"]["kind"] == "none", res["baseline"])
    env.ok("prompt", "label", "qa", "qa@v1", "production")
    return res


def gate(env, *args, code):
    r = env.run("gate", "qa", "--json", *args)
    if r.code != code:
        raise AssertionError("gate %s: expected exit %d: %r" % (" ".join(args), code, r))
    return r.json()


def model_check(res, name):
    checks = {c["name"]: c for c in res["models"][0]["checks"]}
    check(name in checks, "no check %r in %r" % (name, list(checks)))
    return checks[name]


def xmllint(path):
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True, text=True)
    check(p.returncode == 0, "xmllint: %s" % p.stderr)


def test_passing_change_reuses_runs(env):
    srv = GateServer()
    try:
        setup(env, srv)
        prompt_version(env, "Repeat the word exactly.")
        calls = srv.total
        res = gate(env, "--junit", env.path("j.xml"), "--markdown", env.path("m.md"), code=0)
        check(srv.total == calls + N, "candidate v2 run: %d calls" % (srv.total - calls))
        m = res["models"][0]
        check(res["passed"] and res["exit_status"] == 0, res)
        check(res["candidate"]["prompt"]["version"] == 2, res["candidate"])
        check(res["baseline"]["prompt"]["version"] == 1, res["baseline"])
        check(m["baseline"]["reused"] and not m["candidate"]["reused"], m)
        reg = model_check(res, "regression exact_match")
        check(reg["test"] == "mcnemar" and reg["p_value"] == 1 and reg["delta"] == 0, reg)
        check(reg["source"] == "default", reg)
        check(m["changes"] == {"regressed": [], "fixed": []}, m["changes"])
        check(len(m["cases"]) == N and all(c["passed"] for c in m["cases"]), m["cases"][:2])
        xmllint(env.path("j.xml"))
        suites = ET.parse(env.path("j.xml")).getroot().findall("testsuite")
        check(len(suites) == 1 and suites[0].get("name") == "fake", suites)
        check(suites[0].get("failures") == "0" and int(suites[0].get("tests")) == N + 1, suites[0].attrib)
        md = open(env.path("m.md"), encoding="utf-8").read()
        check(md.startswith("## assay gate: \u2705 passed"), md[:80])
        # the same gate again reuses both runs: no model call at all
        calls = srv.total
        res = gate(env, code=0)
        check(srv.total == calls and res["models"][0]["candidate"]["reused"], srv.total - calls)
        # a human summary without --json
        r = env.ok("gate", "qa")
        check("gate passed" in r.out and "regression" not in r.err, r)
    finally:
        srv.stop()


def test_threshold_crossed(env):
    srv = GateServer()
    try:
        setup(env, srv, {"thresholds": {"exact_match": 0.5, "token_f1": 0.5}})
        prompt_version(env, "Repeat it.")
        srv.answer(wrong=IDS[:3])
        res = gate(env, "--min", "exact_match=0.95", "--junit", env.path("j.xml"),
                   "--markdown", env.path("m.md"), code=1)
        mn = model_check(res, "min exact_match")
        check(not mn["passed"] and mn["source"] == "cli" and mn["limit"] == 0.95, mn)
        check(abs(mn["actual"] - 37 / 40) < 1e-9, mn)
        f1 = model_check(res, "min token_f1")
        check(f1["passed"] and f1["source"] == "suite", f1)
        reg = model_check(res, "regression exact_match")
        check(reg["passed"] and not reg["significant"], reg)       # 3 discordant: p = 0.25
        check(res["models"][0]["changes"]["regressed"] == IDS[:3], res["models"][0]["changes"])
        xmllint(env.path("j.xml"))
        root = ET.parse(env.path("j.xml")).getroot()
        fails = {tc.get("name"): tc.find("failure") for tc in root.iter("testcase")
                 if tc.find("failure") is not None}
        check(set(fails) == {"min exact_match"} | set(IDS[:3]), sorted(fails))
        msg = fails["min exact_match"].get("message")
        check("expected >= 0.95" in msg and "actual 0.925" in msg, msg)
        check("expected: w00" in fails["c00"].text and "actual: wrong answer" in fails["c00"].text,
              fails["c00"].text)
        check(fails["c00"].get("type") == "regressed", fails["c00"].attrib)
        md = open(env.path("m.md"), encoding="utf-8").read()
        check(md.startswith("## assay gate: \u274c failed"), md[:80])
        check("| min exact\\_match | &gt;= 0.95 | 0.925 | cli | \u274c failed |" in md, md)
        check("**Regressed cases (passed on the baseline, fail now)** (3): c00, c01, c02" in md, md)
        check("Cases passing: 37 of 40 (baseline: 40 of 40)." in md, md)
    finally:
        srv.stop()


def test_small_drop_not_significant_passes(env):
    srv = GateServer()
    try:
        setup(env, srv)
        prompt_version(env, "Say the word back.")
        srv.answer(wrong=IDS[:2])
        res = gate(env, code=0)
        reg = model_check(res, "regression exact_match")
        check(reg["test"] == "mcnemar" and reg["b"] == 2 and reg["c"] == 0, reg)
        check(abs(reg["p_value"] - 0.5) < 1e-12 and not reg["significant"], reg)
        check(abs(reg["delta"] + 0.05) < 1e-12 and reg["passed"], reg)
    finally:
        srv.stop()


def test_significant_regression_fails(env):
    srv = GateServer()
    try:
        setup(env, srv)
        prompt_version(env, "Answer with something.")
        srv.answer(wrong=IDS[:15])
        res = gate(env, "--max-regression", "token_f1=0.1", "--junit", env.path("j.xml"), code=1)
        reg = model_check(res, "regression exact_match")
        check(reg["significant"] and not reg["passed"], reg)
        check(abs(reg["p_value"] - 2 * 0.5 ** 15) < 1e-12, reg)
        tf = model_check(res, "regression token_f1")
        check(tf["test"] == "paired_bootstrap" and tf["significant"] and not tf["passed"], tf)
        check(tf["ci_high"] < 0 and tf["p_value"] < 0.001, tf)
        xmllint(env.path("j.xml"))
        # the same drop within --max-regression passes; --alpha also decides
        res = gate(env, "--max-regression", "exact_match=0.4", code=0)
        check(model_check(res, "regression exact_match")["significant"], res)
        res = gate(env, "--alpha", "0.00001", code=0)
        check(not model_check(res, "regression exact_match")["significant"], res)
    finally:
        srv.stop()


def test_flaky_cases_with_repeat(env):
    srv = GateServer()
    try:
        setup(env, srv)
        srv.answer(flaky=["c05", "c07"])
        res = gate(env, "--baseline", "none", "--repeat", "3", "--junit", env.path("j.xml"), code=0)
        m = res["models"][0]
        check(m["flaky"] == ["c05", "c07"], m["flaky"])
        c5 = [c for c in m["cases"] if c["id"] == "c05"][0]
        check(c5["reps"] == 3 and c5["passes"] in (1, 2) and c5["flaky"], c5)
        xmllint(env.path("j.xml"))
        out = [tc.find("system-out") for tc in ET.parse(env.path("j.xml")).getroot().iter("testcase")
               if tc.get("name") == "c05"][0]
        check(out is not None and "flaky" in out.text, out)
    finally:
        srv.stop()


def test_cost_and_latency_limits(env):
    srv = GateServer()
    try:
        setup(env, srv)
        env.ok("model", "add", "pricey", "--provider", "openai", "--base-url", srv.base_url,
               "--model-id", "pricey", "--max-retries", "0", "--price-in", "1000000")
        res = gate(env, "--model", "pricey", "--baseline", "none", "--max-cost-usd", "5",
                   "--max-p95-ms", "60000", code=1)
        cost = model_check(res, "max cost_usd")
        check(not cost["passed"] and cost["actual"] > 5, cost)
        check(model_check(res, "max p95_ms")["passed"], res)
    finally:
        srv.stop()


def test_provider_down_exits_3(env):
    srv = GateServer()
    try:
        setup(env, srv)
        env.ok("model", "add", "down", "--provider", "openai", "--base-url",
               "http://127.0.0.1:1/v1", "--model-id", "down", "--max-retries", "0",
               "--timeout-s", "5")
        r = env.run("gate", "qa", "--model", "down", "--baseline", "none")
        check(r.code == 3, r)
        lines = [l for l in r.err.splitlines() if l.strip()]
        check(len(lines) == 1 and "down" in lines[0], r.err)
    finally:
        srv.stop()


def test_bad_input_exits_2_before_any_call(env):
    srv = GateServer()
    try:
        setup(env, srv)
        res = gate(env, code=0)
        first_run = res["models"][0]["candidate"]["run_id"]
        calls = srv.total
        bad = [
            (["gate", "nosuch"], "nosuch"),
            (["gate", "qa", "--prompt", "qa@v9"], "v9"),
            (["gate", "qa", "--baseline", "qa@nolabel"], "nolabel"),
            (["gate", "qa", "--baseline", "staging"], "staging"),
            (["gate", "qa", "--baseline", "999"], "999"),
            (["gate", "qa", "--min", "rogueL=0.5"], "rogueL"),
            (["gate", "qa", "--max-regression", "bleu=0.1"], "bleu"),
            (["gate", "qa", "--min", "exact_match=abc"], "not a number"),
            (["gate", "qa", "--max-regression", "exact_match=0.1x"], "not a number"),
            (["gate", "qa", "--min", "exact_match"], "METRIC=VALUE"),
            (["gate", "qa", "--model", "nosuchmodel"], "nosuchmodel"),
            (["gate", "qa", "--alpha", "2"], "--alpha"),
            (["gate", "qa", "--bogus"], "--bogus"),
            (["gate"], "SUITE"),
        ]
        for args, word in bad:
            env.fails(*args, code=2, contains=word)
        check(srv.total == calls, "a model was called: %d" % (srv.total - calls))
        # a baseline run made on another dataset version
        dataset(env, n=N + 1)
        env.fails("gate", "qa", "--baseline", str(first_run), code=2, contains="--allow-dataset-change")
        check(srv.total == calls, "a model was called")
        res = gate(env, "--baseline", str(first_run), "--allow-dataset-change", code=0)
        check(res["baseline"] == {"kind": "run", "ref": str(first_run), "run_id": first_run}, res["baseline"])
        check(len(res["models"][0]["cases"]) == N + 1, len(res["models"][0]["cases"]))
        check(res["models"][0]["cases"][-1]["change"] == "new", res["models"][0]["cases"][-1])
    finally:
        srv.stop()


def test_baseline_without_a_run_is_run_too(env):
    """A fresh data directory: neither the candidate (v2) nor the production
    baseline (v1) has a run; the gate runs both, v1 with its own prompt."""
    srv = GateServer()
    try:
        prompt_version(env, "Repeat the word.")
        dataset(env)
        env.write_json("s_qa.json", {"name": "qa", "prompt": "qa", "dataset": "qa",
                                     "metrics": ["exact_match"], "models": ["fake"]})
        env.ok("suite", "add", "qa", "--file", env.path("s_qa.json"))
        env.ok("model", "add", "fake", "--provider", "openai", "--base-url", srv.base_url,
               "--model-id", "fake", "--max-retries", "0")
        env.ok("prompt", "label", "qa", "qa@v1", "production")
        prompt_version(env, "Say it back.")
        res = gate(env, code=0)
        m = res["models"][0]
        check(not m["candidate"]["reused"] and not m["baseline"]["reused"], m)
        check(m["candidate"]["prompt"]["version"] == 2 and m["baseline"]["prompt"]["version"] == 1, m)
        check(srv.total == 2 * N, srv.total)
        # a baseline version whose prompt needs a variable the dataset lacks is
        # refused before the candidate is run
        env.write_json("p_qa.json", {"name": "qa", "task": "qa", "messages": [
            {"role": "user", "content": "case {{id}}: say {{word}} in {{language}}"}]})
        env.ok("prompt", "add", "qa", "--file", env.path("p_qa.json"))
        env.ok("prompt", "label", "qa", "qa@v3", "staging")
        prompt_version(env, "Say it back, please.")
        calls = srv.total
        env.fails("gate", "qa", "--baseline", "staging", code=2, contains="language")
        check(srv.total == calls, "a model was called: %d" % (srv.total - calls))
        runs = env.db().execute("SELECT count(*) FROM runs").fetchone()[0]
        check(runs == 2, "runs left behind by a refused gate: %d" % runs)
    finally:
        srv.stop()


def test_ci_recipe_fresh_clone_with_cached_db(env):
    """docs/CI.md: a job clones the project repository, fetches the labels,
    restores assay.db from a cache and reindexes; the production run made by
    an earlier job is reused."""
    srv = GateServer()
    try:
        setup(env, srv)
        ws = env.path("workspace")
        subprocess.run(["git", "clone", "-q", os.path.join(env.data, "catalog"), ws], check=True)
        env.git("fetch", "-q", os.path.join(env.data, "catalog"), "+refs/labels/*:refs/labels/*", cwd=ws)
        # the pull request: a new prompt version committed with plain git
        with open(os.path.join(ws, "prompts", "qa.json"), "w", encoding="utf-8") as f:
            json.dump({"name": "qa", "task": "qa", "messages": [
                {"role": "system", "content": "Repeat the word, nothing else."},
                {"role": "user", "content": "case {{id}}: say {{word}}"}]}, f)
        env.git("-c", "user.name=ci", "-c", "user.email=ci@example.org", "commit", "-qam",
                "qa: reword", cwd=ws)
        # the job: a fresh data directory with the cached database
        data2 = env.path("job-data")
        os.makedirs(data2)
        con = env.db()                  # a checkpointed copy of the database
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        with open(os.path.join(env.data, "assay.db"), "rb") as src, \
                open(os.path.join(data2, "assay.db"), "wb") as dst:
            dst.write(src.read())
        subprocess.run(["git", "clone", "-q", ws, os.path.join(data2, "catalog")], check=True)
        env.git("fetch", "-q", "origin", "+refs/labels/*:refs/labels/*", cwd=os.path.join(data2, "catalog"))
        r = env.run("--data", data2, "catalog", "reindex", data=False)
        check(r.code == 0, r)
        calls = srv.total
        r = env.run("--data", data2, "gate", "qa", "--json", data=False)
        check(r.code == 0, r)
        res = r.json()
        m = res["models"][0]
        check(res["candidate"]["prompt"]["version"] == 2 and res["baseline"]["prompt"]["version"] == 1, res)
        check(m["baseline"]["reused"] and not m["candidate"]["reused"], m)
        check(srv.total == calls + N, srv.total - calls)
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_passing_change_reuses_runs, test_threshold_crossed,
          test_small_drop_not_significant_passes, test_significant_regression_fails,
          test_flaky_cases_with_repeat, test_cost_and_latency_limits, test_provider_down_exits_3,
          test_bad_input_exits_2_before_any_call, test_baseline_without_a_run_is_run_too,
          test_ci_recipe_fresh_clone_with_cached_db])
