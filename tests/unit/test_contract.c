/* test_contract.c -- every registered adapter through the same checks.
 *
 * Each provider has tests/fixtures/<name>/contract.json:
 *   {"command": {...a valid request...}, "success_response": "<fixture path>",
 *    "amount_path": "a.b.0.c" (a money field of that response),
 *    "spec": "<fixture path>" (PV_CAP_SPEC only)}
 * A provider in the registry without one fails here, so a new adapter cannot
 * skip the contract.
 *
 * The checks: hooks present for the capability bits; settings well formed;
 * the request is deterministic and well formed; the success sample is
 * SUCCEEDED under 2xx and never under any other status; every truncation of it,
 * garbage bodies, a 10 MB body and type mutations of every field never give
 * SUCCEEDED (and never crash: this binary also runs under ASan/UBSan and
 * valgrind); hostile amounts (1e400, 30 digits) give UNKNOWN/INVALID with an
 * error naming the field; no error message carries a secret. */
#include "testutil.h"

#include <ctype.h>
#include <string.h>

typedef struct contract {
    const pv_provider *p;
    json_object *desc;
    const char *settings[16];
    char setting_buf[16][64];
    pv_ctx ctx;
    void *spec;
    pv_command cmd;
    char *success;
    size_t success_len;
} contract;

static void contract_load(contract *c, const pv_provider *p)
{
    char rel[128], dir[32];
    size_t i;

    memset(c, 0, sizeof(*c));
    c->p = p;
    for (i = 0; p->name[i] != '\0' && i + 1 < sizeof(dir); i++)
        dir[i] = (char)tolower((unsigned char)p->name[i]);
    dir[i] = '\0';
    snprintf(rel, sizeof(rel), "%s/contract.json", dir);
    char *text = tu_fixture(rel, NULL);
    c->desc = tu_json(text);
    free(text);

    for (i = 0; p->settings[i].name != NULL; i++) {
        assert_true(i < 16);
        snprintf(c->setting_buf[i], sizeof(c->setting_buf[i]), "secret-%s-%zu", p->settings[i].name,
                 i);
        c->settings[i] = c->setting_buf[i];
    }
    c->ctx.settings = c->settings;
    c->ctx.token = (p->caps & PV_CAP_OAUTH) ? "secret-token-value" : NULL;

    if (p->caps & PV_CAP_SPEC) {
        json_object *spec_rel = pv_json_member(c->desc, "spec");
        assert_non_null(spec_rel);
        size_t len;
        pv_error err = {0};
        char *spec = tu_fixture(json_object_get_string(spec_rel), &len);
        c->spec = p->parse_spec(200, spec, len, &err);
        if (c->spec == NULL)
            fail_msg("%s: spec fixture does not parse: %s", p->name, err.errstr);
        free(spec);
        c->ctx.spec = c->spec;
    }

    json_object *cmdreq = pv_json_member(c->desc, "command");
    assert_non_null(cmdreq);
    tu_command(&c->cmd, p, pv_json_dump(cmdreq, NULL));

    json_object *resp = pv_json_member(c->desc, "success_response");
    assert_non_null(resp);
    c->success = tu_fixture(json_object_get_string(resp), &c->success_len);
}

static void contract_free(contract *c)
{
    if (c->spec != NULL)
        c->p->free_spec(c->spec);
    pv_command_clear(&c->cmd);
    json_object_put(c->desc);
    free(c->success);
}

/* Runs the checked parse and returns the outcome; fails on a secret leak. */
static pv_outcome contract_parse(contract *c, int status, const char *body, size_t len)
{
    pv_result res;
    pv_result_init(&res);
    pv_provider_parse_response(c->p, &c->cmd, status, body, len, &res);
    for (size_t i = 0; c->settings[i] != NULL; i++)
        if (c->p->settings[i].secret && strstr(res.error, c->settings[i]) != NULL)
            fail_msg("%s: result error leaks setting %s", c->p->name, c->p->settings[i].name);
    pv_outcome o = res.outcome;
    pv_result_clear(&res);
    return o;
}

