"""Hostile command lines. Every command's valid invocation is run first (it
must succeed), then mutated: each argument dropped, each value and operand
after the command words replaced by hostile values (empty, negative, huge, NaN, bytes
that are not UTF-8, very long, path tricks, another option), an option left
without its value, an unknown option added. Each variant runs on its own copy
of a seeded data directory. It must end by itself with exit status 0 to 3,
never by a signal; a failure must print exactly one line on stderr, starting
"assay: " and valid UTF-8, and leave the database, the catalog repository and
the data directory exactly as they were; a success that changed them must
leave every listing readable as JSON."""
import concurrent.futures
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile

from assaytest import ASSAY, SOURCE_DIR, check, main

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "engine"))
import tinymodel  # noqa: E402

# Under LeakSanitizer: libgit2 1.5's known leak in remote URL rewriting
# (catalog push), as in tests/catalog/test_git_sync.py.
os.environ["LSAN_OPTIONS"] = "print_suppressions=0:suppressions=%s" % os.path.join(
    SOURCE_DIR, "tests", "catalog", "lsan.supp")

# os.fsencode turns "\udcff" into the byte 0xff: arguments that are not UTF-8.
HOSTILE = ["", "-1", "0", "18446744073709551617", "nan", "\udcff\udcfe", "a" * 5000,
           "../../../x", "a\nb", "--json"]

# Words that select a command; variants keep them.
COMMAND_WORDS = 2


