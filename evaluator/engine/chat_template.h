/* Chat templates of the supported model families, hard-coded in C instead of
 * running Jinja: each renderer reproduces, character for character, the
 * chat_template of the family's tokenizer_config.json for plain
 * conversations (system/user/assistant messages with string content; no
 * tools, no images). The family is detected from the template text.
 *
 *  LLAMA3  Llama 3 Instruct: <|begin_of_text|><|start_header_id|>{role}
 *          <|end_header_id|>\n\n{content|trim}<|eot_id|> ...
 *  LLAMA31 Llama 3.1/3.2/3.3 Instruct: as LLAMA3 with the system block
 *          "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024"
 *          (the template's default date_string; transformers gives the 3.2
 *          template today's date instead, which a reproducible
 *          evaluation avoids)
 *  QWEN2, QWEN25, QWEN3  ChatML: <|im_start|>{role}\n{content}<|im_end|>\n
 *          with the family's default system prompt (Qwen2: "You are a
 *          helpful assistant.", Qwen2.5: "You are Qwen, created by Alibaba
 *          Cloud. ...", Qwen3: none); Qwen3 drops the <think> blocks of
 *          assistant turns before the last user message.
 *  ZEPHYR  Zephyr / TinyLlama-Chat: <|{role}|>\n{content}</s>\n
 *  GEMMA   Gemma 1/2/3: <bos><start_of_turn>{user|model}\n{content|trim}
 *          <end_of_turn>\n; the system message is prefixed to the first
 *          user turn. */
#ifndef AS_ENG_CHAT_TEMPLATE_H
#define AS_ENG_CHAT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "evaluator/engine/tokenizer.h"

typedef enum eng_chat_family {
    ENG_CHAT_NONE = 0,
    ENG_CHAT_LLAMA3,
    ENG_CHAT_LLAMA31,
    ENG_CHAT_QWEN2,
    ENG_CHAT_QWEN25,
    ENG_CHAT_QWEN3,
    ENG_CHAT_ZEPHYR,
    ENG_CHAT_GEMMA
} eng_chat_family;

/* The family whose template 'jinja' is, or ENG_CHAT_NONE when it is none of
 * the supported ones. */
eng_chat_family eng_chat_detect(const char *jinja);

/* The family of a loaded tokenizer (from its tokenizer_config.json
 * chat_template), ENG_CHAT_NONE when it has no template or an unknown one. */
eng_chat_family eng_chat_family_of(const eng_tokenizer *t);

/* Family names for the command line and configs: "llama3", "llama3.1",
 * "qwen2", "qwen2.5", "qwen3", "zephyr", "gemma". */
const char *eng_chat_family_name(eng_chat_family f);
/* AS_EINVAL for an unknown name. */
int eng_chat_family_parse(const char *name, eng_chat_family *out);

/* Render 'messages' (a JSON array of {"role": "system"|"user"|"assistant",
 * "content": string}) into *out (NUL-terminated, caller frees with free()).
 * With add_generation_prompt the assistant header is appended. 'bos_text' is
 * the BOS token string the template starts with (LLAMA3/31, GEMMA); NULL
 * uses the family's usual one. Messages that the family's template would
 * reject (Gemma: roles not alternating) give AS_EINVAL. */
int eng_chat_render(char **out, eng_chat_family f, const json_t *messages,
                    int add_generation_prompt, const char *bos_text);

/* Render with the tokenizer's own family and BOS, then encode the result
 * without adding the post-processor's BOS (as transformers'
 * apply_chat_template(tokenize=True) does). *ids: caller frees with free().
 * AS_EUNSUPPORTED when the tokenizer has no supported chat template. */
int eng_chat_encode(const eng_tokenizer *t, const json_t *messages, int add_generation_prompt,
                    int32_t **ids, size_t *n);

#endif
