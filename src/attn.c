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
ATTN__NAME_QUERY(attn_kernels_name, ATTN_KERNELS_LIST)
ATTN__NAME_QUERY(attn_mask_kind_name, ATTN_MASK_KIND_LIST)
ATTN__NAME_QUERY(attn_mask_bit_name, ATTN_MASK_BIT_LIST)
#undef ATTN__NAME_QUERY
#undef ATTN__NAME_CASE

const char *attn_version(void) { return ATTN_VERSION; }

const char *attn_source_hash(void) { return ATTN_SOURCE_HASH; }
