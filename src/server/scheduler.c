/* scheduler.c: the inference thread of `cllm serve`. It owns the engine's
 * context and N slots; slot i decodes as KV sequence i of one shared cache.
 *
 * Each step builds one batch: the pending token of every generating slot,
 * then chunks of the prompts of slots still reading them, up to n_batch
 * tokens (continuous batching: a long prompt is read a chunk per step while
 * the running streams keep producing a token per step). A new task reuses
 * the longest prefix of its prompt already in the cache, from its own slot
 * or copied from any other slot, and evaluates only the rest.
 *
 * Tasks beyond the free slots wait in a bounded FIFO. Every submitted task
 * gets exactly one terminal event (DONE or ERROR); after it the scheduler
 * never touches the task again. Sinks are called without the scheduler lock. */
#include "server/server.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SLOT_IDLE = 0, SLOT_PROMPT = 1, SLOT_GEN = 2 } slot_state;

typedef struct slot {
    int id;
    slot_state st;
    srv_task *task;
    void *sampler;
    int32_t *cache;            /* tokens whose KV is in sequence id, positions 0.. */
    int32_t n_cache, cap_cache;
    int32_t i_prompt;          /* next prompt token to feed */
    int32_t n_cached;          /* prompt tokens reused from the cache */
    int32_t n_gen;
    int32_t pending_tok;       /* sampled, not yet in the KV */
    int32_t batch_idx;         /* output row in this step's batch, -1 none */
    int32_t batch_first;       /* row of the slot's first prompt token in this batch */
    bool reread;               /* re-reading kept tokens after a context shift */
    int32_t n_in_batch;        /* tokens this slot put in this step's batch */
    char *hold;                /* generated text not yet released */
    size_t hold_len, hold_cap;
    uint64_t t_start, t_prompt_done, t_last_used;
} slot;

struct srv_sched {
    srv_engine *eng;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stopped;
    slot *slots;
    int n_slots;
    int32_t n_ctx_slot;
    srv_task *q_head, *q_tail;
    int q_len, queue_max;
    cllm_batch batch;
    int32_t n_batch;
    srv_sched_stats stats;
    bool (*gone)(srv_task *t);
};

srv_task *srv_task_new(srv_task_kind kind) {
    srv_task *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    t->n_predict = -1;
    atomic_init(&t->cancelled, 0);
    return t;
}

void srv_task_free(srv_task *t, srv_engine *e) {
    if (!t) return;
    free(t->prompt);
    for (int i = 0; i < t->n_stop; i++) free(t->stop[i]);
    free(t->stop);
    if (t->sampler && e && e->sampler_free) e->sampler_free(e, t->sampler);
    free(t);
}

/* ------------------------------------------------------------- batch */
/* The batch is filled here rather than with cllm_batch_add so that the
 * scheduler depends on the engine only through srv_engine (testable with a
 * fake). One sequence id per token. */
static bool batch_alloc(cllm_batch *b, int32_t cap) {
    memset(b, 0, sizeof *b);
    b->token = calloc((size_t)cap, sizeof *b->token);
    b->pos = calloc((size_t)cap, sizeof *b->pos);
    b->n_seq_id = calloc((size_t)cap, sizeof *b->n_seq_id);
    b->seq_id = calloc((size_t)cap, sizeof *b->seq_id);
    b->logits = calloc((size_t)cap, sizeof *b->logits);
    int32_t *ids = calloc((size_t)cap, sizeof *ids);
    if (!b->token || !b->pos || !b->n_seq_id || !b->seq_id || !b->logits || !ids) {
        free(ids);
        return false;
    }
    for (int32_t i = 0; i < cap; i++) b->seq_id[i] = ids + i;
    b->cap = cap;
    b->seq_cap = 1;
    return true;
}

static void batch_release(cllm_batch *b) {
    if (b->seq_id) free(b->seq_id[0]);
    free(b->token);
    free(b->pos);
    free(b->n_seq_id);
    free(b->seq_id);
    free(b->logits);
    memset(b, 0, sizeof *b);
}

static void batch_push(cllm_batch *b, int32_t tok, int32_t pos, int32_t seq, bool logits) {
    int32_t i = b->n_tokens++;
    b->token[i] = tok;
    b->pos[i] = pos;
    b->n_seq_id[i] = 1;
    b->seq_id[i][0] = seq;
    b->logits[i] = logits ? 1 : 0;
}

