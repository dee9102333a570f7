/* chat_input.c: reading user messages for `cllm chat` (see chat_input.h).
 * On a terminal this uses GNU readline's callback interface driven by our
 * own poll() loop: readline's own signal handling is off, so a SIGINT at the
 * prompt interrupts poll() (EINTR) and we clear the line ourselves instead of
 * readline re-raising the signal. From a pipe it reads plain lines. */
#include "chat_input.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

volatile sig_atomic_t chat_interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    chat_interrupted = 1;
}

struct chat_input {
    bool interactive;
    char *history_file;
    /* the message being assembled from several lines */
    char *buf;
    size_t len, cap;
    int mode;       /* 0: no message pending, 1: after a `\` line, 2: inside """ */
    bool has_text;  /* inside a """ block: a line was already added */
};

enum { LINE_OK = 1, LINE_EOF = 0, LINE_INTERRUPTED = -1 };

chat_input *chat_input_init(bool interactive, const char *history_file) {
    chat_input *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->interactive = interactive;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: poll()/getline() return EINTR */
    sigaction(SIGINT, &sa, NULL);
    if (interactive) {
        rl_readline_name = "cllm";
        rl_catch_signals = 0;
        rl_bind_key('\t', rl_insert);   /* a tab is text (pasted code), not file-name completion */
        using_history();
        stifle_history(1000);
        if (history_file && *history_file) {
            in->history_file = strdup(history_file);
            read_history(history_file);   /* a missing file is fine */
        }
    }
    return in;
}

void chat_input_free(chat_input *in) {
    if (!in) return;
    if (in->interactive) {
        if (in->history_file) write_history(in->history_file);
        clear_history();
    }
    free(in->history_file);
    free(in->buf);
    free(in);
}

/* ---- one raw line ---- */

static char *g_rl_line;
static bool g_rl_done;

static void on_rl_line(char *line) {
    g_rl_line = line;   /* NULL at EOF */
    g_rl_done = true;
    /* Stop readline here, or it would print the next prompt right away,
     * before the answer. */
    rl_callback_handler_remove();
}

static int read_line_tty(const char *prompt, char **out) {
    g_rl_line = NULL;
    g_rl_done = false;
    rl_callback_handler_install(prompt, on_rl_line);
    while (!g_rl_done) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR) {
            if (!chat_interrupted) continue;
            chat_interrupted = 0;
            /* Ctrl-C: forget the line and start over on a fresh one. */
            rl_point = rl_end;   /* the cursor after the text, where ^C goes */
            rl_redisplay();
            fputs("^C\n", rl_outstream);
            fflush(rl_outstream);
            rl_replace_line("", 1);
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            return LINE_INTERRUPTED;
        }
        if (r < 0) {
            rl_callback_handler_remove();
            return LINE_EOF;
        }
        rl_callback_read_char();
    }
    if (!g_rl_line) {
        fputc('\n', rl_outstream);   /* Ctrl-D: end the prompt line */
        return LINE_EOF;
    }
    if (*g_rl_line) add_history(g_rl_line);
    *out = g_rl_line;
    return LINE_OK;
}

static int read_line_pipe(char **out) {
    char *line = NULL;
    size_t cap = 0;
    errno = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        if (errno == EINTR && chat_interrupted) {
            chat_interrupted = 0;
            clearerr(stdin);
            return LINE_INTERRUPTED;
        }
        return LINE_EOF;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    *out = line;
    return LINE_OK;
}

/* ---- multiline assembly ---- */

static bool acc_append(chat_input *in, const char *s, size_t n) {
    if (in->len + n + 1 > in->cap) {
        size_t cap = in->cap ? in->cap : 256;
        while (cap < in->len + n + 1) cap *= 2;
        char *nb = realloc(in->buf, cap);
        if (!nb) return false;
        in->buf = nb;
        in->cap = cap;
    }
    memcpy(in->buf + in->len, s, n);
    in->len += n;
    in->buf[in->len] = 0;
    return true;
}

static void acc_reset(chat_input *in) {
    in->len = 0;
    if (in->buf) in->buf[0] = 0;
    in->mode = 0;
    in->has_text = false;
}

static bool ends_with(const char *s, size_t n, const char *suf) {
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

/* Adds one line to the pending message. Returns 1 when the message is
 * complete, 0 when more lines are wanted, -1 on allocation failure. */
static int acc_feed(chat_input *in, const char *line) {
    size_t n = strlen(line);
    if (in->mode == 2) {
        bool last = ends_with(line, n, "\"\"\"");
        if (last) n -= 3;
        if (last && n == 0) return 1;   /* a closing line of its own adds nothing */
        if (in->has_text && !acc_append(in, "\n", 1)) return -1;
        if ((in->has_text || n) && !acc_append(in, line, n)) return -1;
        in->has_text = true;
        return last ? 1 : 0;
    }
    if (in->mode == 0 && !strncmp(line, "\"\"\"", 3)) {
        const char *rest = line + 3;
        size_t rn = n - 3;
        if (rn >= 3 && ends_with(rest, rn, "\"\"\"")) return acc_append(in, rest, rn - 3) ? 1 : -1;
        in->mode = 2;
        in->has_text = rn > 0;
        return acc_append(in, rest, rn) ? 0 : -1;
    }
    if (ends_with(line, n, "\\")) {
        in->mode = 1;
        return acc_append(in, line, n - 1) && acc_append(in, "\n", 1) ? 0 : -1;
    }
    return acc_append(in, line, n) ? 1 : -1;
}

char *chat_input_read(chat_input *in) {
    for (;;) {
        char *line = NULL;
        int r = in->interactive ? read_line_tty(in->mode ? "... " : "> ", &line) : read_line_pipe(&line);
        if (r == LINE_INTERRUPTED) {
            acc_reset(in);
            continue;
        }
        if (r == LINE_EOF) {
            /* End of input with a message still open: send what there is. */
            char *msg = in->len ? strdup(in->buf) : NULL;
            acc_reset(in);
            return msg;
        }
        if (in->mode == 0 && line[0] == '/') return line;
        int done = acc_feed(in, line);
        free(line);
        if (done < 0) {
            acc_reset(in);
            return NULL;
        }
        if (!done) continue;
        char *msg = strdup(in->buf ? in->buf : "");
        acc_reset(in);
        if (msg && !msg[strspn(msg, " \t\n\r")]) {   /* blank: nothing to send */
            free(msg);
            continue;
        }
        return msg;
    }
}