static void test_contract_hooks_and_settings(void **state)
{
    (void)state;
    size_t n = 0;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++, n++) {
        const pv_provider *p = *pp;
        assert_non_null(p->name);
        assert_ptr_equal(pv_provider_find(p->name), p);
        for (const char *s = p->name; *s; s++)
            assert_true(isupper((unsigned char)*s) || isdigit((unsigned char)*s));
        assert_non_null(p->operation);
        assert_non_null(p->query_id_field);
        assert_non_null(p->settings);
        assert_non_null(p->query_id);
        assert_non_null(p->build_request);
        assert_non_null(p->parse_response);
        if (p->caps & PV_CAP_INQUIRY) {
            assert_non_null(p->build_inquiry);
            assert_non_null(p->parse_inquiry);
        }
        if (p->caps & PV_CAP_OAUTH) {
            assert_non_null(p->build_token_request);
            assert_non_null(p->parse_token);
        }
        if (p->caps & PV_CAP_SPEC) {
            assert_non_null(p->spec_key);
            assert_non_null(p->build_spec_request);
            assert_non_null(p->parse_spec);
            assert_non_null(p->free_spec);
        }
        for (size_t i = 0; p->settings[i].name != NULL; i++) {
            for (const char *s = p->settings[i].name; *s; s++)
                assert_true(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_');
            assert_non_null(p->settings[i].doc);
            if (p->settings[i].secret)
                assert_null(p->settings[i].default_value); /* no default secrets */
            for (size_t j = 0; j < i; j++)
                assert_string_not_equal(p->settings[i].name, p->settings[j].name);
        }
    }
    assert_int_equal(n, 5);
    assert_null(pv_provider_find("NOPE"));
}

static void requests_equal(const pv_request *a, const pv_request *b)
{
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->nheaders, b->nheaders);
    for (size_t i = 0; i < a->nheaders; i++)
        assert_string_equal(a->headers[i], b->headers[i]);
    assert_int_equal(a->body_len, b->body_len);
    if (a->body_len > 0)
        assert_memory_equal(a->body, b->body, a->body_len);
}

static void test_contract_requests(void **state)
{
    (void)state;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        pv_request r1, r2;
        pv_error err = {0};
        char qid[PV_ID_MAX];

        contract_load(&c, *pp);
        if (c.p->query_id(&c.cmd, qid, sizeof(qid), &err) != PV_OK)
            fail_msg("%s: query_id: %s", c.p->name, err.errstr);
        assert_true(qid[0] != '\0');
        for (const char *s = qid; *s; s++)
            assert_true((unsigned char)*s > 0x20 && *s != 0x7f);

        if (c.p->build_request(&c.cmd, &c.ctx, &r1, &err) != PV_OK)
            fail_msg("%s: build_request: %s", c.p->name, err.errstr);
        assert_int_equal(c.p->build_request(&c.cmd, &c.ctx, &r2, &err), PV_OK);
        requests_equal(&r1, &r2);
        assert_true(strcmp(r1.method, "GET") == 0 || strcmp(r1.method, "POST") == 0);
        assert_true(r1.path[0] == '/');
        for (size_t i = 0; i < r1.nheaders; i++) {
            assert_non_null(strchr(r1.headers[i], ':'));
            assert_null(strpbrk(r1.headers[i], "\r\n"));
        }
        pv_request_clear(&r1);
        pv_request_clear(&r2);

        /* an empty command is refused with a message that leaks no secret */
        pv_command bad;
        tu_command(&bad, c.p, "{}");
        assert_int_not_equal(c.p->build_request(&bad, &c.ctx, &r1, &err), PV_OK);
        assert_true(err.errstr[0] != '\0');
        for (size_t i = 0; c.settings[i] != NULL; i++)
            if (c.p->settings[i].secret)
                assert_null(strstr(err.errstr, c.settings[i]));
        pv_error_clear(&err);
        pv_command_clear(&bad);

        /* no settings at all: the checked build names the first required
         * setting and its variable, for every adapter alike */
        const pv_ctx none = {.token = c.ctx.token, .spec = c.ctx.spec};
        int rc = pv_provider_build_request(c.p, &c.cmd, &none, &r1, &err);
        assert_int_equal(rc, PV_ECONFIG);
        assert_non_null(strstr(err.errstr, "PAYW_"));
        assert_non_null(strstr(err.errstr, c.p->name));
        assert_int_equal(r1.nheaders, 0);
        assert_int_equal(pv_provider_check_settings(c.p, &c.ctx, &err), PV_OK);
        assert_int_equal(pv_provider_build_request(c.p, &c.cmd, &c.ctx, &r1, &err), PV_OK);
        pv_request_clear(&r1);

        if (c.p->caps & PV_CAP_INQUIRY) {
            rc = c.p->build_inquiry(&c.cmd, &c.ctx, &r1, &err);
            assert_true(rc == PV_OK || rc == PV_EUNSUPPORTED);
            if (rc == PV_OK) {
                assert_int_equal(c.p->build_inquiry(&c.cmd, &c.ctx, &r2, &err), PV_OK);
                requests_equal(&r1, &r2);
                pv_request_clear(&r1);
                pv_request_clear(&r2);
            }
        }
        if (c.p->caps & PV_CAP_OAUTH) {
            pv_token tok;
            assert_int_equal(c.p->build_token_request(&c.ctx, &r1, &err), PV_OK);
            assert_string_equal(r1.method, "POST");
            pv_request_clear(&r1);
            assert_int_not_equal(c.p->parse_token(200, "{}", 2, &tok, &err), PV_OK);
            assert_int_not_equal(c.p->parse_token(500, "oops", 4, &tok, &err), PV_OK);
            pv_error_clear(&err);
        }
        contract_free(&c);
    }
}

