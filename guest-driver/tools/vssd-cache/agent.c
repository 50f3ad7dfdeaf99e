// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssd-cache: the resize agent, one process per cache (started by
 * create, stopped by remove). It watches the vSSD driver's pending
 * resize (/proc/vssd/DEV/pending, the state the driver's uevent
 * announces) every VC_POLL_MS and answers:
 *
 *   shrink N   once per driver generation: vc_shrink() frees up to N
 *              data blocks, which it names in the hint list before it
 *              writes "ready" (the driver waits for that up to its
 *              agent_timeout_ms);
 *   grow       "ready" at once; plugged blocks the cache does not know
 *              join it (vc_grow()) as soon as the driver shows them in
 *              its map;
 *   pmem       (a resize of the persistent-memory region) "ready" at once.
 *
 * Each resize runs under NAME's lock, so it never races a command.
 * Messages go to syslog. The process is a supervisor; the polling is
 * done by its child, the worker, restarted if it dies (kill -9); each
 * resize runs in a child of the worker (vc_run_op()), which first
 * finishes or undoes what a resize process that died left (vc_repair()).
 * So killing the worker does not cut a resize short. (Killing the
 * process that runs a resize while it loads a dm-cache table can hit a
 * bug of Linux 6.1's dm-cache: cache_ctr's error path destroys an
 * ERR_PTR kcopyd client when an allocation fails because of the pending
 * SIGKILL, an oops.)
 *
 * Copyright (c) 2026 The vssd authors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vssd-cache.h"

#define VC_POLL_MS		50
#define VC_AGENT_TIMEOUT	"/sys/module/virtio_vssd/parameters/agent_timeout_ms"
#define VC_AGENT_TIMEOUT_MS	"20000"

static volatile sig_atomic_t vc_stop;

static void vc_on_term(int sig)
{
	(void)sig;
	vc_stop = 1;
}

/* The driver's generation of the resize it is working on. */
static uint64_t vc_vssd_generation(const char *vssd)
{
	char path[PATH_MAX], buf[8192], *p;

	snprintf(path, sizeof(path), "/proc/vssd/%s/status", vssd);
	if (vc_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "\ngeneration:");
	return p ? strtoull(p + 12, NULL, 10) : 0;
}

