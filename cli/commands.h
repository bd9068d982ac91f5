#ifndef MTL_CLI_COMMANDS_H
#define MTL_CLI_COMMANDS_H
/* each returns the process exit code: 0 ok, 1 failure, 2 usage error */
int cmd_demo(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);
#endif
