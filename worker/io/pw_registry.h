/* pw_registry.h -- a Confluent-compatible Schema Registry client (REST over
 * libcurl, blocking: used at start-up and, rarely, when a message carries a
 * schema id not seen before; the codec caches every schema it is given).
 *
 * DESIGN
 * Subjects follow Confluent's TopicNameStrategy: "<topic>-value". At start-up
 * pw_registry_setup registers our three schemas under their topics' subjects
 * (registering an existing schema returns its id, so every worker and payctl
 * agree on the ids) and hands the ids to the codec. A message framed with an
 * id the codec does not know is resolved by pw_registry_learn: fetch the
 * schema by id, give it to the codec as another writer version.
 * Configuration: PAYW_SCHEMA_REGISTRY_URL (e.g. http://127.0.0.1:8081) and,
 * optionally, PAYW_SCHEMA_REGISTRY_USER_INFO ("user:password", basic auth).
 */
#ifndef PW_REGISTRY_H
#define PW_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "sc_codec.h"

typedef struct pw_registry pw_registry;

/* url: base URL; user_info may be NULL. NULL on failure with errstr set. */
pw_registry *pw_registry_new(const char *url, const char *user_info, char *errstr, size_t cap);
void pw_registry_free(pw_registry *r);

/* Registers schema_json under subject; *id is the registry's id. 0 or -1. */
int pw_registry_register(pw_registry *r, const char *subject, const char *schema_json, int32_t *id,
                         char *errstr, size_t cap);

/* Fetches the schema of id; *schema_json is malloc'd. 0 or -1. */
int pw_registry_fetch(pw_registry *r, int32_t id, char **schema_json, char *errstr, size_t cap);

/* Registers the command, result and balance schemas under
 * "<topic>-value" for the given topics and sets the codec's ids. */
int pw_registry_setup(pw_registry *r, sc_codec *c, const char *commands_topic,
                      const char *results_topic, const char *balances_topic, char *errstr,
                      size_t cap);

/* Fetches schema id and registers it in the codec as a version of kind. */
int pw_registry_learn(pw_registry *r, sc_codec *c, sc_kind kind, int32_t id, char *errstr,
                      size_t cap);

#endif