/* ------------------------------------------------------------ events */
static void emit(srv_task *t, const srv_event *ev) {
    if (t->sink) t->sink(t, ev);
}

static void usage_of(const slot *sl, srv_usage *u, uint64_t now) {
    u->n_prompt = sl->task ? (sl->task->n_prompt_orig ? sl->task->n_prompt_orig : sl->task->n_prompt) : 0;
    u->n_cached = sl->n_cached;
    u->n_gen = sl->n_gen;
    uint64_t tp = sl->t_prompt_done ? sl->t_prompt_done : now;
    u->t_prompt_ms = (double)(tp - sl->t_start) / 1e6;
    u->t_gen_ms = sl->t_prompt_done ? (double)(now - sl->t_prompt_done) / 1e6 : 0.0;
}

static void hold_append(slot *sl, const char *p, size_t n) {
    if (sl->hold_len + n + 1 > sl->hold_cap) {
        size_t cap = sl->hold_cap ? sl->hold_cap : 256;
        while (cap < sl->hold_len + n + 1) cap *= 2;
        char *q = realloc(sl->hold, cap);
        if (!q) return;
        sl->hold = q;
        sl->hold_cap = cap;
    }
    memcpy(sl->hold + sl->hold_len, p, n);
    sl->hold_len += n;
    sl->hold[sl->hold_len] = 0;
}

/* Length of the tail of buf that starts an incomplete UTF-8 sequence. */
static size_t utf8_incomplete_tail(const char *buf, size_t len) {
    size_t back = 0;
    while (back < len && back < 4) {
        unsigned char c = (unsigned char)buf[len - 1 - back];
        if ((c & 0xC0) != 0x80) {
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            return need > back + 1 ? back + 1 : 0;
        }
        back++;
    }
    return 0;
}

/* Finish the slot's task with a terminal event; the slot becomes idle and
 * keeps its cache for later reuse. */
static void slot_finish(srv_sched *s, slot *sl, const srv_event *ev_in) {
    srv_task *t = sl->task;
    if (!t) return;
    uint64_t now = cllm_time_ns();
    srv_event ev = *ev_in;
    usage_of(sl, &ev.usage, now);
    if (sl->sampler) s->eng->sampler_free(s->eng, sl->sampler);
    sl->sampler = NULL;
    sl->hold_len = 0;
    sl->batch_idx = -1;
    sl->t_last_used = now;
    pthread_mutex_lock(&s->mu);
    sl->task = NULL;
    sl->st = SLOT_IDLE;
    if (ev.type == SRV_EV_DONE && ev.finish && !strcmp(ev.finish, "cancelled"))
        s->stats.requests_cancelled++;
    else
        s->stats.requests_done++;
    s->stats.gen_ms += ev.usage.t_gen_ms;
    pthread_mutex_unlock(&s->mu);
    emit(t, &ev);
}

static void slot_done(srv_sched *s, slot *sl, const char *finish, const char *stop_word) {
    /* Release what is held back, except when a stop string cut it. */
    if (sl->hold_len && !stop_word) {
        srv_event tev = {.type = SRV_EV_TOKEN, .text = sl->hold, .text_len = sl->hold_len,
                         .tok = -1};
        usage_of(sl, &tev.usage, cllm_time_ns());
        emit(sl->task, &tev);
    }
    sl->hold_len = 0;
    srv_event ev = {.type = SRV_EV_DONE, .finish = finish, .stop_word = stop_word};
    slot_finish(s, sl, &ev);
}

static void slot_error(srv_sched *s, slot *sl, int status, const char *msg) {
    srv_event ev = {.type = SRV_EV_ERROR, .status = status, .message = msg};
    slot_finish(s, sl, &ev);
}

/* ------------------------------------------------------------ prompts */
static bool cache_reserve(slot *sl, int32_t n) {
    if (n <= sl->cap_cache) return true;
    int32_t cap = sl->cap_cache ? sl->cap_cache : 256;
    while (cap < n) cap *= 2;
    int32_t *p = realloc(sl->cache, sizeof *p * (size_t)cap);
    if (!p) return false;
    sl->cache = p;
    sl->cap_cache = cap;
    return true;
}

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb) {
    int32_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i]) i++;
    return i;
}

