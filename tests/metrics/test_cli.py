"""assay metrics: the command line against the reference values of
tests/fixtures/metrics/cases.json, its errors and its output format."""
import json
import math
import os

from assaytest import SOURCE_DIR, check, main

FIX = os.path.join(SOURCE_DIR, "tests", "fixtures", "metrics")
with open(os.path.join(FIX, "cases.json"), encoding="utf-8") as f:
    CASES = json.load(f)
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


def rouge_per_pair_bit_identical(env):
    rows = [{"prediction": c["prediction"], "reference": c["reference"]} for c in CASES["rouge"]]
    for mode, flags in (("nostem", []), ("stem", ["--stem"])):
        out = env.ok("metrics", "rouge", *flags, stdin=jsonl(rows)).jsonl()
        check(len(out) == len(rows), "one line out per line in")
        for c, got in zip(CASES["rouge"], out):
            check(list(got) == TYPES, "types in order")
            for t in TYPES:
                check(got[t] == c["expected"][mode][t], "%s %s %s: %r" % (c["id"], mode, t, got[t]))


def rouge_multi_reference_and_types(env):
    rows = [{"prediction": c["prediction"], "reference": c["references"]} for c in CASES["rouge_multi"]]
    path = env.write("multi.jsonl", jsonl(rows))
    out = env.ok("metrics", "rouge", "--types", "rougeLsum,rouge2", path).jsonl()
    for c, got in zip(CASES["rouge_multi"], out):
        check(list(got) == ["rougeLsum", "rouge2"])
        check(got["rougeLsum"] == c["expected"]["nostem"]["rougeLsum"], c["id"])
    env.fails("metrics", "rouge", "--types", "rouge0", path, code=2, contains="rougen requires positive n")
    env.fails("metrics", "rouge", "--types", "rougeX", path, code=2, contains="Invalid rouge type")


def rouge_summary_is_numpy_seeded_bootstrap(env):
    rows = [{"prediction": c["prediction"], "reference": c["reference"]} for c in CASES["rouge"]]
    for mode, flags in (("nostem", []), ("stem", ["--stem"])):
        got = env.ok("metrics", "rouge", "--summary", "--seed", "123", *flags, stdin=jsonl(rows)).json()
        want = CASES["rouge_aggregate"][mode]
        check(got["bootstrap"] == {"n": 325, "seed": 123, "resamples": 1000, "confidence": 0.95})
        for t in TYPES:
            for m in ("precision", "recall", "fmeasure"):
                check(got[t][m]["mean"] == want[t]["mean"][m], "%s %s mean" % (t, m))
                for k in ("low", "mid", "high"):
                    check(got[t][m][k] == want[t]["bootstrap_seed123"][k][m], "%s %s %s %s" % (mode, t, m, k))


# The library tests run every case; the command line runs these (every kind
# of option, label type and error) to keep the suite fast under sanitizers.
CLS_CASES = ["c001", "c004", "c009", "c012", "c013", "c014", "c016", "c019", "c020", "c021",
             "c022", "c024", "c026", "c039", "c040", "c048", "c049"]
BLEU_CASES = ["b001", "b002", "b003", "b004", "b005", "b006", "b007", "b008", "b009", "b012",
              "b013", "b036", "b039", "b040", "b041", "b042", "b046", "b048", "b057", "b058",
              "b062"]


