// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: which /dev/scm region a process gets.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * The rule is documented for users in include/uapi/linux/vssd_scm.h. In
 * short: the nearest ancestor cgroup an administrator bound to a region
 * name; else "host" for a privileged process outside every container;
 * else the container cgroup (the root of the caller's cgroup namespace,
 * or its own cgroup), whose whole path keys the region. Nothing here
 * folds two cgroups into one name: a path is either used verbatim or
 * replaced by a prefix of its SHA-256, and the two forms (and the names
 * administrators give) never look alike.
 *
 * Bindings hold a reference on their cgroup, so comparing pointers while
 * walking a caller's ancestors is exact; they are kept in memory only (a
 * runtime hook binds a container at each start).
 */

#include <crypto/sha2.h>
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/ctype.h>
#include <linux/limits.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>
#include "vssd.h"
#include "vssd_scm.h"

/* Bindings at most (each pins a cgroup). */
#define VSSD_SCM_MAX_BINDINGS	256

/* Hex digits of the hashed form of a long path: 128 bits. */
#define VSSD_SCM_HASH_HEX	32

struct vssd_scm_binding {
	struct list_head node;
	struct cgroup *cgrp;
	char name[CSCM_NAME_MAX];
	/* Size of the region if it is created on first use (0: default). */
	u64 size;
};

static LIST_HEAD(vssd_scm_bindings);
static unsigned int vssd_scm_nr_bindings;
static DEFINE_MUTEX(vssd_scm_bindings_lock);

/* --- names --- */

static bool vssd_scm_path_char(char c)
{
	return isalnum(c) || strchr("._@:/-", c);
}

/*
 * The region name of container cgroup @path: the path itself when it is
 * short and plain enough, else "#" and a hex prefix of its SHA-256.
 */
static void vssd_scm_name_of_path(const char *path, char *name)
{
	u8 digest[SHA256_DIGEST_SIZE];
	size_t len = strlen(path), i;

	for (i = 0; i < len && vssd_scm_path_char(path[i]); i++)
		;
	if (i == len && len < CSCM_NAME_MAX) {
		memcpy(name, path, len + 1);
		return;
	}
	sha256(path, len, digest);
	name[0] = '#';
	bin2hex(name + 1, digest, VSSD_SCM_HASH_HEX / 2);
	name[1 + VSSD_SCM_HASH_HEX] = '\0';
}

/*
 * An owner string for /proc/scm/regions: @path, or its tail after "..."
 * when it does not fit (the tail holds the container id).
 */
static void vssd_scm_owner_of_path(const char *path, char *owner)
{
	size_t len = strlen(path), room = VSSD_SCM_OWNER_MAX - 1;

	if (len <= room) {
		strscpy(owner, path, VSSD_SCM_OWNER_MAX);
		return;
	}
	memcpy(owner, "...", 3);
	strscpy(owner + 3, path + len - (room - 3), VSSD_SCM_OWNER_MAX - 3);
}

/**
 * vssd_scm_admin_name_valid - a name an administrator may give
 * @name: NUL-terminated within @max bytes
 * @max: size of the buffer holding @name
 *
 * 1 to CSCM_NAME_MAX - 1 characters of [A-Za-z0-9._-], starting with a
 * letter or digit, so that it never equals a path-derived name.
 */
bool vssd_scm_admin_name_valid(const char *name, size_t max)
{
	size_t i;

	if (!isalnum(name[0]))
		return false;
	for (i = 0; i < max && name[i]; i++) {
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return false;
	}
	return i < max;
}

/**
 * vssd_scm_name_valid - any region name: an administrator's or a derived one
 * @name: NUL-terminated within @max bytes
 * @max: size of the buffer holding @name
 */
