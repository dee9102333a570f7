/* commands.h: the sub-commands of the `cllm` binary, one file each. */
#ifndef CLLM_TOOLS_COMMANDS_H
#define CLLM_TOOLS_COMMANDS_H

/* Each returns the process exit status: 0 ok, 1 failure, 2 usage error. */
int cllm_cmd_gguf(int argc, char **argv);
int cllm_cmd_quantize(int argc, char **argv);
int cllm_cmd_run(int argc, char **argv);
int cllm_cmd_eval(int argc, char **argv);
int cllm_cmd_bench(int argc, char **argv);
int cllm_cmd_chat(int argc, char **argv);
int cllm_cmd_serve(int argc, char **argv);
int cllm_cmd_tokenize(int argc, char **argv);
int cllm_cmd_detokenize(int argc, char **argv);
int cllm_cmd_perplexity(int argc, char **argv);
int cllm_cmd_embed(int argc, char **argv);
int cllm_cmd_convert(int argc, char **argv);
int cllm_cmd_pull(int argc, char **argv);
int cllm_cmd_template(int argc, char **argv);

#endif