def classification_cases(env):
    for c in CASES["classification"]:
        if c["id"] not in CLS_CASES:
            continue
        args = ["metrics", "classification"]
        if c["labels"] is not None:
            args += ["--labels", ",".join(json.dumps(l) if not isinstance(l, str) else l for l in c["labels"])]
        pos = c["pos_label"]
        args += ["--pos-label", pos if isinstance(pos, str) else json.dumps(pos)]
        if c["zero_division"] != "warn":
            args += ["--zero-division", str(c["zero_division"])]
        rows = [{"true": t, "pred": p} for t, p in zip(c["y_true"], c["y_pred"])]
        got = env.ok(*args, stdin=jsonl(rows)).json()
        exp, modern = c["expected"], c["expected_modern_emulated"]
        check(got["labels"] == exp["labels_order"], c["id"])
        check(abs(got["accuracy"] - exp["accuracy"]) <= 1e-12, c["id"])
        for i, label in enumerate(got["labels"]):
            row = got["per_class"][list(got["per_class"])[i]]
            for m in ("precision", "recall", "f1"):
                check(abs(row[m] - modern["per_class"][m][i]) <= 1e-12, "%s %s %s" % (c["id"], label, m))
            check(row["support"] == exp["per_class"]["support"][i])
        for avg in ("micro", "macro", "weighted"):
            for m in ("precision", "recall", "f1"):
                check(abs(got[avg][m] - modern[avg][m]) <= 1e-12, "%s %s %s" % (c["id"], avg, m))
        if "error" in exp["binary"]:
            check("binary" not in got, c["id"])
        else:
            for m in ("precision", "recall", "f1"):
                check(abs(got["binary"][m] - modern["binary"][m]) <= 1e-12, "%s binary %s" % (c["id"], m))
        check(len(got["confusion_matrix"]) == len(got["labels"]))
        check(sum(map(sum, got["confusion_matrix"])) <= len(rows))


def classification_errors_are_sklearns(env):
    env.fails("metrics", "classification", stdin=jsonl([{"true": "a", "pred": 1}]), contains="Mix of label input types (string and number)")
    env.fails("metrics", "classification", stdin=jsonl([{"true": 0.5, "pred": 0.5}]), contains="continuous is not supported")
    env.fails("metrics", "classification", stdin=jsonl([{"true": "a"}]), contains="line 1: missing field: pred")
    env.fails("metrics", "classification", stdin=jsonl([{"true": [1], "pred": 1}]), contains="line 1")
    env.fails("metrics", "classification", "--zero-division", "2", stdin="", code=2)


def match_and_token_f1(env):
    for c in CASES["exact_match"]:
        flags = []
        for opt in ("ignore_case", "ignore_punctuation", "ignore_numbers"):
            if c.get(opt):
                flags.append("--" + opt.replace("_", "-"))
        for r in c.get("regexes_to_ignore") or []:
            flags += ["--ignore-regex", r]
        rows = [{"prediction": p, "reference": r} for p, r in zip(c["predictions"], c["references"])]
        got = env.ok("metrics", "match", "--summary", *flags, stdin=jsonl(rows)).json()
        check(got["exact_match"] == c["expected_emulated"]["with_empty_guard"], c["id"])
        lines = env.ok("metrics", "match", *flags, stdin=jsonl(rows)).jsonl()
        check(all(set(l) == {"exact_match"} and l["exact_match"] in (0, 1) for l in lines))
    rows = [{"prediction": "The cat sat", "reference": "a cat sat down"},
            {"prediction": "Paris", "reference": ["London", "paris!"]}]
    got = env.ok("metrics", "token-f1", stdin=jsonl(rows)).jsonl()
    check(got[0] == {"precision": 1.0, "recall": 2 / 3, "f1": 0.8000000000000002} or abs(got[0]["f1"] - 0.8) < 1e-15, got)
    check(got[1]["f1"] == 1.0)
    s = env.ok("metrics", "token-f1", "--summary", stdin=jsonl(rows)).json()
    check(abs(s["f1"] - 0.9) < 1e-12 and s["n"] == 2, s)
    got = env.ok("metrics", "match", "--squad", stdin=jsonl(rows)).jsonl()
    check([g["exact_match"] for g in got] == [0, 1])
    env.fails("metrics", "match", "--ignore-regex", "(", stdin=jsonl(rows), contains="regex '('")


def bleu_cases(env):
    for c in CASES["bleu"]["cases"]:
        if c["id"] not in BLEU_CASES:
            continue
        o = c["options"]
        flags = []
        if "tokenize" in o:
            flags += ["--tokenize", o["tokenize"]]
        if "smooth_method" in o:
            flags += ["--smooth", o["smooth_method"]]
        if o.get("lowercase"):
            flags.append("--lowercase")
        rows = [{"prediction": h, "references": [s[i] for s in c["references"]]} for i, h in enumerate(c["hypotheses"])]
        data = jsonl(rows)
        got = env.ok("metrics", "bleu", *flags, stdin=data).json()
        want = c["corpus_bleu"]
        check(abs(got["score"] - want["score"]) <= 1e-9, "%s corpus %r" % (c["id"], got))
        for k in ("counts", "totals", "sys_len", "ref_len"):
            check(got[k] == want[k], "%s %s" % (c["id"], k))
        check(abs(got["bp"] - want["bp"]) <= 1e-12)
        sents = env.ok("metrics", "bleu", "--sentence", *flags, stdin=data).jsonl()
        check(len(sents) == len(rows))
        for g, w in zip(sents, c["sentence_bleu"]):
            check(abs(g["score"] - w["score"]) <= 1e-9, "%s sentence" % c["id"])
            check(g["counts"] == w["counts"] and g["totals"] == w["totals"])
    env.fails("metrics", "bleu", "--tokenize", "zh", stdin="", code=2)
    env.fails("metrics", "bleu", stdin=jsonl([{"prediction": "a", "references": []}]), contains="line 1")