bool vssd_scm_name_valid(const char *name, size_t max)
{
	size_t i;

	if (name[0] == '#') {
		for (i = 1; i <= VSSD_SCM_HASH_HEX; i++) {
			if (!isxdigit(name[i]) || isupper(name[i]))
				return false;
		}
		return !name[i];
	}
	if (name[0] == '/') {
		for (i = 1; i < max && name[i]; i++) {
			if (!vssd_scm_path_char(name[i]))
				return false;
		}
		return i > 1 && i < max;
	}
	return vssd_scm_admin_name_valid(name, max);
}

/* --- the caller --- */

/*
 * cgroup v2 tells containers apart only when no controller is bound to a
 * v1 hierarchy (a v1 or hybrid guest puts containers in v1 cgroups).
 */
static bool vssd_scm_cgroup_v1_in_use(void)
{
	bool v1 = false;

#ifdef CONFIG_MEMCG
	v1 |= !cgroup_subsys_on_dfl(memory_cgrp_subsys);
#endif
#ifdef CONFIG_CGROUP_PIDS
	v1 |= !cgroup_subsys_on_dfl(pids_cgrp_subsys);
#endif
#ifdef CONFIG_CGROUP_SCHED
	v1 |= !cgroup_subsys_on_dfl(cpu_cgrp_subsys);
#endif
#ifdef CONFIG_CPUSETS
	v1 |= !cgroup_subsys_on_dfl(cpuset_cgrp_subsys);
#endif
#ifdef CONFIG_CGROUP_DEVICE
	v1 |= !cgroup_subsys_on_dfl(devices_cgrp_subsys);
#endif
#ifdef CONFIG_CGROUP_FREEZER
	v1 |= !cgroup_subsys_on_dfl(freezer_cgrp_subsys);
#endif
#ifdef CONFIG_BLK_CGROUP
	v1 |= !cgroup_subsys_on_dfl(io_cgrp_subsys);
#endif
	return v1;
}

/* The root of the caller's cgroup namespace (RCU or current's own ns). */
static struct cgroup *vssd_scm_ns_root(void)
{
	return current->nsproxy->cgroup_ns->root_cset->dfl_cgrp;
}

/*
 * Outside every container: the initial user and PID namespaces, and a
 * cgroup namespace rooted at the top of the hierarchy.
 */
static bool vssd_scm_outside_containers(void)
{
	return current_user_ns() == &init_user_ns &&
	       task_active_pid_ns(current) == &init_pid_ns &&
	       !cgroup_parent(vssd_scm_ns_root());
}

/* The binding of @cgrp or its nearest bound ancestor (locks held). */
static struct vssd_scm_binding *vssd_scm_bound(struct cgroup *cgrp)
{
	struct vssd_scm_binding *b;

	for (; cgrp; cgrp = cgroup_parent(cgrp)) {
		list_for_each_entry(b, &vssd_scm_bindings, node) {
			if (b->cgrp == cgrp)
				return b;
		}
	}
	return NULL;
}

/**
 * vssd_scm_ident_current - the region the calling process gets
 * @id: receives its name, owner string and creation size
 *
 * Return: 0; -EPERM for a process in the root cgroup that is not the
 * host; -EOPNOTSUPP for a container on a guest whose containers live in
 * cgroup v1 hierarchies; -ENAMETOOLONG, -ENOMEM.
 */
int vssd_scm_ident_current(struct vssd_scm_ident *id)
{
	bool v1 = vssd_scm_cgroup_v1_in_use();
	bool priv = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN) &&
		    vssd_scm_outside_containers();
	struct vssd_scm_binding *b;
	struct cgroup *cgrp;
	char *path;
	int len, err = 0;

	memset(id, 0, sizeof(*id));
	path = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;

	mutex_lock(&vssd_scm_bindings_lock);
	rcu_read_lock();
	cgrp = task_dfl_cgroup(current);
	b = vssd_scm_bound(cgrp);
	if (b) {
		strscpy(id->name, b->name, sizeof(id->name));
		id->size = b->size;
		id->bound = true;
		cgrp = b->cgrp;
	} else if (priv) {
		strscpy(id->name, VSSD_SCM_HOST, sizeof(id->name));
		strscpy(id->owner, VSSD_SCM_HOST, sizeof(id->owner));
		id->host = true;
		goto out_unlock;
	} else if (v1) {
		err = -EOPNOTSUPP;
		goto out_unlock;
	} else if (cgroup_parent(vssd_scm_ns_root())) {
		cgrp = vssd_scm_ns_root();
	}
	if (!cgroup_parent(cgrp)) {
		err = -EPERM;
		goto out_unlock;
	}
	len = cgroup_path(cgrp, path, PATH_MAX);
	if (len < 0 || len >= PATH_MAX)
		err = len < 0 ? len : -ENAMETOOLONG;
