/* proc_cpu.c -- CPU use from /proc, per thread and for the machine, for loadgen's report. */
#include "proc_cpu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_task(long pid, const char *tid, char *comm, unsigned long long *ticks)
{
	char path[96], line[1024];
	snprintf(path, sizeof path, "/proc/%ld/task/%s/stat", pid, tid);
	FILE *f = fopen(path, "r");
	if (!f) {
		return -1;
	}
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	char *open = ok ? strchr(line, '(') : NULL;
	char *close = ok ? strrchr(line, ')') : NULL;
	unsigned long long utime, stime;
	/* After "pid (comm) ": state, then utime and stime are the 12th and 13th. */
	if (!open || !close || sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		&utime, &stime) != 2) {
		return -1;
	}
	size_t n = (size_t)(close - open - 1);
	n = n < 31 ? n : 31;
	memcpy(comm, open + 1, n);
	comm[n] = '\0';
	*ticks = utime + stime;
	return 0;
}

void lg_cpu_snapshot_take(long pid, struct lg_cpu_snapshot *c)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/task", pid);
	c->n = 0;
	c->total = 0;
	/* Task ids ascend in creation order; scandir keeps them sorted. */
	struct dirent **names;
	int n = scandir(path, &names, NULL, NULL);
	int order[LG_CPU_MAX_TASKS];
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && m < LG_CPU_MAX_TASKS) {
			order[m++] = atoi(names[i]->d_name);
		}
	}
	for (int i = 1; i < m; i++) {
		for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (int i = 0; i < m; i++) {
		char tid[16];
		snprintf(tid, sizeof tid, "%d", order[i]);
		if (read_task(pid, tid, c->comm[c->n], &c->ticks[c->n]) == 0) {
			c->tid[c->n] = order[i];
			c->total += c->ticks[c->n++];
		}
	}
	for (int i = 0; i < n; i++) {
		free(names[i]);
	}
	if (n >= 0) {
		free(names);
	}
}

/* Busy and total jiffies of the whole machine (/proc/stat's first line). */
void lg_cpu_machine(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	*busy = *total = 0;
	if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		&v[4], &v[5], &v[6], &v[7]) == 8) {
		for (int i = 0; i < 8; i++) {
			*total += v[i];
		}
		*busy = *total - v[3] - v[4];
	}
	if (f) {
		fclose(f);
	}
}

/* Prints each thread's share of a core between a and b (seconds of wall). */
void lg_cpu_print(const char *who, const struct lg_cpu_snapshot *a, const struct lg_cpu_snapshot *b,
	double seconds)
{
	const double hz = (double)sysconf(_SC_CLK_TCK);
	printf("cpu %-18s %.2f cores:", who, (double)(b->total - a->total) / hz / seconds);
	for (int i = 0; i < b->n; i++) {
		unsigned long long before = 0;
		for (int j = 0; j < a->n; j++) {
			before = a->tid[j] == b->tid[i] ? a->ticks[j] : before;
		}
		printf(" %s/%d %.0f%%", b->comm[i], b->tid[i],
			100.0 * (double)(b->ticks[i] - before) / hz / seconds);
	}
	printf("\n");
}
