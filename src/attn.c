/*
 * attn.c - status codes and build identity.
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

const char *attn_version(void) { return ATTN_VERSION; }

const char *attn_source_hash(void) { return ATTN_SOURCE_HASH; }
