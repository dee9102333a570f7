/* pull.c: fetch GGUF models from a Hugging Face hub (or a mirror) into the
 * local cache, the engine of `cllm pull` and of `-hf REPO[:QUANT]`.
 *
 *  1. list the repo: GET {endpoint}/api/models/{repo}/tree/main?recursive=true
 *     (a JSON array of {type, path, size, lfs: {oid = sha256, size}}); the
 *     listing is saved in the cache so that a later run works offline;
 *  2. pick the file: the GGUF whose name carries the quant tag (case-
 *     insensitive, delimited by - . / or the ends; default Q4_K_M, else the
 *     first GGUF by name); for split models (-00001-of-0000N) every part;
 *  3. download each missing file from {endpoint}/{repo}/resolve/main/{path}
 *     into PATH.part, resuming with a Range request after a dropped
 *     connection (several attempts) or an earlier interrupted run, then check
 *     size and sha256 and rename it into place.
 * Cache layout: {cache}/{owner}/{name}/{path}. */
#include "cllm.h"

#include "core/core.h"
#include "pull/sha256.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PULL_MAX_ATTEMPTS 6
#define PULL_TREE_FILE ".cllm-tree.json"

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

cllm_pull_params cllm_pull_default_params(void) {
    cllm_pull_params p = {0};
    p.endpoint = getenv("HF_ENDPOINT");
    p.token = getenv("HF_TOKEN");
    p.cache_dir = getenv("CLLM_CACHE");
    const char *off = getenv("CLLM_OFFLINE");
    const char *hf_off = getenv("HF_HUB_OFFLINE");
    p.offline = (off && *off && strcmp(off, "0") != 0) || (hf_off && *hf_off && strcmp(hf_off, "0") != 0);
    return p;
}

/* ------------------------------------------------------------- helpers */

typedef struct {
    char *data;
    size_t len, cap;
} membuf;

static size_t mem_write(char *ptr, size_t size, size_t nmemb, void *user) {
    membuf *m = user;
    const size_t n = size * nmemb;
    if (m->len + n + 1 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 65536;
        while (nc < m->len + n + 1) nc *= 2;
        if (nc > ((size_t)256 << 20)) return 0; /* a listing is never this big */
        char *nd = realloc(m->data, nc);
        if (!nd) return 0;
        m->data = nd;
        m->cap = nc;
    }
    memcpy(m->data + m->len, ptr, n);
    m->len += n;
    m->data[m->len] = '\0';
    return n;
}

static int mkdir_p(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int64_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
}

static const char *endpoint_of(const cllm_pull_params *p) {
    return p->endpoint && *p->endpoint ? p->endpoint : "https://huggingface.co";
}

static void cache_root(const cllm_pull_params *p, char *out, size_t cap) {
    if (p->cache_dir && *p->cache_dir) {
        snprintf(out, cap, "%s", p->cache_dir);
        return;
    }
    const char *home = getenv("HOME");
    snprintf(out, cap, "%s/.cache/cllm", home && *home ? home : ".");
}

static struct curl_slist *auth_headers(const cllm_pull_params *p) {
    struct curl_slist *h = curl_slist_append(NULL, "User-Agent: cllm/0.1");
    if (p->token && *p->token) {
        char buf[1024];
        snprintf(buf, sizeof buf, "Authorization: Bearer %s", p->token);
        h = curl_slist_append(h, buf);
    }
    return h;
}

static bool is_network_error(CURLcode rc) {
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE || rc == CURLE_SSL_CONNECT_ERROR;
}

/* ------------------------------------------------------------- listing */

