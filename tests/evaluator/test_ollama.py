"""The ollama provider (Ollama's native API) against the fake server's
/api/chat and /api/embed: exact token counts and the server's own time,
plain and NDJSON-streamed answers, options, faults, bad settings, and
embeddings for cosine_embedding."""
import json

from assaytest import check, main
from evalsetup import make_catalog, server
from fakeserver import embed_text
from test_embedding import REF, cosine


def add_ollama(env, name, srv, *extra):
    env.ok("model", "add", name, "--provider", "ollama", "--base-url",
           "http://127.0.0.1:%d/" % srv.port, "--model-id", "llama3.2", *extra)


def words(text):
    return len(text.split())


def chat_bodies(srv):
    return [b for b in srv.bodies if "messages" in b]


def test_exact_counts_plain_and_streamed(env):
    srv = server({"outputs": {"c0": "Positive.", "c1": "it is negative", "c2": "positive",
                              "c3": "Negative"}})
    try:
        make_catalog(env, n=4)
        add_ollama(env, "plain", srv)
        add_ollama(env, "streamed", srv, "--stream")
        env.ok("eval", "sent", "--model", "plain", "--model", "streamed")
        for run, streamed in ((1, False), (2, True)):
            r = env.ok("runs", "show", str(run), "--items", "--json").json()
            check(r["items_ok"] == 4 and r["metrics"]["accuracy"]["mean"] == 1.0, r["metrics"])
            check(r["server_latency_ms"]["n"] == 4 and r["server_latency_ms"]["p50"] == 123.456789,
                  r["server_latency_ms"])
            for it in r["items"]:
                body = [b for b in chat_bodies(srv) if b["stream"] == streamed and
                        "case %s:" % it["case_id"] in json.dumps(b)][0]
                text = "\n".join(m["content"] for m in body["messages"])
                check(it["prompt_tokens"] == words(text) and it["usage_estimated"] == 0, (it, text))
                check(it["completion_tokens"] == words(it["output"]), it)
                check(it["server_latency_ms"] == 123.456789 and it["finish_reason"] == "stop", it)
                check((it["ttft_ms"] is not None) == streamed, it)
            check(r["items"][1]["output"] == "it is negative", r["items"][1])
        for b in chat_bodies(srv):
            check(b["model"] == "llama3.2" and b["options"] == {"temperature": 0}, b)
            check(b["messages"][0]["role"] == "system", b)
        # max_tokens is num_predict to Ollama
        env.ok("eval", "summ", "--model", "plain", "--limit", "1")
        env.write_json("p2.json", {"name": "summ", "task": "summarization",
                                   "template": "case {{id}}: summarize: {{article}}",
                                   "params": {"max_tokens": 7, "top_k": 5}})
        env.ok("prompt", "add", "summ", "--file", env.path("p2.json"))
        env.ok("eval", "summ", "--model", "streamed", "--limit", "1")
        last = chat_bodies(srv)[-1]
        check(last["options"] == {"num_predict": 7, "top_k": 5}, last)
        check(last["messages"] == [{"role": "user", "content": last["messages"][0]["content"]}], last)
    finally:
        srv.stop()


def test_cached_prompt_faults_and_settings(env):
    srv = server({"prompt_cached": True,
                  "faults": {"c0": ["streamerror"], "c1": ["nodone"], "c2": ["500"], "c3": ["400"]}})
    try:
        make_catalog(env, n=5)
        add_ollama(env, "o", srv, "--stream", "--max-retries", "2")
        res = env.run("eval", "sent", "--model", "o")
        r = env.ok("runs", "show", "1", "--items", "--json").json()
        items = {i["case_id"]: i for i in r["items"]}
        # a Ollama that reused its prompt cache reports no prompt count: estimated
        check(items["c4"]["usage_estimated"] == 1 and items["c4"]["prompt_tokens"] > 0, items["c4"])
        check(items["c4"]["completion_tokens"] == words(items["c4"]["output"]), items["c4"])
        for c in ("c0", "c1", "c2"):        # retried, then answered
            check(items[c]["status"] == "ok" and items[c]["attempts"] == 2, items[c])
        check(items["c3"]["status"] == "failed" and "HTTP 400: max_tokens is too large"
              in items["c3"]["error"], items["c3"])
        check(res.code == 1 and "finish it with" in res.err, res.err)
        db = env.db()
        errs = [e for (e,) in db.execute("SELECT error FROM attempts WHERE error IS NOT NULL "
                                         "ORDER BY case_id")]
        check(any("ollama: error in stream: generation failed" in e for e in errs), errs)
        check(any(e.startswith('ollama: stream ended without "done": true') for e in errs), errs)
        # bad settings: named, nothing added
        env.fails("model", "add", "x", "--provider", "ollama", contains="model_id")
        env.fails("model", "add", "x", "--provider", "ollama", "--model-id", "m",
                  "--base-url", "ftp://h", contains="base_url")
        env.fails("model", "add", "x", "--provider", "ollama", "--model-id", "m",
                  "--api-key-env", "K", code=2)
        check("\n  ollama\n" in env.ok("model", "add", "--help").out)
    finally:
        srv.stop()


def test_embeddings(env):
    outputs = {"s0": REF, "s1": "a dog ran far", "s2": "The Cat"}
    srv = server({"outputs": outputs})
    try:
        make_catalog(env, sum_n=3)
        add_ollama(env, "m1", srv)
        add_ollama(env, "emb", srv)
        env.write_json("s.json", {"name": "e", "prompt": "summ", "dataset": "summ",
                                  "metrics": [{"name": "cosine_embedding", "model": "emb"}],
                                  "models": ["m1"]})
        env.ok("suite", "add", "e", "--file", env.path("s.json"))
        env.ok("eval", "e")
        r = env.ok("runs", "show", "1", "--items", "--json").json()
        for it in r["items"]:
            want = cosine(embed_text(outputs[it["case_id"]]), embed_text(REF))
            check(abs(it["scores"]["cosine_embedding"] - want) < 1e-12, (it, want))
        check(r["embedding"]["errors"] == 0, r["embedding"])
        embeds = [b for b in srv.bodies if "input" in b]
        check(len(embeds) == 3 and all(b["model"] == "llama3.2" and b["input"][1] == REF
                                       for b in embeds), embeds)
        db = env.db()
        rows = db.execute("SELECT dim, prompt_tokens FROM embeddings ORDER BY case_id").fetchall()
        check(rows[1] == (26, words(outputs["s1"]) + words(REF)), rows)
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_exact_counts_plain_and_streamed, test_cached_prompt_faults_and_settings,
          test_embeddings])
