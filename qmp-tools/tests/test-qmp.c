// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the QMP client's protocol handling and message dispatch.
 *
 * Each test forks a scripted fake QEMU on the other end of a socketpair.
 * The fake checks what the client sends (and exits non-zero if it is
 * wrong); the parent checks what the client makes of the replies.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
		 "\"minor\": 2, \"major\": 7}, \"package\": \"\"}, " \
		 "\"capabilities\": [\"oob\"]}}\r\n"

/* ---- the fake server (runs in the child) ------------------------------- */

static int srv_fd;
static char srv_buf[65536];
static size_t srv_len;

static void srv_fail(const char *why)
{
	fprintf(stderr, "fake server: %s\n", why);
	_exit(2);
}

static void srv_send(const char *text)
{
	size_t len = strlen(text);

	while (len) {
		ssize_t n = write(srv_fd, text, len);

		if (n <= 0)
			srv_fail("write failed");
		text += n;
		len -= (size_t)n;
	}
}

/* Send @text one byte at a time, to split it across many reads. */
static void srv_send_slowly(const char *text)
{
	for (; *text; text++) {
		char c[2] = { *text, 0 };

		srv_send(c);
		usleep(200);
	}
}

static void srv_sendf(const char *fmt, const char *id)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), fmt, id);
	srv_send(buf);
}

/* Receive one command; check it has an "execute" and a string "id". */
static json_t *srv_recv(char *id, size_t idlen)
{
	for (;;) {
		char *nl = memchr(srv_buf, '\n', srv_len);

		if (nl) {
			size_t line = (size_t)(nl - srv_buf) + 1;
			json_t *cmd = json_loadb(srv_buf, line, 0, NULL);
			const char *s;

			memmove(srv_buf, srv_buf + line, srv_len - line);
			srv_len -= line;
			if (!json_is_object(cmd) ||
			    !json_is_string(json_object_get(cmd, "execute")))
				srv_fail("command without execute");
			s = json_string_value(json_object_get(cmd, "id"));
			if (!s || !*s)
				srv_fail("command without a string id");
			snprintf(id, idlen, "%s", s);
			return cmd;
		}
		ssize_t n = read(srv_fd, srv_buf + srv_len,
				 sizeof(srv_buf) - srv_len);
		if (n <= 0)
			srv_fail("client closed before sending a command");
		srv_len += (size_t)n;
	}
}

static void srv_expect(const char *execute, char *id, size_t idlen)
{
	json_t *cmd = srv_recv(id, idlen);

	if (strcmp(json_string_value(json_object_get(cmd, "execute")), execute))
		srv_fail("unexpected command");
	json_decref(cmd);
}

static void srv_handshake(void)
{
	char id[64];

	srv_send(GREETING);
	srv_expect("qmp_capabilities", id, sizeof(id));
	srv_sendf("{\"return\": {}, \"id\": \"%s\"}\r\n", id);
}

/* Wait until the client hangs up, so the parent decides when we end. */
static void srv_drain(void)
{
	char c;

	while (read(srv_fd, &c, 1) > 0)
		;
}

/* ---- scripts -------------------------------------------------------- */

static void script_events_first(void)
{
	char id[64];

	srv_handshake();
	srv_expect("query-thing", id, sizeof(id));
	srv_send("{\"event\": \"EV1\", \"data\": {\"n\": 1}, \"timestamp\": "
		 "{\"seconds\": 1, \"microseconds\": 0}}\r\n");
	srv_send("{\"event\": \"EV2\", \"data\": {\"n\": 2}, \"timestamp\": "
		 "{\"seconds\": 1, \"microseconds\": 1}}\r\n");
	srv_sendf("{\"return\": {\"x\": 1}, \"id\": \"%s\"}\r\n", id);
	srv_send("{\"event\": \"EV3\", \"data\": {}, \"timestamp\": "
		 "{\"seconds\": 2, \"microseconds\": 0}}\r\n");
	srv_drain();
}

static void script_stale_replies(void)
{
	char id[64];

	srv_handshake();
	srv_expect("query-thing", id, sizeof(id));
	srv_send("{\"return\": {\"x\": \"stale\"}, \"id\": \"vssdctl-999\"}\r\n");
	srv_send("{\"return\": {\"x\": \"no-id\"}}\r\n");
	srv_send("\r\n");
	srv_sendf("{\"return\": {\"x\": \"mine\"}, \"id\": \"%s\"}\r\n", id);
	srv_drain();
}

