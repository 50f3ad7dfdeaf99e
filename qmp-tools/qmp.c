// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vssdctl: a small QMP client over a unix socket.  See qmp.h for the
 * dispatch rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evqueue.h"
#include "qmp.h"

/* A peer that sends a longer line than this is not the QEMU we know. */
#define QMP_MAX_LINE		(16u << 20)

struct qmp_client {
	int fd;				/* connected stream socket, O_NONBLOCK */
	char *buf;			/* bytes received, not yet parsed */
	size_t len;			/* valid bytes in buf */
	size_t cap;			/* allocated bytes in buf */
	bool eof;			/* the peer closed its end */
	unsigned long last_id;		/* number in the last "id" we sent */
	json_t *greeting;		/* the greeting's "QMP" object */
	struct evqueue events;		/* events not yet read, oldest first */
};

/* Fill the buffer once; 1 = got bytes or EOF, 0 = timeout/interrupt, -1 = error. */
static int fill_buffer(struct qmp_client *c, int64_t deadline, struct verr *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int r;

	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		char *buf;

		if (c->len >= QMP_MAX_LINE) {
			verr_set(err, "QMP message longer than %u bytes",
				 QMP_MAX_LINE);
			return -1;
		}
		buf = realloc(c->buf, cap);
		if (!buf) {
			verr_set(err, "out of memory");
			return -1;
		}
		c->buf = buf;
		c->cap = cap;
	}
	r = poll(&pfd, 1, ms_left(deadline));
	if (r < 0 && errno != EINTR) {
		verr_set(err, "poll: %s", strerror(errno));
		return -1;
	}
	if (r <= 0)
		return 0;
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		verr_set(err, "reading from QMP socket: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		c->eof = true;
	c->len += (size_t)n;
	return 1;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * Read one JSON object: 1 and *msg (new reference), 0 when @deadline passed
 * or a signal interrupted the wait, -1 on error.
 */
static int read_message(struct qmp_client *c, int64_t deadline, json_t **msg,
			struct verr *err)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

		if (nl) {
			size_t line = (size_t)(nl - c->buf) + 1;
			json_error_t jerr;
			json_t *v = NULL;
			bool blank = is_blank(c->buf, line);

			if (!blank)
				v = json_loadb(c->buf, line, JSON_DECODE_ANY,
					       &jerr);
			memmove(c->buf, c->buf + line, c->len - line);
			c->len -= line;
			if (blank)
				continue;
			if (!v) {
				verr_set(err, "malformed JSON from the peer: %s",
					 jerr.text);
				return -1;
			}
			if (!json_is_object(v)) {
				json_decref(v);
				verr_set(err, "QMP message is not a JSON object");
				return -1;
			}
			*msg = v;
			return 1;
		}
		if (c->eof) {
			verr_set(err, "the QMP connection was closed (QEMU exited?)");
			return -1;
		}
		if (vssd_interrupted || ms_left(deadline) == 0)
			return 0;
		int r = fill_buffer(c, deadline, err);
		if (r <= 0)
			return r;
	}
}

static int write_all(struct qmp_client *c, const char *data, size_t len,
		     int64_t deadline, struct verr *err)
{
	while (len) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);

		if (n < 0) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				verr_set(err, "writing to QMP socket: %s",
					 strerror(errno));
				return -1;
			}
			if (poll(&pfd, 1, ms_left(deadline)) == 0 ||
			    vssd_interrupted) {
				verr_set(err, "timed out writing to QMP socket");
				return -1;
			}
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Sort one message by its top-level key.  Returns true when @msg is the
 * reply to the command with id @want_id (the caller then owns @msg).
 */
static bool dispatch(struct qmp_client *c, json_t *msg, const char *want_id)
{
	json_t *id;

	if (json_is_string(json_object_get(msg, "event"))) {
		evqueue_push(&c->events, msg);
		return false;
	}
	if (want_id && (json_object_get(msg, "return") ||
			json_object_get(msg, "error"))) {
		id = json_object_get(msg, "id");
		if (id && json_is_string(id) &&
		    !strcmp(json_string_value(id), want_id))
			return true;
		/* QEMU could not even parse our request: no id to echo. */
		if (!id && json_object_get(msg, "error"))
			return true;
	}
	/* A late reply to a command that timed out, or something unknown. */
	json_decref(msg);
	return false;
}

