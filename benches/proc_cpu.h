/* proc_cpu.h -- CPU use from /proc: per-thread ticks of a process (task/<tid>/stat) and the machine's (/proc/stat).
 *
 *   struct lg_cpu_snapshot a, b;            // the caller's; large, keep them off small stacks
 *   lg_cpu_snapshot_take(pid, &a);
 *   ...                                     // the window
 *   lg_cpu_snapshot_take(pid, &b);
 *   lg_cpu_print("daemon", &a, &b, seconds);
 *
 * Ticks are clock ticks (sysconf(_SC_CLK_TCK) a second). Nothing here
 * allocates past a call, and nothing fails loudly: a process or thread that
 * cannot be read is left out (an empty snapshot for a gone process), and an
 * unreadable /proc/stat reads as zero. */
#ifndef PROC_CPU_H
#define PROC_CPU_H

#define LG_CPU_MAX_TASKS 256 /* threads of one process that a snapshot follows */

/* One process's threads: CPU ticks (utime + stime) per thread, in ascending
 * thread id (creation) order. */
struct lg_cpu_snapshot {
	int n;
	int tid[LG_CPU_MAX_TASKS];
	char comm[LG_CPU_MAX_TASKS][32];         /* thread name, NUL-terminated */
	unsigned long long ticks[LG_CPU_MAX_TASKS];
	unsigned long long total;                /* sum of ticks[0..n) */
};

/* Reads the threads of process pid into *c (the caller's, overwritten). */
void lg_cpu_snapshot_take(long pid, struct lg_cpu_snapshot *c);

/* Busy and total jiffies of the whole machine (/proc/stat's first line);
 * busy leaves out idle and iowait. Both 0 when it cannot be read. */
void lg_cpu_machine(unsigned long long *busy, unsigned long long *total);

/* Prints "cpu <who> x cores:" and each thread's share of a core between a and
 * b, seconds of wall apart, as one line on stdout. Threads are b's; one not
 * in a counts from 0. */
void lg_cpu_print(const char *who, const struct lg_cpu_snapshot *a, const struct lg_cpu_snapshot *b,
	double seconds);

#endif