static void script_error_reply(void)
{
	char id[64];

	srv_handshake();
	srv_expect("ssd-balloon", id, sizeof(id));
	srv_sendf("{\"id\": \"%s\", \"error\": {\"class\": \"GenericError\", "
		  "\"desc\": \"size above the maximum\"}}\r\n", id);
	srv_expect("query-thing", id, sizeof(id));
	/* QEMU's answer to a request it could not parse carries no id. */
	srv_send("{\"error\": {\"class\": \"GenericError\", \"desc\": "
		 "\"JSON parse error\"}}\r\n");
	srv_drain();
}

static void script_split_and_joined(void)
{
	char id[64], buf[512];

	srv_send_slowly(GREETING);
	srv_expect("qmp_capabilities", id, sizeof(id));
	snprintf(buf, sizeof(buf), "{\"return\": {}, \"id\": \"%s\"}\r\n", id);
	srv_send_slowly(buf);
	srv_expect("query-thing", id, sizeof(id));
	/* An event and the reply in one write. */
	snprintf(buf, sizeof(buf),
		 "{\"event\": \"JOINED\", \"timestamp\": {\"seconds\": 3, "
		 "\"microseconds\": 0}}\r\n{\"return\": [1, 2, 3], "
		 "\"id\": \"%s\"}\r\n", id);
	srv_send(buf);
	srv_drain();
}

static void script_unique_ids(void)
{
	char ids[4][64];

	srv_send(GREETING);
	srv_expect("qmp_capabilities", ids[0], sizeof(ids[0]));
	srv_sendf("{\"return\": {}, \"id\": \"%s\"}\r\n", ids[0]);
	for (int i = 1; i < 4; i++) {
		srv_expect("query-thing", ids[i], sizeof(ids[i]));
		for (int j = 0; j < i; j++)
			if (!strcmp(ids[i], ids[j]))
				srv_fail("an id was reused");
		srv_sendf("{\"return\": {}, \"id\": \"%s\"}\r\n", ids[i]);
	}
	srv_drain();
}

static void script_silent(void)
{
	sleep(3);
}

