/* Tokenizers of the local engine: load a Hugging Face tokenizer.json (and
 * optionally its tokenizer_config.json), encode text to token ids exactly as
 * the Hugging Face `tokenizers` library does, decode ids back to text, and
 * render the chat templates of the supported model families.
 *
 * Supported files (anything else is refused with AS_EUNSUPPORTED naming the
 * part, a malformed file with AS_EINVAL; never a crash):
 *  - model BPE, byte-level (GPT-2, Llama 3, Qwen2/Qwen3): pre-tokenizer
 *    Split(Regex) with one of the GPT-2 / Llama 3 / Qwen2 regexes, or
 *    ByteLevel(use_regex); merges as "a b" strings or ["a","b"] pairs;
 *    ignore_merges.
 *  - model BPE, SentencePiece style (Llama 2, TinyLlama, Gemma): `▁` for
 *    spaces (normalizer Prepend/Replace or pre-tokenizer Metaspace), byte
 *    fallback to <0xNN> tokens, fuse_unk.
 *  - added tokens (special or not; lstrip, rstrip, single_word, normalized),
 *    matched leftmost-longest before pre-tokenization;
 *  - normalizers NFC, Prepend, Replace (string pattern), Sequence;
 *  - post-processors TemplateProcessing, ByteLevel, Sequence;
 *  - decoders ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace,
 *    Sequence.
 *
 * Encoding pipeline (ENGINE.md B2): split on added tokens -> normalize the
 * plain segments -> pre-tokenize -> BPE -> post-processor (BOS/EOS).
 *
 * A loaded eng_tokenizer is immutable: encode/decode may be called from
 * several threads at once. */
#ifndef AS_ENG_TOKENIZER_H
#define AS_ENG_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#define ENG_TOK_FILE_MAX ((size_t)128 << 20)  /* tokenizer.json cap */
#define ENG_TOK_CONFIG_MAX ((size_t)16 << 20) /* tokenizer_config.json cap */
#define ENG_TOK_TEXT_MAX ((size_t)16 << 20)   /* one text to encode */
#define ENG_TOK_MAX_EOS 8

typedef struct eng_tokenizer eng_tokenizer;

/* Load 'tokenizer_json' (a path) and, when 'config_json' is not NULL and
 * exists, tokenizer_config.json (the bos/eos/pad/unk token names and the
 * chat template). Its add_bos_token/add_eos_token are not applied: the
 * post-processor of tokenizer.json decides, as in HF `tokenizers`. *out is
 * owned by the caller: eng_tok_free. */
int eng_tok_load(eng_tokenizer **out, const char *tokenizer_json, const char *config_json);

/* Load a model folder's tokenizer.json + tokenizer_config.json (the latter
 * optional). Same ownership as eng_tok_load. */
int eng_tok_load_dir(eng_tokenizer **out, const char *dir);

/* The same from memory ('cfg' may be NULL). Used by the fuzz target. */
int eng_tok_load_mem(eng_tokenizer **out, const char *json, size_t len, const char *cfg,
                     size_t cfg_len);

void eng_tok_free(eng_tokenizer *t);

/* Encoding flags. */
enum {
    /* Run the post-processor: BOS/EOS of the TemplateProcessing (what HF
     * calls add_special_tokens=True). */
    ENG_TOK_ADD_SPECIAL = 1 << 0,
    /* Do not recognise special added tokens written in the text (HF
     * split_special_tokens / encode_special_tokens): user text that spells
     * "<|im_start|>" is then tokenized as plain text. Non-special added
     * tokens are still matched. */
    ENG_TOK_SPLIT_SPECIAL = 1 << 1
};

/* Encode 'len' bytes of UTF-8 'text' (invalid UTF-8 gives AS_EINVAL; over
 * ENG_TOK_TEXT_MAX gives AS_ETOOBIG). *ids (caller frees with free()) gets
 * *n ids. Working memory is a few times the text, up to about 60 bytes per
 * byte for a SentencePiece file (Gemma) on text without newlines, which BPE
 * takes as one word. */
int eng_tok_encode(const eng_tokenizer *t, const char *text, size_t len, int flags, int32_t **ids,
                   size_t *n);

/* Decode ids to text (NUL-terminated, caller frees with free()); *len may be
 * NULL. With skip_special, special added tokens are left out. Byte
 * sequences that are not valid UTF-8 become U+FFFD, as in HF. An id out of
 * range gives AS_EINVAL. */
int eng_tok_decode(const eng_tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                   char **text, size_t *len);

/* Number of ids: the largest id of the vocabulary or added tokens + 1 (HF
 * get_vocab_size(with_added_tokens=True)). */
int32_t eng_tok_vocab_size(const eng_tokenizer *t);

/* The text of one token as stored in the vocabulary (borrowed for the life of
 * 't'), or NULL when no token has that id. */
const char *eng_tok_id_to_piece(const eng_tokenizer *t, int32_t id);

/* The id of a vocabulary or added token string, or -1. */
int32_t eng_tok_piece_to_id(const eng_tokenizer *t, const char *piece);

/* 1 when 'id' is a special added token (BOS, EOS, <|im_start|>, ...). */
int eng_tok_is_special(const eng_tokenizer *t, int32_t id);

/* Special ids, -1 where the tokenizer has none. bos/eos/pad/unk come from
 * tokenizer_config.json (bos_token, eos_token, ...) when loaded with it, else
 * from the post-processor (bos) and well-known names. */
int32_t eng_tok_bos(const eng_tokenizer *t);
int32_t eng_tok_eos(const eng_tokenizer *t);
int32_t eng_tok_pad(const eng_tokenizer *t);
int32_t eng_tok_unk(const eng_tokenizer *t);

/* The ids that end a generation: eos plus the end-of-turn and end-of-text
 * tokens of the supported families that this vocabulary has as special
 * tokens (<|eot_id|>, <|eom_id|>, <|end_of_text|>, <|im_end|>,
 * <|endoftext|>, <end_of_turn>, <eos>, </s>). Copies at most 'max' into
 * 'ids' and returns how many it copied. Callers with a
 * generation_config.json add its eos_token_id list themselves. */
size_t eng_tok_eos_ids(const eng_tokenizer *t, int32_t *ids, size_t max);

/* The chat_template text of tokenizer_config.json (borrowed for the life of
 * 't'), NULL when none was loaded. chat_template.h renders it. */
const char *eng_tok_chat_template(const eng_tokenizer *t);

/* Streaming decoder: feed ids one at a time, get the text that is complete so
 * far. Only whole UTF-8 characters are ever emitted; bytes of a character
 * split across tokens are held until its last byte arrives. The
 * concatenation of everything emitted plus eng_tok_stream_finish equals
 * eng_tok_decode of all the ids. */
typedef struct eng_tok_stream eng_tok_stream;

/* 'skip_special' as in eng_tok_decode. *out: caller frees with
 * eng_tok_stream_free. 't' must outlive the stream. */
int eng_tok_stream_new(eng_tok_stream **out, const eng_tokenizer *t, int skip_special);
/* Add one id. *text points to the newly complete text (possibly empty,
 * *len 0), borrowed until the next call on the stream. */
int eng_tok_stream_put(eng_tok_stream *s, int32_t id, const char **text, size_t *len);
/* Flush what is held back (an unfinished character becomes U+FFFD). Same
 * borrowing as eng_tok_stream_put. */
int eng_tok_stream_finish(eng_tok_stream *s, const char **text, size_t *len);
void eng_tok_stream_free(eng_tok_stream *s);

#endif