/* Put task t on idle slot sl, reusing the longest cached prefix. */
static void slot_start(srv_sched *s, slot *sl, srv_task *t) {
    srv_engine *e = s->eng;
    sl->task = t;
    sl->sampler = t->sampler;
    t->sampler = NULL;
    sl->n_gen = 0;
    sl->hold_len = 0;
    sl->batch_idx = -1;
    sl->reread = false;
    sl->t_start = cllm_time_ns();
    sl->t_prompt_done = 0;
    pthread_mutex_lock(&s->mu);
    sl->st = SLOT_PROMPT;
    pthread_mutex_unlock(&s->mu);
    int32_t keep = 0;
    if (t->kind == SRV_TASK_COMPLETION && !t->prompt_logprobs) {
        int32_t own = common_prefix(sl->cache, sl->n_cache, t->prompt, t->n_prompt);
        int32_t best = 0, src = -1;
        for (int j = 0; j < s->n_slots; j++) {
            slot *o = &s->slots[j];
            if (o == sl) continue;
            int32_t l = common_prefix(o->cache, o->n_cache, t->prompt, t->n_prompt);
            if (l > best) { best = l; src = j; }
        }
        if (best > own && src >= 0) {
            e->kv_rm(e, sl->id, 0, -1);
            e->kv_cp(e, src, sl->id, 0, best);
            keep = best;
        } else {
            keep = own;
        }
        /* At least one token must be evaluated to get logits. */
        if (keep >= t->n_prompt) keep = t->n_prompt - 1;
        if (keep < 0) keep = 0;
    }
    e->kv_rm(e, sl->id, keep, -1);
    /* Room for everything the slot can hold: prompt and generated tokens. */
    int32_t room = s->n_ctx_slot > t->n_prompt ? s->n_ctx_slot : t->n_prompt;
    if (!cache_reserve(sl, room + 1)) {
        e->kv_rm(e, sl->id, 0, -1);
        sl->n_cache = 0;
        slot_error(s, sl, 500, "out of memory");
        return;
    }
    memcpy(sl->cache, t->prompt, sizeof(int32_t) * (size_t)keep);
    sl->n_cache = keep;
    sl->i_prompt = keep;
    sl->n_cached = keep;
    pthread_mutex_lock(&s->mu);
    s->stats.cached_tokens += (uint64_t)keep;
    pthread_mutex_unlock(&s->mu);
}

/* Top-n log-probs of a logits row (log-softmax of the raw logits). */
static float logprobs_of(const float *l, int32_t n_vocab, int32_t tok, int n_top, srv_top *top) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) mx = l[i] > mx ? l[i] : mx;
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)(l[i] - mx));
    float lse = mx + (float)log(sum);
    for (int k = 0; k < n_top; k++) top[k] = (srv_top){-1, -INFINITY};
    for (int32_t i = 0; i < n_vocab && n_top > 0; i++) {
        if (l[i] <= top[n_top - 1].logprob && top[n_top - 1].tok >= 0) continue;
        int k = n_top - 1;
        while (k > 0 && (top[k - 1].tok < 0 || l[i] > top[k - 1].logprob)) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = (srv_top){i, l[i]};
    }
    for (int k = 0; k < n_top; k++)
        if (top[k].tok >= 0) top[k].logprob -= lse;
    return (tok >= 0 && tok < n_vocab) ? l[tok] - lse : -INFINITY;
}

/* The slot's context is full: keep the first n_keep tokens, drop the older
 * half of the rest, and re-read what is kept followed by the pending token
 * as a new prompt (re-reading rather than shifting KV positions keeps cells
 * shared with other slots intact). Generation then goes on. */