/* GET url into memory. *code is the HTTP status (0 when no response). */
static CURLcode http_get(const cllm_pull_params *p, const char *url, membuf *body, long *code) {
    CURL *c = curl_easy_init();
    if (!c) return CURLE_FAILED_INIT;
    struct curl_slist *h = auth_headers(p);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    *code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

/* The repo's file listing: from the hub (saved to the cache), or, when the
 * hub cannot be reached or p->offline, from the cache. */
static cllm_status get_listing(const cllm_pull_params *p, const char *repo, const char *cache_repo, json_t **out) {
    char tree_path[4800];
    snprintf(tree_path, sizeof tree_path, "%s/%s", cache_repo, PULL_TREE_FILE);
    const char *why = "offline mode";
    char whybuf[512];
    if (!p->offline) {
        char url[2048];
        snprintf(url, sizeof url, "%s/api/models/%s/tree/main?recursive=true", endpoint_of(p), repo);
        membuf body = {0};
        long code = 0;
        CURLcode rc = http_get(p, url, &body, &code);
        if (rc == CURLE_OK && code == 200) {
            json_error_t je;
            json_t *j = json_loadb(body.data ? body.data : "", body.len, 0, &je);
            free(body.data);
            if (!json_is_array(j)) {
                json_decref(j);
                return cllm_set_last_error(CLLM_ERR_FORMAT, "pull: %s: the file listing is not a JSON array (%s)", url,
                                           je.text);
            }
            if (mkdir_p(cache_repo) == 0) json_dump_file(j, tree_path, JSON_COMPACT);
            *out = j;
            return CLLM_OK;
        }
        free(body.data);
        if (rc == CURLE_OK && code == 404)
            return cllm_set_last_error(CLLM_ERR_NOT_FOUND,
                                       "pull: repository '%s' not found on %s (private or gated repos need HF_TOKEN)",
                                       repo, endpoint_of(p));
        if (rc == CURLE_OK && (code == 401 || code == 403))
            return cllm_set_last_error(CLLM_ERR_IO, "pull: %s: access denied (HTTP %ld); gated repos need HF_TOKEN%s",
                                       repo, code, p->token && *p->token ? " with access to this repo" : "");
        if (rc == CURLE_OK)
            return cllm_set_last_error(CLLM_ERR_IO, "pull: %s: HTTP %ld listing the repository", repo, code);
        snprintf(whybuf, sizeof whybuf, "%s: %s", endpoint_of(p), curl_easy_strerror(rc));
        why = whybuf;
        if (!is_network_error(rc)) return cllm_set_last_error(CLLM_ERR_IO, "pull: %s", whybuf);
    }
    json_error_t je;
    json_t *j = json_load_file(tree_path, 0, &je);
    if (!json_is_array(j)) {
        json_decref(j);
        return cllm_set_last_error(CLLM_ERR_IO, "pull: cannot list '%s' (%s) and it is not in the cache (%s)", repo,
                                   why, cache_repo);
    }
    CLLM_LOGW("pull: %s; using the cached listing of %s", why, repo);
    *out = j;
    return CLLM_OK;
}

/* ----------------------------------------------------------- choosing */

typedef struct {
    const char *path;
    int64_t size;
    const char *sha256; /* NULL for non-LFS files */
} hub_file;

static bool ieq_n(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (toupper((unsigned char)a[i]) != toupper((unsigned char)b[i])) return false;
    return true;
}

static bool ends_with_ci(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && ieq_n(s + n - m, suf, m);
}

static bool is_delim(char c) { return c == '\0' || c == '-' || c == '.' || c == '/'; }

/* Whether path carries tag as a whole component (Q4_K does not match Q4_K_M). */
static bool has_tag(const char *path, const char *tag) {
    const size_t n = strlen(path), m = strlen(tag);
    for (size_t i = 0; m && i + m <= n; i++)
        if (ieq_n(path + i, tag, m) && (i == 0 || is_delim(path[i - 1])) && is_delim(path[i + m])) return true;
    return false;
}

/* "-00001-of-00003.gguf" at the end: part and count; false otherwise. */
static bool split_info(const char *path, int *part, int *count, size_t *prefix_len) {
    const size_t n = strlen(path);
    const char *suf = "-00000-of-00000.gguf";
    const size_t m = strlen(suf);
    if (n < m) return false;
    const char *s = path + n - m;
    for (size_t i = 0; i < m; i++) {
        if (suf[i] == '0') {
            if (!isdigit((unsigned char)s[i])) return false;
        } else if (tolower((unsigned char)s[i]) != suf[i]) {
            return false;
        }
    }
    *part = atoi(s + 1);
    *count = atoi(s + 10);
    *prefix_len = n - m;
    return *part >= 1 && *count >= 1 && *part <= *count;
}

static int cmp_file(const void *a, const void *b) {
    return strcmp(((const hub_file *)a)->path, ((const hub_file *)b)->path);
}

/* --------------------------------------------------------- downloading */

typedef struct {
    FILE *f;
    int64_t offset;        /* bytes already in the .part file when this request started */
    bool checked_status, restart, bad_status;
    CURL *c;
    const cllm_pull_params *p;
    const char *name;
    int64_t total;
} dl_state;

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *user) {
    dl_state *d = user;
    if (!d->checked_status) {
        long code = 0;
        curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &code);
        d->checked_status = true;
        if (code >= 400) {
            d->bad_status = true;
            return 0;
        }
        if (d->offset > 0 && code != 206) {
            /* the server ignored the Range: start the file over */
            if (fflush(d->f) != 0 || ftruncate(fileno(d->f), 0) != 0 || fseek(d->f, 0, SEEK_SET) != 0) return 0;
            d->offset = 0;
            d->restart = true;
        }
    }
    return fwrite(ptr, size, nmemb, d->f) * size;
}

