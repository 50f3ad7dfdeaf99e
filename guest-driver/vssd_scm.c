// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: /dev/scm, the container demux, and
 * /proc/scm/regions.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * open() finds the caller's container from its cgroup (the rule is in
 * include/uapi/linux/vssd_scm.h), creates the container's region on first
 * use, and binds the file to it. mmap() maps the region's own pages
 * (VM_PFNMAP, inserted one page per fault from the device's shared
 * memory): no page cache, no copy. Every use of a file checks that the
 * caller still belongs to the file's container, so a descriptor handed to
 * another container gives EPERM there.
 *
 * Revocation: all /dev/scm files share the address_space of one inode of
 * a small pseudo file system (pmem->inode), whichever device node they
 * were opened through, so one unmap_mapping_range() zaps every mapping; faults then check again that
 * the page still belongs to a live region on plugged blocks, under
 * pmem->sem, and deliver SIGBUS otherwise. That is how deleting or
 * shrinking a region, giving its blocks to the host and unbinding the
 * device take memory away from processes that still map it.
 */

#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/kref.h>
#include <linux/libnvdimm.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include "vssd.h"
#include "vssd_pmem.h"

/* The region name of processes outside every container. */
#define VSSD_SCM_HOST		"host"

/* Owner of regions made with the admin ioctls. */
#define VSSD_SCM_ADMIN_OWNER	"scmctl"

static unsigned long scm_default_size = 16 << 20;
module_param(scm_default_size, ulong, 0644);
MODULE_PARM_DESC(scm_default_size,
		 "Size of a container region created on first use (bytes)");

/* The device behind /dev/scm and /proc/scm/regions, or NULL. */
static struct vssd_pmem *vssd_scm_active;
static DEFINE_MUTEX(vssd_scm_active_lock);

/* /proc/scm */
static struct proc_dir_entry *vssd_scm_proc_dir;

/* "VSCM": the pseudo file system that holds the mapping inodes. */
#define VSSD_SCM_FS_MAGIC	0x4d435356

static int vssd_scm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VSSD_SCM_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type vssd_scm_fs_type = {
	.name			= "vssd_scm",
	.owner			= THIS_MODULE,
	.init_fs_context	= vssd_scm_fs_init_fs_context,
	.kill_sb		= kill_anon_super,
};

/* Pinned while any pmem->inode exists. */
static struct vfsmount *vssd_scm_mnt;
static int vssd_scm_mnt_count;

/* One open() of /dev/scm. */
struct vssd_scm_file {
	struct vssd_pmem *pmem;
	/*
	 * The region the file is bound to (entry id), 0 until its first use:
	 * a file used only for the admin ioctls creates no region.
	 */
	u64 id;
	/* Its name: the container of the process that opened the file. */
	char name[SCM_NAME_MAX];
	/* That process's cgroup path, the owner of a region it creates. */
	char path[VSSD_SCM_OWNER_MAX];
};

/* --- which container --- */

