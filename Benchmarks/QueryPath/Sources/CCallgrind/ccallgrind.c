#include "ccallgrind.h"
#include <valgrind/callgrind.h>

void ccallgrind_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void ccallgrind_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
int ccallgrind_running(void) { return RUNNING_ON_VALGRIND ? 1 : 0; }