static void context_shift(srv_sched *s, slot *sl) {
    srv_task *t = sl->task;
    int32_t keep = t->n_keep < 0 ? 0 : t->n_keep;
    if (keep > sl->n_cache / 2) keep = sl->n_cache / 2;
    int32_t n_discard = (sl->n_cache - keep) / 2;
    int32_t n_new = sl->n_cache - n_discard + 1;
    int32_t *np = malloc(sizeof *np * (size_t)n_new);
    if (!np) {
        slot_error(s, sl, 500, "out of memory");
        return;
    }
    memcpy(np, sl->cache, sizeof *np * (size_t)keep);
    memcpy(np + keep, sl->cache + keep + n_discard, sizeof *np * (size_t)(sl->n_cache - keep - n_discard));
    np[n_new - 1] = sl->pending_tok;
    if (!t->n_prompt_orig) t->n_prompt_orig = t->n_prompt;
    free(t->prompt);
    t->prompt = np;
    t->n_prompt = n_new;
    s->eng->kv_rm(s->eng, sl->id, 0, -1);
    sl->n_cache = 0;
    sl->i_prompt = 0;
    sl->reread = true;
    pthread_mutex_lock(&s->mu);
    sl->st = SLOT_PROMPT;
    pthread_mutex_unlock(&s->mu);
}

/* A token was sampled for slot sl: release text, check stops and limits. */
static void slot_token(srv_sched *s, slot *sl, int32_t tok, const float *logits) {
    srv_engine *e = s->eng;
    srv_task *t = sl->task;
    sl->n_gen++;
    sl->pending_tok = tok;
    pthread_mutex_lock(&s->mu);
    s->stats.gen_tokens++;
    pthread_mutex_unlock(&s->mu);
    if (!t->ignore_eos && e->is_eog(e, tok)) {
        slot_done(s, sl, "stop", NULL);
        return;
    }
    char buf[256];
    int32_t n = e->piece(e, tok, buf, (int32_t)sizeof buf, false);
    if (n < 0) n = 0;
    size_t before = sl->hold_len;
    hold_append(sl, buf, (size_t)n);
    /* Stop strings: search the new region (plus overlap) of the held text. */
    for (int k = 0; k < t->n_stop; k++) {
        size_t sl_len = strlen(t->stop[k]);
        if (!sl_len) continue;
        size_t from = before >= sl_len ? before - sl_len + 1 : 0;
        char *hit = NULL;
        for (size_t i = from; i + sl_len <= sl->hold_len; i++)
            if (!memcmp(sl->hold + i, t->stop[k], sl_len)) { hit = sl->hold + i; break; }
        if (hit) {
            size_t keep = (size_t)(hit - sl->hold);
            srv_top top[SRV_MAX_TOP];
            srv_event tev = {.type = SRV_EV_TOKEN, .text = sl->hold, .text_len = keep, .tok = tok};
            if (t->want_logprob)
                tev.logprob = logprobs_of(logits, e->n_vocab, tok, t->n_top, top);
            tev.n_top = t->n_top;
            tev.top = top;
            usage_of(sl, &tev.usage, cllm_time_ns());
            emit(t, &tev);
            sl->hold_len = 0;
            slot_done(s, sl, "stop", t->stop[k]);
            return;
        }
    }
    /* Hold back a tail that may start a stop string or is partial UTF-8. */
    size_t hold = utf8_incomplete_tail(sl->hold, sl->hold_len);
    for (int k = 0; k < t->n_stop; k++) {
        size_t sl_len = strlen(t->stop[k]);
        for (size_t m = sl_len - 1; m > hold && m > 0; m--) {
            if (m <= sl->hold_len && !memcmp(sl->hold + sl->hold_len - m, t->stop[k], m)) {
                hold = m;
                break;
            }
        }
    }
    size_t rel = sl->hold_len - hold;
    srv_top top[SRV_MAX_TOP];
    srv_event tev = {.type = SRV_EV_TOKEN, .text = sl->hold, .text_len = rel, .tok = tok};
    if (t->want_logprob) tev.logprob = logprobs_of(logits, e->n_vocab, tok, t->n_top, top);
    tev.n_top = t->want_logprob ? t->n_top : 0;
    tev.top = top;
    usage_of(sl, &tev.usage, cllm_time_ns());
    emit(t, &tev);
    memmove(sl->hold, sl->hold + rel, hold);
    sl->hold_len = hold;
    if (t->n_predict >= 0 && sl->n_gen >= t->n_predict) {
        slot_done(s, sl, "length", NULL);
        return;
    }
    /* The pending token needs a KV cell at position n_cache. */
    if (sl->n_cache + 1 < s->n_ctx_slot) return;
    if (!t->context_shift) {
        slot_done(s, sl, "length", NULL);
        return;
    }
    context_shift(s, sl);
}