static bool vssd_str_ends(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

static bool vssd_str_starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/*
 * The container part of the cgroup component @c (@len bytes): runtime
 * decorations removed. Sets *@host when the component is a system service
 * or session rather than a container.
 */
static void vssd_scm_strip(const char **c, size_t *len, bool *host)
{
	static const char * const scope_prefixes[] = {
		"docker-", "libpod-", "crio-", "cri-containerd-",
	};
	unsigned int i;

	*host = vssd_str_ends(*c, *len, ".service") ||
		(*len == strlen("init.scope") &&
		 !memcmp(*c, "init.scope", *len)) ||
		(vssd_str_starts(*c, *len, "session-") &&
		 vssd_str_ends(*c, *len, ".scope"));
	if (*host)
		return;
	if (vssd_str_ends(*c, *len, ".scope")) {
		*len -= strlen(".scope");
		for (i = 0; i < ARRAY_SIZE(scope_prefixes); i++) {
			size_t n = strlen(scope_prefixes[i]);

			if (vssd_str_starts(*c, *len, scope_prefixes[i]) &&
			    *len > n) {
				*c += n;
				*len -= n;
				break;
			}
		}
	}
	if (vssd_str_starts(*c, *len, "lxc.payload.") &&
	    *len > strlen("lxc.payload.")) {
		*c += strlen("lxc.payload.");
		*len -= strlen("lxc.payload.");
	}
}

/**
 * vssd_scm_name_from_path - the region name of a cgroup path
 * @path: cgroup v2 path from the root of the hierarchy ("/ctA/sub")
 * @name: receives the name, SCM_NAME_MAX bytes
 *
 * The first component that is not a systemd slice names the container;
 * see include/uapi/linux/vssd_scm.h for the whole rule.
 */
void vssd_scm_name_from_path(const char *path, char *name)
{
	const char *c = path;
	size_t len = 0, i;
	bool host = true;

	while (*c) {
		while (*c == '/')
			c++;
		len = strcspn(c, "/");
		if (!len)
			break;
		if (!vssd_str_ends(c, len, ".slice")) {
			vssd_scm_strip(&c, &len, &host);
			break;
		}
		c += len;
	}
	if (host || !len) {
		strscpy(name, VSSD_SCM_HOST, SCM_NAME_MAX);
		return;
	}
	len = min_t(size_t, len, SCM_NAME_MAX - 1);
	for (i = 0; i < len; i++)
		name[i] = isalnum(c[i]) || strchr("._-", c[i]) ? c[i] : '_';
	name[len] = '\0';
}

/* The caller's cgroup path (in the initial namespace) and region name. */
static void vssd_scm_caller(char *path, size_t path_len, char *name)
{
	rcu_read_lock();
	if (cgroup_path(task_dfl_cgroup(current), path, path_len) < 0)
		strscpy(path, "/", path_len);
	rcu_read_unlock();
	vssd_scm_name_from_path(path, name);
}

/* The caller belongs to the container @f was opened for. */
static bool vssd_scm_caller_owns(struct vssd_scm_file *f)
{
	char path[256], name[SCM_NAME_MAX];

	vssd_scm_caller(path, sizeof(path), name);
	return !strcmp(name, f->name);
}

/*
 * Before a file's first mmap, fsync or region ioctl: the caller is of the
 * container the file was opened for, and the file is bound to its region,
 * which is created now if it does not exist (scm_default_size).
 */
static int vssd_scm_file_ready(struct vssd_scm_file *f)
{
	struct vssd_pmem *pmem = f->pmem;
	struct vssd_scm_entry *e;
	int err = 0;

	if (!vssd_scm_caller_owns(f))
		return -EPERM;
	if (READ_ONCE(f->id))
		return 0;

	down_write(&pmem->sem);
	if (f->id)
		goto out_unlock;
	if (!pmem->virt) {
		err = -ENODEV;
		goto out_unlock;
	}
	e = vssd_scm_find(pmem, f->name);
	if (!e)
		err = vssd_scm_create(pmem, f->name,
				      READ_ONCE(scm_default_size), f->path, &e);
	if (!err)
		WRITE_ONCE(f->id, le64_to_cpu(e->id));
out_unlock:
	up_write(&pmem->sem);
	return err;
}

/* Administration: CAP_SYS_ADMIN in the initial namespace, outside containers. */
static bool vssd_scm_caller_is_admin(void)
{
	char path[256], name[SCM_NAME_MAX];

	if (!capable(CAP_SYS_ADMIN))
		return false;
	vssd_scm_caller(path, sizeof(path), name);
	return !strcmp(name, VSSD_SCM_HOST);
}

/* --- revocation and faults --- */

/*
 * The entry of @f's region, if [@off, @off + @len) lies inside it. Called
 * with pmem->sem held. Returns ERR_PTR(-ENODEV) when the device or the
 * region is gone, ERR_PTR(-EINVAL) for a range outside the region.
 */
static struct vssd_scm_entry *vssd_scm_file_entry(struct vssd_scm_file *f,
						  u64 off, u64 len)
{
	struct vssd_pmem *pmem = f->pmem;
	struct vssd_scm_entry *e;
	u64 size;

	e = pmem->virt ? vssd_scm_find_id(pmem, f->id) : NULL;
	if (!e)
		return ERR_PTR(-ENODEV);
	size = le64_to_cpu(e->size);
	if (off > size || len > size - off)
		return ERR_PTR(-EINVAL);
	return e;
}

/* Zap every /dev/scm mapping; faults map again what is still allowed. */
void vssd_scm_revoke(struct vssd_pmem *pmem)
{
	unmap_mapping_range(pmem->inode->i_mapping, 0, 0, 1);
}

static vm_fault_t vssd_scm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vssd_scm_file *f = vma->vm_file->private_data;
	struct vssd_pmem *pmem = f->pmem;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	struct vssd_scm_entry *e;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&pmem->sem);
	e = vssd_scm_file_entry(f, off, PAGE_SIZE);
	if (!IS_ERR(e) &&
	    vssd_pmem_range_plugged(pmem, le64_to_cpu(e->offset) + off,
				    PAGE_SIZE))
		ret = vmf_insert_pfn(vma, vmf->address,
				     (pmem->phys + le64_to_cpu(e->offset) +
				      off) >> PAGE_SHIFT);
	up_read(&pmem->sem);
	return ret;
}

