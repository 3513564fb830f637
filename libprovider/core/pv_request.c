/* pv_request.c -- the HTTP request an adapter builds (see pv_request.h):
 * headers, a body, a JSON body, a form body. */
#include "pv_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pv_json.h"

void pv_request_init(pv_request *req)
{
    memset(req, 0, sizeof(*req));
}

void pv_request_clear(pv_request *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        free(req->headers[i]);
    free(req->body);
    pv_request_init(req);
}

int pv_request_add_header(pv_request *req, const char *name, const char *value, pv_error *err)
{
    if (req->nheaders == PV_HEADERS_MAX)
        return pv_error_set(err, PV_ETOOBIG, name, "header %s: too many headers", name);
    if (value == NULL)
        return pv_error_set(err, PV_ECONFIG, name, "header %s: no value configured", name);
    if (strpbrk(value, "\r\n") != NULL)
        return pv_error_set(err, PV_EFORMAT, name,
                            "header %s: value contains a line break (not sent)", name);
    size_t len = strlen(name) + 2 + strlen(value) + 1;
    char *line = malloc(len);
    if (line == NULL)
        return pv_error_set(err, PV_ENOMEM, name, "header %s: out of memory", name);
    snprintf(line, len, "%s: %s", name, value);
    req->headers[req->nheaders++] = line;
    return PV_OK;
}

const char *pv_request_header(const pv_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h + n + 2;
    }
    return NULL;
}

int pv_request_set_body(pv_request *req, const char *body, size_t len, pv_error *err)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return pv_error_set(err, PV_ENOMEM, "body", "body: out of memory");
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(req->body);
    req->body = copy;
    req->body_len = len;
    return PV_OK;
}

int pv_request_set_json(pv_request *req, json_object *obj, pv_error *err)
{
    size_t len;
    const char *s = pv_json_dump(obj, &len);
    return pv_request_set_body(req, s, len, err);
}

/* The end of a JSON API request (pv_request_post_json, pv_request_get_json);
 * body NULL for none. */
static int pv_request_json(pv_request *req, int rc, const char *method, const char *path,
                           json_object *body, pv_error *err)
{
    req->method = method;
    snprintf(req->path, sizeof(req->path), "%s", path);
    if (rc == PV_OK && body != NULL)
        rc = pv_request_add_header(req, "Content-Type", "application/json", err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "Accept", "application/json", err);
    if (rc == PV_OK && body != NULL)
        rc = pv_request_set_json(req, body, err);
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}

int pv_request_post_json(pv_request *req, int rc, const char *path, json_object *body,
                         pv_error *err)
{
    rc = pv_request_json(req, rc, "POST", path, body, err);
    json_object_put(body);
    return rc;
}

int pv_request_get_json(pv_request *req, int rc, const char *path, pv_error *err)
{
    return pv_request_json(req, rc, "GET", path, NULL, err);
}

/*---- Form bodies (application/x-www-form-urlencoded) ----*/

static int pv_request_form_plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
           c == '-' || c == '.' || c == '_';
}

/* Appends s encoded at buf + *o; buf has room for 3 bytes per input byte. */
static void pv_request_form_encode(char *buf, size_t *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (pv_request_form_plain(*p)) {
            buf[(*o)++] = (char)*p;
        } else if (*p == ' ') {
            buf[(*o)++] = '+';
        } else {
            buf[(*o)++] = '%';
            buf[(*o)++] = hex[*p >> 4];
            buf[(*o)++] = hex[*p & 15];
        }
    }
}

int pv_request_set_form(pv_request *req, const pv_form_field *fields, size_t n, pv_error *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        if (fields[i].value != NULL && fields[i].value[0] != '\0')
            cap += 3 * (strlen(fields[i].name) + strlen(fields[i].value)) + 2;
    char *form = malloc(cap);
    if (form == NULL)
        return pv_error_set(err, PV_ENOMEM, "body", "form body: out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (fields[i].value == NULL || fields[i].value[0] == '\0')
            continue;
        if (o > 0)
            form[o++] = '&';
        pv_request_form_encode(form, &o, fields[i].name);
        form[o++] = '=';
        pv_request_form_encode(form, &o, fields[i].value);
    }
    int rc = pv_request_add_header(req, "Content-Type", "application/x-www-form-urlencoded", err);
    if (rc == PV_OK)
        rc = pv_request_set_body(req, form, o, err);
    memset(form, 0, cap); /* it may hold a secret */
    free(form);
    return rc;
}

int pv_request_post_form(pv_request *req, const char *path, const pv_form_field *fields, size_t n,
                         pv_error *err)
{
    req->method = "POST";
    snprintf(req->path, sizeof(req->path), "%s", path);
    int rc = pv_request_set_form(req, fields, n, err);
    if (rc == PV_OK)
        rc = pv_request_add_header(req, "Accept", "application/json", err);
    if (rc != PV_OK)
        pv_request_clear(req);
    return rc;
}
