/* pw_alloc.c -- see pw_alloc.h. */
#include "pw_alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pw_log.h"

_Noreturn void pw_alloc_oom(const char *what, size_t bytes)
{
    /* pw_log builds its line on the stack: nothing is allocated here */
    pw_logline l;
    pw_log_begin(&l, PW_LOG_ERROR, "out of memory: aborting (commands are redelivered)");
    pw_log_str(&l, "what", what);
    pw_log_int(&l, "bytes", bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes);
    pw_log_end(&l);
    abort();
}

void pw_alloc_oom_check(const pv_error *err)
{
    if (err != NULL && err->code == PV_ENOMEM)
        pw_alloc_oom(err->errstr, 0);
}

void *pw_alloc_malloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);
    if (p == NULL)
        pw_alloc_oom("malloc", n);
    return p;
}

void *pw_alloc_calloc(size_t count, size_t size)
{
    void *p = calloc(count > 0 ? count : 1, size > 0 ? size : 1);
    if (p == NULL)
        pw_alloc_oom("calloc", size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size);
    return p;
}

void *pw_alloc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n > 0 ? n : 1);
    if (q == NULL)
        pw_alloc_oom("realloc", n);
    return q;
}

char *pw_alloc_strdup(const char *s)
{
    return pw_alloc_memdup(s, strlen(s));
}

void *pw_alloc_memdup(const void *p, size_t n)
{
    if (n == SIZE_MAX)
        pw_alloc_oom("memdup", n);
    char *q = pw_alloc_malloc(n + 1);
    if (n > 0)
        memcpy(q, p, n);
    q[n] = '\0';
    return q;
}
