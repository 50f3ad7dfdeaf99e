// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: reach a domain's QEMU monitor through libvirt.
 *
 * Commands go through virDomainQemuMonitorCommand() (libvirt adds the "id"
 * itself and hands back the whole reply); events come from
 * virConnectDomainQemuMonitorEventRegister() and are delivered by libvirt's
 * default event loop, which next_event runs for a bounded time.
 *
 * libvirt offers no timeout for a monitor command, so each command runs in
 * a worker thread and the caller waits for it with one.  A command that
 * times out is abandoned (the worker frees its own state when it returns);
 * vssdctl exits soon after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"
#include "qmp.h"

#ifdef HAVE_LIBVIRT

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "evqueue.h"

/* Longest single wait inside the event loop, so interrupts are noticed. */
#define LV_TICK_MS 200

struct lv_transport {
	struct transport base;		/* must stay first */
	virConnectPtr conn;		/* libvirt connection */
	virDomainPtr dom;		/* the domain */
	int monitor_cb;			/* QEMU event callback id, or -1 */
	int lifecycle_cb;		/* lifecycle callback id, or -1 */
	bool close_cb;			/* close callback registered */
	struct evqueue events;		/* monitor events, oldest first */
	char *gone;			/* why no more events can come, or NULL */
	bool busy;			/* an abandoned command still runs */
};

/* One monitor command, shared by the caller and the worker thread. */
struct lv_job {
	pthread_mutex_t lock;		/* protects done and refs */
	pthread_cond_t cond;		/* signalled when done */
	int refs;			/* caller + worker */
	bool done;			/* worker finished */
	virDomainPtr dom;		/* a reference of the job's own */
	char *request;			/* JSON text sent */
	char *result;			/* reply text, when rc == 0 */
	int rc;				/* virDomainQemuMonitorCommand()'s */
	char error[400];		/* libvirt's message, when rc < 0 */
};

static void lv_quiet(void *opaque, virErrorPtr error)
{
	(void)opaque;
	(void)error;
}

static const char *lv_last_error(void)
{
	const char *msg = virGetLastErrorMessage();

	return msg && *msg ? msg : "unknown libvirt error";
}

static void lv_job_put(struct lv_job *job)
{
	bool last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	virDomainFree(job->dom);
	free(job->request);
	free(job->result);
	pthread_cond_destroy(&job->cond);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

static void *lv_job_run(void *opaque)
{
	struct lv_job *job = opaque;

	job->rc = virDomainQemuMonitorCommand(job->dom, job->request,
					      &job->result, 0);
	if (job->rc < 0)
		snprintf(job->error, sizeof(job->error), "%s", lv_last_error());
	pthread_mutex_lock(&job->lock);
	job->done = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	lv_job_put(job);
	return NULL;
}

static struct lv_job *lv_job_new(virDomainPtr dom, char *request)
{
	struct lv_job *job = calloc(1, sizeof(*job));
	pthread_condattr_t attr;

	if (!job)
		return NULL;
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &attr);
	pthread_condattr_destroy(&attr);
	job->refs = 2;
	job->request = request;
	virDomainRef(dom);
	job->dom = dom;
	return job;
}

/* Turn libvirt's reply text into our return value or error. */
static int lv_parse_reply(const char *text, const char *command, json_t **ret,
			  struct verr *err)
{
	json_error_t jerr;
	json_t *reply = json_loads(text, 0, &jerr);

	if (!json_is_object(reply)) {
		json_decref(reply);
		verr_set(err, "libvirt returned a malformed reply to '%s'",
			 command);
		return QMP_FAILED;
	}
	if (!json_object_get(reply, "return") &&
	    !json_is_object(json_object_get(reply, "error"))) {
		json_decref(reply);
		verr_set(err, "reply to '%s' has neither return nor error",
			 command);
		return QMP_FAILED;
	}
	return qmp_reply_result(reply, ret, err);
}