/* The checked entry points the worker calls instead of the raw hooks: the
 * lock key as the hook gives it; the inquiry only with PV_CAP_INQUIRY, then
 * the same request as the hook's; a partial amount only with PV_CAP_PARTIAL. */
static void test_contract_checked_entry_points(void **state)
{
    (void)state;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        contract_load(&c, *pp);
        pv_error err = {0};
        pv_request r1, r2;
        char k1[PV_ID_MAX], k2[PV_ID_MAX];
        /* a raw hook may fail before it initialises the request */
        pv_request_init(&r2);

        assert_int_equal(pv_provider_query_id(c.p, &c.cmd, k1, sizeof(k1), &err), PV_OK);
        assert_int_equal(c.p->query_id(&c.cmd, k2, sizeof(k2), &err), PV_OK);
        assert_string_equal(k1, k2);
        assert_int_equal(pv_provider_query_id(c.p, &c.cmd, k1, 1, &err),
                         c.p->query_id(&c.cmd, k2, 1, &err));

        assert_int_equal(pv_provider_has(c.p, c.p->caps), true);
        assert_int_equal(pv_provider_has(c.p, PV_CAP_BALANCE), (c.p->caps & PV_CAP_BALANCE) != 0);
        assert_int_equal(pv_provider_has(c.p, PV_CAP_INQUIRY | PV_CAP_PARTIAL),
                         (c.p->caps & (PV_CAP_INQUIRY | PV_CAP_PARTIAL)) ==
                             (PV_CAP_INQUIRY | PV_CAP_PARTIAL));

        int rc = pv_provider_build_inquiry(c.p, &c.cmd, &c.ctx, &r1, &err);
        if (!(c.p->caps & PV_CAP_INQUIRY)) {
            assert_int_equal(rc, PV_EUNSUPPORTED);
            assert_string_equal(err.field, "provider");
            assert_non_null(strstr(err.errstr, c.p->name));
            assert_int_equal(r1.nheaders, 0);
            assert_null(r1.body);
        } else {
            assert_int_equal(rc, c.p->build_inquiry(&c.cmd, &c.ctx, &r2, &err));
            if (rc == PV_OK)
                requests_equal(&r1, &r2);
            pv_request_clear(&r2);
            pv_request_init(&r2);
            /* the settings are checked as for a payment */
            const pv_ctx none = {.token = c.ctx.token, .spec = c.ctx.spec};
            pv_request_clear(&r1);
            assert_int_equal(pv_provider_build_inquiry(c.p, &c.cmd, &none, &r1, &err), PV_ECONFIG);
        }
        pv_request_clear(&r1);

        /* the valid command with a partial amount added */
        pv_command partial;
        json_object *copy = tu_json(pv_json_dump(c.cmd.request, NULL));
        json_object_object_add(copy, PV_PARTIAL_FIELD, json_object_new_int64(5));
        tu_command(&partial, c.p, pv_json_dump(copy, NULL));
        json_object_put(copy);
        rc = pv_provider_build_request(c.p, &partial, &c.ctx, &r1, &err);
        if (!(c.p->caps & PV_CAP_PARTIAL)) {
            assert_int_equal(rc, PV_EVALIDATION);
            assert_string_equal(err.field, "request.partialAmount");
            assert_non_null(strstr(err.errstr, "takes no partial amounts"));
            assert_int_equal(r1.nheaders, 0);
        } else {
            /* a provider that takes partial amounts decides for itself */
            assert_int_equal(rc, c.p->build_request(&partial, &c.ctx, &r2, &err));
            if (rc == PV_OK)
                requests_equal(&r1, &r2);
            pv_request_clear(&r2);
        }
        pv_request_clear(&r1);
        pv_error_clear(&err);
        pv_command_clear(&partial);
        contract_free(&c);
    }
}