out_unlock:
	rcu_read_unlock();
	mutex_unlock(&vssd_scm_bindings_lock);

	if (!err && !id->host) {
		if (!id->bound)
			vssd_scm_name_of_path(path, id->name);
		vssd_scm_owner_of_path(path, id->owner);
	}
	kfree(path);
	return err;
}

/**
 * vssd_scm_caller_is_admin - may the caller administer regions
 *
 * CAP_SYS_ADMIN, outside every container, and not in a bound cgroup.
 */
bool vssd_scm_caller_is_admin(void)
{
	struct vssd_scm_ident id;

	if (!capable(CAP_SYS_ADMIN))
		return false;
	return !vssd_scm_ident_current(&id) && id.host;
}

/* --- bindings --- */

static struct vssd_scm_binding *vssd_scm_binding_of_name(const char *name)
{
	struct vssd_scm_binding *b;

	list_for_each_entry(b, &vssd_scm_bindings, node) {
		if (!strcmp(b->name, name))
			return b;
	}
	return NULL;
}

static void vssd_scm_binding_free(struct vssd_scm_binding *b)
{
	list_del(&b->node);
	vssd_scm_nr_bindings--;
	cgroup_put(b->cgrp);
	kfree(b);
}

/*
 * The binding's cgroup was removed (rmdir): its name may move on. Removal
 * takes CSS_ONLINE off the cgroup's own css (the kernel's cgroup_is_dead());
 * css_is_dying() does not tell, on 6.12 it only reports the controllers'
 * css being killed.
 */
static bool vssd_scm_binding_stale(struct vssd_scm_binding *b)
{
	return !(READ_ONCE(b->cgrp->self.flags) & CSS_ONLINE);
}

/* Drop the bindings of removed cgroups (the list is full). */
static void vssd_scm_bindings_purge(void)
{
	struct vssd_scm_binding *b, *tmp;

	list_for_each_entry_safe(b, tmp, &vssd_scm_bindings, node) {
		if (vssd_scm_binding_stale(b))
			vssd_scm_binding_free(b);
	}
}

/**
 * vssd_scm_bind - make a cgroup subtree use a region
 * @cgrp: the cgroup (the reference passes to the binding on success)
 * @name: an administrator's region name
 * @size: size of the region when it is created on first use (0: default)
 *
 * Return: 0; -EBUSY when @cgrp is bound already or @name is bound to a
 * live cgroup; -ENOSPC with VSSD_SCM_MAX_BINDINGS bindings; -ENOMEM.
 */
int vssd_scm_bind(struct cgroup *cgrp, const char *name, u64 size)
{
	struct vssd_scm_binding *b, *old, *it;
	int err = 0;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->cgrp = cgrp;
	b->size = size;
	strscpy(b->name, name, sizeof(b->name));

	mutex_lock(&vssd_scm_bindings_lock);
	old = vssd_scm_binding_of_name(name);
	if (old && !vssd_scm_binding_stale(old)) {
		err = -EBUSY;
		goto out_unlock;
	}
	list_for_each_entry(it, &vssd_scm_bindings, node) {
		if (it->cgrp == cgrp) {
			err = -EBUSY;
			goto out_unlock;
		}
	}
	if (old)
		vssd_scm_binding_free(old);
	if (vssd_scm_nr_bindings >= VSSD_SCM_MAX_BINDINGS)
		vssd_scm_bindings_purge();
	if (vssd_scm_nr_bindings >= VSSD_SCM_MAX_BINDINGS) {
		err = -ENOSPC;
		goto out_unlock;
	}
	list_add_tail(&b->node, &vssd_scm_bindings);
	vssd_scm_nr_bindings++;
out_unlock:
	mutex_unlock(&vssd_scm_bindings_lock);
	if (err)
		kfree(b);
	return err;
}

