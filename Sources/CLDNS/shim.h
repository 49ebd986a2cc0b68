#ifndef CAIRN_CLDNS_SHIM_H
#define CAIRN_CLDNS_SHIM_H
/* stdbool before ldns: otherwise ldns defines bool as signed char. */
#include <stdbool.h>
#include <stdio.h>
#include <ldns/ldns.h>

/* A zone file's bytes, already read (and size-checked), handed to ldns's tokenizer. */
static inline FILE *cairn_fmemopen(void *buf, size_t size) { return fmemopen(buf, size, "r"); }
#endif
