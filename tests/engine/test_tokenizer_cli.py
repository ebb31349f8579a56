"""assay tokenize: JSON lines in, ids (or text, or a chat prompt) out; the
ids are those Hugging Face `tokenizers` gave (tests/fixtures/tokenizer)."""
import json
import os
import shutil

from assaytest import SOURCE_DIR, check, main

FIX = os.path.join(SOURCE_DIR, "tests", "fixtures", "tokenizer")


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f.read().split("\n") if l]


def jsonl(out):
    return [json.loads(l) for l in out.split("\n") if l]


def test_encode_matches_hf(env):
    corpus = open(os.path.join(FIX, "corpus.jsonl"), encoding="utf-8").read()
    exp = lines(os.path.join(FIX, "expected_tiny_llama3.jsonl"))
    tok = os.path.join(FIX, "tiny_llama3.json")
    got = jsonl(env.ok("tokenize", "--tokenizer", tok, stdin=corpus).out)
    check([g["ids"] for g in got] == [e["ids"] for e in exp], "ids differ from HF")
    got = jsonl(env.ok("tokenize", "--tokenizer", tok, "--no-special", stdin=corpus).out)
    check([g["ids"] for g in got] == [e["ids_plain"] for e in exp], "plain ids differ")


def test_decode_matches_hf(env):
    exp = lines(os.path.join(FIX, "expected_tiny_sp.jsonl"))
    tok = os.path.join(FIX, "tiny_sp.json")
    stdin = "".join(json.dumps({"ids": e["ids"]}) + "\n" for e in exp)
    got = jsonl(env.ok("tokenize", "--tokenizer", tok, "--decode", stdin=stdin).out)
    check([g["text"] for g in got] == [e["text"] for e in exp], "decoded text differs")
    got = jsonl(env.ok("tokenize", "--tokenizer", tok, "--decode", "--skip-special",
                       stdin=stdin).out)
    check([g["text"] for g in got] == [e["text_skip"] for e in exp], "skip-special differs")


def test_chat_renders_template_of_model_folder(env):
    d = env.path("model")
    os.makedirs(d)
    shutil.copy(os.path.join(FIX, "tiny_llama3.json"), os.path.join(d, "tokenizer.json"))
    env.write_json("model/tokenizer_config.json", {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "chat_template": "{% for message in messages %}{{ '<|start_header_id|>' + "
                         "message['role'] + '<|end_header_id|>\\n\\n' }}{% endfor %}"})
    msgs = {"messages": [{"role": "user", "content": " Hi! "}]}
    out = jsonl(env.ok("tokenize", "--tokenizer", d, "--chat", stdin=json.dumps(msgs) + "\n").out)
    want = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n")
    check(out[0]["text"] == want, "rendered %r" % out[0]["text"])
    ids = out[0]["ids"]
    check(ids[0] == 488 and ids.count(488) == 1, "one BOS at the start: %r" % ids)
    # decoding the ids gives the prompt back
    back = jsonl(env.ok("tokenize", "--tokenizer", d, "--decode",
                        stdin=json.dumps({"ids": ids}) + "\n").out)
    check(back[0]["text"] == want, "decoded %r" % back[0]["text"])


def test_bad_input(env):
    tok = os.path.join(FIX, "tiny_llama3.json")
    env.fails("tokenize", code=2)
    env.fails("tokenize", "--tokenizer", env.path("missing.json"), stdin="", contains="missing.json")
    env.write("wp.json", '{"model": {"type": "WordPiece", "vocab": {"a": 0}}}')
    env.fails("tokenize", "--tokenizer", env.path("wp.json"), stdin="",
              contains="WordPiece is not supported")
    env.fails("tokenize", "--tokenizer", tok, stdin='{"text": "ok"}\n{"text": 3}\n',
              contains="line 2")
    env.fails("tokenize", "--tokenizer", tok, stdin='not json\n', contains="line 1")
    env.fails("tokenize", "--tokenizer", tok, "--decode", stdin='{"ids": [1, 999999]}\n',
              contains="999999")
    env.fails("tokenize", "--tokenizer", tok, "--chat",
              stdin='{"messages": [{"role": "user", "content": "x"}]}\n',
              contains="chat template")


if __name__ == "__main__":
    main([test_encode_matches_hf, test_decode_matches_hf,
          test_chat_renders_template_of_model_folder, test_bad_input])