static int dl_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    dl_state *d = user;
    if (d->p->progress) {
        const int64_t total = d->total > 0 ? d->total : (dltotal > 0 ? d->offset + (int64_t)dltotal : -1);
        d->p->progress(d->name, (uint64_t)(d->offset + (int64_t)dlnow), total > 0 ? (uint64_t)total : 0, d->p->user);
    }
    return 0;
}

/* Download url to dest (via dest.part) and verify it. */
static cllm_status download(const cllm_pull_params *p, const char *url, const char *dest, const hub_file *hf) {
    char part[8300];
    snprintf(part, sizeof part, "%s.part", dest);
    cllm_status st = CLLM_OK;
    bool done = false;
    for (int attempt = 1; attempt <= PULL_MAX_ATTEMPTS && !done; attempt++) {
        int64_t have = file_size(part);
        if (have < 0) have = 0;
        if (hf->size >= 0 && have > hf->size) {
            unlink(part);
            have = 0;
        }
        if (hf->size >= 0 && have == hf->size) {
            done = true;
            break;
        }
        FILE *f = fopen(part, have > 0 ? "ab" : "wb");
        if (!f) return cllm_set_last_error(CLLM_ERR_IO, "pull: cannot write %s: %s", part, strerror(errno));
        if (have > 0) CLLM_LOGI("pull: resuming %s at %lld bytes", hf->path, (long long)have);
        CURL *c = curl_easy_init();
        if (!c) {
            fclose(f);
            return cllm_set_last_error(CLLM_ERR_NOMEM, "pull: curl init failed");
        }
        dl_state d = {.f = f, .offset = have, .c = c, .p = p, .name = hf->path, .total = hf->size};
        struct curl_slist *h = auth_headers(p);
        char range[64];
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dl_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, dl_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &d);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (have > 0) {
            snprintf(range, sizeof range, "%lld-", (long long)have);
            curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        const bool wrote_ok = fclose(f) == 0;
        if (d.bad_status || (rc == CURLE_OK && code >= 400)) {
            if (code == 416) { /* our .part no longer matches the file: start over */
                unlink(part);
                continue;
            }
            st = cllm_set_last_error(code == 404 ? CLLM_ERR_NOT_FOUND : CLLM_ERR_IO, "pull: %s: HTTP %ld%s", url, code,
                                     code == 401 || code == 403 ? " (gated repos need HF_TOKEN)" : "");
            break;
        }
        if (!wrote_ok) {
            st = cllm_set_last_error(CLLM_ERR_IO, "pull: writing %s failed", part);
            break;
        }
        if (rc == CURLE_OK) {
            if (hf->size < 0 || file_size(part) == hf->size) done = true;
            else CLLM_LOGW("pull: %s: got %lld of %lld bytes, retrying", hf->path, (long long)file_size(part),
                           (long long)hf->size);
            continue;
        }
        if (!is_network_error(rc) || attempt == PULL_MAX_ATTEMPTS) {
            st = cllm_set_last_error(CLLM_ERR_IO, "pull: downloading %s: %s (partial file kept: %s)", url,
                                     curl_easy_strerror(rc), part);
            break;
        }
        CLLM_LOGW("pull: %s: %s after %lld bytes; resuming (attempt %d of %d)", hf->path, curl_easy_strerror(rc),
                  (long long)file_size(part), attempt + 1, PULL_MAX_ATTEMPTS);
        struct timespec ts = {0, 200 * 1000 * 1000L * attempt};
        nanosleep(&ts, NULL);
    }
    if (st != CLLM_OK) return st;
    if (!done) return cllm_set_last_error(CLLM_ERR_IO, "pull: %s: giving up after %d attempts", url, PULL_MAX_ATTEMPTS);
    const int64_t got = file_size(part);
    if (hf->size >= 0 && got != hf->size) {
        unlink(part);
        return cllm_set_last_error(CLLM_ERR_IO, "pull: %s: size %lld, the hub says %lld", hf->path, (long long)got,
                                   (long long)hf->size);
    }
    if (hf->sha256) {
        char hex[65];
        if (!cllm_sha256_file(part, hex))
            return cllm_set_last_error(CLLM_ERR_IO, "pull: cannot read back %s", part);
        if (strcasecmp(hex, hf->sha256) != 0) {
            unlink(part);
            return cllm_set_last_error(CLLM_ERR_FORMAT, "pull: %s: sha256 %s does not match the hub's %s (file removed)",
                                       hf->path, hex, hf->sha256);
        }
    }
    if (rename(part, dest) != 0) return cllm_set_last_error(CLLM_ERR_IO, "pull: cannot rename %s: %s", part, strerror(errno));
    return CLLM_OK;
}