def cosine_vectors_and_tfidf(env):
    rows = [{"a": [1, 2, 3], "b": [4, 5, 6]}, {"a": [0, 0], "b": [1, 1]}]
    got = env.ok("metrics", "cosine", stdin=jsonl(rows)).jsonl()
    check(abs(got[0]["cosine"] - 32 / math.sqrt(14 * 77)) < 1e-15)
    check(got[1]["cosine"] == 0.0)
    # a squared norm that overflows: scikit-learn's normalized row is all
    # zeros, so 0, and the summary's mean stays a number
    rows = [{"a": [1e200, 0], "b": [1e200, 0]}, {"a": [1, 0], "b": [1, 0]}]
    got = env.ok("metrics", "cosine", stdin=jsonl(rows)).jsonl()
    check(got[0]["cosine"] == 0.0 and got[1]["cosine"] == 1.0, got)
    got = env.ok("metrics", "cosine", "--summary", stdin=jsonl(rows)).json()
    check(got["cosine"] == 0.5 and got["n"] == 2, got)
    env.fails("metrics", "cosine", stdin=jsonl([{"a": [1], "b": [1, 2]}]), contains="line 1: a has 1 numbers and b 2")
    rows = [{"prediction": "a b", "reference": "a c"}, {"prediction": "a b b", "reference": "a b b"}]
    got = env.ok("metrics", "cosine", "--tfidf", stdin=jsonl(rows)).jsonl()
    # 4 documents; df(a) = 4, df(b) = 3, df(c) = 1; idf = ln((1 + n) / (1 + df)) + 1
    ia, ib, ic = math.log(5 / 5) + 1, math.log(5 / 4) + 1, math.log(5 / 2) + 1
    want = ia * ia / (math.sqrt(ia * ia + ib * ib) * math.sqrt(ia * ia + ic * ic))
    check(abs(got[0]["cosine"] - want) < 1e-12, got)
    check(abs(got[1]["cosine"] - 1) < 1e-12)


def device_option_same_bits(env):
    """--device: rougeL and vector cosines through the batch API; cpu, auto
    and (with a usable GPU) gpu give the same output; gpu without one is a
    one-line error."""
    rows = [{"prediction": c["prediction"], "reference": c["references"]} for c in CASES["rouge_multi"]]
    path = env.write("multi.jsonl", jsonl(rows))
    for mode, flags in (("nostem", []), ("stem", ["--stem"])):
        cpu = env.ok("metrics", "rouge", "--device", "cpu", *flags, path).jsonl()
        for c, got in zip(CASES["rouge_multi"], cpu):
            for t in TYPES:
                check(got[t] == c["expected"][mode][t], "%s %s %s: %r" % (c["id"], mode, t, got[t]))
        check(env.ok("metrics", "rouge", "--device=auto", *flags, path).jsonl() == cpu)
        only_l = env.ok("metrics", "rouge", "--types", "rougeL", "--device", "cpu", *flags, path).jsonl()
        check([o["rougeL"] for o in only_l] == [o["rougeL"] for o in cpu], "rougeL alone")
    summary = env.ok("metrics", "rouge", "--summary", "--device", "cpu", path).json()
    check(summary == env.ok("metrics", "rouge", "--summary", path).json())
    vec = jsonl([{"a": [1, 2, 3], "b": [4, 5, 6]}, {"a": [0.5, -1, 2], "b": [0, 0, 0]}])
    cpu_cos = env.ok("metrics", "cosine", "--device", "cpu", stdin=vec).jsonl()
    check(cpu_cos[0]["cosine"] == 32 / (math.sqrt(14) * math.sqrt(77)) and cpu_cos[1]["cosine"] == 0.0)
    mixed = jsonl([{"a": [1, 2, 3], "b": [4, 5, 6]}, {"a": [1, 2], "b": [2, 1]}])
    got = env.ok("metrics", "cosine", "--device", "cpu", stdin=mixed).jsonl()
    check(got[1]["cosine"] == 4 / (math.sqrt(5) * math.sqrt(5)), got)
    r = env.run("metrics", "rouge", "--device", "gpu", path)
    if r.code == 0:
        check(r.jsonl() == env.ok("metrics", "rouge", "--device", "cpu", path).jsonl(), "gpu == cpu")
        check(env.ok("metrics", "cosine", "--device", "gpu", stdin=vec).jsonl() == cpu_cos)
        env.fails("metrics", "cosine", "--device", "gpu", stdin=mixed, contains="vectors of one length")
    else:
        env.fails("metrics", "rouge", "--device", "gpu", path, contains="--device gpu: no usable GPU")
        env.fails("metrics", "cosine", "--device", "gpu", stdin=vec, contains="no usable GPU")
    env.fails("metrics", "rouge", "--device", "tpu", path, code=2, contains="--device must be cpu, gpu or auto")
    env.fails("metrics", "match", "--device", "cpu", path, code=2, contains="--device")


