/* test_isbank.h -- fixtures and helpers shared by the İş Bankası tests:
 * test_isbank_spec.c (the service object and commands checked against it)
 * and test_isbank.c (the payment, the token and the answers). Helpers are
 * static inline: each file uses some of them. */
#ifndef TEST_ISBANK_H
#define TEST_ISBANK_H

#include "testutil.h"

#include <string.h>

/* Exported by pv_isbank_spec.c: the parsed spec as canonical JSON. */
json_object *pv_isbank_spec_to_json(const void *spec);

/* parallel to pv_isbank.settings: client_id, client_secret, token_path, scope */
static const char *const isbank_settings[] = {"client-id-1", "client-secret-1", NULL, NULL};
#define ISBANK_TOKEN "tok-1.abc_DEF"

#define SERVICE_FIXTURE "isbank/bill-institution-service.response.json"
#define PAYMENT_FIXTURE "isbank/bill-payment.response.json"

#define NAME     "{\"name\": \"SubscriberName\", \"value\": \"Ayşe Yılmaz\"}"
#define TCKN     "{\"name\": \"Tckn_Vkn_Ykn\", \"value\": \"10000000146\"}"
#define SELF     "{\"name\": \"OnBehalfOf\", \"selected_item\": {\"key\": \"K\"}}"
#define BASIC_OK NAME ", " TCKN

/*---- Helpers ----*/

static inline void *isbank_spec_from(const char *text, pv_error *err)
{
    return pv_isbank.parse_spec(200, text, strlen(text), err);
}

/* The seed's service object; with whole_only, a variant whose
 * decimal_fraction_allowed is false. */
static inline void *isbank_seed_spec(bool whole_only)
{
    pv_error err = {0};
    char *text = tu_fixture(SERVICE_FIXTURE, NULL);
    if (whole_only) {
        const char *flag = "\"decimal_fraction_allowed\": true";
        char *at = strstr(text, flag);
        assert_non_null(at);
        size_t head = (size_t)(at - text), n = strlen(text) + 8;
        char *variant = malloc(n);
        assert_non_null(variant);
        snprintf(variant, n, "%.*s\"decimal_fraction_allowed\": false%s", (int)head, text,
                 at + strlen(flag));
        free(text);
        text = variant;
    }
    void *spec = isbank_spec_from(text, &err);
    if (spec == NULL)
        fail_msg("seed service object does not parse: %s", err.errstr);
    free(text);
    return spec;
}

static inline pv_ctx isbank_ctx(const void *spec)
{
    pv_ctx ctx = {.settings = isbank_settings, .token = ISBANK_TOKEN, .spec = spec};
    return ctx;
}

static inline void isbank_cmd(pv_command *cmd, const char *amount, const char *currency,
                              const char *basic, const char *selected)
{
    char text[16384];
    int n = snprintf(text, sizeof(text),
                     "{\"service_id\": 10065, \"payment_reference\": \"R-1\", \"amount\": %s, "
                     "\"currency_code\": \"%s\", \"basic_input_values\": [%s], "
                     "\"selected_input_values\": [%s]}",
                     amount, currency, basic, selected);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    tu_command(cmd, &pv_isbank, text);
}

/* The spec as canonical JSON, re-parsed so that number texts compare. */
static inline void isbank_assert_spec(const void *spec, const char *want_text)
{
    json_object *o = pv_isbank_spec_to_json(spec);
    assert_non_null(o);
    json_object *got = tu_json(pv_json_dump(o, NULL)), *want = tu_json(want_text);
    tu_assert_json_equal(got, want);
    json_object_put(got);
    json_object_put(want);
    json_object_put(o);
}

/* n copies of the 20-code-point (25-byte) Turkish phrase, plus extra. */
static inline void isbank_turkish(char *buf, size_t cap, int n, const char *extra)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, cap - o, "Adına Bağış Yapılan ");
    snprintf(buf + o, cap - o, "%s", extra);
}

#endif
