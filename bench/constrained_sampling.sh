#!/usr/bin/env bash
# constrained_sampling.sh: per-token CPU cost of grammar-constrained
# generation against unconstrained sampling, through `cllm run --timing`
# (sampling: CPU time of the calling thread; decode: process CPU time; -t 1
# so no worker threads spin). Same prompt and seeds for both; the extra time
# per token is (constrained total - unconstrained total) / unconstrained
# total, and (more conservative, since decode cost grows with the context
# and constrained runs may end sooner) the extra sampling time alone over
# the unconstrained total, over all tokens of all runs (each run weighted by its tokens, so
# a seed that ends after `{}` does not count like a 128-token run).
# Usage: bench/constrained_sampling.sh CLLM MODEL [GRAMMAR.gbnf] [N_PREDICT] [SEEDS]
set -u
BIN=${1:?cllm binary}
M=${2:?model}
G=${3:-$(dirname "$0")/../../shared/grammars/json.gbnf}
N=${4:-128}
SEEDS=${5:-"1 2 3 4 5 6 7 8"}
one() { # extra args...; prints "tokens sample decode total"
    "$BIN" run -m "$M" -p "Once upon a time" -n "$N" -t 1 --timing "$@" 2>&1 >/dev/null |
        sed -n 's/^timing: tokens=\([0-9]*\) sample_ms=\([0-9.]*\) decode_ms=\([0-9.]*\) total_ms=\([0-9.]*\).*/\1 \2 \3 \4/p'
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for seed in $SEEDS; do
    echo "free $seed $(one --seed "$seed")"
    echo "gram $seed $(one --seed "$seed" --grammar-file "$G")"
done | awk '
    { n[$1] += $3; s[$1] += $3 * $4; d[$1] += $3 * $5; t[$1] += $3 * $6
      printf "%s seed %s: %d tokens, sample %.4f decode %.4f total %.4f ms/token\n", $1, $2, $3, $4, $5, $6 }
    END {
        for (k in n) { s[k] /= n[k]; d[k] /= n[k]; t[k] /= n[k] }
        printf "unconstrained: sample %.4f decode %.4f total %.4f ms/token (%d tokens)\n", s["free"], d["free"], t["free"], n["free"]
        printf "constrained:   sample %.4f decode %.4f total %.4f ms/token (%d tokens)\n", s["gram"], d["gram"], t["gram"], n["gram"]
        printf "extra time per token: %+.1f%% (totals)\n", 100 * (t["gram"] - t["free"]) / t["free"]
        printf "extra sampling time per token: %+.1f%% of the unconstrained total (decode cost set aside: it depends on\n", 100 * (s["gram"] - s["free"]) / t["free"]
        printf "  the context length, and the constrained runs can be shorter)\n"
    }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
