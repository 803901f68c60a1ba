#include "cdnsio.h"
int meridian_cdnsio_placeholder(void) { return 0; }
