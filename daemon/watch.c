/* watch.c -- inotify on the folders of the config and weights files. */
#include "watch.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "config.h"
#include "error.h"

#define WATCH_MAX 4

struct tc_watch {
	int fd;
	int n;
	int wd[WATCH_MAX];                 /* the folder's watch descriptor */
	char name[WATCH_MAX][TC_PATH_MAX]; /* the file's name in it */
};

struct tc_watch *tc_watch_create(const char *const *paths, int n, char *err)
{
	struct tc_watch *w = calloc(1, sizeof *w);
	if (!w || n > WATCH_MAX) {
		free(w);
		tc_err_set(err, "cannot watch %d files", n);
		return NULL;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		tc_err_set(err, "inotify: %s", strerror(errno));
		free(w);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		char dir[TC_PATH_MAX], base[TC_PATH_MAX];
		snprintf(dir, sizeof dir, "%s", paths[i]);
		snprintf(base, sizeof base, "%s", paths[i]);
		const char *folder = dirname(dir);
		w->wd[i] = inotify_add_watch(w->fd, folder,
			IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
		if (w->wd[i] < 0) {
			tc_err_set(err, "model.watch: cannot watch %s: %s", folder, strerror(errno));
			tc_watch_destroy(&w);
			return NULL;
		}
		snprintf(w->name[i], sizeof w->name[i], "%s", basename(base));
		w->n = i + 1;
	}
	return w;
}

void tc_watch_destroy(struct tc_watch **wp)
{
	if (!wp || !*wp) {
		return;
	}
	close((*wp)->fd);
	free(*wp);
	*wp = NULL;
}

int tc_watch_fd(const struct tc_watch *w)
{
	return w->fd;
}

int tc_watch_changed(struct tc_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	ssize_t len;
	while ((len = read(w->fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			for (int i = 0; i < w->n && ev->len; i++) {
				changed |= ev->wd == w->wd[i] && strcmp(ev->name, w->name[i]) == 0;
			}
			p += sizeof *ev + ev->len;
		}
	}
	return changed;
}