/* The token and spec entry points: the raw hook's result for a provider
 * with the capability, PV_EUNSUPPORTED naming it for the others. */
static void test_contract_token_and_spec_entry_points(void **state)
{
    (void)state;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        contract_load(&c, *pp);
        pv_error err = {0};
        pv_request r1, r2;
        pv_request_init(&r2);
        int rc = pv_provider_build_token_request(c.p, &c.ctx, &r1, &err);
        if (c.p->caps & PV_CAP_OAUTH) {
            assert_int_equal(rc, PV_OK);
            assert_int_equal(c.p->build_token_request(&c.ctx, &r2, &err), PV_OK);
            requests_equal(&r1, &r2);
        } else {
            assert_int_equal(rc, PV_EUNSUPPORTED);
            assert_non_null(strstr(err.errstr, "PV_CAP_OAUTH"));
            assert_int_equal(r1.nheaders, 0);
            pv_token tok;
            assert_int_equal(pv_provider_parse_token(c.p, 200, "{}", 2, &tok, &err),
                             PV_EUNSUPPORTED);
        }
        pv_request_clear(&r1);
        pv_request_clear(&r2);
        pv_request_init(&r2);
        char k1[PV_ID_MAX], k2[PV_ID_MAX];
        rc = pv_provider_spec_key(c.p, &c.cmd, k1, sizeof(k1), &err);
        if (c.p->caps & PV_CAP_SPEC) {
            assert_int_equal(rc, PV_OK);
            assert_int_equal(c.p->spec_key(&c.cmd, k2, sizeof(k2), &err), PV_OK);
            assert_string_equal(k1, k2);
            assert_int_equal(pv_provider_build_spec_request(c.p, &c.cmd, &c.ctx, &r1, &err), PV_OK);
            assert_int_equal(c.p->build_spec_request(&c.cmd, &c.ctx, &r2, &err), PV_OK);
            requests_equal(&r1, &r2);
        } else {
            assert_int_equal(rc, PV_EUNSUPPORTED);
            assert_non_null(strstr(err.errstr, "PV_CAP_SPEC"));
            assert_int_equal(pv_provider_build_spec_request(c.p, &c.cmd, &c.ctx, &r1, &err),
                             PV_EUNSUPPORTED);
            assert_null(pv_provider_parse_spec(c.p, 200, "{}", 2, &err));
        }
        pv_provider_free_spec(c.p, NULL); /* NULL-safe */
        pv_request_clear(&r1);
        pv_request_clear(&r2);
        pv_error_clear(&err);
        contract_free(&c);
    }
}

/* An adapter that answers with a balance although its provider declares no
 * PV_CAP_BALANCE: the checked parse drops it, so no balance event follows. */
