/* Chat templates of the supported families, written out in C. Each renderer
 * follows its Jinja template (quoted in the comments) as transformers runs
 * it (trim_blocks and lstrip_blocks on), for messages with string content. */
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "evaluator/engine/chat_template.h"
#include "evaluator/engine/unicode.h"

#define CHAT_MAX ((size_t)64 << 20)

static const struct {
    eng_chat_family f;
    const char *name;
} NAMES[] = {{ENG_CHAT_LLAMA3, "llama3"}, {ENG_CHAT_LLAMA31, "llama3.1"},
             {ENG_CHAT_QWEN2, "qwen2"},   {ENG_CHAT_QWEN25, "qwen2.5"},
             {ENG_CHAT_QWEN3, "qwen3"},   {ENG_CHAT_ZEPHYR, "zephyr"},
             {ENG_CHAT_GEMMA, "gemma"}};

eng_chat_family eng_chat_detect(const char *j)
{
    if (!j)
        return ENG_CHAT_NONE;
    if (strstr(j, "<|start_header_id|>"))
        return strstr(j, "Cutting Knowledge Date") ? ENG_CHAT_LLAMA31 : ENG_CHAT_LLAMA3;
    if (strstr(j, "<|im_start|>")) {
        if (strstr(j, "You are Qwen, created by Alibaba Cloud"))
            return ENG_CHAT_QWEN25;
        if (strstr(j, "</think>") || strstr(j, "reasoning_content"))
            return ENG_CHAT_QWEN3;
        if (strstr(j, "You are a helpful assistant."))
            return ENG_CHAT_QWEN2;
        return ENG_CHAT_QWEN3;
    }
    if (strstr(j, "<|user|>") && strstr(j, "<|assistant|>"))
        return ENG_CHAT_ZEPHYR;
    if (strstr(j, "<start_of_turn>"))
        return ENG_CHAT_GEMMA;
    return ENG_CHAT_NONE;
}

eng_chat_family eng_chat_family_of(const eng_tokenizer *t)
{
    return eng_chat_detect(eng_tok_chat_template(t));
}

const char *eng_chat_family_name(eng_chat_family f)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (NAMES[i].f == f)
            return NAMES[i].name;
    }
    return "none";
}

int eng_chat_family_parse(const char *name, eng_chat_family *out)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        if (strcmp(NAMES[i].name, name) == 0) {
            *out = NAMES[i].f;
            return 0;
        }
    }
    return as_error_set(AS_EINVAL,
                        "chat template family '%s' is not one of llama3, "
                        "llama3.1, qwen2, qwen2.5, qwen3, zephyr, gemma",
                        name);
}

typedef struct msg {
    const char *role, *content, *reasoning;
    size_t len, rlen;
} msg;

/* Python str.isspace(): White_Space plus the separators U+001C..U+001F. */
static int py_space(uint32_t cp)
{
    return (cp >= 0x1C && cp <= 0x1F) || (eng_uni_flags(cp) & ENG_UNI_SPACE);
}

/* Jinja's trim (Python str.strip()): the span without surrounding
 * whitespace. */
static void trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t a = 0, b = *len;
    while (a < b) {
        uint32_t cp;
        size_t k = eng_uni_next(p + a, b - a, &cp);
        if (!py_space(cp))
            break;
        a += k;
    }
    while (b > a) {
        size_t k = b - 1;
        while (k > a && (p[k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        eng_uni_next(p + k, b - k, &cp);
        if (!py_space(cp))
            break;
        b = k;
    }
    *s += a;
    *len = b - a;
}

/* Strip the character 'c' from the left and/or right of a span. */
static void strip_char(const char **s, size_t *len, char c, int left, int right)
{
    while (left && *len > 0 && **s == c) {
        (*s)++;
        (*len)--;
    }
    while (right && *len > 0 && (*s)[*len - 1] == c)
        (*len)--;
}

static const char *find_last(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = len >= nl ? len - nl + 1 : 0; i-- > 0;) {
        if (memcmp(s + i, needle, nl) == 0)
            return s + i;
    }
    return NULL;
}

static const char *find_first(const char *s, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(s + i, needle, nl) == 0)
            return s + i;
    }
    return NULL;
}