static const struct vm_operations_struct vssd_scm_vm_ops = {
	.fault	= vssd_scm_fault,
};

/* --- file operations --- */

static void vssd_scm_pmem_release(struct kref *ref)
{
	vssd_pmem_free(container_of(ref, struct vssd_pmem, ref));
}

static int vssd_scm_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct vssd_pmem *pmem = container_of(misc, struct vssd_pmem, misc);
	char path[256];
	struct vssd_scm_file *f;
	int err = 0;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	vssd_scm_caller(path, sizeof(path), f->name);
	strscpy(f->path, path, sizeof(f->path));

	down_read(&pmem->sem);
	if (pmem->virt) {
		f->pmem = pmem;
		kref_get(&pmem->ref);
	} else {
		err = -ENODEV;
	}
	up_read(&pmem->sem);
	if (err) {
		kfree(f);
		return err;
	}
	file->private_data = f;
	/* one address_space for all, so that revocation reaches every map */
	file->f_mapping = pmem->inode->i_mapping;
	return 0;
}

static int vssd_scm_release(struct inode *inode, struct file *file)
{
	struct vssd_scm_file *f = file->private_data;

	kref_put(&f->pmem->ref, vssd_scm_pmem_release);
	kfree(f);
	return 0;
}

static int vssd_scm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vssd_scm_file *f = file->private_data;
	struct vssd_pmem *pmem = f->pmem;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	struct vssd_scm_entry *e;
	int err;

	err = vssd_scm_file_ready(f);
	if (err)
		return err;
	/* private (copy-on-write) maps of device memory make no sense */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	down_read(&pmem->sem);
	e = vssd_scm_file_entry(f, off, len);
	up_read(&pmem->sem);
	if (IS_ERR(e))
		return PTR_ERR(e);

	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &vssd_scm_vm_ops;
	return 0;
}

/* Write back and flush [off, off + len) of @f's region. */
static int vssd_scm_sync(struct vssd_scm_file *f, u64 off, u64 len)
{
	struct vssd_pmem *pmem = f->pmem;
	struct vssd_scm_entry *e;
	int err;

	down_read(&pmem->sem);
	e = vssd_scm_file_entry(f, off, len);
	err = IS_ERR(e) ? PTR_ERR(e) :
	      vssd_pmem_persist(pmem, le64_to_cpu(e->offset) + off, len);
	up_read(&pmem->sem);
	return err;
}

/*
 * SCM_IOC_SYNCV: write back the CPU cache lines of every range, then one
 * device flush over the span that covers them all (the host writes back
 * only what is dirty in it, so the gaps cost next to nothing).
 */
