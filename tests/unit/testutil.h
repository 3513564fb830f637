/* testutil.h -- helpers shared by the cmocka unit tests.
 *
 * Fixtures live under tests/fixtures (override with PAYW_FIXTURES); the seeds'
 * sample requests and responses are kept there byte for byte.
 * tu_json_equal is strict: an integer never equals a double, and numbers are
 * compared by their text ("196.50" differs from "196.5"), because the seeds'
 * shapes are what the providers expect. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "provider.h"
#include "pv_json.h"

/* Reads tests/fixtures/<rel>; fails the test when it cannot. Caller frees. */
char *tu_fixture(const char *rel, size_t *len);

/* cmocka group setup and teardown: *state is a codec (sc_codec_new). */
int tu_codec_setup(void **state);
int tu_codec_teardown(void **state);

/* Parses text (fails the test on error). Caller puts. */
json_object *tu_json(const char *text);

/* Strict structural equality; on difference writes the path into why. */
bool tu_json_equal(json_object *a, json_object *b, char *why, size_t cap);

#define tu_assert_json_equal(a, b)                        \
    do {                                                  \
        char why_[512] = "";                              \
        if (!tu_json_equal((a), (b), why_, sizeof(why_))) \
            fail_msg("JSON differs: %s", why_);           \
    } while (0)

/* Fills cmd for provider p with request parsed from request_json. */
void tu_command(pv_command *cmd, const pv_provider *p, const char *request_json);

/* Runs pv_provider_parse_response (the checked hook) on body. */
void tu_parse(const pv_provider *p, const pv_command *cmd, int status, const char *body,
              pv_result *res);

/* Major-unit text of a money value ("196.50"), in a static buffer. */
const char *tu_money(const pv_money *m);

#endif