static void contract_stub_balance(const pv_command *cmd, int http_status, const char *body,
                                  size_t len, pv_result *res)
{
    (void)cmd;
    (void)http_status;
    (void)body;
    (void)len;
    res->outcome = PV_OUTCOME_SUCCEEDED;
    snprintf(res->balances[0].account, sizeof(res->balances[0].account), "a");
    res->nbalances = 1;
}

static void test_contract_balance_only_with_the_cap(void **state)
{
    (void)state;
    pv_provider fake = pv_paywall; /* no PV_CAP_BALANCE */
    fake.parse_response = contract_stub_balance;
    pv_command cmd;
    tu_command(&cmd, &pv_paywall, "{\"paymentid\": 1}");
    pv_result res;
    pv_result_init(&res);
    pv_provider_parse_response(&fake, &cmd, 200, "{}", 2, &res);
    assert_int_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
    assert_int_equal(res.nbalances, 0);
    pv_result_clear(&res);
    fake.caps |= PV_CAP_BALANCE;
    pv_result_init(&res);
    pv_provider_parse_response(&fake, &cmd, 200, "{}", 2, &res);
    assert_int_equal(res.nbalances, 1);
    pv_result_clear(&res);
    pv_command_clear(&cmd);
}

static void test_contract_statuses(void **state)
{
    (void)state;
    static const int non_2xx[] = {0,   100, 301, 302, 304, 400, 401, 403, 404, 409,
                                  418, 422, 429, 500, 502, 503, 504, 599, 999, -1};
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        contract_load(&c, *pp);
        pv_outcome o = contract_parse(&c, 200, c.success, c.success_len);
        if (o != PV_OUTCOME_SUCCEEDED)
            fail_msg("%s: the success sample gives %s", c.p->name, pv_outcome_name(o));
        for (size_t i = 0; i < sizeof(non_2xx) / sizeof(non_2xx[0]); i++) {
            o = contract_parse(&c, non_2xx[i], c.success, c.success_len);
            if (o == PV_OUTCOME_SUCCEEDED)
                fail_msg("%s: HTTP %d with a success body is SUCCEEDED", c.p->name, non_2xx[i]);
        }
        contract_free(&c);
    }
}

static void test_contract_truncations_and_garbage(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "1e400",
        "true",
        "<html><body>502 Bad Gateway</body></html>",
        "{\"a\":",
        "\xff\xfe\x00\x01",
        "{\"result\": true}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]",
    };
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        contract_load(&c, *pp);
        /* every prefix that is not the whole document (bar trailing blanks) */
        size_t end = c.success_len;
        while (end > 0 && strchr(" \t\r\n", c.success[end - 1]) != NULL)
            end--;
        for (size_t len = 0; len < end; len++) {
            pv_outcome o = contract_parse(&c, 200, c.success, len);
            if (o == PV_OUTCOME_SUCCEEDED)
                fail_msg("%s: success body cut at %zu of %zu bytes is SUCCEEDED", c.p->name, len,
                         end);
        }
        for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
            size_t len = i == 9 ? 4 : strlen(garbage[i]);
            assert_int_not_equal(contract_parse(&c, 200, garbage[i], len), PV_OUTCOME_SUCCEEDED);
        }
        /* pseudo-random bytes, deterministic */
        unsigned seed = 12345;
        char noise[512];
        for (int round = 0; round < 50; round++) {
            for (size_t k = 0; k < sizeof(noise); k++) {
                seed = seed * 1103515245u + 12345u;
                noise[k] = (char)(seed >> 16);
            }
            assert_int_not_equal(contract_parse(&c, 200, noise, sizeof(noise)),
                                 PV_OUTCOME_SUCCEEDED);
        }
        /* 10 MB: the success body padded with blanks */
        size_t big = 10u * 1024 * 1024;
        char *body = malloc(big);
        assert_non_null(body);
        memset(body, ' ', big);
        memcpy(body, c.success, c.success_len);
        pv_result res;
        pv_result_init(&res);
        pv_provider_parse_response(c.p, &c.cmd, 200, body, big, &res);
        assert_int_not_equal(res.outcome, PV_OUTCOME_SUCCEEDED);
        assert_non_null(strstr(res.error, "limit"));
        pv_result_clear(&res);
        free(body);
        contract_free(&c);
    }
}