/* Is pid alive (not gone, not a zombie)? */
static bool vc_pid_alive(int pid)
{
	char path[64], buf[512], *p;

	if (pid <= 0 || kill(pid, 0))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (vc_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z';
}

/*
 * Start the agent for NAME: a daemon (double fork, setsid) running
 * "vssd-cache agent NAME"; its pid goes into the state file.
 */
int vc_agent_start(const char *name)
{
	char buf[32];
	struct vc_layout l;
	int pipefd[2], lock, r;
	pid_t pid, agent = 0;

	if (vc_read_file(VC_AGENT_TIMEOUT, buf, sizeof(buf)) > 0 && atoi(buf) == 0)
		vc_write_file(VC_AGENT_TIMEOUT, VC_AGENT_TIMEOUT_MS);
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		agent = fork();
		if (agent != 0) {
			if (write(pipefd[1], &agent, sizeof(agent)) < 0)
				_exit(1);
			_exit(agent > 0 ? 0 : 1);
		}
		close(pipefd[1]);
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("/proc/self/exe", "vssd-cache", "agent", name, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	r = read(pipefd[0], &agent, sizeof(agent)) == sizeof(agent) && agent > 0 ? 0 : -1;
	close(pipefd[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r)
		return -1;
	lock = vc_lock(name, true);
	r = vc_layout_load(name, &l);
	if (r == 0) {
		l.agent_pid = agent;
		r = vc_layout_save(&l);
		vc_layout_free(&l);
	}
	vc_unlock(lock);
	if (r)
		kill(agent, SIGTERM);
	return r;
}

/* Stop NAME's agent (SIGTERM, then SIGKILL after 10 s); the caller holds the lock. */
int vc_agent_stop(struct vc_layout *l)
{
	int i;

	if (!vc_pid_alive(l->agent_pid))
		return 0;
	kill(l->agent_pid, SIGTERM);
	for (i = 0; i < 1000 && vc_pid_alive(l->agent_pid); i++)
		usleep(10000);
	if (vc_pid_alive(l->agent_pid)) {
		kill(l->agent_pid, SIGKILL);
		for (i = 0; i < 100 && vc_pid_alive(l->agent_pid); i++)
			usleep(10000);
	}
	return vc_pid_alive(l->agent_pid) ? -1 : 0;
}

/*
 * Run op(name, arg) in a child process holding NAME's lock: a kill of
 * the worker (which waits for it) does not cut the resize short, and a
 * kill of the child leaves the lock free and vc_repair() to the next op.
 * The child's pid is in NAME.op while it runs. Returns 0 when the child
 * ended normally, -1 when it died (the caller tries again).
 */
static int vc_run_op(const char *name, void (*op)(const char *, uint64_t, uint64_t),
		     uint64_t arg, uint64_t gen)
{
	char path[PATH_MAX], text[32];
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int lock = vc_lock(name, true);

		if (lock < 0)
			_exit(0);
		snprintf(path, sizeof(path), VC_STATE_DIR "/%s.op", name);
		snprintf(text, sizeof(text), "%d\n", (int)getpid());
		vc_write_file_new(path, text);
		if (vc_repair(name) == 0)
			op(name, arg, gen);
		unlink(path);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR || vc_stop)
			return -1;
	if (WIFSIGNALED(status)) {
		vc_err("%s: the resize process died (signal %d)", name, WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* Answer a pending shrink of n blocks (generation gen of the driver). */
static void vc_agent_shrink(const char *name, uint64_t n, uint64_t gen)
{
	struct vc_layout l;
	uint64_t *given = NULL, ngiven = 0;

	if (vc_layout_load(name, &l))
		return;
	if (l.answered_gen == gen) {	/* done by a process that died after */
		vc_layout_free(&l);
		return;
	}
	if (vc_shrink(&l, n, &given, &ngiven))
		vc_err("%s: shrink by %llu blocks failed; the driver chooses", name,
		       (unsigned long long)n);
	else
		vc_log("%s: shrink: %llu of %llu blocks freed", name,
		       (unsigned long long)ngiven, (unsigned long long)n);
	if (vc_layout_save(&l))
		vc_err("%s: cannot save the state: %s", name, strerror(errno));
	else
		vc_layout_unlink(name, ".next");
	if (vc_vssd_hint_and_ready(l.vssd, given, ngiven))
		vc_err("%s: cannot hint or answer ready: %s", name, strerror(errno));
	l.answered_gen = gen;
	vc_layout_save(&l);
	free(given);
	vc_layout_free(&l);
}

/* Take the plugged blocks the cache does not use yet. */
static void vc_agent_grow_op(const char *name, uint64_t unused, uint64_t gen)
{
	struct vc_layout l;
	uint64_t *plugged, n;

	(void)unused;
	(void)gen;
	if (vc_layout_load(name, &l))
		return;
	if (vc_vssd_plugged(l.vssd, &plugged, &n) == 0) {
		if (vc_grow(&l, plugged, n))
			vc_err("%s: grow failed", name);
		else if (vc_layout_save(&l))
			vc_err("%s: cannot save the state: %s", name, strerror(errno));
		free(plugged);
	}
	vc_layout_free(&l);
}

/* Is any plugged block unknown to the layout (granted by a grow)? */
static bool vc_has_new_blocks(const struct vc_layout *l, const uint64_t *plugged,
			      uint64_t n)
{
	uint64_t i, top = 0, npinned = 2ULL * l->meta_blocks;
	bool *known, found = false;

	for (i = 0; i < n; i++)
		if (plugged[i] >= top)
			top = plugged[i] + 1;
	known = calloc(top ? top : 1, sizeof(*known));
	if (!known)
		return false;
	for (i = 0; i < npinned; i++)
		if (l->pinned[i] < top)
			known[l->pinned[i]] = true;
	for (i = 0; i < l->nslots; i++)
		if (l->slots[i] < top)
			known[l->slots[i]] = true;
	for (i = 0; i < n && !found; i++)
		found = !known[plugged[i]];
	free(known);
	return found;
}

/* Grow the cache when the driver's map shows blocks it does not use. */
static void vc_agent_grow(const char *name)
{
	struct vc_layout l;
	uint64_t *plugged, n;
	bool grow;

	if (vc_layout_load(name, &l)) {
		vc_stop = 1;
		return;
	}
	if (vc_vssd_plugged(l.vssd, &plugged, &n)) {
		vc_layout_free(&l);
		return;
	}
	grow = vc_has_new_blocks(&l, plugged, n);
	free(plugged);
	vc_layout_free(&l);
	if (grow)
		vc_run_op(name, vc_agent_grow_op, 0, 0);
}

/* The worker: repair what a dead predecessor left, then answer resizes. */
static int vc_agent_worker(const char *name)
{
	struct timespec poll = { 0, VC_POLL_MS * 1000000L };
	struct vc_layout l;
	uint64_t answered, gen, n;
	char kind[16], vssd[32];
	int lock;

	lock = vc_lock(name, true);
	if (lock < 0)
		return 0;
	if (vc_repair(name)) {
		vc_unlock(lock);
		return 1;
	}
	vc_unlock(lock);
	if (vc_layout_load(name, &l)) {
		vc_err("%s: no such cache", name);
		return 0;
	}
	answered = l.answered_gen;
	snprintf(vssd, sizeof(vssd), "%s", l.vssd);
	vc_layout_free(&l);
	while (!vc_stop) {
		nanosleep(&poll, NULL);
		if (vc_vssd_pending(vssd, kind, sizeof(kind), &n))
			continue;
		gen = vc_vssd_generation(vssd);
		if (!strcmp(kind, "shrink")) {
			if (gen != answered &&
			    vc_run_op(name, vc_agent_shrink, n, gen) == 0)
				answered = gen;
			continue;
		}
		/* a grow or a pmem resize: nothing to prepare */
		if (strcmp(kind, "none") && gen != answered) {
			vc_vssd_ready(vssd);
			answered = gen;
		}
		vc_agent_grow(name);
	}
	return 0;
}

/* Write the worker's pid to NAME.worker (tests kill it there). */
static void vc_note_worker(const char *name, pid_t pid)
{
	char path[PATH_MAX], text[32];
	FILE *f;

	snprintf(path, sizeof(path), VC_STATE_DIR "/%s.worker", name);
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/*
 * The agent: a supervisor that runs the worker and starts a new one
 * when it dies of a signal (the new one repairs a resize cut short).
 * SIGTERM stops both.
 */
int vc_agent_main(const char *name)
{
	struct sigaction sa = { .sa_handler = vc_on_term };	/* no SA_RESTART */
	int status;
	pid_t pid;

	vc_daemon = true;
	openlog("vssd-cache", LOG_PID, LOG_DAEMON);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!vc_stop) {
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(vc_agent_worker(name));
		vc_note_worker(name, pid);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR)
				return 1;
			if (vc_stop)
				kill(pid, SIGTERM);
		}
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		vc_err("%s: the agent's worker died (signal %d); restarting it", name,
		       WTERMSIG(status));
		usleep(100000);
	}
	return 0;
}
