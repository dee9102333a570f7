// cxx_header.cpp: include/cllm.h must compile and link as C++.
#include "cllm.h"

#include <cstdio>
#include <cstring>

int main() {
    const char *s = cllm_status_str(CLLM_ERR_FORMAT);
    if (std::strcmp(s, "malformed input") != 0) {
        std::printf("0 passed, 1 failed\n");
        return 1;
    }
    const char *n = cllm_type_name(CLLM_TYPE_Q4_K);
    if (!n || std::strcmp(n, "q4_K") != 0) {
        std::printf("1 passed, 1 failed\n");
        return 1;
    }
    std::printf("2 passed, 0 failed\n");
    return 0;
}
