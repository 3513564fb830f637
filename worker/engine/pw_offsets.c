/* pw_offsets.c -- see pw_offsets.h. */
#include "pw_offsets.h"

#include <librdkafka/rdkafka.h>

#include "pw_engine_int.h"
#include "pw_log.h"

/* Stores the partition's committable position (committed by the timer). */
static void pw_offsets_store(pw_engine *e, int32_t partition, int64_t pos)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, e->cfg->topic_commands, partition)->offset = pos;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(e->consumer, l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pw_logline ll;
        pw_log_begin(&ll, PW_LOG_WARN, "offset not stored");
        pw_log_int(&ll, "partition", partition);
        pw_log_int(&ll, "offset", pos);
        pw_log_str(&ll, "error", rd_kafka_err2str(err));
        pw_log_end(&ll);
    } else if (pw_engine_part(e, partition) != NULL) {
        pw_engine_part(e, partition)->stored = pos;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void pw_offsets_done(pw_engine *e, int32_t partition, int64_t offset)
{
    pw_part *pt = pw_engine_part(e, partition);
    if (pt == NULL || !pt->assigned)
        return;
    int64_t pos = pw_track_done(&pt->track, offset);
    if (pos >= 0)
        pw_offsets_store(e, partition, pos);
}

void pw_offsets_commit(pw_engine *e, int sync, const char *why)
{
    rd_kafka_resp_err_t err = rd_kafka_commit(e->consumer, NULL, sync ? 0 : 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        pw_log(PW_LOG_WARN, "offset commit failed", "when", why, "error", rd_kafka_err2str(err),
               NULL);
}

void pw_offsets_on_commit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pw_engine *e = arg;
    pw_offsets_commit(e, 0, "periodic");
    /* the consumer queue is polled at least this often, even while a full
     * backlog leaves the message queue unread (max.poll.interval.ms) */
    event_active(e->cev, EV_READ, 0);
}