static int vssd_scm_syncv(struct vssd_scm_file *f, void __user *uarg)
{
	struct vssd_pmem *pmem = f->pmem;
	struct scm_range *ranges;
	struct vssd_scm_entry *e;
	struct scm_ranges req;
	u64 lo = U64_MAX, hi = 0, base;
	u32 i;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || !req.nr || req.nr > SCM_SYNCV_MAX)
		return -EINVAL;
	ranges = memdup_array_user(u64_to_user_ptr(req.ranges), req.nr,
				   sizeof(*ranges));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);

	down_read(&pmem->sem);
	for (i = 0; i < req.nr; i++) {
		e = vssd_scm_file_entry(f, ranges[i].offset, ranges[i].length);
		if (IS_ERR(e)) {
			err = PTR_ERR(e);
			goto out;
		}
		if (!ranges[i].length)
			continue;
		lo = min(lo, ranges[i].offset);
		hi = max(hi, ranges[i].offset + ranges[i].length);
	}
	err = 0;
	if (lo >= hi)
		goto out;
	base = le64_to_cpu(e->offset);
	for (i = 0; i < req.nr; i++)
		arch_wb_cache_pmem(pmem->virt + base + ranges[i].offset,
				   ranges[i].length);
	err = vssd_pmem_flush(pmem, base + lo, hi - lo);
out:
	up_read(&pmem->sem);
	kfree(ranges);
	return err;
}

/* msync(MS_SYNC) and fsync(): offsets are those of the file, i.e. region. */
static int vssd_scm_fsync(struct file *file, loff_t start, loff_t end,
			  int datasync)
{
	struct vssd_scm_file *f = file->private_data;
	struct vssd_scm_entry *e;
	u64 size;
	int err;

	err = vssd_scm_file_ready(f);
	if (err)
		return err;
	down_read(&f->pmem->sem);
	e = vssd_scm_file_entry(f, 0, 0);
	size = IS_ERR(e) ? 0 : le64_to_cpu(e->size);
	up_read(&f->pmem->sem);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (start < 0 || start >= size || end < start)
		return 0;
	return vssd_scm_sync(f, start, min_t(u64, end, size - 1) - start + 1);
}

static long vssd_scm_info(struct vssd_scm_file *f, void __user *arg)
{
	struct vssd_pmem *pmem = f->pmem;
	struct scm_region_info info = {};
	struct vssd_scm_entry *e;

	down_read(&pmem->sem);
	e = vssd_scm_file_entry(f, 0, 0);
	if (!IS_ERR(e)) {
		strscpy(info.name, e->name, sizeof(info.name));
		info.size = le64_to_cpu(e->size);
		info.used = le64_to_cpu(READ_ONCE(e->used));
		info.offset = le64_to_cpu(e->offset);
		info.block_size = pmem->block_size;
	}
	up_read(&pmem->sem);
	if (IS_ERR(e))
		return PTR_ERR(e);
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* Kept in memory; on the media with the next table update. */
static long vssd_scm_set_used(struct vssd_scm_file *f, void __user *arg)
{
	struct vssd_scm_entry *e;
	long err = 0;
	u64 used;

	if (copy_from_user(&used, arg, sizeof(used)))
		return -EFAULT;
	down_read(&f->pmem->sem);
	e = vssd_scm_file_entry(f, 0, used);
	if (IS_ERR(e))
		err = PTR_ERR(e);
	else
		WRITE_ONCE(e->used, cpu_to_le64(used));
	up_read(&f->pmem->sem);
	return err;
}

/* Copy @src's bytes into @dst (created with @src's size when missing). */
static int vssd_scm_copy(struct vssd_pmem *pmem, const char *src_name,
			 const char *dst_name)
{
	struct vssd_scm_entry *src, *dst;
	u64 size, used;
	int err;

	src = vssd_scm_find(pmem, src_name);
	if (!src)
		return -ENOENT;
	size = le64_to_cpu(src->size);
	used = le64_to_cpu(src->used);
	dst = vssd_scm_find(pmem, dst_name);
	if (dst == src)
		return -EINVAL;
	if (!dst) {
		err = vssd_scm_create(pmem, dst_name, size,
				      VSSD_SCM_ADMIN_OWNER, &dst);
		if (err)
			return err;
		/* creating may have moved nothing, but re-find to be sure */
		src = vssd_scm_find(pmem, src_name);
	}
	if (le64_to_cpu(dst->size) < size)
		return -ENOSPC;

	vssd_scm_revoke(pmem);
	memcpy(pmem->virt + le64_to_cpu(dst->offset),
	       pmem->virt + le64_to_cpu(src->offset), size);
	err = vssd_pmem_persist(pmem, le64_to_cpu(dst->offset), size);
	if (err)
		return err;
	dst->used = cpu_to_le64(used);
	return vssd_scm_table_save(pmem);
}

static long vssd_scm_admin(struct vssd_pmem *pmem, unsigned int cmd,
			   void __user *arg)
{
	struct vssd_scm_entry *e;
	struct scm_admin req;
	int err;

	if (!vssd_scm_caller_is_admin())
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!vssd_scm_name_valid(req.name, sizeof(req.name)) ||
	    (cmd == SCM_IOC_COPY &&
	     !vssd_scm_name_valid(req.src, sizeof(req.src))))
		return -EINVAL;

	down_write(&pmem->sem);
	e = vssd_scm_find(pmem, req.name);
	switch (cmd) {
	case SCM_IOC_CREATE:
		err = e ? -EEXIST :
		      vssd_scm_create(pmem, req.name,
				      req.size ?: READ_ONCE(scm_default_size),
				      VSSD_SCM_ADMIN_OWNER, &e);
		break;
	case SCM_IOC_RESIZE:
		if (!e) {
			err = -ENOENT;
			break;
		}
		/* a shrink takes pages away, a grow may move the region */
		vssd_scm_revoke(pmem);
		err = vssd_scm_resize(pmem, e, req.size);
		break;
	case SCM_IOC_COPY:
		err = vssd_scm_copy(pmem, req.src, req.name);
		break;
	case SCM_IOC_DELETE:
		if (!e) {
			err = -ENOENT;
			break;
		}
		vssd_scm_revoke(pmem);
		err = vssd_scm_delete(pmem, e);
		break;
	default:
		err = -ENOTTY;
		break;
	}
	up_write(&pmem->sem);
	return err;
}