/* URL-encode each component of path (keeping the slashes). */
static bool encode_path(const char *path, char *out, size_t cap) {
    CURL *c = curl_easy_init();
    if (!c) return false;
    size_t o = 0;
    bool ok = true;
    const char *s = path;
    while (ok && *s) {
        const char *e = strchr(s, '/');
        const size_t n = e ? (size_t)(e - s) : strlen(s);
        char *enc = curl_easy_escape(c, s, (int)n);
        if (!enc || o + strlen(enc) + 2 > cap) ok = false;
        else o += (size_t)snprintf(out + o, cap - o, "%s%s", enc, e ? "/" : "");
        curl_free(enc);
        s = e ? e + 1 : s + n;
    }
    curl_easy_cleanup(c);
    if (cap) out[ok ? o : 0] = '\0';
    return ok;
}

/* ------------------------------------------------------------- resolve */

static bool valid_repo(const char *r) {
    const char *slash = strchr(r, '/');
    if (!slash || slash == r || !slash[1] || strchr(slash + 1, '/')) return false;
    for (const char *s = r; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_./", *s)) return false;
    return !strstr(r, "..");
}

cllm_status cllm_pull_resolve_ex(const char *spec, const cllm_pull_params *p, char **path_out) {
    if (!spec || !p || !path_out) return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "pull: NULL argument");
    *path_out = NULL;
    pthread_once(&g_curl_once, curl_init_once);
    /* REPO[:TAG], accepting hf.co/ and https://huggingface.co/ prefixes */
    char repo[512], tag[128] = "";
    const char *s = spec;
    static const char *const k_prefix[] = {"https://huggingface.co/", "http://huggingface.co/", "huggingface.co/",
                                           "hf.co/"};
    for (size_t i = 0; i < sizeof k_prefix / sizeof k_prefix[0]; i++)
        if (!strncmp(s, k_prefix[i], strlen(k_prefix[i]))) s += strlen(k_prefix[i]);
    const char *colon = strchr(s, ':');
    const size_t rl = colon ? (size_t)(colon - s) : strlen(s);
    if (rl == 0 || rl >= sizeof repo || (colon && strlen(colon + 1) >= sizeof tag))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "pull: '%s' is not REPO[:QUANT]", spec);
    memcpy(repo, s, rl);
    repo[rl] = '\0';
    if (colon) snprintf(tag, sizeof tag, "%s", colon + 1);
    if (!valid_repo(repo))
        return cllm_set_last_error(CLLM_ERR_INVALID_ARG, "pull: '%s' is not a repository name (owner/name)", repo);
    const bool explicit_tag = tag[0] != '\0';
    if (!explicit_tag) snprintf(tag, sizeof tag, "Q4_K_M");

    char root[4096], cache_repo[4700];
    cache_root(p, root, sizeof root);
    snprintf(cache_repo, sizeof cache_repo, "%s/%s", root, repo);
    json_t *list = NULL;
    cllm_status st = get_listing(p, repo, cache_repo, &list);
    if (st != CLLM_OK) return st;

    /* the GGUF files of the listing */
    const size_t n_all = json_array_size(list);
    hub_file *files = calloc(n_all ? n_all : 1, sizeof *files);
    size_t n = 0;
    if (!files) {
        json_decref(list);
        return cllm_set_last_error(CLLM_ERR_NOMEM, "pull: out of memory");
    }
    for (size_t i = 0; i < n_all; i++) {
        json_t *e = json_array_get(list, i);
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *path = json_string_value(json_object_get(e, "path"));
        if (!path || (type && strcmp(type, "file") != 0) || !ends_with_ci(path, ".gguf")) continue;
        if (strstr(path, "..") || path[0] == '/' || strstr(path, "mmproj")) continue;
        json_t *lfs = json_object_get(e, "lfs");
        json_t *size = json_object_get(lfs ? lfs : e, "size");
        files[n].path = path;
        files[n].size = json_is_integer(size) ? json_integer_value(size) : -1;
        const char *oid = json_string_value(json_object_get(lfs, "oid"));
        files[n].sha256 = oid && strlen(oid) == 64 ? oid : NULL;
        n++;
    }
    qsort(files, n, sizeof *files, cmp_file);
    const hub_file *pick = NULL;
    for (size_t i = 0; i < n && !pick; i++) {
        int part, count;
        size_t pl;
        if (!has_tag(files[i].path, tag)) continue;
        if (split_info(files[i].path, &part, &count, &pl) && part != 1) continue;
        pick = &files[i];
    }
    if (!pick && !explicit_tag && n > 0) {
        for (size_t i = 0; i < n && !pick; i++) {
            int part, count;
            size_t pl;
            if (!split_info(files[i].path, &part, &count, &pl) || part == 1) pick = &files[i];
        }
        if (pick) CLLM_LOGI("pull: %s has no Q4_K_M file; taking %s", repo, pick->path);
    }
    if (!pick) {
        char avail[1024] = "";
        size_t o = 0;
        for (size_t i = 0; i < n && o + 80 < sizeof avail; i++)
            o += (size_t)snprintf(avail + o, sizeof avail - o, "%s%s", i ? ", " : "", files[i].path);
        st = cllm_set_last_error(CLLM_ERR_NOT_FOUND, "pull: %s has no GGUF file for quant '%s'%s%s", repo, tag,
                                 n ? "; available: " : " (it holds no GGUF files)", avail);
        goto out;
    }
    /* the set to fetch: the file, or every part of a split */
    int part = 0, count = 1;
    size_t prefix_len = 0;
    const bool split = split_info(pick->path, &part, &count, &prefix_len);
    char *first_path = NULL;
    for (int k = 1; k <= count && st == CLLM_OK; k++) {
        const hub_file *f = pick;
        if (split) {
            char want[1024];
            snprintf(want, sizeof want, "%.*s-%05d-of-%05d.gguf", (int)prefix_len, pick->path, k, count);
            f = NULL;
            for (size_t i = 0; i < n && !f; i++)
                if (!strcmp(files[i].path, want)) f = &files[i];
            if (!f) {
                st = cllm_set_last_error(CLLM_ERR_NOT_FOUND, "pull: %s: split part %s is missing from the repo", repo,
                                         want);
                break;
            }
        }
        char dest[8192], url[8192], enc[4096];
        snprintf(dest, sizeof dest, "%s/%s", cache_repo, f->path);
        char *slash = strrchr(dest, '/');
        *slash = '\0';
        if (mkdir_p(dest) != 0) {
            st = cllm_set_last_error(CLLM_ERR_IO, "pull: cannot create %s: %s", dest, strerror(errno));
            break;
        }
        *slash = '/';
        if (f->size >= 0 && file_size(dest) == f->size) {
            CLLM_LOGI("pull: %s is cached (%s)", f->path, dest);
        } else if (p->offline) {
            st = cllm_set_last_error(CLLM_ERR_NOT_FOUND, "pull: %s/%s is not in the cache and we are offline", repo,
                                     f->path);
        } else if (!encode_path(f->path, enc, sizeof enc)) {
            st = cllm_set_last_error(CLLM_ERR_INVALID_ARG, "pull: bad file name %s", f->path);
        } else {
            snprintf(url, sizeof url, "%s/%s/resolve/main/%s", endpoint_of(p), repo, enc);
            st = download(p, url, dest, f);
        }
        if (st == CLLM_OK && k == 1 && !(first_path = strdup(dest)))
            st = cllm_set_last_error(CLLM_ERR_NOMEM, "pull: out of memory");
    }
    if (st == CLLM_OK) *path_out = first_path;
    else free(first_path);
out:
    free(files);
    json_decref(list);
    return st;
}

cllm_status cllm_pull_resolve(const char *spec, char **path_out) {
    cllm_pull_params p = cllm_pull_default_params();
    return cllm_pull_resolve_ex(spec, &p, path_out);
}
