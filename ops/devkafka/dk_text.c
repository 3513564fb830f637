/* dk_text.c -- the tokens of devkafka's command line and control lines:
 * numbers, topic names, Kafka's ApiKeys and error codes by number or name,
 * and their quotation in replies (bounded, printable: hostile input stays one
 * line). */
#include "dk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Writes s as a logfmt value into buf: bare when it is a plain token,
 * otherwise double-quoted with " \ and control characters escaped. */
const char *dk_text_quote(char *buf, size_t cap, const char *s)
{
    bool bare = s[0] != '\0';
    for (const char *p = s; *p != '\0' && bare; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            bare = false;
    size_t o = 0;
    if (!bare && o + 1 < cap)
        buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 5 < cap; p++) {
        if (bare) {
            buf[o++] = (char)*p;
        } else if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (*p < ' ' || *p == 0x7f) {
            buf[o++] = '?';
        } else {
            buf[o++] = (char)*p;
        }
    }
    if (!bare && o + 1 < cap)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* Parses all of s as a decimal integer in [min, max]. */
int dk_text_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || s[0] == '\0')
        return DK_ERR;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return DK_ERR;
    *out = v;
    return DK_OK;
}

/* A token fit to quote in a reply: printable, at most 64 bytes. */
const char *dk_text_token(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 4 < cap && o < 64;
         p++)
        buf[o++] = (*p < ' ' || *p == 0x7f || *p == '"') ? '?' : (char)*p;
    if (strlen(s) > o && o + 4 < cap) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = '\0';
    return buf;
}

/* Kafka's rule for topic names: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool dk_text_topic_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DK_TOPIC_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/*---- Kafka protocol names ----*/

/* ApiKeys of the Kafka protocol (KIP-4 onward numbering is stable). */
static const char *const dk_text_api_names[] = {
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
};
#define DK_API_CNT ((int)(sizeof(dk_text_api_names) / sizeof(dk_text_api_names[0])))

const char *dk_text_api_name(int api_key)
{
    return api_key >= 0 && api_key < DK_API_CNT ? dk_text_api_names[api_key] : "?";
}

/* An ApiKey by number (0..32767) or by name, any case ("produce", "Fetch"). */
int dk_text_api_key(const char *s, int16_t *api_key)
{
    long v;
    if (dk_text_long(s, 0, INT16_MAX, &v) == DK_OK) {
        *api_key = (int16_t)v;
        return DK_OK;
    }
    for (int i = 0; i < DK_API_CNT; i++) {
        if (strcasecmp(s, dk_text_api_names[i]) == 0) {
            *api_key = (int16_t)i;
            return DK_OK;
        }
    }
    return DK_ERR;
}

/* An error code by number or by librdkafka name, with or without the
 * RD_KAFKA_RESP_ERR_ prefix, any case: 6, NOT_LEADER_FOR_PARTITION,
 * RD_KAFKA_RESP_ERR__TRANSPORT. Only codes librdkafka knows are accepted. */
int dk_text_err(const char *s, rd_kafka_resp_err_t *err)
{
    const struct rd_kafka_err_desc *descs = NULL;
    size_t cnt = 0;
    long v;
    bool by_number = dk_text_long(s, INT_MIN, INT_MAX, &v) == DK_OK;
    const char *name = s;

    if (strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
        name += 18;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name == NULL)
            continue;
        if ((by_number && descs[i].code == (int)v) ||
            (!by_number && strcasecmp(descs[i].name, name) == 0)) {
            *err = descs[i].code;
            return DK_OK;
        }
    }
    return DK_ERR;
}