def compare_paired_and_mcnemar(env):
    rows = [{"a": 1, "b": 1}] * 20 + [{"a": 0, "b": 1}] * 9 + [{"a": 1, "b": 0}] * 1
    got = env.ok("metrics", "compare", "--seed", "3", stdin=jsonl(rows)).json()
    check(got["n"] == 30 and abs(got["diff"] - 8 / 30) < 1e-12, got)
    check(got["low"] > 0 and got["p_value"] < 0.05, got)
    check(got["mcnemar"]["exact"] and got["mcnemar"]["a_only"] == 1 and got["mcnemar"]["b_only"] == 9)
    check(abs(got["mcnemar"]["p_value"] - 0.021484375) < 1e-15, got)
    again = env.ok("metrics", "compare", "--seed", "3", stdin=jsonl(rows)).json()
    check(again == got, "seeded: same output")
    got = env.ok("metrics", "compare", stdin=jsonl([{"a": 0.5, "b": 0.7}, {"a": 0.2, "b": 0.1}])).json()
    check("mcnemar" not in got)


def malformed_input_prints_nothing(env):
    good = json.dumps({"prediction": "a b", "reference": "a b"})
    r = env.fails("metrics", "rouge", stdin=good + "\n\n" + good + "\n{oops\n", contains="line 4")
    check(r.out == "", "nothing partial on stdout")
    r = env.fails("metrics", "rouge", stdin=good + "\n[1, 2]\n", contains="stdin line 2: not a JSON object")
    check(r.out == "")
    r = env.fails("metrics", "rouge", stdin=json.dumps({"prediction": 3, "reference": "x"}) + "\n",
                  contains="line 1: field must be a string: prediction")
    path = env.write("in.jsonl", good + "\n" + json.dumps({"prediction": "x", "reference": []}) + "\n")
    env.fails("metrics", "rouge", path, contains="in.jsonl line 2")
    env.fails("metrics", "rouge", env.path("missing.jsonl"))
    env.fails("metrics", "rouge", "--bogus", code=2, contains="--bogus")
    env.fails("metrics", code=2)
    env.fails("metrics", "frob", code=2, contains="frob")
    r = env.ok("metrics", "--help")
    check("assay metrics rouge" in r.out)
    check(env.ok("metrics", "rouge", stdin="").out == "")
    for sub in ("rouge", "match", "token-f1", "cosine"):
        env.fails("metrics", sub, "--summary", stdin="\n", contains="no lines to summarize")


main([rouge_per_pair_bit_identical, rouge_multi_reference_and_types,
      rouge_summary_is_numpy_seeded_bootstrap, classification_cases,
      classification_errors_are_sklearns, match_and_token_f1, bleu_cases,
      cosine_vectors_and_tfidf, device_option_same_bits, compare_paired_and_mcnemar,
      malformed_input_prints_nothing])