/*---- Mutations of every field ----*/

typedef struct mutation {
    contract *c;
    json_object *root;
    const char *amount_path;
    size_t leaves;
} mutation;

static const char *const hostile_values[] = {
    "\"x\"", "1e400", "123456789012345678901234567890", "-1", "true", "null", "[]", "{}",
    "1.5",   "\"\"",
};

static void mutate_leaf(mutation *m, json_object *parent, const char *key, size_t idx,
                        json_object *child, const char *path)
{
    m->leaves++;
    for (size_t h = 0; h < sizeof(hostile_values) / sizeof(hostile_values[0]); h++) {
        json_object *repl = tu_json(hostile_values[h]);
        json_object *keep = json_object_get(child);
        if (key != NULL)
            json_object_object_add(parent, key, repl);
        else
            json_object_array_put_idx(parent, idx, repl);
        size_t len;
        const char *text = pv_json_dump(m->root, &len);

        pv_result res;
        pv_result_init(&res);
        pv_provider_parse_response(m->c->p, &m->c->cmd, 200, text, len, &res);
        if (strcmp(path, m->amount_path) == 0 && h <= 2) {
            /* a hostile amount in a success answer: not SUCCEEDED, and said */
            pv_outcome want =
                (m->c->p->caps & PV_CAP_READONLY) ? PV_OUTCOME_RETRY : PV_OUTCOME_UNKNOWN;
            if (res.outcome != want && res.outcome != PV_OUTCOME_INVALID)
                fail_msg("%s: %s = %s gives %s", m->c->p->name, path, hostile_values[h],
                         pv_outcome_name(res.outcome));
            const char *leafname = strrchr(path, '.') != NULL ? strrchr(path, '.') + 1 : path;
            if (strstr(res.error, leafname) == NULL)
                fail_msg("%s: %s = %s: error \"%s\" does not name the field", m->c->p->name, path,
                         hostile_values[h], res.error);
        }
        pv_result_clear(&res);

        if (key != NULL)
            json_object_object_add(parent, key, keep);
        else
            json_object_array_put_idx(parent, idx, keep);
    }
}

static void mutate_walk(mutation *m, json_object *node, const char *path)
{
    char sub[256];
    if (json_object_is_type(node, json_type_object)) {
        json_object_object_foreach(node, k, v)
        {
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", k);
            if (v != NULL && (json_object_is_type(v, json_type_object) ||
                              json_object_is_type(v, json_type_array)))
                mutate_walk(m, v, sub);
            mutate_leaf(m, node, k, 0, v, sub);
        }
    } else if (json_object_is_type(node, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(node); i++) {
            json_object *v = json_object_array_get_idx(node, i);
            snprintf(sub, sizeof(sub), "%s%s%zu", path, path[0] ? "." : "", i);
            if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
                mutate_walk(m, v, sub);
            mutate_leaf(m, node, NULL, i, v, sub);
        }
    }
}

static void test_contract_field_mutations(void **state)
{
    (void)state;
    for (const pv_provider *const *pp = pv_providers; *pp != NULL; pp++) {
        contract c;
        mutation m = {0};
        contract_load(&c, *pp);
        json_object *ap = pv_json_member(c.desc, "amount_path");
        assert_non_null(ap);
        m.c = &c;
        m.amount_path = json_object_get_string(ap);
        m.root = tu_json(c.success);
        mutate_walk(&m, m.root, "");
        assert_true(m.leaves > 3);
        json_object_put(m.root);
        contract_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_hooks_and_settings),
        cmocka_unit_test(test_contract_requests),
        cmocka_unit_test(test_contract_checked_entry_points),
        cmocka_unit_test(test_contract_token_and_spec_entry_points),
        cmocka_unit_test(test_contract_balance_only_with_the_cap),
        cmocka_unit_test(test_contract_statuses),
        cmocka_unit_test(test_contract_truncations_and_garbage),
        cmocka_unit_test(test_contract_field_mutations),
    };
    return cmocka_run_group_tests_name("contract", tests, NULL, NULL);
}