static int get_messages(const json_t *messages, msg **out, size_t *n)
{
    size_t i;
    const json_t *m;
    *out = NULL;
    *n = 0;
    if (!json_is_array(messages) || json_array_size(messages) == 0)
        return as_error_set(AS_EINVAL, "messages: a non-empty array is required");
    msg *v = calloc(json_array_size(messages), sizeof *v);
    if (!v)
        return as_error_set(AS_ENOMEM, "out of memory");
    json_array_foreach(messages, i, m)
    {
        const json_t *role = json_object_get(m, "role");
        const json_t *content = json_object_get(m, "content");
        const json_t *rc = json_object_get(m, "reasoning_content");
        if (!json_is_string(role) || !json_is_string(content)) {
            free(v);
            return as_error_set(AS_EINVAL,
                                "messages[%zu]: role and string content are "
                                "required",
                                i);
        }
        const char *r = json_string_value(role);
        if (strcmp(r, "system") != 0 && strcmp(r, "user") != 0 && strcmp(r, "assistant") != 0) {
            free(v);
            return as_error_set(AS_EINVAL,
                                "messages[%zu]: role '%s' is not system, user "
                                "or assistant",
                                i, r);
        }
        v[i].role = r;
        v[i].content = json_string_value(content);
        v[i].len = json_string_length(content);
        if (json_is_string(rc)) {
            v[i].reasoning = json_string_value(rc);
            v[i].rlen = json_string_length(rc);
        }
    }
    *out = v;
    *n = json_array_size(messages);
    return 0;
}

static int put(as_buf *b, const char *s)
{
    return as_buf_puts(b, s);
}

static int putn(as_buf *b, const char *s, size_t n)
{
    return as_buf_append(b, s, n);
}

/* Llama 3: "{% set content = '<|start_header_id|>' + message['role'] +
 * '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}
 * {% if loop.index0 == 0 %}{% set content = bos_token + content %}..." */
static int llama_turns(as_buf *b, const msg *m, size_t n, int add_gen)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *c = m[i].content;
        size_t len = m[i].len;
        trim(&c, &len);
        if ((rc = put(b, "<|start_header_id|>")) < 0 || (rc = put(b, m[i].role)) < 0 ||
            (rc = put(b, "<|end_header_id|>\n\n")) < 0 || (rc = putn(b, c, len)) < 0)
            break;
        rc = put(b, "<|eot_id|>");
    }
    if (rc == 0 && add_gen)
        rc = put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return rc;
}

/* Llama 3.1: the system block always comes first, with the knowledge and
 * date lines ("26 Jul 2024" is the template's default date_string). */
static int llama31(as_buf *b, const msg *m, size_t n, int add_gen)
{
    const char *sys = "";
    size_t slen = 0;
    int rc;
    if (strcmp(m[0].role, "system") == 0) {
        sys = m[0].content;
        slen = m[0].len;
        trim(&sys, &slen);
        m++;
        n--;
    }
    if ((rc = put(b, "<|start_header_id|>system<|end_header_id|>\n\n"
                     "Cutting Knowledge Date: December 2023\n"
                     "Today Date: 26 Jul 2024\n\n")) < 0 ||
        (rc = putn(b, sys, slen)) < 0 || (rc = put(b, "<|eot_id|>")) < 0)
        return rc;
    return llama_turns(b, m, n, add_gen);
}

static int chatml_turn(as_buf *b, const char *role, const char *c, size_t len)
{
    int rc;
    if ((rc = put(b, "<|im_start|>")) < 0 || (rc = put(b, role)) < 0 || (rc = put(b, "\n")) < 0 ||
        (rc = putn(b, c, len)) < 0)
        return rc;
    return put(b, "<|im_end|>\n");
}

