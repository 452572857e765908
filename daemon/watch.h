/* watch.h -- noticing that the config or weights file changed (inotify).
 *
 * Watches the folders of the files, not the files themselves, so that an
 * editor's or exporter's write-then-rename is seen as well as a write in
 * place; reports a change when one of the named files is written to,
 * closed after writing, moved in or created (the caller waits for the
 * events to stop before it reloads, so a file being written is not read). */
#ifndef TC_WATCH_H
#define TC_WATCH_H

struct tc_watch;

/* Watches the n paths. NULL and err on failure. */
struct tc_watch *tc_watch_create(const char *const *paths, int n, char *err);
void tc_watch_destroy(struct tc_watch **w);

/* The descriptor to poll for readability. */
int tc_watch_fd(const struct tc_watch *w);

/* Reads the pending events; returns 1 when a watched file changed. */
int tc_watch_changed(struct tc_watch *w);

#endif
