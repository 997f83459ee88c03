/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jrctl's commands that show a Joyride host (jrctl_view.c): they read what
 * the kernel publishes under /proc/net and need no privilege.  Each takes
 * the arguments after its name (argv[0] is the command) and returns the
 * exit status: 0, 1 on failure, 2 on a usage error.
 */
#ifndef _JRCTL_H
#define _JRCTL_H

int jrctl_status(int argc, char **argv);
int jrctl_sockets(int argc, char **argv);
int jrctl_stats(int argc, char **argv);
int jrctl_top(int argc, char **argv);

/* A number 0..max from option `name`'s value; -1 after saying what is
 * accepted (jrctl.c, for every command's options). */
int jrctl_parse_count(const char *name, const char *v, long max, long *out);

#endif /* _JRCTL_H */