/* Qwen2 and Qwen2.5: every message as a ChatML turn, with the default system
 * prompt when the first message is not a system one. */
static int qwen2(as_buf *b, const msg *m, size_t n, int add_gen, const char *dflt)
{
    int rc = 0;
    if (strcmp(m[0].role, "system") != 0)
        rc = chatml_turn(b, "system", dflt, strlen(dflt));
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = chatml_turn(b, m[i].role, m[i].content, m[i].len);
    if (rc == 0 && add_gen)
        rc = put(b, "<|im_start|>assistant\n");
    return rc;
}

/* Qwen3: no default system prompt; assistant turns after the last user
 * message keep their reasoning in a <think> block, earlier ones lose it. */
static int qwen3(as_buf *b, const msg *m, size_t n, int add_gen)
{
    int rc = 0;
    size_t last_query = n - 1;
    for (size_t k = n; k-- > 0;) {
        if (strcmp(m[k].role, "user") == 0 &&
            !(m[k].len >= 15 && memcmp(m[k].content, "<tool_response>", 15) == 0 &&
              m[k].len >= 16 &&
              memcmp(m[k].content + m[k].len - 16, "</tool_response>", 16) == 0)) {
            last_query = k;
            break;
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const msg *x = &m[i];
        if (strcmp(x->role, "user") == 0 || (strcmp(x->role, "system") == 0)) {
            rc = chatml_turn(b, x->role, x->content, x->len);
            continue;
        }
        const char *content = x->content, *reason = "";
        size_t clen = x->len, rlen = 0;
        if (x->reasoning) {
            reason = x->reasoning;
            rlen = x->rlen;
        } else if (find_first(content, clen, "</think>")) {
            /* content.split('</think>')[-1].lstrip('\n') */
            const char *last = find_last(x->content, x->len, "</think>");
            content = last + 8;
            clen = (size_t)(x->content + x->len - content);
            strip_char(&content, &clen, '\n', 1, 0);
            /* content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
            const char *first = find_first(x->content, x->len, "</think>");
            reason = x->content;
            rlen = (size_t)(first - x->content);
            strip_char(&reason, &rlen, '\n', 0, 1);
            const char *open = find_last(reason, rlen, "<think>");
            if (open) {
                rlen -= (size_t)(open + 7 - reason);
                reason = open + 7;
            }
            strip_char(&reason, &rlen, '\n', 1, 0);
        }
        if ((rc = put(b, "<|im_start|>assistant\n")) < 0)
            break;
        if (i > last_query && (i == n - 1 || rlen > 0)) {
            strip_char(&reason, &rlen, '\n', 1, 1);
            strip_char(&content, &clen, '\n', 1, 0);
            if ((rc = put(b, "<think>\n")) < 0 || (rc = putn(b, reason, rlen)) < 0 ||
                (rc = put(b, "\n</think>\n\n")) < 0)
                break;
        }
        if ((rc = putn(b, content, clen)) < 0)
            break;
        rc = put(b, "<|im_end|>\n");
    }
    if (rc == 0 && add_gen)
        rc = put(b, "<|im_start|>assistant\n");
    return rc;
}

/* Zephyr / TinyLlama-Chat: "{{ '<|user|>\n' + message['content'] + eos_token }}"
 * with a newline after each expression line, and '<|assistant|>' last. */
static int zephyr(as_buf *b, const msg *m, size_t n, int add_gen)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = put(b, "<|")) < 0 || (rc = put(b, m[i].role)) < 0 || (rc = put(b, "|>\n")) < 0 ||
            (rc = putn(b, m[i].content, m[i].len)) < 0)
            break;
        rc = put(b, "</s>\n");
    }
    if (rc == 0 && add_gen)
        rc = put(b, "<|assistant|>\n");
    return rc;
}

/* Gemma 3: the system message becomes a prefix of the first user turn;
 * roles must alternate user/assistant; assistant is called "model". */