def seed(root):
    """A data directory with a catalog, models, a run and a user; the files
    the commands read. Returns the template's substitutions."""
    data = os.path.join(root, "data")

    def ok(*args, stdin=None):
        p = subprocess.run([ASSAY, "--data", data] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("seed: assay %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    def write(name, text):
        path = os.path.join(root, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def jsonl(rows):
        return "".join(json.dumps(r) + "\n" for r in rows)

    f = {"root": root, "data": data}
    f["prompt"] = write("p.json", json.dumps({"template": "summarize: {{article}}",
                                              "tags": ["news"]}))
    f["prompt2"] = write("p2.json", json.dumps({"template": "tl;dr {{article}}"}))
    cases = [{"id": "c%d" % i, "vars": {"article": "The cat sat on the mat number %d." % i},
              "expected": "the cat sat"} for i in range(4)]
    f["cases"] = write("d.jsonl", jsonl(cases))
    f["suite"] = write("s.json", json.dumps({
        "prompt": "summ", "dataset": "news", "metrics": ["rougeL", "token_f1"],
        "primary_metric": "rougeL", "models": ["base", "rep"]}))
    f["outputs"] = write("out.jsonl", jsonl([{"id": c["id"], "output": "the cat",
                                              "latency_ms": 10 + i}
                                             for i, c in enumerate(cases)]))
    f["vars"] = write("vars.json", json.dumps({"article": "A dog."}))
    f["rouge"] = write("rouge.jsonl", jsonl([{"prediction": "the cat sat",
                                             "reference": "the cat sat down"}] * 3))
    f["cls"] = write("cls.jsonl", jsonl([{"true": "a", "pred": "a"}, {"true": "b", "pred": "a"}]))
    f["bleu"] = write("bleu.jsonl", jsonl([{"prediction": "the cat sat",
                                           "references": ["the cat sat down"]}]))
    f["scores"] = write("cmp.jsonl", jsonl([{"a": 0.5 + i / 10, "b": 0.4 + i / 20}
                                           for i in range(5)]))
    f["model"] = os.path.join(root, "tiny")
    tinymodel.write_model("llama-gqa", f["model"])
    f["tokenizer"] = os.path.join(f["model"], "tokenizer.json")
    f["loglik"] = write("ll.jsonl", jsonl([{"context": "The", "continuation": " cat"}]))
    f["junit"] = os.path.join(root, "junit.xml")
    subprocess.run(["git", "init", "-q", "--bare", os.path.join(root, "remote.git")], check=True)

    ok("catalog", "init")
    ok("prompt", "add", "summ", "--file", f["prompt"])
    ok("prompt", "label", "summ", "v1", "production")
    ok("dataset", "add", "news", "--file", f["cases"])
    ok("suite", "add", "summ", "--file", f["suite"])
    ok("model", "add", "base", "--provider", "baseline", "--strategy", "copy", "--var", "article")
    ok("model", "add", "rep", "--provider", "replay", "--file", f["outputs"], "--price-hour", "2")
    ok("model", "add", "loc", "--provider", "local", "--path", f["model"], "--device", "cpu",
       "--max-new-tokens", "4")
    runs = json.loads(ok("eval", "summ", "--json"))
    f["run"] = str(runs[0]["id"] if isinstance(runs, list) else runs["runs"][0]["id"])
    ok("user", "add", "alice", "--role", "viewer")
    return f


# Each template: the arguments (with {placeholders}) and standard input.
TEMPLATES = [
    ("db status --json", None),
    ("db migrate", None),
    ("catalog status --json", None),
    ("catalog reindex --json", None),
    ("catalog push {root}/remote.git --json", None),
    ("prompt add summ --file {prompt2} -m msg --author A_<a@b.c> --json", None),
    ("prompt list --tag news --all --json", None),
    ("prompt show summ@v1 --json", None),
    ("prompt log summ --json", None),
    ("prompt diff summ v1 production --json", None),
    ("prompt label summ v1 staging --json", None),
    ("prompt unlabel summ production --json", None),
    ("prompt rm summ -m gone --json", None),
    ("prompt render summ@production --vars-file {vars} --json", None),
    ("prompt render summ --vars {{\"article\":\"x\"}}", None),
    ("dataset add news2 --file {cases} -m msg --json", None),
    ("dataset show news@v1 --limit 2 --json", None),
    ("dataset diff news v1 v1 --json", None),
    ("dataset rm news --json", None),
    ("suite add summ2 --file {suite} --json", None),
    ("suite show summ --json", None),
    ("model add m2 --provider openai --base-url http://127.0.0.1:9/v1 --model-id x "
     "--price-in 1 --price-out 2 --concurrency 2 --rpm 10 --timeout-s 5 --max-retries 1", None),
    ("model add base --provider baseline --strategy lead-2 --var article --replace", None),
    ("model show rep --json", None),
    ("model rm rep", None),
    ("eval summ --model base --limit 2 --concurrency 1 --no-cache --repeat 2 --json", None),
    ("eval --resume {run} --json", None),
    ("runs list --suite summ --model base --status complete --limit 5 --offset 0 --json", None),
    ("runs show {run} --items --json", None),
    ("runs rm {run}", None),
    ("rank summ --policy weighted:quality=0.5,cost=0.3,speed=0.2 --require quality>=0 --json",
     None),
    ("rank summ --policy priority:cost,quality,speed,tolerance=0.1", None),
    ("gate summ --model base --baseline none --min rougeL=0 --max-regression rougeL=0.1 "
     "--alpha 0.05 --max-cost-usd 5 --max-p95-ms 100000 --junit {junit} --json", None),
    ("user add bob --role rater", None),
    ("user token alice", None),
    ("user rm alice", None),
    ("metrics rouge --stem --types rouge1,rougeL --summary --seed 1 --resamples 10 "
     "--confidence 0.9 --device cpu {rouge}", None),
    ("metrics classification --labels a,b --pos-label a --zero-division 1 {cls}", None),
    ("metrics match --ignore-case --ignore-regex [0-9] --summary {rouge}", None),
    ("metrics bleu --tokenize intl --smooth add-k --smooth-value 0.5 --sentence {bleu}", None),
    ("metrics cosine --tfidf --summary --device cpu {rouge}", None),
    ("metrics compare --seed 2 --resamples 20 --confidence 0.8 {scores}", None),
    ("tokenize --tokenizer {tokenizer} --no-special --split-special", '{{"text": "hi there"}}\n'),
    ("tokenize --tokenizer {model} --decode --skip-special", '{{"ids": [104, 105]}}\n'),
    ("generate --model {model} --prompt Hello --max-new-tokens 3 --temperature 0.7 --top-k 5 "
     "--top-p 0.9 --seed 3 --stop zz --device cpu --threads 1 --dtype float32 --json", None),
    ("generate --model {model} --prompt The --continuation _cat --json", None),
    ("generate --model {model} --loglik {loglik} --batch 2 --device cpu", None),
]

# Options that take no value; every other "--x" is followed by its value.
FLAGS = {"--json", "--all", "--items", "--replace", "--no-cache", "--no-judge", "--stem",
         "--summary", "--ignore-case", "--sentence", "--tfidf", "--no-special",
         "--split-special", "--decode", "--skip-special", "--greedy", "--chat"}


def expand(template, f):
    """The template's arguments, placeholders filled. '_' in a template word
    stands for a space inside one argument."""
    args = []
    for word in template.split(" "):
        word = word.format(**f)
        args.append(word.replace("_", " ") if "_" in word and "/" not in word else word)
    return args


def variants(args):
    """(label, args) pairs: the mutations of one valid command line."""
    out = []
    head, rest = args[:COMMAND_WORDS], args[COMMAND_WORDS:]
    if not rest or args[0] in ("eval", "rank", "gate", "tokenize", "generate"):
        head, rest = args[:1], args[1:]
    for i in range(len(rest)):
        out.append(("drop %d" % i, head + rest[:i] + rest[i + 1:]))
        if rest[i].startswith("-"):
            if rest[i] not in FLAGS:
                out.append(("no value %d" % i, head + rest[:i + 1]))
            continue
        for h in HOSTILE:
            out.append(("replace %d by %r" % (i, h[:20]), head + rest[:i] + [h] + rest[i + 1:]))
    out.append(("unknown option", args + ["--bogus"]))
    out.append(("stray argument", args + ["stray"]))
    return out


def state(data):
    """What a failed command must leave as it was: the database's rows and
    every file of the data directory but git's object store (an object
    written for a refused commit is unreachable garbage, not a change)."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "assay.db"), uri=True)
    dump = list(con.iterdump())
    con.close()
    files = {}
    for base, dirs, names in os.walk(data):
        dirs[:] = [d for d in dirs if os.path.join(base, d) != os.path.join(data, "catalog",
                                                                            ".git", "objects")]
        for n in names:
            if n.startswith("assay.db"):
                continue
            path = os.path.join(base, n)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, data)] = hashlib.sha1(fh.read()).hexdigest()
    return dump, files


# Listings that read back everything a command can store.
LISTINGS = [["prompt", "list", "--all", "--json"], ["dataset", "list", "--all", "--json"],
            ["suite", "list", "--all", "--json"], ["model", "list", "--json"],
            ["runs", "list", "--json"], ["user", "list", "--json"], ["catalog", "status", "--json"]]


def readable(data, label):
    """After a command changed the data directory: every listing still
    answers JSON (a value stored that JSON cannot hold would break it)."""
    for args in LISTINGS:
        p = subprocess.run([ASSAY, "--data", data] + args, capture_output=True, timeout=60)
        try:
            json.loads(p.stdout.decode("utf-8"))
        except ValueError:
            return "%s: then assay %s: exit %d, not JSON: %r %r" % (
                label, " ".join(args), p.returncode, p.stdout[:200], p.stderr[:300])
    return None


def run_variant(pristine, before, label, args, stdin, must_succeed=False):
    """Run one variant on a copy of the data directory, from a folder deep
    enough that "../../../x" stays inside the copy; a problem string or None."""
    work = tempfile.mkdtemp(prefix="assay-hostile-")
    try:
        data = os.path.join(work, "data")
        cwd = os.path.join(work, "a", "b", "c", "d")
        os.makedirs(cwd)
        shutil.copytree(pristine, data, symlinks=True)
        argv = [ASSAY, "--data", data] + args
        try:
            p = subprocess.run([os.fsencode(a) for a in argv], input=stdin.encode() if stdin
                               else b"", capture_output=True, timeout=120, cwd=cwd)
        except subprocess.TimeoutExpired:
            return "%s: did not end within 120 s" % label
        err = p.stderr.decode("utf-8", errors="replace")
        if must_succeed and p.returncode != 0:
            return "%s: exit %d: %s" % (label, p.returncode, err[-2000:])
        if p.returncode < 0 or p.returncode > 3:
            return "%s: exit status %d\n%s" % (label, p.returncode, err[-3000:])
        if p.returncode == 0 or (args[0] == "gate" and p.returncode == 1):
            # done, or the gate's verdict: what it stored must read back
            return readable(data, label) if state(data) != before else None
        if err.encode("utf-8") != p.stderr:
            return "%s: stderr is not UTF-8: %r" % (label, p.stderr[:300])
        lines = [line for line in err.splitlines() if line.strip()]
        if len(lines) != 1 or not lines[0].startswith("assay: "):
            return "%s: exit %d, not a one-line error: %r" % (label, p.returncode, err[:600])
        if state(data) != before:
            return "%s: failed (%s) but changed the data directory" % (label, lines[0][:200])
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def every_command_survives_hostile_arguments(env):
    f = seed(env.root)
    before = state(f["data"])
    jobs = []
    for template, stdin in TEMPLATES:
        args = expand(template, f)
        feed = stdin.format(**f) if stdin else None
        # The valid command line must succeed, or its mutations test nothing.
        problem = run_variant(f["data"], before, "valid: assay " + template, args, feed, True)
        check(problem is None, problem)
        for label, v in variants(args):
            jobs.append(("assay %s [%s]" % (template, label), v, feed))
    workers = max(2, min(8, os.cpu_count() or 2))
    problems = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_variant, f["data"], before, label, v, feed)
                   for label, v, feed in jobs]
        for fut in futures:
            problem = fut.result()
            if problem:
                problems.append(problem)
    print("%d hostile command lines, %d problems" % (len(jobs), len(problems)), flush=True)
    check(not problems, "\n".join(problems[:40]))


def global_options_survive_hostile_values(env):
    f = seed(env.root)
    before = state(f["data"])
    cwd = env.path("a", "b", "c", "d")
    os.makedirs(cwd)
    for h in HOSTILE:
        for args in (["--data", h, "db", "status"], ["--data", h, "catalog", "status", "--json"],
                     [h], ["help", h], [h, "--help"], ["--verbose", "--quiet", h]):
            argv = [ASSAY] + args
            p = subprocess.run([os.fsencode(a) for a in argv], capture_output=True,
                               timeout=60, cwd=cwd)
            check(0 <= p.returncode <= 3, "assay %r: exit %d" % (args, p.returncode))
            if p.returncode != 0:
                err = p.stderr.decode("utf-8", errors="replace")
                check(err.encode("utf-8") == p.stderr, "assay %r: stderr is not UTF-8: %r"
                      % (args, p.stderr))
                lines = [x for x in err.splitlines() if x.strip()]
                check(len(lines) == 1 and lines[0].startswith("assay: "),
                      "assay %r: %r" % (args, p.stderr))
    check(state(f["data"]) == before, "the data directory changed")


def serve_refuses_bad_options(env):
    """serve with a bad --port, --threads or --bind ends at once with one
    line (civetweb's own complaints folded into it), never serving on some
    other address; the one valid value here (--port 0) serves."""
    f = seed(env.root)
    for opt in ("--port", "--threads", "--bind"):
        for h in HOSTILE + ["999.1.1.1", "nothere", "127.0.0.1:80", "::1x"]:
            args = ["--port", "0", "--bind", "127.0.0.1", "--threads", "2"]
            args[args.index(opt) + 1] = h
            argv = [ASSAY, "--data", f["data"], "serve"] + args
            p = subprocess.Popen([os.fsencode(a) for a in argv], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            try:
                out, err = p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.terminate()
                out, err = p.communicate()
                check((opt, h) == ("--port", "0"), "serve %s %r: served" % (opt, h))
                check(b"serving on http://127.0.0.1:" in out, out)
                continue
            check((opt, h) != ("--port", "0"), "serve --port 0 ended: %r" % err)
            lines = [x for x in err.decode("utf-8").splitlines() if x.strip()]
            check(p.returncode in (1, 2) and len(lines) == 1 and lines[0].startswith("assay: "),
                  "serve %s %r: exit %d: %r" % (opt, h, p.returncode, err))
    # the port taken by another listener
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        p = subprocess.run([ASSAY, "--data", f["data"], "serve", "--port", port],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 1 and p.stderr.count("\n") == 1 and "in use" in p.stderr and
              port in p.stderr, repr(p.stderr))


main([every_command_survives_hostile_arguments, global_options_survive_hostile_values,
      serve_refuses_bad_options])
