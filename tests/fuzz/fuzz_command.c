/* fuzz_command.c -- libFuzzer target over command decoding, the worker's
 * first contact with untrusted bytes: Confluent Avro and JSON commands, then
 * what the worker does next with a decoded one (lock key, provider request),
 * and every event kind through sc_event_to_json.
 *
 * `make fuzz` runs it under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS;
 * tests/unit/test_fuzz_corpus.c runs the corpus (tests/fuzz/corpus/command)
 * through the same function in `make test`. A decoded command that re-encodes
 * must decode again: the round trip is checked, not just the absence of a
 * crash.
 *
 * It also reaches encoding (issue 11: a result the codec could not encode
 * once left its command unanswered): the decode error of a refused input
 * must encode as a REJECTED result, and the input read as every provider's
 * answer (with its hostile text) must encode as that provider's result, the
 * detail left out at most (what the worker does with one over the limits).
 * Inputs up to 1 MiB (`make fuzz` passes -max_len). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "sc_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_settings[] = {"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};

/* A result event for cmd with status and reason must encode; with res, the
 * provider's part too (its detail may be left out, as the worker does). */
static void fuzz_encode_result(sc_codec *codec, const pv_command *cmd, pv_status status,
                               pv_result *res, const char *reason)
{
    pv_result_event ev = {0};
    pv_error err = {0};
    char *bytes = NULL;
    size_t len;
    snprintf(ev.event_id, sizeof(ev.event_id), "ev-fuzz");
    snprintf(ev.command_id, sizeof(ev.command_id), "%s", cmd->command_id);
    ev.provider = cmd->provider;
    snprintf(ev.operation, sizeof(ev.operation), "%s", cmd->operation);
    ev.status = status;
    ev.result = res;
    ev.attempts = res != NULL ? 1 : 0;
    snprintf(ev.worker, sizeof(ev.worker), "fuzz");
    ev.processed_at_ms = 1;
    snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
    int rc = sc_result_encode(codec, &ev, &bytes, &len, &err);
    pv_error_clear(&err);
    if (rc != PV_OK && res != NULL && res->detail != NULL) {
        json_object_put(res->detail);
        res->detail = NULL;
        rc = sc_result_encode(codec, &ev, &bytes, &len, &err);
        pv_error_clear(&err);
    }
    if (rc != PV_OK)
        abort(); /* a command would go unanswered */
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sc_codec *codec;
    pv_command cmd, again;
    pv_error err = {0};

    if (codec == NULL) {
        codec = sc_codec_new(NULL);
        if (codec == NULL)
            abort();
    }
    if (sc_command_decode(codec, data, size, &cmd, &err) == PV_OK) {
        char qid[PV_ID_MAX];
        pv_request req;
        pv_ctx ctx = {.settings = fuzz_settings, .token = "t"};
        pv_error e2 = {0};
        if (cmd.provider->query_id(&cmd, qid, sizeof(qid), &e2) == PV_OK && qid[0] == '\0')
            abort(); /* a lock key is never empty */
        pv_error_clear(&e2);
        if (!(cmd.provider->caps & PV_CAP_SPEC) &&
            pv_provider_build_request(cmd.provider, &cmd, &ctx, &req, &e2) == PV_OK)
            pv_request_clear(&req);
        pv_error_clear(&e2);

        char *bytes;
        size_t len;
        if (sc_command_encode(codec, &cmd, &bytes, &len, &e2) == PV_OK) {
            if (sc_command_decode(codec, bytes, len, &again, &e2) != PV_OK)
                abort(); /* what we encode we must decode */
            if (strcmp(again.command_id, cmd.command_id) != 0 || again.provider != cmd.provider)
                abort();
            pv_command_clear(&again);
            free(bytes);
        }
        pv_error_clear(&e2);
        pv_command_clear(&cmd);
    } else {
        fuzz_encode_result(codec, &cmd, PV_STATUS_REJECTED, NULL, err.errstr);
    }
    pv_error_clear(&err);
    /* the input as each provider's answer to a command of its own */
    for (size_t p = 0; pv_providers[p] != NULL; p++) {
        pv_command pc;
        pv_result res;
        pv_command_init(&pc);
        pc.provider = pv_providers[p];
        snprintf(pc.command_id, sizeof(pc.command_id), "fuzz-%zu", p);
        snprintf(pc.operation, sizeof(pc.operation), "%s", pc.provider->operation);
        pv_result_init(&res);
        pv_provider_parse_response(pc.provider, &pc, size > 0 && data[0] == '{' ? 200 : 502,
                                   (const char *)data, size, &res);
        pv_status st =
            res.outcome == PV_OUTCOME_SUCCEEDED ? PV_STATUS_SUCCEEDED : PV_STATUS_UNKNOWN;
        fuzz_encode_result(codec, &pc, st, &res, res.error);
        pv_result_clear(&res);
        pv_command_clear(&pc);
    }
    for (int k = SC_RESULT; k < SC_KIND__COUNT; k++) {
        json_object *j = NULL;
        pv_error e3 = {0};
        if (sc_event_to_json(codec, (sc_kind)k, data, size, &j, &e3) == PV_OK)
            json_object_put(j);
        pv_error_clear(&e3);
    }
    return 0;
}
