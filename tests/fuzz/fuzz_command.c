/* fuzz_command.c -- libFuzzer target over command decoding, the worker's
 * first contact with untrusted bytes: Confluent Avro and JSON commands, then
 * what the worker does next with a decoded one (lock key, provider request),
 * and every event kind through sc_event_to_json.
 *
 * `make fuzz` runs it under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS;
 * tests/unit/test_fuzz_corpus.c runs the corpus (tests/fuzz/corpus/command)
 * through the same function in `make test`. A decoded command that re-encodes
 * must decode again: the round trip is checked, not just the absence of a
 * crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "sc_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_settings[] = {"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"};

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
    }
    pv_error_clear(&err);
    for (int k = SC_RESULT; k < SC_KIND__COUNT; k++) {
        json_object *j = NULL;
        pv_error e3 = {0};
        if (sc_event_to_json(codec, (sc_kind)k, data, size, &j, &e3) == PV_OK)
            json_object_put(j);
        pv_error_clear(&e3);
    }
    return 0;
}
