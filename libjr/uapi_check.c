/* SPDX-License-Identifier: GPL-2.0 */
/* Compile check: the uapi header builds as pedantic C11. */
#include <linux/joyride.h>
