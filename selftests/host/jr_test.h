/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal harness for the host tests, small enough to read in one go.
 *
 * A test binary holds several cases; ctest runs each case on its own
 * (`ring_test ring_wraparound`), so a failure names the behaviour that
 * broke.  Without arguments a binary runs all its cases; `--list` prints
 * them.  A failed expectation prints file:line and the values and lets the
 * case go on, so one run shows every broken row of a table; JR_ASSERT stops
 * the binary when going on makes no sense.  Exit status: 0 pass, 1 fail,
 * 77 skip (the ctest convention, see SKIP_RETURN_CODE).
 */
#ifndef _JR_TEST_H
#define _JR_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jr_test_case {
	const char	*name;
	void		(*run)(void);
};

static int jr_test_failures;		/* in the case now running */
static int jr_test_skipped;
static const char *jr_test_current;

/* Enough lines to see a pattern; a table gone wrong would print thousands. */
#define JR_TEST_MAX_REPORTS	40

static inline void __attribute__((format(printf, 3, 4)))
jr_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (++jr_test_failures > JR_TEST_MAX_REPORTS)
		return;
	fprintf(stderr, "%s:%d: %s: FAIL: ", file, line, jr_test_current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define JR_EXPECT(cond) do {						\
	if (!(cond))							\
		jr_test_fail(__FILE__, __LINE__, "%s", #cond);		\
} while (0)

#define JR_EXPECT_EQ(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b)							\
		jr_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
			     #a, #b, __a, __b);				\
} while (0)

/* JR_EXPECT with a message that says which row of a table failed. */
#define JR_EXPECT_MSG(cond, ...) do {					\
	if (!(cond))							\
		jr_test_fail(__FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

#define JR_ASSERT(cond) do {						\
	if (!(cond)) {							\
		jr_test_fail(__FILE__, __LINE__, "fatal: %s", #cond);	\
		exit(1);						\
	}								\
} while (0)

/* Mark the running case skipped; the caller returns right after. */
#define JR_SKIP(why) do {						\
	fprintf(stderr, "%s: SKIP: %s\n", jr_test_current, why);	\
	jr_test_skipped = 1;						\
} while (0)

static inline double jr_test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A number from the environment, or def when unset or unparsable. */
static inline unsigned long long jr_test_env(const char *name,
					     unsigned long long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return def;
	v = strtoull(s, &end, 0);
	return *end ? def : v;
}

static inline int jr_test_run_one(const struct jr_test_case *c)
{
	double start = jr_test_now();

	jr_test_current = c->name;
	jr_test_failures = 0;
	jr_test_skipped = 0;
	c->run();
	if (jr_test_failures) {
		fprintf(stderr, "%s: FAIL (%d failed expectations)\n",
			c->name, jr_test_failures);
		return 1;
	}
	printf("%s: %s (%.2f s)\n", c->name, jr_test_skipped ? "skip" : "ok",
	       jr_test_now() - start);
	return jr_test_skipped ? 77 : 0;
}

static inline int jr_test_main(const struct jr_test_case *cases, size_t nr,
			       int argc, char **argv)
{
	int failed = 0, skipped = 0, ran = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < nr; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	for (i = 0; i < nr; i++) {
		int wanted = argc < 2, a, rc;

		for (a = 1; a < argc; a++)
			wanted |= !strcmp(argv[a], cases[i].name);
		if (!wanted)
			continue;
		ran++;
		rc = jr_test_run_one(&cases[i]);
		failed += rc == 1;
		skipped += rc == 77;
	}
	/* A name that matches nothing is a test list out of sync: fail. */
	if (ran < (argc < 2 ? 1 : argc - 1)) {
		fprintf(stderr, "%s: unknown test case among the arguments\n",
			argv[0]);
		return 1;
	}
	if (failed)
		return 1;
	return skipped == ran ? 77 : 0;
}

#define JR_TEST_MAIN(cases)						\
int main(int argc, char **argv)						\
{									\
	return jr_test_main(cases, sizeof(cases) / sizeof(cases[0]),	\
			    argc, argv);				\
}

#endif /* _JR_TEST_H */