static void script_ssh(void)
{
	srv_send("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	srv_drain();
}

static void script_not_greeting(void)
{
	srv_send("{\"hello\": \"world\"}\n");
	srv_drain();
}

static void script_late_reply(void)
{
	char first[64], second[64];

	srv_handshake();
	srv_expect("slow-thing", first, sizeof(first));
	srv_send("{\"event\": \"WHILE_WAITING\", \"timestamp\": "
		 "{\"seconds\": 4, \"microseconds\": 0}}\r\n");
	usleep(600 * 1000);	/* the client gave up after 300 ms */
	srv_sendf("{\"return\": {\"x\": \"late\"}, \"id\": \"%s\"}\r\n", first);
	srv_expect("query-thing", second, sizeof(second));
	srv_sendf("{\"return\": {\"x\": \"second\"}, \"id\": \"%s\"}\r\n", second);
	srv_drain();
}

static void script_hangup(void)
{
	char id[64];

	srv_handshake();
	srv_expect("query-thing", id, sizeof(id));
	/* exit: the socket closes with a command in flight */
}

/* ---- the parent side ----------------------------------------------- */

struct fake {
	pid_t pid;	/* the fake server */
	int fd;		/* our end */
};

static struct fake fake_start(void (*script)(void))
{
	struct fake f = { -1, -1 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	fflush(stdout);
	f.pid = fork();
	if (f.pid == 0) {
		close(sv[0]);
		srv_fd = sv[1];
		alarm(10);
		script();
		_exit(0);
	}
	close(sv[1]);
	f.fd = sv[0];
	return f;
}

/* True when the fake server found nothing wrong with what we sent. */
static bool fake_end(struct fake *f)
{
	int status = 0;

	if (f->fd >= 0)
		close(f->fd);
	if (waitpid(f->pid, &status, 0) != f->pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Start @script and connect a client to it, which then owns the socket. */
static struct qmp_client *fake_connect(struct fake *f, void (*script)(void),
				       int timeout_ms, struct verr *err)
{
	struct qmp_client *c;

	*f = fake_start(script);
	c = qmp_connect_fd(f->fd, timeout_ms, err);
	f->fd = -1;
	return c;
}

static const char *event_name(json_t *ev)
{
	return json_string_value(json_object_get(ev, "event")) ?: "";
}

/* The string "x" of a return value, or "". */
static const char *ret_x(json_t *ret)
{
	return json_string_value(json_object_get(ret, "x")) ?: "";
}

static void test_events_first(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_events_first, 2000,
					    &err);
	json_t *ret = NULL, *ev = NULL;
	int r;

	CHECK(c != NULL, "handshake: greeting + qmp_capabilities");
	if (!c)
		goto out;
	CHECK(json_integer_value(json_object_get(json_object_get(
		json_object_get(qmp_greeting(c), "version"), "qemu"),
		"major")) == 7, "greeting is kept");
	r = qmp_execute(c, "query-thing", NULL, 2000, &ret, &err);
	CHECK(r == QMP_OK && json_integer_value(json_object_get(ret, "x")) == 1,
	      "events before the return do not hide the return");
	json_decref(ret);
	r = qmp_next_event(c, 0, &ev, &err);
	CHECK(r == 1 && !strcmp(event_name(ev), "EV1"),
	      "first queued event comes first");
	json_decref(ev);
	r = qmp_next_event(c, 0, &ev, &err);
	CHECK(r == 1 && !strcmp(event_name(ev), "EV2") &&
	      json_integer_value(json_object_get(json_object_get(ev, "data"),
						 "n")) == 2,
	      "second queued event comes second, with its data");
	json_decref(ev);
	r = qmp_next_event(c, 2000, &ev, &err);
	CHECK(r == 1 && !strcmp(event_name(ev), "EV3"),
	      "an event after the return is read from the socket");
	json_decref(ev);
	r = qmp_next_event(c, 100, &ev, &err);
	CHECK(r == 0, "no more events: timeout, not a block");
	qmp_close(c);
out:
	CHECK(fake_end(&f), "client requests were well formed (events)");
}

static void test_stale_replies(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_stale_replies, 2000,
					    &err);
	json_t *ret = NULL;
	int r;

	if (c) {
		r = qmp_execute(c, "query-thing", NULL, 2000, &ret, &err);
		CHECK(r == QMP_OK && !strcmp(ret_x(ret), "mine"),
		      "replies with another id or none are not taken");
		json_decref(ret);
		qmp_close(c);
	} else {
		CHECK(0, "connect for the stale-reply test: %s", err.msg);
	}
	CHECK(fake_end(&f), "client requests were well formed (stale)");
}

static void test_error_reply(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_error_reply, 2000, &err);
	json_t *ret = NULL;
	int r;

	if (c) {
		r = qmp_execute(c, "ssd-balloon", NULL, 2000, &ret, &err);
		CHECK(r == QMP_ERROR_REPLY && ret == NULL &&
		      !strcmp(err.msg, "size above the maximum") &&
		      !strcmp(err.qmp_class, "GenericError"),
		      "error reply gives desc and class (got %d '%s')", r,
		      err.msg);
		r = qmp_execute(c, "query-thing", NULL, 2000, &ret, &err);
		CHECK(r == QMP_ERROR_REPLY && !strcmp(err.msg, "JSON parse error"),
		      "an error without id goes to the waiting command");
		qmp_close(c);
	} else {
		CHECK(0, "connect for the error test: %s", err.msg);
	}
	CHECK(fake_end(&f), "client requests were well formed (errors)");
}

static void test_split_and_joined(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_split_and_joined, 5000,
					    &err);
	json_t *ret = NULL, *ev = NULL;
	int r;

	CHECK(c != NULL, "greeting and reply split into 1-byte reads");
	if (c) {
		r = qmp_execute(c, "query-thing", NULL, 2000, &ret, &err);
		CHECK(r == QMP_OK && json_array_size(ret) == 3,
		      "event and reply in one read are both seen");
		json_decref(ret);
		r = qmp_next_event(c, 0, &ev, &err);
		CHECK(r == 1 && !strcmp(event_name(ev), "JOINED"),
		      "the event from the joined read was queued");
		json_decref(ev);
		qmp_close(c);
	}
	CHECK(fake_end(&f), "client requests were well formed (split)");
}

