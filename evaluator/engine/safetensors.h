/* safetensors: parse and validate the header of a .safetensors file, and
 * open a Hugging Face model folder's weights (one file or shards listed in
 * model.safetensors.index.json), memory-mapped read-only.
 *
 * File layout (huggingface/safetensors README): u64 little-endian N, N bytes
 * of JSON header (starts with '{', may be right-padded with spaces), then the
 * byte buffer. Each header entry {"dtype","shape","data_offsets":[b,e]} names
 * bytes [b,e) of the buffer. Everything the header claims is checked: the
 * size N (capped), the JSON, the dtypes, shapes x dtype size = byte length,
 * offsets inside the buffer, no two tensors overlapping, no duplicate names. */
#ifndef AS_ENG_SAFETENSORS_H
#define AS_ENG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ENG_ST_HEADER_MAX ((uint64_t)100 << 20) /* the reference implementation's cap */
#define ENG_ST_MAX_DIMS 8
#define ENG_ST_MAX_SHARDS 1024

/* Element types of the format. The engine computes with F32, F16 and BF16;
 * the others are recognized so that errors can name them. */
typedef enum eng_dtype {
    ENG_DT_F32, ENG_DT_F16, ENG_DT_BF16, ENG_DT_F64, ENG_DT_I8, ENG_DT_I16,
    ENG_DT_I32, ENG_DT_I64, ENG_DT_U8, ENG_DT_U16, ENG_DT_U32, ENG_DT_U64,
    ENG_DT_BOOL, ENG_DT_F8_E4M3, ENG_DT_F8_E5M2, ENG_DT_COUNT
} eng_dtype;

/* "F32", "BF16", ... */
const char *eng_dtype_name(eng_dtype dt);
/* Bytes per element. */
size_t eng_dtype_size(eng_dtype dt);

/* One tensor: a view into a mapped (or caller-owned) buffer. */
typedef struct eng_tensor {
    char *name;
    eng_dtype dtype;
    int ndim;
    int64_t shape[ENG_ST_MAX_DIMS];
    int64_t numel;
    const void *data;        /* borrowed: lives as long as the set it came from */
    size_t nbytes;
    int shard;               /* index of the file it came from */
} eng_tensor;

/* The tensors of one parsed file, sorted by name. */
typedef struct eng_st_table {
    eng_tensor *t;
    size_t n;
} eng_st_table;

/* Parse and validate the whole file image 'buf' of 'size' bytes ('what'
 * names it in errors). Tensors point into 'buf', which the caller keeps
 * alive. Errors: AS_EINVAL (malformed or lying header), AS_ETOOBIG (header
 * over ENG_ST_HEADER_MAX). Caller frees with eng_st_table_clear. */
int eng_st_parse(eng_st_table *out, const uint8_t *buf, size_t size, const char *what);
void eng_st_table_clear(eng_st_table *t);

/* The weights of a model folder: every tensor of every shard, by name. */
typedef struct eng_weights eng_weights;

/* Open 'dir'/model.safetensors, or the shards named by
 * 'dir'/model.safetensors.index.json (each tensor must be in the shard the
 * index names; a tensor in two shards is an error). Caller frees with
 * eng_weights_free. */
int eng_weights_open(eng_weights **out, const char *dir);
void eng_weights_free(eng_weights *w);
/* The tensor called 'name', or NULL; borrowed while 'w' lives. */
const eng_tensor *eng_weights_get(const eng_weights *w, const char *name);
/* All tensors, sorted by name (borrowed), for the extra-tensor check. */
const eng_tensor *eng_weights_all(const eng_weights *w, size_t *n);
/* Total bytes of tensor data. */
uint64_t eng_weights_bytes(const eng_weights *w);

#endif