/* ------------------------------------------------------------- step */
static void fail_batch(srv_sched *s, const char *msg) {
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->n_in_batch == 0 || !sl->task) continue;
        s->eng->kv_rm(s->eng, sl->id, 0, -1);
        sl->n_cache = 0;
        slot_error(s, sl, 500, msg);
    }
}

static void step(srv_sched *s) {
    srv_engine *e = s->eng;
    cllm_batch *b = &s->batch;
    b->n_tokens = 0;
    int32_t nb = 0;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        sl->batch_idx = -1;
        sl->n_in_batch = 0;
        if (sl->st != SLOT_GEN) continue;
        batch_push(b, sl->pending_tok, sl->n_cache, sl->id, true);
        sl->batch_idx = nb++;
        sl->n_in_batch = 1;
    }
    /* Prompt chunks, oldest task first. */
    for (;;) {
        slot *pick = NULL;
        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->st != SLOT_PROMPT || sl->n_in_batch) continue;
            if (!pick || sl->t_start < pick->t_start) pick = sl;
        }
        if (!pick || nb >= s->n_batch) break;
        srv_task *t = pick->task;
        int32_t room = s->n_batch - nb;
        int32_t left = t->n_prompt - pick->i_prompt;
        bool embd = t->kind == SRV_TASK_EMBEDDING;
        if (embd && left > room) {
            pick->n_in_batch = -1; /* whole prompt next step */
            continue;
        }
        int32_t take = left < room ? left : room;
        bool all = embd || t->prompt_logprobs;
        pick->batch_first = nb;
        for (int32_t k = 0; k < take; k++) {
            int32_t p = pick->i_prompt + k;
            bool last = p == t->n_prompt - 1;
            batch_push(b, t->prompt[p], p, pick->id, all || last);
            if (last) pick->batch_idx = nb + k;
        }
        nb += take;
        pick->n_in_batch = take;
    }
    if (nb == 0) return;
    char err[256] = "";
    uint64_t t0 = cllm_time_ns();
    cllm_status st = e->decode(e, b, err, sizeof err);
    uint64_t t1 = cllm_time_ns();
    pthread_mutex_lock(&s->mu);
    s->stats.steps++;
    pthread_mutex_unlock(&s->mu);
    if (st != CLLM_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "decode failed: %s%s%s", cllm_status_str(st), err[0] ? ": " : "", err);
        CLLM_LOGE("%s", msg);
        fail_batch(s, msg);
        return;
    }
    int32_t n_prompt_tok = 0;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->n_in_batch <= 0 || !sl->task) continue;
        srv_task *t = sl->task;
        if (sl->st == SLOT_GEN) {
            sl->cache[sl->n_cache++] = sl->pending_tok;
        } else {
            if (t->prompt_logprobs && !sl->reread) {
                /* row k predicts prompt token i_prompt + k + 1 */
                for (int32_t k = 0; k < sl->n_in_batch; k++) {
                    int32_t p = sl->i_prompt + k + 1;
                    if (p >= t->n_prompt) break;
                    const float *l = e->logits(e, sl->batch_first + k);
                    if (!l) continue;
                    srv_top top[SRV_MAX_TOP];
                    srv_event pev = {.type = SRV_EV_PROMPT, .tok = t->prompt[p], .top = top,
                                     .n_top = t->n_top};
                    pev.logprob = logprobs_of(l, e->n_vocab, t->prompt[p], t->n_top, top);
                    emit(t, &pev);
                }
            }
            memcpy(sl->cache + sl->n_cache, t->prompt + sl->i_prompt,
                   sizeof(int32_t) * (size_t)sl->n_in_batch);
            sl->n_cache += sl->n_in_batch;
            sl->i_prompt += sl->n_in_batch;
            n_prompt_tok += sl->n_in_batch;
            if (sl->i_prompt < t->n_prompt) continue;
            if (!sl->reread) {
                sl->t_prompt_done = t1;
                pthread_mutex_lock(&s->mu);
                s->stats.prompt_ms += (double)(t1 - sl->t_start) / 1e6;
                pthread_mutex_unlock(&s->mu);
            }
            sl->reread = false;
            if (t->kind == SRV_TASK_EMBEDDING) {
                const float *v = e->embedding(e, sl->id);
                srv_event ev = {.type = SRV_EV_DONE, .finish = "stop", .embd = v,
                                .n_embd = e->n_embd};
                /* Embedding sequences are not kept for reuse. */
                e->kv_rm(e, sl->id, 0, -1);
                sl->n_cache = 0;
                if (!v) slot_error(s, sl, 500, "the engine returned no embedding");
                else slot_finish(s, sl, &ev);
                continue;
            }
            pthread_mutex_lock(&s->mu);
            sl->st = SLOT_GEN;
            pthread_mutex_unlock(&s->mu);
        }
        if (t->n_predict == 0) { /* prompt only (max_tokens: 0) */
            slot_done(s, sl, "length", NULL);
            continue;
        }
        const float *logits = e->logits(e, sl->batch_idx);
        if (!logits) {
            slot_error(s, sl, 500, "the engine returned no logits");
            continue;
        }
        int32_t tok = e->sampler_sample(e, sl->sampler, logits);
        if (tok < 0 || tok >= e->n_vocab) {
            slot_error(s, sl, 500, "sampling failed (no candidate token left)");
            continue;
        }
        e->sampler_accept(e, sl->sampler, tok);
        slot_token(s, sl, tok, logits);
    }
    pthread_mutex_lock(&s->mu);
    s->stats.prompt_tokens += (uint64_t)n_prompt_tok;
    (void)t0;
    pthread_mutex_unlock(&s->mu);
}

