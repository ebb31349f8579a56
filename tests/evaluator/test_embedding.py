"""The cosine_embedding metric against a fake OpenAI-compatible server:
each item's output and expected answer embedded by the suite's embedding
model, their cosine similarity (scikit-learn's) as the item's score, the
calls' errors, tokens and cost, resume, and bad suites or models."""
import json
import math

from assaytest import check, main
from evalsetup import add_model, make_catalog, server
from fakeserver import embed_text

REF = "the cat sat on the mat"


def cosine(a, b):
    """scikit-learn's cosine_similarity of two vectors: 0 for a zero one."""
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        return 0.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def embed_suite(env, name="emb", metrics=None, **extra):
    doc = {"name": name, "prompt": "summ", "dataset": "summ",
           "metrics": metrics or ["rougeL", {"name": "cosine_embedding", "model": "emb"}],
           "primary_metric": "cosine_embedding", "models": ["m1"]}
    doc.update(extra)
    env.write_json("s_%s.json" % name, doc)
    return env.path("s_%s.json" % name)


def test_scores_cost_errors_and_resume(env):
    outputs = {"s0": REF, "s1": "a dog ran far", "s2": "", "s3": "123 456", "s4": "The Cat",
               "s5": "fails here"}
    srv = server({"outputs": outputs, "embed": {"faults": {"fails here": ["400"]}}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv)
        add_model(env, "emb", srv, "--price-in", "0.02")
        env.ok("suite", "add", "emb", "--file",
               embed_suite(env, thresholds={"cosine_embedding": 0.5}))
        out = env.ok("eval", "emb").out
        check("; 1 embedding errors;" in out, out)
        r = env.ok("runs", "show", "1", "--items", "--json").json()
        items = {i["case_id"]: i for i in r["items"]}
        want = {c: cosine(embed_text(o), embed_text(REF)) for c, o in outputs.items()}
        want["s2"] = 0.0        # an empty output: no call, 0
        for c in ("s0", "s1", "s2", "s3", "s4"):
            got = items[c]["scores"]["cosine_embedding"]
            check(abs(got - want[c]) < 1e-12, (c, got, want[c]))
            check(items[c]["embedding_error"] is None, items[c])
        check(abs(items["s0"]["scores"]["cosine_embedding"] - 1) < 1e-12, items["s0"])
        check(items["s3"]["scores"]["cosine_embedding"] == 0, items["s3"])  # a zero vector
        check("cosine_embedding" not in items["s5"]["scores"], items["s5"])
        check("embedding call failed: HTTP 400" in items["s5"]["embedding_error"], items["s5"])
        check(items["s5"]["scores"]["rougeL"] >= 0, items["s5"])   # the other metrics stay
        m = r["metrics"]["cosine_embedding"]
        scored = [want[c] for c in ("s0", "s1", "s2", "s3", "s4")]
        check(m["n"] == 5 and abs(m["mean"] - sum(scored) / 5) < 1e-12, m)
        check(r["quality"] == m, r["quality"])
        e = r["embedding"]
        check(e["model"] == "emb" and e["errors"] == 1, e)
        words = sum(len(outputs[c].split()) + len(REF.split()) for c in ("s0", "s1", "s3", "s4"))
        check(abs(e["cost_usd"] - words * 0.02 / 1e6) < 1e-18, (e, words))
        check(r["embedding_cost_usd"] == e["cost_usd"], r)
        check(r["cost_usd"] == 0, r["cost_usd"])     # the model's own calls are unpriced
        text = env.ok("runs", "show", "1").out
        check("\nembedding    emb, 1 errors\n" in text and "; embedding $%.6f)" % e["cost_usd"] in text, text)
        check("\n  cosine_embedding %.4f" % m["mean"] in text, text)
        bodies = [b for b in srv.bodies if "input" in b]
        check(len(bodies) == 5, bodies)
        for b in bodies:
            check(b["model"] == "emb" and b["encoding_format"] == "float", b)
            check(len(b["input"]) == 2 and b["input"][1] == REF and b["input"][0] in outputs.values(), b)
        check("" not in [b["input"][0] for b in bodies])
        db = env.db()
        check(db.execute("SELECT count(*) FROM attempts WHERE kind = 'embedding'").fetchone()[0] == 5)
        row = db.execute("SELECT dim, prompt_tokens FROM embeddings WHERE case_id = 's1'").fetchone()
        check(row == (26, len(outputs["s1"].split()) + len(REF.split())), row)
        # resuming embeds only what has no score yet
        srv.set_script({"outputs": outputs})
        env.ok("eval", "--resume", "1")
        r = env.ok("runs", "show", "1", "--json").json()
        check(r["embedding"]["errors"] == 0 and r["metrics"]["cosine_embedding"]["n"] == 6, r)
        check(r["embedding"]["cached"] == 0, r["embedding"])
        check(srv.calls.get("embed:fails here") == 2 and len([b for b in srv.bodies if "input" in b]) == 6,
              srv.calls)
        got = env.ok("runs", "show", "1", "--items", "--json").json()["items"]
        s5 = [i for i in got if i["case_id"] == "s5"][0]
        check(abs(s5["scores"]["cosine_embedding"] - want["s5"]) < 1e-12 and s5["embedding_error"] is None, s5)
        # the ranking reads it like any other metric
        ranked = env.ok("rank", "emb", "--json").json()
        check(json.dumps(ranked).count("cosine_embedding") >= 1, ranked)
        # a second run: every score from the cache, no call, no cost
        env.ok("eval", "emb")
        r2 = env.ok("runs", "show", "2", "--items", "--json").json()
        check(len([b for b in srv.bodies if "input" in b]) == 6, "no embedding call")
        check(r2["embedding"]["cached"] == 5 and r2["embedding_cost_usd"] == 0, r2["embedding"])
        scores1 = {i["case_id"]: i["scores"]["cosine_embedding"] for i in got}
        scores2 = {i["case_id"]: i["scores"]["cosine_embedding"] for i in r2["items"]}
        check(scores2 == scores1, (scores2, scores1))
        # --no-cache neither reads nor writes it
        env.ok("eval", "emb", "--no-cache")
        r3 = env.ok("runs", "show", "3", "--json").json()
        check(len([b for b in srv.bodies if "input" in b]) == 11, "five calls again")
        check(r3["embedding"]["cached"] == 0 and r3["embedding_cost_usd"] > 0, r3["embedding"])
    finally:
        srv.stop()


def test_bad_suites_and_models(env):
    srv = server({"embed": {"faults": {"answer to s0": ["ragged"]}}})
    try:
        make_catalog(env)
        add_model(env, "m1", srv)
        env.fails("suite", "add", "e1", "--file",
                  embed_suite(env, "e1", ["rougeL", "cosine_embedding"]),
                  contains="option 'model' is required")
        env.fails("suite", "add", "e2", "--file",
                  embed_suite(env, "e2", [{"name": "cosine_embedding", "model": "emb"},
                                          {"name": "cosine_embedding", "model": "emb2"}]),
                  contains="given twice")
        env.fails("suite", "add", "e3", "--file",
                  embed_suite(env, "e3", [{"name": "cosine_embedding", "model": "a b"}]),
                  contains="'model' must be a model name")
        env.fails("suite", "add", "e4", "--file",
                  embed_suite(env, "e4", [{"name": "cosine_embedding", "model": "emb", "dim": 3}]),
                  contains="unknown option 'dim'")
        env.ok("suite", "add", "emb", "--file", embed_suite(env))
        # an unknown model, or one whose provider cannot embed: refused before any run
        env.fails("eval", "emb", contains="metric cosine_embedding")
        env.ok("model", "add", "emb", "--provider", "baseline", "--strategy", "copy",
               "--var", "article")
        env.fails("eval", "emb", contains="gives no embeddings")
        check(env.ok("runs", "list", "--json").json() == [], "no run was made")
        check(srv.total == 0, srv.calls)
        # vectors of two lengths: an error of that item, never a score
        env.ok("model", "rm", "emb")
        add_model(env, "emb", srv)
        env.ok("eval", "emb")
        r = env.ok("runs", "show", "1", "--items", "--json").json()
        items = {i["case_id"]: i for i in r["items"]}
        check("differs in length" in items["s0"]["embedding_error"], items["s0"])
        check("cosine_embedding" not in items["s0"]["scores"], items["s0"])
        check(r["embedding"]["errors"] == 1 and r["metrics"]["cosine_embedding"]["n"] == 5, r)
    finally:
        srv.stop()


def test_upgrade_keeps_attempts(env):
    """A database of the schema before embeddings (version 6) is upgraded
    on open: its attempts are kept and may now be of kind 'embedding'."""
    srv = server()
    try:
        make_catalog(env)
        add_model(env, "m1", srv)
        env.ok("eval", "summ")
        db = env.db()
        before = db.execute("SELECT * FROM attempts ORDER BY id").fetchall()
        check(len(before) == 6, before)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        old_sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'attempts'").fetchone()[0]
        db.executescript(
            "BEGIN; DROP TABLE embeddings; DROP TABLE embedding_cache; CREATE TABLE a6 AS SELECT * FROM attempts; "
            "DROP TABLE attempts; %s; INSERT INTO attempts SELECT * FROM a6; DROP TABLE a6; "
            "CREATE INDEX attempts_run ON attempts(run_id, case_id); PRAGMA user_version = %d; "
            "COMMIT;" % (old_sql.replace("'judge', 'embedding'", "'judge'"), version - 1))
        db.close()
        env.ok("runs", "show", "1")
        db = env.db()
        check(db.execute("PRAGMA user_version").fetchone()[0] == version)
        check(db.execute("SELECT * FROM attempts ORDER BY id").fetchall() == before)
        db.execute("INSERT INTO attempts (run_id, case_id, kind, attempt, duration_ms, started_at) "
                   "VALUES (1, 's0', 'embedding', 0, 1, 'now')")
        check(db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0)
        db.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main([test_scores_cost_errors_and_resume, test_bad_suites_and_models,
          test_upgrade_keeps_attempts])