static void test_unique_ids(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_unique_ids, 2000, &err);
	json_t *ret;
	int ok = 0;

	for (int i = 0; c && i < 3; i++) {
		if (qmp_execute(c, "query-thing", NULL, 2000, &ret, &err) ==
		    QMP_OK)
			ok++;
		json_decref(ret);
	}
	qmp_close(c);
	CHECK(ok == 3 && fake_end(&f), "every command carries a fresh id");
}

static void test_bad_servers(void)
{
	struct {
		void (*script)(void);
		const char *want;
		const char *name;
	} cases[] = {
		{ script_silent, "no QMP greeting", "silent server times out" },
		{ script_ssh, "not a QMP server", "non-JSON server is refused" },
		{ script_not_greeting, "not a QMP server",
		  "JSON without greeting is refused" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = fake_start(cases[i].script);
		struct verr err = { 0 };
		int64_t t0 = now_ms();
		struct qmp_client *c = qmp_connect_fd(f.fd, 300, &err);
		int64_t took = now_ms() - t0;

		f.fd = -1;
		CHECK(!c && strstr(err.msg, cases[i].want) && took < 2000,
		      "%s (%s, %lld ms)", cases[i].name, err.msg,
		      (long long)took);
		qmp_close(c);
		kill(f.pid, SIGKILL);
		fake_end(&f);
	}
}

static void test_late_reply(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_late_reply, 2000, &err);
	json_t *ret = NULL, *ev = NULL;
	int64_t t0;
	int r;

	if (!c) {
		CHECK(0, "connect for the late-reply test: %s", err.msg);
		fake_end(&f);
		return;
	}
	t0 = now_ms();
	r = qmp_execute(c, "slow-thing", NULL, 300, &ret, &err);
	CHECK(r == QMP_FAILED && strstr(err.msg, "no reply") &&
	      now_ms() - t0 < 1500,
	      "a missing reply times out (%s)", err.msg);
	r = qmp_next_event(c, 0, &ev, &err);
	CHECK(r == 1 && !strcmp(event_name(ev), "WHILE_WAITING"),
	      "an event received while timing out is kept");
	json_decref(ev);
	r = qmp_execute(c, "query-thing", NULL, 3000, &ret, &err);
	CHECK(r == QMP_OK && !strcmp(ret_x(ret), "second"),
	      "the late reply to the timed-out command is dropped");
	json_decref(ret);
	qmp_close(c);
	CHECK(fake_end(&f), "client requests were well formed (late)");
}

static void test_hangup(void)
{
	struct verr err = { 0 };
	struct fake f;
	struct qmp_client *c = fake_connect(&f, script_hangup, 2000, &err);
	json_t *ret = NULL, *ev = NULL;
	int r;

	if (c) {
		r = qmp_execute(c, "query-thing", NULL, 2000, &ret, &err);
		CHECK(r == QMP_FAILED && strstr(err.msg, "closed"),
		      "the server closing mid-command fails it (%s)", err.msg);
		r = qmp_next_event(c, 500, &ev, &err);
		CHECK(r == -1, "after EOF, waiting for events fails at once");
		qmp_close(c);
	} else {
		CHECK(0, "connect for the hang-up test: %s", err.msg);
	}
	fake_end(&f);
}

static void test_connect_errors(void)
{
	struct verr err = { 0 };
	struct qmp_client *c;

	c = qmp_connect_unix("/nonexistent/vssd-test.sock", 500, &err);
	CHECK(!c && strstr(err.msg, "No such file"),
	      "missing socket names ENOENT (%s)", err.msg);
	c = qmp_connect_unix("/tmp/"
			     "0123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789", 500,
			     &err);
	CHECK(!c && strstr(err.msg, "too long"), "overlong path is refused");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_events_first();
	test_stale_replies();
	test_error_reply();
	test_split_and_joined();
	test_unique_ids();
	test_bad_servers();
	test_late_reply();
	test_hangup();
	test_connect_errors();
	return CHECK_DONE();
}