static void *sched_main(void *arg) {
    srv_sched *s = arg;
    for (;;) {
        srv_task *cancelled = NULL;
        srv_task *start[64];
        slot *start_slot[64];
        int n_start = 0;
        pthread_mutex_lock(&s->mu);
        for (;;) {
            bool active = false;
            for (int i = 0; i < s->n_slots; i++) active |= s->slots[i].st != SLOT_IDLE;
            if (!s->running || active || s->q_head) break;
            pthread_cond_wait(&s->cv, &s->mu);
        }
        if (!s->running) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        /* Drop cancelled waiting tasks; hand waiting tasks to idle slots. */
        srv_task **pp = &s->q_head, *prev = NULL;
        while (*pp) {
            srv_task *t = *pp;
            if (atomic_load(&t->cancelled)) {
                *pp = t->next;
                if (s->q_tail == t) s->q_tail = prev;
                s->q_len--;
                t->next = cancelled;
                cancelled = t;
                continue;
            }
            prev = t;
            pp = &t->next;
        }
        while (s->q_head && n_start < 64) {
            srv_task *t = s->q_head;
            slot *best = NULL;
            int32_t best_len = -1;
            for (int i = 0; i < s->n_slots; i++) {
                slot *sl = &s->slots[i];
                if (sl->st != SLOT_IDLE) continue;
                bool taken = false;
                for (int k = 0; k < n_start; k++) taken |= start_slot[k] == sl;
                if (taken) continue;
                int32_t l = common_prefix(sl->cache, sl->n_cache, t->prompt, t->n_prompt);
                if (l > best_len || (l == best_len && sl->t_last_used < best->t_last_used)) {
                    best = sl;
                    best_len = l;
                }
            }
            if (!best) break;
            s->q_head = t->next;
            if (!s->q_head) s->q_tail = NULL;
            s->q_len--;
            t->next = NULL;
            start[n_start] = t;
            start_slot[n_start++] = best;
        }
        pthread_mutex_unlock(&s->mu);

        while (cancelled) {
            srv_task *t = cancelled;
            cancelled = t->next;
            srv_event ev = {.type = SRV_EV_DONE, .finish = "cancelled"};
            pthread_mutex_lock(&s->mu);
            s->stats.requests_cancelled++;
            pthread_mutex_unlock(&s->mu);
            emit(t, &ev);
        }
        for (int k = 0; k < n_start; k++) slot_start(s, start_slot[k], start[k]);
        /* Clients that went away free their slots before this step. */
        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (!sl->task) continue;
            if (atomic_load(&sl->task->cancelled) || (s->gone && s->gone(sl->task))) {
                atomic_store(&sl->task->cancelled, 1);
                sl->hold_len = 0;
                srv_event ev = {.type = SRV_EV_DONE, .finish = "cancelled"};
                slot_finish(s, sl, &ev);
            }
        }
        step(s);
    }
    return NULL;
}