static int lv_execute(struct transport *t, const char *command, json_t *args,
		      int timeout_ms, json_t **ret, struct verr *err)
{
	struct lv_transport *lt = (struct lv_transport *)t;
	int64_t deadline = now_ms() + timeout_ms;
	struct lv_job *job;
	pthread_t thread;
	json_t *req;
	char *text;
	bool done;
	int r;

	*ret = NULL;
	req = json_pack("{s:s}", "execute", command);
	if (req && args)
		json_object_set(req, "arguments", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	job = text ? lv_job_new(lt->dom, text) : NULL;
	if (!job) {
		free(text);
		verr_set(err, "out of memory");
		return QMP_FAILED;
	}
	r = pthread_create(&thread, NULL, lv_job_run, job);
	if (r) {
		job->refs = 1;
		lv_job_put(job);
		verr_set(err, "pthread_create: %s", strerror(r));
		return QMP_FAILED;
	}
	pthread_detach(thread);

	pthread_mutex_lock(&job->lock);
	while (!job->done && !vssd_interrupted && ms_left(deadline) > 0) {
		int slice = ms_left(deadline);
		struct timespec ts;

		if (slice > LV_TICK_MS)
			slice = LV_TICK_MS;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += slice / 1000;
		ts.tv_nsec += (long)(slice % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&job->cond, &job->lock, &ts);
	}
	done = job->done;
	pthread_mutex_unlock(&job->lock);

	if (!done) {
		lt->busy = true;
		if (vssd_interrupted)
			verr_set(err, "interrupted");
		else
			verr_set(err, "no reply to '%s' from libvirt within %g s",
				 command, timeout_ms / 1000.0);
		r = QMP_FAILED;
	} else if (job->rc < 0) {
		verr_set(err, "%s", job->error);
		r = QMP_FAILED;
	} else {
		r = lv_parse_reply(job->result, command, ret, err);
	}
	lv_job_put(job);
	return r;
}

static void lv_monitor_event(virConnectPtr conn, virDomainPtr dom,
			     const char *event, long long seconds,
			     unsigned int micros, const char *details,
			     void *opaque)
{
	struct lv_transport *lt = opaque;
	json_t *data = details ? json_loads(details, JSON_DECODE_ANY, NULL) :
				 NULL;
	json_t *msg;

	(void)conn;
	(void)dom;
	msg = json_pack("{s:s, s:o, s:{s:I, s:I}}", "event", event,
			"data", data ?: json_object(),
			"timestamp", "seconds", (json_int_t)seconds,
			"microseconds", (json_int_t)micros);
	if (msg)
		evqueue_push(&lt->events, msg);
}

static void lv_set_gone(struct lv_transport *lt, const char *why)
{
	if (!lt->gone)
		lt->gone = strdup(why);
}

static int lv_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	(void)conn;
	(void)dom;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STOPPED)
		lv_set_gone(opaque, "the domain stopped");
	return 0;
}

static void lv_closed(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn;
	(void)reason;
	lv_set_gone(opaque, "the connection to libvirt closed");
}

static void lv_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static int lv_next_event(struct transport *t, int timeout_ms, json_t **event,
			 struct verr *err)
{
	struct lv_transport *lt = (struct lv_transport *)t;
	int64_t deadline = now_ms() + timeout_ms;

	if (lt->monitor_cb < 0) {
		verr_set(err, "events were not requested for %s", t->where);
		return -1;
	}
	for (;;) {
		int slice, timer;

		*event = evqueue_pop(&lt->events);
		if (*event)
			return 1;
		if (lt->gone) {
			verr_set(err, "%s", lt->gone);
			return -1;
		}
		slice = ms_left(deadline);
		if (vssd_interrupted || slice == 0)
			return 0;
		if (slice > LV_TICK_MS)
			slice = LV_TICK_MS;
		/* The timer bounds the one loop iteration we run. */
		timer = virEventAddTimeout(slice, lv_tick, NULL, NULL);
		if (timer < 0 || virEventRunDefaultImpl() < 0) {
			if (timer >= 0)
				virEventRemoveTimeout(timer);
			verr_set(err, "libvirt event loop: %s", lv_last_error());
			return -1;
		}
		virEventRemoveTimeout(timer);
	}
}

