/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* libjr internals shared by region.c and ufront.c. */
#ifndef _JR_SRC_REGION_H
#define _JR_SRC_REGION_H

#include "jr/libjr.h"

int __jr_check_grant(const struct jr_attach *granted);
void __jr_region_setup(struct jr_region *r, void *base,
		       const struct jr_attach *params, bool owner);
void __jr_region_init_hdr(struct jr_region *r, __u64 epoch);

#endif
