/* ps_buf.c -- the growable output buffer every answer is written into. */
#include "ps_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void ps_buf_add(ps_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = cap <= PS_BUF_MAX ? realloc(b->data, cap) : NULL;
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ps_buf_adds(ps_buf *b, const char *s)
{
    ps_buf_add(b, s, strlen(s));
}

void ps_buf_reset(ps_buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->cap > (1 << 20)) { /* do not keep a huge ledger answer around */
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}