int qmp_execute(struct qmp_client *c, const char *command, json_t *args,
		int timeout_ms, json_t **ret, struct verr *err)
{
	int64_t deadline = now_ms() + timeout_ms;
	char id[32];
	json_t *req, *reply = NULL;
	char *text;
	int r;

	*ret = NULL;
	snprintf(id, sizeof(id), "vssdctl-%lu", ++c->last_id);
	req = json_pack("{s:s, s:s}", "execute", command, "id", id);
	if (req && args)
		json_object_set(req, "arguments", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		verr_set(err, "out of memory");
		return QMP_FAILED;
	}
	r = write_all(c, text, strlen(text), deadline, err);
	if (!r)
		r = write_all(c, "\n", 1, deadline, err);
	free(text);
	if (r)
		return QMP_FAILED;

	for (;;) {
		json_t *msg;

		r = read_message(c, deadline, &msg, err);
		if (r < 0)
			return QMP_FAILED;
		if (r == 0) {
			if (vssd_interrupted)
				verr_set(err, "interrupted");
			else
				verr_set(err, "no reply to '%s' within %g s",
					 command, timeout_ms / 1000.0);
			return QMP_FAILED;
		}
		if (dispatch(c, msg, id)) {
			reply = msg;
			break;
		}
	}
	return qmp_reply_result(reply, ret, err);
}

int qmp_reply_result(json_t *reply, json_t **ret, struct verr *err)
{
	json_t *error;

	if (json_object_get(reply, "return")) {
		*ret = json_incref(json_object_get(reply, "return"));
		json_decref(reply);
		return QMP_OK;
	}
	error = json_object_get(reply, "error");
	verr_set(err, "%s", json_string_value(json_object_get(error, "desc")) ?:
		 "QMP error without a description");
	snprintf(err->qmp_class, sizeof(err->qmp_class), "%s",
		 json_string_value(json_object_get(error, "class")) ?: "");
	json_decref(reply);
	return QMP_ERROR_REPLY;
}

int qmp_next_event(struct qmp_client *c, int timeout_ms, json_t **event,
		   struct verr *err)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		json_t *msg;
		int r;

		*event = evqueue_pop(&c->events);
		if (*event)
			return 1;
		r = read_message(c, deadline, &msg, err);
		if (r <= 0)
			return r;
		dispatch(c, msg, NULL);
	}
}

static int read_greeting(struct qmp_client *c, int timeout_ms, struct verr *err)
{
	json_t *msg, *qmp;
	int r;

	r = read_message(c, now_ms() + timeout_ms, &msg, err);
	if (r == 0) {
		verr_set(err, "no QMP greeting within %g s (not a QMP server, or another client holds this monitor?)",
			 timeout_ms / 1000.0);
		return -1;
	}
	if (r < 0) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		verr_set(err, "not a QMP server (%s)", why);
		return -1;
	}
	qmp = json_object_get(msg, "QMP");
	if (!json_is_object(qmp)) {
		json_decref(msg);
		verr_set(err, "not a QMP server (the first message is no QMP greeting)");
		return -1;
	}
	c->greeting = json_incref(qmp);
	json_decref(msg);
	return 0;
}

struct qmp_client *qmp_connect_fd(int fd, int timeout_ms, struct verr *err)
{
	struct qmp_client *c;
	json_t *ret;
	int flags = fcntl(fd, F_GETFL);

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		verr_set(err, "out of memory");
		return NULL;
	}
	c->fd = fd;
	evqueue_init(&c->events);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		verr_set(err, "fcntl: %s", strerror(errno));
		goto fail;
	}
	if (read_greeting(c, timeout_ms, err))
		goto fail;
	switch (qmp_execute(c, "qmp_capabilities", NULL, timeout_ms, &ret, err)) {
	case QMP_OK:
		json_decref(ret);
		return c;
	case QMP_ERROR_REPLY: {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		verr_set(err, "QMP capabilities negotiation failed: %s", why);
		break;
	}
	default:
		break;
	}
fail:
	qmp_close(c);
	return NULL;
}

struct qmp_client *qmp_connect_unix(const char *path, int timeout_ms,
				    struct verr *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		verr_set(err, "QMP socket path too long: %s", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		verr_set(err, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		close(fd);
		verr_set(err, "cannot connect to QMP socket %s: %s%s", path,
			 strerror(e),
			 e == ECONNREFUSED ? " (is QEMU running?)" :
			 e == EAGAIN ? " (server busy: another client connected?)" :
			 "");
		return NULL;
	}
	return qmp_connect_fd(fd, timeout_ms, err);
}

json_t *qmp_greeting(struct qmp_client *c)
{
	return c->greeting;
}

void qmp_close(struct qmp_client *c)
{
	if (!c)
		return;
	evqueue_clear(&c->events);
	json_decref(c->greeting);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}