/* ------------------------------------------------------------- API */
srv_sched *srv_sched_start(srv_engine *e, int n_slots, int queue_max) {
    if (n_slots < 1 || n_slots > e->n_seq) return NULL;
    srv_sched *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->eng = e;
    s->n_slots = n_slots;
    s->queue_max = queue_max < 0 ? 0 : queue_max;
    s->n_ctx_slot = e->n_ctx / n_slots;
    s->n_batch = e->n_batch < n_slots ? n_slots : e->n_batch;
    s->slots = calloc((size_t)n_slots, sizeof *s->slots);
    if (!s->slots || !batch_alloc(&s->batch, s->n_batch)) {
        batch_release(&s->batch);
        free(s->slots);
        free(s);
        return NULL;
    }
    for (int i = 0; i < n_slots; i++) s->slots[i].id = i;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->running = true;
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        s->running = false;
        srv_sched_free(s);
        return NULL;
    }
    s->started = true;
    return s;
}

void srv_sched_set_probe(srv_sched *s, bool (*gone)(srv_task *t)) {
    pthread_mutex_lock(&s->mu);
    s->gone = gone;
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_stop(srv_sched *s) {
    if (!s || s->stopped) return;
    pthread_mutex_lock(&s->mu);
    s->running = false;
    s->stopped = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started) pthread_join(s->thread, NULL);
    s->started = false;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (!sl->task) continue;
        srv_event ev = {.type = SRV_EV_DONE, .finish = "cancelled"};
        slot_finish(s, sl, &ev);
    }
    pthread_mutex_lock(&s->mu);
    srv_task *t = s->q_head;
    s->q_head = s->q_tail = NULL;
    s->q_len = 0;
    pthread_mutex_unlock(&s->mu);
    while (t) {
        srv_task *n = t->next;
        srv_event ev = {.type = SRV_EV_DONE, .finish = "cancelled"};
        emit(t, &ev);
        t = n;
    }
}

void srv_sched_free(srv_sched *s) {
    if (!s) return;
    srv_sched_stop(s);
    for (int i = 0; i < s->n_slots; i++) {
        free(s->slots[i].cache);
        free(s->slots[i].hold);
    }
    free(s->slots);
    batch_release(&s->batch);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

bool srv_sched_submit(srv_sched *s, srv_task **tasks, int n) {
    pthread_mutex_lock(&s->mu);
    int idle = 0;
    for (int i = 0; i < s->n_slots; i++) idle += s->slots[i].st == SLOT_IDLE;
    /* Idle slots take waiting tasks at the next step. */
    if (s->stopped || s->q_len + n > s->queue_max + idle) {
        s->stats.requests_rejected++;
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    uint64_t now = cllm_time_ns();
    for (int i = 0; i < n; i++) {
        srv_task *t = tasks[i];
        t->next = NULL;
        t->t_queued_ns = now;
        if (s->q_tail) s->q_tail->next = t;
        else s->q_head = t;
        s->q_tail = t;
        s->q_len++;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

void srv_sched_kick(srv_sched *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int32_t srv_sched_n_ctx_slot(const srv_sched *s) { return s->n_ctx_slot; }

void srv_sched_stats_get(srv_sched *s, srv_sched_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->processing = 0;
    out->kv_used = 0;
    for (int i = 0; i < s->n_slots; i++) {
        out->processing += s->slots[i].st != SLOT_IDLE;
        out->kv_used += s->slots[i].n_cache;
    }
    out->deferred = s->q_len;
    out->kv_total = s->eng->n_ctx;
    if (out->kv_used > out->kv_total) out->kv_used = out->kv_total;
    pthread_mutex_unlock(&s->mu);
}

int srv_sched_slots(srv_sched *s, srv_slot_info *out, int n) {
    static const char *names[] = {"idle", "prompt", "generating"};
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_slots && i < n; i++) {
        slot *sl = &s->slots[i];
        out[i].id = i;
        out[i].state = names[sl->st];
        out[i].n_ctx = s->n_ctx_slot;
        out[i].n_cached = sl->n_cache;
        out[i].n_prompt = sl->task ? sl->task->n_prompt : 0;
        out[i].n_gen = sl->n_gen;
    }
    pthread_mutex_unlock(&s->mu);
    return s->n_slots;
}
