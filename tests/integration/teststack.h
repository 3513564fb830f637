/* teststack.h -- a private payworker stack for integration tests, the
 * benchmark and the chaos test: redis-server, devkafka (or the binary's
 * shared Apache Kafka, PAYW_STACK_KAFKA below), provider-sim and up
 * to three workers (stack_down stops the first two) on
 * free 127.0.0.1 ports, plus helpers to talk to them (payctl, the
 * simulator's control endpoints). Failures end the current cmocka test. */
#ifndef TESTSTACK_H
#define TESTSTACK_H

#include "../unit/testutil.h"
#include "itest_util.h"

#define LINE 8192

typedef struct stack {
    it_proc redis, dk, sim, w[3];
    int redis_port, metrics_port[3];
    char bootstrap[1024], sim_url[64], redis_url[64], dir[256];
    /* the test's topics and consumer group: payworker's defaults on
     * devkafka, fresh names per stack_up on the suite's shared Apache Kafka */
    char t_commands[128], t_results[128], t_balances[128], t_dlq[128], group[128];
    char *env[64];
    int nenv;
    char envbuf[64][1100];
} stack;

char *http(const char *url, const char *body, long *code);
json_object *sim_get(stack *s, const char *path);
void sim_faults(stack *s, const char *json);
int64_t sim_payments(stack *s, const char *provider);
int64_t sim_stat(stack *s, const char *provider, const char *what);
void env_add(stack *s, const char *fmt, const char *a, const char *b);
void env_set(stack *s, const char *name, const char *value);
void start_redis(stack *s);
/* The broker is chosen by PAYW_STACK_KAFKA: "devkafka" (the default: one
 * ops/devkafka per stack_up, killed by stack_down) or "apache": one
 * ops/kafka/kafka.sh (1 node) per test binary, started by the first
 * stack_up and stopped at exit (atexit; the parent-death signal of it_spawn
 * when the binary dies), each stack_up creating fresh topics (6 partitions,
 * commands PAYW_STACK_COMMANDS_PARTITIONS) and naming them and a fresh
 * consumer group in the environment (PAYW_TOPIC_*, PAYW_GROUP, setenv: the
 * workers and payctl inherit them). */
int stack_apache(void);
/* On apache: skips the current test (cmocka skip()) saying why. */
void stack_skip_on_apache(const char *why);
/* A broker for a test: on devkafka spawns one into *dk (args: more
 * devkafka arguments, NULL-terminated, may be NULL); on apache leaves *dk
 * unused (pid 0), makes sure the shared Kafka runs and fills s's topics
 * and group as stack_up does. The bootstrap list into s->bootstrap. */
void stack_broker(stack *s, it_proc *dk, char *const args[]);
void stack_up(stack *s);
/* valgrind: 0 plain, 1 under memcheck (leaks fail its exit), 2 under
 * callgrind writing <s->dir>/callgrind.<i>.out (the bench's instruction count) */
void worker_up_with(stack *s, int i, int valgrind);
void worker_up(stack *s, int i);
void stack_down(stack *s);
void send_lines(stack *s, const char *const *cmds, int n, int raw);
/* Produces the n messages as they are, in order, to one partition of the
 * commands topic (lens NULL: NUL-terminated text). */
void produce_at(stack *s, int32_t partition, const char *const *msgs, const size_t *lens, int n);
json_object *tail(stack *s, const char *what, int n, int timeout_ms);
json_object *tail_upto(stack *s, const char *what, int max, int wait_ms);
int count_status(json_object *events, const char *prefix, const char *status);
int count_distinct(json_object *events, const char *prefix, const char *status);
json_object *tail_distinct(stack *s, const char *what, const char *prefix, const char *status,
                           int want);
long long wall_ms(void);
char *stamp_now(const char *text);
char *command(const char *id, const char *provider, const char *request);
char *contract_request(const char *dir);
/* redis-server on s->redis_port with AOF (appendonly yes, appendfsync
 * always) in dir, its log in dir/redis.log; replaces s->redis (stop the old
 * one first). Waits until it answers PING (AOF loaded). */
void start_redis_aof(stack *s, const char *dir);
/* cmocka setup and teardown of a test with its own stack: a zeroed stack in
 * *state; the teardown kills what a failed test left running. */
int stack_setup(void **state);
int stack_teardown(void **state);

#endif
