/*
 * attn.c - status codes, the names of the enumerations, build identity.
 *
 *   attn_status_code(s)   the stable string code of status s ("ERR_SHAPE")
 *   attn_<list>_name(id)  the name of value id of an X-macro list in attn.h,
 *                         NULL past the end
 *
 * Each is one switch generated from its list, so the numbering and the
 * names cannot drift apart.
 */
#include "internal.h"

#include <math.h>

#ifndef ATTN_SOURCE_HASH
#define ATTN_SOURCE_HASH "dev"
#endif

const char *attn_status_str(int status) {
    switch (status) {
#define ATTN__MESSAGE(name, value, code, message) case name: return message;
        ATTN_STATUS_LIST(ATTN__MESSAGE)
#undef ATTN__MESSAGE
    default: return "unknown status";
    }
}

const char *attn_status_code(int status) {
    switch (status) {
#define ATTN__CODE(name, value, code, message) case name: return code;
        ATTN_STATUS_LIST(ATTN__CODE)
#undef ATTN__CODE
    default: return "ERR_UNKNOWN";
    }
}

int attn_status_count(void) { return ATTN_STATUS_COUNT; }

/* The name queries of the lists in attn.h: case value: return "name". */
#define ATTN__NAME_CASE(name, value, text) case value: return text;
#define ATTN__NAME_QUERY(function, list)                                      \
    const char *function(int id) {                                            \
        switch (id) {                                                         \
            list(ATTN__NAME_CASE)                                             \
        default: return NULL;                                                 \
        }                                                                     \
    }
ATTN__NAME_QUERY(attn_feature_name, ATTN_FEATURE_LIST)
ATTN__NAME_QUERY(attn_rule_name, ATTN_RULE_LIST)
ATTN__NAME_QUERY(attn_normalize_name, ATTN_NORMALIZE_LIST)
ATTN__NAME_QUERY(attn_feature_use_name, ATTN_FEATURE_USE_LIST)
ATTN__NAME_QUERY(attn_kernels_name, ATTN_KERNELS_LIST)
ATTN__NAME_QUERY(attn_mask_kind_name, ATTN_MASK_KIND_LIST)
ATTN__NAME_QUERY(attn_mask_bit_name, ATTN_MASK_BIT_LIST)
#undef ATTN__NAME_QUERY
#undef ATTN__NAME_CASE

const char *attn_version(void) { return ATTN_VERSION; }

const char *attn_source_hash(void) { return ATTN_SOURCE_HASH; }

/* ---- defaults (attn.h: ATTN_DEFAULT_LIST and the derived defaults) ---- */

const char *attn_default_name(int id) {
    switch (id) {
#define ATTN__DEFAULT_NAME(name, text, value, doc) case name: return text;
        ATTN_DEFAULT_LIST(ATTN__DEFAULT_NAME)
#undef ATTN__DEFAULT_NAME
    default: return NULL;
    }
}

double attn_default_value(int id) {
    switch (id) {
#define ATTN__DEFAULT_VALUE(name, text, value, doc) case name: return (double)(value);
        ATTN_DEFAULT_LIST(ATTN__DEFAULT_VALUE)
#undef ATTN__DEFAULT_VALUE
    default: return NAN;
    }
}

double attn_default_scale(size_t d) { return d == 0 ? 1.0 : 1.0 / sqrt((double)d); }

size_t attn_default_window(size_t n) { return (size_t)floor(sqrt((double)n)); }

size_t attn_default_root(size_t n) {
    size_t r = (size_t)floor(sqrt((double)n) + 0.5);
    return r < 1 ? 1 : r;
}

size_t attn_default_bigbird_block(size_t n) {
    for (size_t b = attn_default_root(n); b > 1; b--)
        if (n % b == 0 && (double)b <= sqrt((double)n)) return b;
    return 1;
}

size_t attn_default_rank(size_t m) {
    return attn__min(m, (size_t)attn_default_value(ATTN_DEFAULT_LINFORMER_RANK));
}

size_t attn_default_max_layers(size_t n) {
    return attn__min(n, (size_t)attn_default_value(ATTN_DEFAULT_MASK_LAYERS_MAX));
}

size_t attn_default_per_row(size_t n) {
    return attn__min(n, (size_t)attn_default_value(ATTN_DEFAULT_MASK_PER_ROW));
}