static long vssd_scm_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct vssd_scm_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct scm_range range;
	int err;

	switch (cmd) {
	case SCM_IOC_CREATE:
	case SCM_IOC_RESIZE:
	case SCM_IOC_COPY:
	case SCM_IOC_DELETE:
		return vssd_scm_admin(f->pmem, cmd, uarg);
	case SCM_IOC_INFO:
	case SCM_IOC_SYNC:
	case SCM_IOC_SYNCV:
	case SCM_IOC_SET_USED:
		break;
	default:
		return -ENOTTY;
	}

	err = vssd_scm_file_ready(f);
	if (err)
		return err;
	switch (cmd) {
	case SCM_IOC_INFO:
		return vssd_scm_info(f, uarg);
	case SCM_IOC_SET_USED:
		return vssd_scm_set_used(f, uarg);
	case SCM_IOC_SYNCV:
		return vssd_scm_syncv(f, uarg);
	default: /* SCM_IOC_SYNC */
		if (copy_from_user(&range, uarg, sizeof(range)))
			return -EFAULT;
		return vssd_scm_sync(f, range.offset, range.length);
	}
}

static const struct file_operations vssd_scm_fops = {
	.owner		= THIS_MODULE,
	.open		= vssd_scm_open,
	.release	= vssd_scm_release,
	.mmap		= vssd_scm_mmap,
	.fsync		= vssd_scm_fsync,
	.unlocked_ioctl	= vssd_scm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* --- /proc/scm/regions --- */

/*
 * One line per region; a reader inside a container sees only its own
 * region's line (the names of the others are none of its business).
 */
static int vssd_scm_regions_show(struct seq_file *m, void *v)
{
	char path[256], name[SCM_NAME_MAX];
	struct vssd_pmem *pmem;
	bool all;
	unsigned int i;

	vssd_scm_caller(path, sizeof(path), name);
	all = !strcmp(name, VSSD_SCM_HOST);
	seq_puts(m, "name owner size used offset\n");
	mutex_lock(&vssd_scm_active_lock);
	pmem = vssd_scm_active;
	if (pmem) {
		down_read(&pmem->sem);
		for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
			const struct vssd_scm_entry *e =
				&pmem->table.entries[i];

			if (!e->name[0] ||
			    (!all && strncmp(e->name, name, sizeof(e->name))))
				continue;
			seq_printf(m, "%.*s %.*s %llu %llu %llu\n",
				   (int)sizeof(e->name), e->name,
				   (int)sizeof(e->owner),
				   e->owner[0] ? e->owner : "-",
				   le64_to_cpu(e->size),
				   le64_to_cpu(READ_ONCE(e->used)),
				   le64_to_cpu(e->offset));
		}
		up_read(&pmem->sem);
	}
	mutex_unlock(&vssd_scm_active_lock);
	return 0;
}

