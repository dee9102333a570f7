/* fuzz_json_schema.c: libFuzzer target for JSON Schema -> GBNF; whatever
 * grammar comes out must parse. */
#include "cllm.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *gbnf = NULL;
    char err[256];
    if (cllm_json_schema_to_grammar(buf, &gbnf, err, sizeof err) == CLLM_OK) {
        cllm_grammar *g = NULL;
        if (cllm_grammar_init(gbnf, NULL, NULL, &g) != CLLM_OK) abort(); /* converter bug */
        cllm_grammar_free(g);
        free(gbnf);
    }
    free(buf);
    return 0;
}
