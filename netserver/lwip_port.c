// SPDX-License-Identifier: GPL-2.0
/*
 * What lwIP's NO_SYS=1 core needs from its host: a millisecond clock.
 * CLOCK_MONOTONIC_COARSE is enough for TCP timers and costs no syscall
 * (vDSO), which matters because the engine reads it every loop.
 */
#include <time.h>

#include "lwip/sys.h"

u32_t sys_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (u32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
