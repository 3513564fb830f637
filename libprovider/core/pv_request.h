/* pv_request.h -- the HTTP request an adapter produces: method, path,
 * headers and body, built without I/O (the worker sends it). */
#ifndef PV_REQUEST_H
#define PV_REQUEST_H

#include <json-c/json.h>
#include <stddef.h>

#include "pv_error.h"

/*---- HTTP request produced by an adapter ----*/

#define PV_HEADERS_MAX 12
#define PV_PATH_MAX    512

typedef struct pv_request {
    const char *method;            /* "GET" or "POST" (static string) */
    char path[PV_PATH_MAX];        /* relative to the provider's base URL, starts with '/' */
    char *headers[PV_HEADERS_MAX]; /* "Name: value" lines (owned) */
    size_t nheaders;
    char *body; /* owned, NUL-terminated for convenience; NULL when none */
    size_t body_len;
} pv_request;

void pv_request_init(pv_request *req);
void pv_request_clear(pv_request *req);
/* Adds "name: value". Rejects CR/LF in the value (header injection) and a
 * full table. The value is never quoted in errors (it may be a secret). */
int pv_request_add_header(pv_request *req, const char *name, const char *value, pv_error *err);
/* Value of a header (case-insensitive name), NULL when absent. */
const char *pv_request_header(const pv_request *req, const char *name);
/* Takes a copy of body[0..len). */
int pv_request_set_body(pv_request *req, const char *body, size_t len, pv_error *err);
/* Serialises obj as the body (compact JSON). */
int pv_request_set_json(pv_request *req, json_object *obj, pv_error *err);
/* The end of a request to a JSON API, after the headers of the caller's
 * own (rc: what adding them returned). Sets the method and path and, while
 * all goes well, adds "Content-Type: application/json" (POST only) and
 * "Accept: application/json", then the body. post_json takes body (released
 * here in every case). On failure req is cleared. Returns rc or the first
 * error after it. */
int pv_request_post_json(pv_request *req, int rc, const char *path, json_object *body,
                         pv_error *err);
int pv_request_get_json(pv_request *req, int rc, const char *path, pv_error *err);

/* One field of a form body. */
typedef struct pv_form_field {
    const char *name;
    const char *value; /* NULL or "": the field is left out */
} pv_form_field;

/* Sets the body to the fields encoded as application/x-www-form-urlencoded
 * (WHATWG: ASCII letters, digits and "*-._" as they are, space as '+',
 * every other byte %XX) and adds the Content-Type header. The temporary
 * buffer is wiped: form bodies carry secrets. */
int pv_request_set_form(pv_request *req, const pv_form_field *fields, size_t n, pv_error *err);
/* A form POST to path (pv_request_set_form) that accepts application/json.
 * On failure req is cleared. */
int pv_request_post_form(pv_request *req, const char *path, const pv_form_field *fields, size_t n,
                         pv_error *err);

#endif