int vssd_scm_proc_init(void)
{
	vssd_scm_proc_dir = proc_mkdir("scm", NULL);
	if (!vssd_scm_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("regions", 0444, vssd_scm_proc_dir,
				vssd_scm_regions_show)) {
		proc_remove(vssd_scm_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

void vssd_scm_proc_exit(void)
{
	proc_remove(vssd_scm_proc_dir);
	vssd_scm_proc_dir = NULL;
}

/* Count of regions in the table (for the probe message). */
unsigned int vssd_scm_nr_regions(struct vssd_pmem *pmem)
{
	unsigned int i, n = 0;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++)
		n += pmem->table.entries[i].name[0] != '\0';
	return n;
}

/* --- registration --- */

/* The inode whose mapping all files of @pmem share. */
static int vssd_scm_inode_new(struct vssd_pmem *pmem)
{
	struct inode *inode;
	int err;

	err = simple_pin_fs(&vssd_scm_fs_type, &vssd_scm_mnt,
			    &vssd_scm_mnt_count);
	if (err)
		return err;
	inode = alloc_anon_inode(vssd_scm_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		simple_release_fs(&vssd_scm_mnt, &vssd_scm_mnt_count);
		return PTR_ERR(inode);
	}
	pmem->inode = inode;
	return 0;
}

/* Register /dev/scm for @pmem unless another device has it. */
int vssd_scm_init(struct vssd_pmem *pmem)
{
	int err;

	kref_init(&pmem->ref);
	err = vssd_scm_inode_new(pmem);
	if (err)
		return err;

	mutex_lock(&vssd_scm_active_lock);
	if (vssd_scm_active)
		goto out_unlock;
	pmem->misc.minor = MISC_DYNAMIC_MINOR;
	pmem->misc.name = "scm";
	pmem->misc.fops = &vssd_scm_fops;
	/* containers open it without privileges; the cgroup decides */
	pmem->misc.mode = 0666;
	err = misc_register(&pmem->misc);
	if (err)
		goto out_unlock;
	pmem->misc_registered = true;
	vssd_scm_active = pmem;
out_unlock:
	mutex_unlock(&vssd_scm_active_lock);
	if (err)
		vssd_scm_inode_put(pmem);
	return err;
}

/* Undo vssd_scm_inode_new(); the last file is gone. */
void vssd_scm_inode_put(struct vssd_pmem *pmem)
{
	if (!pmem->inode)
		return;
	iput(pmem->inode);
	pmem->inode = NULL;
	simple_release_fs(&vssd_scm_mnt, &vssd_scm_mnt_count);
}

/*
 * The device goes away: no new opens, every mapping revoked, and faults,
 * syncs and ioctls of files still open fail from now on (pmem->virt is
 * NULL). The structure lives until the last file is closed.
 */
void vssd_scm_exit(struct vssd_pmem *pmem)
{
	mutex_lock(&vssd_scm_active_lock);
	if (pmem->misc_registered) {
		misc_deregister(&pmem->misc);
		pmem->misc_registered = false;
		vssd_scm_active = NULL;
	}
	mutex_unlock(&vssd_scm_active_lock);

	down_write(&pmem->sem);
	vssd_scm_revoke(pmem);
	up_write(&pmem->sem);
}

/* Drop the device's reference (after vssd_scm_exit()). */
void vssd_scm_put(struct vssd_pmem *pmem)
{
	kref_put(&pmem->ref, vssd_scm_pmem_release);
}