static int gemma(as_buf *b, const msg *m, size_t n, int add_gen)
{
    const char *prefix = "";
    size_t plen = 0;
    int rc = 0, has_sys = 0;
    if (strcmp(m[0].role, "system") == 0) {
        has_sys = 1;
        prefix = m[0].content;
        plen = m[0].len;
        m++;
        n--;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int user = strcmp(m[i].role, "user") == 0;
        if (user != (i % 2 == 0))
            return as_error_set(AS_EINVAL, "messages: Gemma conversation roles must "
                                           "alternate user/assistant/user/assistant/...");
        const char *c = m[i].content;
        size_t len = m[i].len;
        trim(&c, &len);
        if ((rc = put(b, "<start_of_turn>")) < 0 || (rc = put(b, user ? "user" : "model")) < 0 ||
            (rc = put(b, "\n")) < 0)
            break;
        if (i == 0 && has_sys && ((rc = putn(b, prefix, plen)) < 0 || (rc = put(b, "\n\n")) < 0))
            break;
        if ((rc = putn(b, c, len)) < 0)
            break;
        rc = put(b, "<end_of_turn>\n");
    }
    if (rc == 0 && add_gen)
        rc = put(b, "<start_of_turn>model\n");
    return rc;
}

int eng_chat_render(char **out, eng_chat_family f, const json_t *messages,
                    int add_generation_prompt, const char *bos_text)
{
    msg *m;
    size_t n;
    as_buf b;
    int rc;
    *out = NULL;
    if ((rc = get_messages(messages, &m, &n)) < 0)
        return rc;
    as_buf_init(&b, CHAT_MAX);
    switch (f) {
    case ENG_CHAT_LLAMA3:
    case ENG_CHAT_LLAMA31:
        rc = put(&b, bos_text ? bos_text : "<|begin_of_text|>");
        if (rc == 0)
            rc = f == ENG_CHAT_LLAMA3 ? llama_turns(&b, m, n, add_generation_prompt)
                                      : llama31(&b, m, n, add_generation_prompt);
        break;
    case ENG_CHAT_QWEN2:
        rc = qwen2(&b, m, n, add_generation_prompt, "You are a helpful assistant.");
        break;
    case ENG_CHAT_QWEN25:
        rc = qwen2(&b, m, n, add_generation_prompt,
                   "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
        break;
    case ENG_CHAT_QWEN3:
        rc = qwen3(&b, m, n, add_generation_prompt);
        break;
    case ENG_CHAT_ZEPHYR:
        rc = zephyr(&b, m, n, add_generation_prompt);
        break;
    case ENG_CHAT_GEMMA:
        rc = put(&b, bos_text ? bos_text : "<bos>");
        if (rc == 0)
            rc = gemma(&b, m, n, add_generation_prompt);
        break;
    default:
        rc = as_error_set(AS_EUNSUPPORTED, "no supported chat template");
        break;
    }
    free(m);
    if (rc < 0) {
        as_buf_free(&b);
        return rc;
    }
    *out = as_buf_detach(&b);
    return 0;
}

int eng_chat_encode(const eng_tokenizer *t, const json_t *messages, int add_generation_prompt,
                    int32_t **ids, size_t *n)
{
    eng_chat_family f = eng_chat_family_of(t);
    char *text;
    int rc;
    *ids = NULL;
    *n = 0;
    if (f == ENG_CHAT_NONE)
        return as_error_set(AS_EUNSUPPORTED, "the tokenizer has no supported chat template "
                                             "(Llama 3, Qwen2/2.5/3, Zephyr, Gemma)");
    if ((rc = eng_chat_render(&text, f, messages, add_generation_prompt,
                              eng_tok_id_to_piece(t, eng_tok_bos(t)))) < 0)
        return rc;
    rc = eng_tok_encode(t, text, strlen(text), 0, ids, n);
    free(text);
    return rc;
}
