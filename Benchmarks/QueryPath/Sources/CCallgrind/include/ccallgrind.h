#ifndef CCALLGRIND_H
#define CCALLGRIND_H

/// Start and stop callgrind's instrumentation (valgrind --tool=callgrind --instr-atstart=no):
/// only what runs between them is counted. Outside valgrind these are a few no-op instructions.
void ccallgrind_start(void);
void ccallgrind_stop(void);
/// 1 when running under valgrind.
int ccallgrind_running(void);

#endif
