#ifndef CAIRN_CLDNS_SHIM_H
#define CAIRN_CLDNS_SHIM_H
/* stdbool before ldns: otherwise ldns defines bool as signed char. */
#include <stdbool.h>
#include <stdio.h>
#include <ldns/ldns.h>

static inline FILE *cairn_fopen(const char *path) { return fopen(path, "r"); }
#endif
