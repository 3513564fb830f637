/* pw_registry.c -- see pw_registry.h. */
#include "pw_registry.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pv_json.h"
#include "pw_alloc.h"

#define PW_REGISTRY_BODY_MAX (4 * 1024 * 1024) /* largest answer read */

struct pw_registry {
    CURL *curl;
    char url[512];
    char user_info[256];
};

typedef struct pw_body {
    char *data;
    size_t len;
    int overflow;
} pw_body;

static size_t pw_registry_write(char *ptr, size_t size, size_t n, void *ud)
{
    pw_body *b = ud;
    size_t add = size * n;
    if (b->len + add > PW_REGISTRY_BODY_MAX) {
        b->overflow = 1;
        return 0; /* makes curl fail the transfer */
    }
    char *grown = pw_alloc_realloc(b->data, b->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

pw_registry *pw_registry_new(const char *url, const char *user_info, char *errstr, size_t cap)
{
    if (url == NULL || url[0] == '\0' || strlen(url) >= sizeof(((pw_registry *)0)->url)) {
        snprintf(errstr, cap, "schema registry: a base URL is required (PAYW_SCHEMA_REGISTRY_URL)");
        return NULL;
    }
    pw_registry *r = pw_alloc_calloc(1, sizeof(*r));
    if (r == NULL || (r->curl = curl_easy_init()) == NULL) {
        free(r);
        snprintf(errstr, cap, "schema registry: cannot initialise libcurl");
        return NULL;
    }
    snprintf(r->url, sizeof(r->url), "%s", url);
    size_t n = strlen(r->url);
    while (n > 0 && r->url[n - 1] == '/')
        r->url[--n] = '\0';
    if (user_info != NULL)
        snprintf(r->user_info, sizeof(r->user_info), "%s", user_info);
    return r;
}

void pw_registry_free(pw_registry *r)
{
    if (r == NULL)
        return;
    curl_easy_cleanup(r->curl);
    memset(r->user_info, 0, sizeof(r->user_info));
    free(r);
}

/* One request; on success *root is the parsed JSON answer. */
static int pw_registry_call(pw_registry *r, const char *path, const char *post, json_object **root,
                            char *errstr, size_t cap)
{
    char url[1024];
    pw_body body = {0};
    long status = 0;
    struct curl_slist *hdrs = NULL;
    pv_error err = {0};

    *root = NULL;
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    curl_easy_reset(r->curl);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, pw_registry_write);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    hdrs = curl_slist_append(hdrs, "Accept: application/vnd.schemaregistry.v1+json");
    if (post != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, post);
    }
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdrs);
    if (r->user_info[0] != '\0') {
        curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(r->curl, CURLOPT_USERPWD, r->user_info);
    }
    CURLcode cc = curl_easy_perform(r->curl);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    int rc = -1;
    if (cc != CURLE_OK) {
        snprintf(errstr, cap, "schema registry %s: %s", url,
                 body.overflow ? "answer too large" : curl_easy_strerror(cc));
    } else if (pv_json_parse(body.data, body.len, "schema registry answer", root, &err) != PV_OK) {
        snprintf(errstr, cap, "schema registry %s: HTTP %ld: %s", url, status, err.errstr);
    } else if (status < 200 || status > 299) {
        char msg[256] = "";
        pv_error ignored = {0};
        pv_json_string(*root, "message", "message", false, msg, sizeof(msg), NULL, &ignored);
        snprintf(errstr, cap, "schema registry %s: HTTP %ld: %s", url, status, msg);
        json_object_put(*root);
        *root = NULL;
    } else {
        rc = 0;
    }
    free(body.data);
    return rc;
}

int pw_registry_register(pw_registry *r, const char *subject, const char *schema_json, int32_t *id,
                         char *errstr, size_t cap)
{
    char path[512];
    json_object *req = json_object_new_object(), *root;
    int64_t v;
    pv_error err = {0};

    json_object_object_add(req, "schema", json_object_new_string(schema_json));
    char *esc = curl_easy_escape(r->curl, subject, 0);
    snprintf(path, sizeof(path), "/subjects/%s/versions", esc != NULL ? esc : subject);
    curl_free(esc);
    int rc = pw_registry_call(r, path, pv_json_dump(req, NULL), &root, errstr, cap);
    json_object_put(req);
    if (rc != 0)
        return -1;
    if (pv_json_int64(root, "id", "id", true, &v, NULL, &err) != PV_OK || v < 0 || v > INT32_MAX) {
        snprintf(errstr, cap, "schema registry: subject %s: bad id in answer: %s", subject,
                 err.errstr);
        json_object_put(root);
        return -1;
    }
    *id = (int32_t)v;
    json_object_put(root);
    return 0;
}

int pw_registry_fetch(pw_registry *r, int32_t id, char **schema_json, char *errstr, size_t cap)
{
    char path[64];
    json_object *root;
    snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
    if (pw_registry_call(r, path, NULL, &root, errstr, cap) != 0)
        return -1;
    json_object *s = pv_json_member(root, "schema");
    if (s == NULL || !json_object_is_type(s, json_type_string)) {
        snprintf(errstr, cap, "schema registry: id %" PRId32 ": answer has no schema", id);
        json_object_put(root);
        return -1;
    }
    *schema_json = pw_alloc_strdup(json_object_get_string(s));
    json_object_put(root);
    return *schema_json != NULL ? 0 : -1;
}

int pw_registry_setup(pw_registry *r, sc_codec *c, const char *commands_topic,
                      const char *results_topic, const char *balances_topic, char *errstr,
                      size_t cap)
{
    const char *topics[SC_KIND__COUNT] = {commands_topic, results_topic, balances_topic};
    for (int k = 0; k < SC_KIND__COUNT; k++) {
        char subject[300];
        size_t len;
        int32_t id;
        snprintf(subject, sizeof(subject), "%s-value", topics[k]);
        if (pw_registry_register(r, subject, sc_schema_text((sc_kind)k, &len), &id, errstr, cap) !=
            0)
            return -1;
        sc_codec_set_id(c, (sc_kind)k, id);
    }
    return 0;
}

int pw_registry_learn(pw_registry *r, sc_codec *c, sc_kind kind, int32_t id, char *errstr,
                      size_t cap)
{
    char *text;
    pv_error err = {0};
    if (pw_registry_fetch(r, id, &text, errstr, cap) != 0)
        return -1;
    int rc = sc_codec_add_writer(c, kind, id, text, strlen(text), &err);
    free(text);
    if (rc != PV_OK) {
        snprintf(errstr, cap, "%s", err.errstr);
        return -1;
    }
    return 0;
}