/**
 * vssd_scm_unbind - remove the binding of a region name
 * @name: the name
 *
 * Return: 0, or -ENOENT when @name is not bound.
 */
int vssd_scm_unbind(const char *name)
{
	struct vssd_scm_binding *b;

	mutex_lock(&vssd_scm_bindings_lock);
	b = vssd_scm_binding_of_name(name);
	if (b)
		vssd_scm_binding_free(b);
	mutex_unlock(&vssd_scm_bindings_lock);
	return b ? 0 : -ENOENT;
}

/**
 * vssd_scm_name_bound - whether a name is bound to a cgroup (images may not be)
 * @name: a region name
 */
bool vssd_scm_name_bound(const char *name)
{
	bool bound;

	mutex_lock(&vssd_scm_bindings_lock);
	bound = vssd_scm_binding_of_name(name);
	mutex_unlock(&vssd_scm_bindings_lock);
	return bound;
}

/**
 * vssd_scm_ident_of_cgroup - the region name processes of a cgroup get
 * @cgrp: a cgroup (not the root)
 * @name: receives the name, CSCM_NAME_MAX bytes
 *
 * The rule of vssd_scm_ident_current() for a container process whose
 * container cgroup is @cgrp: its binding (or an ancestor's), else the
 * name keyed by its path. Used to copy an image into a starting
 * container's region without trusting a name from the container.
 */
int vssd_scm_ident_of_cgroup(struct cgroup *cgrp, char *name)
{
	struct vssd_scm_binding *b;
	char *path;
	int len, err = 0;

	if (!cgroup_parent(cgrp))
		return -EINVAL;
	mutex_lock(&vssd_scm_bindings_lock);
	b = vssd_scm_bound(cgrp);
	if (b)
		strscpy(name, b->name, CSCM_NAME_MAX);
	mutex_unlock(&vssd_scm_bindings_lock);
	if (b)
		return 0;

	path = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	len = cgroup_path(cgrp, path, PATH_MAX);
	if (len < 0 || len >= PATH_MAX)
		err = len < 0 ? len : -ENAMETOOLONG;
	else
		vssd_scm_name_of_path(path, name);
	kfree(path);
	return err;
}

/**
 * vssd_scm_bindings_show - /proc/scm/bindings: "name size cgroup" lines
 * @m: the seq_file
 * @v: unused
 */
int vssd_scm_bindings_show(struct seq_file *m, void *v)
{
	struct vssd_scm_binding *b;
	char *path;

	if (!vssd_scm_caller_is_admin())
		return -EPERM;
	path = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	seq_puts(m, "name size cgroup\n");
	mutex_lock(&vssd_scm_bindings_lock);
	list_for_each_entry(b, &vssd_scm_bindings, node) {
		if (cgroup_path(b->cgrp, path, PATH_MAX) >= PATH_MAX)
			strscpy(path, "?", PATH_MAX);
		seq_printf(m, "%s %llu %s%s\n", b->name, b->size, path,
			   vssd_scm_binding_stale(b) ? " (removed)" : "");
	}
	mutex_unlock(&vssd_scm_bindings_lock);
	kfree(path);
	return 0;
}

/**
 * vssd_scm_bindings_clear - drop every binding (module exit)
 */
void vssd_scm_bindings_clear(void)
{
	struct vssd_scm_binding *b, *tmp;

	mutex_lock(&vssd_scm_bindings_lock);
	list_for_each_entry_safe(b, tmp, &vssd_scm_bindings, node)
		vssd_scm_binding_free(b);
	mutex_unlock(&vssd_scm_bindings_lock);
}
