"""assay gate --server: the gate against a real `assay serve` on 127.0.0.1
(which calls the fake model server), from a CI job's own empty data
directory."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assaytest import ASSAY, check, main  # noqa: E402
from gateserver import GateServer  # noqa: E402
from test_gate import IDS, N, dataset, prompt_version, xmllint  # noqa: E402


class Serve:
    """`assay serve --port 0` on the test's data directory, with the admin
    token it prints."""

    def __init__(self, data):
        self.proc = subprocess.Popen([ASSAY, "--data", data, "serve", "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.token = None
        deadline = time.time() + 120
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("assay serve exited: %s" % self.proc.stderr.read())
            m = re.search(r"admin token .*: (\S+)", line)
            if m:
                self.token = m.group(1)
            m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
            if m:
                self.url = m.group(1)
                break
            if time.time() > deadline:
                raise AssertionError("assay serve did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=60)


def api(serve, method, path, body=None, status=200):
    """One call to the server's API with the admin token; the JSON answer,
    after checking the HTTP status."""
    req = urllib.request.Request(serve.url + "/api/v1" + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + serve.token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            code, text = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        code, text = e.code, e.read()
    check(code == status, "%s %s: expected %d, got %d: %r" % (method, path, status, code, text))
    return json.loads(text)


def test_gate_through_a_shared_server(env):
    srv = GateServer()
    serve = None
    try:
        prompt_version(env, "Repeat the word.")
        dataset(env)
        env.write_json("s_qa.json", {"name": "qa", "prompt": "qa", "dataset": "qa",
                                     "metrics": ["exact_match", "token_f1"],
                                     "primary_metric": "exact_match", "models": ["fake"],
                                     "thresholds": {"token_f1": 0.5}})
        env.ok("suite", "add", "qa", "--file", env.path("s_qa.json"))
        env.ok("model", "add", "fake", "--provider", "openai", "--base-url", srv.base_url,
               "--model-id", "fake", "--max-retries", "0")
        serve = Serve(env.data)
        ci = env.path("ci-data")            # the CI job's own, empty, data directory
        tok = {"GATE_TOKEN": serve.token}

        def gate(*args, code):
            r = env.run("--data", ci, "gate", "qa", "--server", serve.url, "--token-env",
                        "GATE_TOKEN", *args, env=tok, data=False)
            check(r.code == code, "gate %s: expected exit %d: %r" % (" ".join(args), code, r))
            return r

        r = gate("--baseline", "none", "--json", code=0)
        first = r.json()
        check(srv.total == N and not first["models"][0]["candidate"]["reused"], srv.total)
        check(not os.path.exists(os.path.join(ci, "assay.db")), "the local data directory was used")
        # promote v1, propose v2 that breaks 15 cases
        env.ok("prompt", "label", "qa", "qa@v1", "production")
        prompt_version(env, "Answer something.")
        srv.answer(wrong=IDS[:15])
        r = gate("--json", "--junit", env.path("j.xml"), code=1)
        res = r.json()
        m = res["models"][0]
        check(res["candidate"]["prompt"]["version"] == 2 and res["baseline"]["prompt"]["version"] == 1, res)
        check(m["baseline"]["reused"] and m["baseline"]["run_id"] == first["models"][0]["candidate"]["run_id"], m)
        reg = [c for c in m["checks"] if c["name"] == "regression exact_match"][0]
        check(reg["significant"] and not reg["passed"] and reg["test"] == "mcnemar", reg)
        check(m["changes"]["regressed"] == IDS[:15], m["changes"])
        check(srv.total == 2 * N, srv.total)
        xmllint(env.path("j.xml"))
        # the same gate again: both runs reused from the server, no model call
        gate(code=1)
        check(srv.total == 2 * N, srv.total)
        # refusals: exit 2 with one line, nothing run
        for args, word in [(["--min", "rogueL=1"], "rogueL"), (["--baseline", "qa@nolabel"], "nolabel"),
                           (["--model", "nosuch"], "nosuch"), (["--baseline", "9999"], "9999")]:
            r = gate(*args, code=2)
            check(word in r.err and len(r.err.strip().splitlines()) == 1, r.err)
        r = env.run("--data", ci, "gate", "nosuite", "--server", serve.url, "--token-env",
                    "GATE_TOKEN", env=tok, data=False)
        check(r.code == 2 and "nosuite" in r.err, r)
        r = env.run("--data", ci, "gate", "qa", "--server", serve.url, "--token-env", "GATE_TOKEN",
                    env={"GATE_TOKEN": "as_0000"}, data=False)
        check(r.code == 2, r)
        r = env.run("--data", ci, "gate", "qa", "--server", serve.url, "--token-env", "NO_SUCH_VAR",
                    data=False)
        check(r.code == 2 and "NO_SUCH_VAR" in r.err, r)
        check(srv.total == 2 * N, srv.total)
        # a baseline on a prompt version the suite does not name (v3; the
        # suite's "qa" is the head, v4) and with no run: the server runs it
        # with that version (POST /runs "prompt"); the candidate v2 is reused
        prompt_version(env, "Say it.")
        prompt_version(env, "Say it twice.")
        srv.answer(wrong=IDS[:5])
        r = gate("--prompt", "qa@v2", "--baseline", "qa@v3", "--json", code=1)
        res = r.json()
        m = res["models"][0]
        check(res["candidate"]["prompt"]["version"] == 2 and res["baseline"]["prompt"]["version"] == 3, res)
        check(m["candidate"]["reused"] and not m["baseline"]["reused"], m)
        check(m["changes"]["regressed"] == IDS[5:15], m["changes"])
        check(srv.total == 3 * N, srv.total)
        run = api(serve, "GET", "/runs/%d" % m["baseline"]["run_id"])
        check(run["prompt"]["version"] == 3 and run["status"] == "complete", run)
        # the route checks the reference before making any run
        for prompt, status in [("qa@", 400), ("x" * 300, 400), (7, 400), ("nosuch@v1", 404),
                               ("qa@v9", 404)]:
            err = api(serve, "POST", "/runs", {"suite": "qa", "prompt": prompt}, status=status)
            check("error" in err, err)
        check(srv.total == 3 * N, srv.total)
        # a server that is down: the run could not complete
        r = env.run("--data", ci, "gate", "qa", "--server", "http://127.0.0.1:1", "--token-env",
                    "GATE_TOKEN", env=tok, data=False)
        check(r.code == 3 and len(r.err.strip().splitlines()) == 1, r)
    finally:
        if serve:
            serve.stop()
        srv.stop()


if __name__ == "__main__":
    main([test_gate_through_a_shared_server])
