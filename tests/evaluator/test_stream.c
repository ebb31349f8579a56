/* The scheduler with a streaming provider (provider.h 'serve', feed.c): a
 * fake engine that holds up to four calls at once and answers them out of
 * order gets every job of the lane, no more than the feed's room at a
 * time, and every answer reaches its own job; a cancel stops the worker
 * and hands back the jobs it held. */
#include "evaluator/eval.h"
#include "evaluator/provider.h"
#include "evaluator/scheduler.h"
#include "tests/test.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NJOBS 25

typedef struct fake_engine {
    prov base;
    int hold;               /* calls held before answering */
    int never_answer;       /* wait for the cancel instead */
    int max_held;
} fake_engine;

/* Take calls until 'hold' are held or the feed ends (waiting for each, so
 * the count held does not depend on thread timing; 'hold' is within the
 * feed's room), then answer the newest first, with the case id as the
 * output. */
static int fake_serve(prov *p, prov_feed *feed)
{
    fake_engine *fe = (fake_engine *)p;
    const prov_call *calls[8];
    void *tags[8];
    struct timespec ms = {0, 1000000};
    int held = 0, ended = 0, rc;

    for (;;) {
        while (!ended && held < fe->hold) {
            rc = prov_feed_take(feed, 1, &calls[held], &tags[held]);
            if (rc < 0)
                return 0;
            if (rc == PROV_FEED_END)
                ended = 1;
            if (rc != PROV_FEED_CALL)
                break;
            held++;
        }
        if (held > fe->max_held)
            fe->max_held = held;
        if (fe->never_answer) {
            if (prov_feed_canceled(feed))
                return 0;
            nanosleep(&ms, NULL);
            continue;
        }
        if (held == 0 && ended)
            return 0;
        while (held > 0) {
            prov_result res;
            const char *id = calls[held - 1]->case_id;

            prov_result_init(&res);
            if (prov_result_set_output(&res, id, strlen(id)) < 0)
                return AS_ENOMEM;
            res.latency_ms = 1;
            prov_feed_give(feed, tags[--held], &res);
        }
    }
}

static const prov_vtable fake_vt = {.name = "fake", .summary = "test", .serve = fake_serve};

typedef struct lane_state {
    sched_job jobs[NJOBS];
    char ids[NJOBS][8];
    char out[NJOBS][16];
    int handed, done, canceled, turns;
    atomic_int *cancel;
} lane_state;

static int next_job(void *arg, sched_job **out)
{
    lane_state *l = arg;

    if (l->handed == NJOBS)
        return SCHED_END;
    *out = &l->jobs[l->handed++];
    return SCHED_JOB;
}

static int job_done(void *arg, sched_job *job, prov_result *res, int attempts)
{
    lane_state *l = arg;
    int i = (int)(job - l->jobs);

    (void)attempts;
    if (res->error == AS_ECANCELED)
        l->canceled++;
    else
        snprintf(l->out[i], sizeof l->out[i], "%s", res->output ? res->output : "error");
    l->done++;
    return 0;
}

static int cancel_tick(void *arg)
{
    lane_state *l = arg;

    if (l->cancel && ++l->turns == 5)
        atomic_store(l->cancel, 1);
    return 0;
}

static void lane_init(lane_state *l)
{
    int i;

    memset(l, 0, sizeof *l);
    for (i = 0; i < NJOBS; i++) {
        snprintf(l->ids[i], sizeof l->ids[i], "c%d", i);
        l->jobs[i].call.case_id = l->ids[i];
        l->jobs[i].call.prompt = l->ids[i];
    }
}

static void stream__every_job_answered_out_of_order(void)
{
    static const sched_lane_ops ops = {next_job, NULL, job_done, NULL};
    fake_engine fe = {{&fake_vt}, 4, 0, 0};
    sched_limits lim = {3, 0, 10, 0, 0};
    lane_state l;
    sched *s = NULL;
    atomic_int cancel = 0;
    int i;

    lane_init(&l);
    T_OK(sched_new(&s));
    T_OK(sched_add_lane(s, &fe.base, &lim, &ops, &l));
    T_OK(sched_run(s, &cancel));
    sched_free(s);
    T_EQ_INT(l.done, NJOBS);
    T_EQ_INT(l.canceled, 0);
    for (i = 0; i < NJOBS; i++)
        T_EQ_STR(l.out[i], l.ids[i]);
    T_EQ_INT(fe.max_held, 4);
}

static void stream__cancel_hands_back_the_held_jobs(void)
{
    static const sched_lane_ops ops = {next_job, NULL, job_done, cancel_tick};
    fake_engine fe = {{&fake_vt}, 4, 1, 0};
    sched_limits lim = {2, 0, 10, 0, 0};
    lane_state l;
    sched *s = NULL;
    atomic_int cancel = 0;

    lane_init(&l);
    l.cancel = &cancel;
    T_OK(sched_new(&s));
    T_OK(sched_add_lane(s, &fe.base, &lim, &ops, &l));
    T_ERR(sched_run(s, &cancel), AS_ECANCELED);
    sched_free(s);
    /* the feed had room for 2 x concurrency jobs; each came back canceled */
    T_EQ_INT(l.handed, 4);
    T_EQ_INT(l.done, 4);
    T_EQ_INT(l.canceled, 4);
}

int main(void)
{
    T_OK(eval_global_init());
    T_RUN(stream__every_job_answered_out_of_order);
    T_RUN(stream__cancel_hands_back_the_held_jobs);
    eval_global_shutdown();
    return t_done();
}