static void lv_close(struct transport *t)
{
	struct lv_transport *lt = (struct lv_transport *)t;

	if (lt->monitor_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(lt->conn,
							   lt->monitor_cb);
	if (lt->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(lt->conn, lt->lifecycle_cb);
	if (lt->close_cb)
		virConnectUnregisterCloseCallback(lt->conn, lv_closed);
	evqueue_clear(&lt->events);
	if (lt->dom)
		virDomainFree(lt->dom);
	/* An abandoned worker still uses the connection: let exit reap it. */
	if (lt->conn && !lt->busy)
		virConnectClose(lt->conn);
	free(lt->gone);
	free(t->where);
	free(lt);
}

static const struct transport_ops lv_ops = {
	.execute = lv_execute,
	.next_event = lv_next_event,
	.close = lv_close,
};

static int lv_watch_events(struct lv_transport *lt, struct verr *err)
{
	lt->monitor_cb = virConnectDomainQemuMonitorEventRegister(
		lt->conn, lt->dom, NULL, lv_monitor_event, lt, NULL, 0);
	if (lt->monitor_cb < 0) {
		verr_set(err, "cannot watch QEMU events of %s: %s",
			 lt->base.where, lv_last_error());
		return -1;
	}
	lt->lifecycle_cb = virConnectDomainEventRegisterAny(
		lt->conn, lt->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(lv_lifecycle), lt, NULL);
	lt->close_cb = virConnectRegisterCloseCallback(lt->conn, lv_closed, lt,
						       NULL) == 0;
	/* Notice a dead libvirtd instead of waiting on it forever. */
	virConnectSetKeepAlive(lt->conn, 5, 3);
	return 0;
}

struct transport *transport_open_libvirt(const char *uri, const char *name,
					 bool events, int timeout_ms,
					 struct verr *err)
{
	static bool loop_registered;
	struct lv_transport *lt;
	int active;

	(void)timeout_ms;
	virSetErrorFunc(NULL, lv_quiet);
	/* Must come before virConnectOpen() for the connection to use it. */
	if (events && !loop_registered) {
		if (virEventRegisterDefaultImpl() < 0) {
			verr_set(err, "libvirt event loop: %s", lv_last_error());
			return NULL;
		}
		loop_registered = true;
	}
	lt = calloc(1, sizeof(*lt));
	if (!lt || asprintf(&lt->base.where, "domain %s", name) < 0) {
		free(lt);
		verr_set(err, "out of memory");
		return NULL;
	}
	lt->base.ops = &lv_ops;
	lt->monitor_cb = -1;
	lt->lifecycle_cb = -1;
	evqueue_init(&lt->events);

	lt->conn = virConnectOpen(uri);
	if (!lt->conn) {
		verr_set(err, "cannot connect to libvirt%s%s: %s",
			 uri ? " at " : "", uri ?: "", lv_last_error());
		goto fail;
	}
	lt->dom = virDomainLookupByName(lt->conn, name);
	if (!lt->dom) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			verr_set(err, "libvirt domain '%s' not found", name);
		else
			verr_set(err, "libvirt domain '%s': %s", name,
				 lv_last_error());
		goto fail;
	}
	active = virDomainIsActive(lt->dom);
	if (active <= 0) {
		if (active == 0)
			verr_set(err, "libvirt domain '%s' is not running", name);
		else
			verr_set(err, "libvirt domain '%s': %s", name,
				 lv_last_error());
		goto fail;
	}
	if (events && lv_watch_events(lt, err))
		goto fail;
	return &lt->base;
fail:
	lv_close(&lt->base);
	return NULL;
}

#else /* !HAVE_LIBVIRT */

struct transport *transport_open_libvirt(const char *uri, const char *name,
					 bool events, int timeout_ms,
					 struct verr *err)
{
	(void)uri;
	(void)events;
	(void)timeout_ms;
	verr_set(err, "cannot open domain '%s': vssdctl was built without libvirt",
		 name);
	return NULL;
}

#endif /* HAVE_LIBVIRT */
