// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vssd guest driver: /dev/scm, the container demux, and
 * /proc/scm/regions.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * open() finds the caller's region (vssd_scm_ident.c; the rule is in
 * include/uapi/linux/vssd_scm.h), the first use creates it if need be,
 * and the file stays bound to it. mmap() maps the region's own pages
 * (VM_PFNMAP, inserted one page per fault from the device's shared
 * memory): no page cache, no copy. Every use of a file checks that the
 * caller still belongs to the file's container, so a descriptor handed to
 * another container gives EPERM there.
 *
 * Revocation: all /dev/scm files share the address_space of one inode of
 * a small pseudo file system (scm->inode), whichever device node they
 * were opened through, so one unmap_mapping_range() zaps every mapping;
 * faults then check again that the page still belongs to a live region on
 * plugged blocks, under pmem->sem, and deliver SIGBUS otherwise. That is
 * how deleting or shrinking a region, giving its blocks to the host and
 * unbinding the device take memory away from processes that still map it.
 */

#include <linux/capability.h>
#include <linux/cred.h>
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
#include "vssd_compat.h"
#include "vssd_scm.h"

/* Owner of regions made with the admin ioctls. */
#define VSSD_SCM_ADMIN_OWNER	"scmctl"

static unsigned long scm_default_size = 16 << 20;
module_param(scm_default_size, ulong, 0644);
MODULE_PARM_DESC(scm_default_size,
		 "Size of a container region created on first use (bytes)");

static bool scm_implicit = true;
module_param(scm_implicit, bool, 0644);
MODULE_PARM_DESC(scm_implicit,
		 "Create a region on the first use of a container nobody bound");

static unsigned int scm_implicit_max = 32;
module_param(scm_implicit_max, uint, 0644);
MODULE_PARM_DESC(scm_implicit_max,
		 "Regions created that way that may exist at once");

static unsigned int scm_implicit_per_user = 4;
module_param(scm_implicit_per_user, uint, 0644);
MODULE_PARM_DESC(scm_implicit_per_user,
		 "Of those, how many one user other than root may make");

/* The device behind /dev/scm and /proc/scm/regions, or NULL. */
static struct vssd_scm *vssd_scm_active;
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

/* Pinned while any scm->inode exists. */
static struct vfsmount *vssd_scm_mnt;
static int vssd_scm_mnt_count;

/* The inode whose mapping all files of @scm share. */
static int vssd_scm_inode_new(struct vssd_scm *scm)
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
	scm->inode = inode;
	return 0;
}

/* Undo vssd_scm_inode_new(); the last file is gone. */
static void vssd_scm_inode_put(struct vssd_scm *scm)
{
	if (!scm->inode)
		return;
	iput(scm->inode);
	scm->inode = NULL;
	simple_release_fs(&vssd_scm_mnt, &vssd_scm_mnt_count);
}

/* One open() of /dev/scm. */
struct vssd_scm_file {
	/* A reference held. */
	struct vssd_scm *scm;
	/*
	 * The region the file is bound to (entry id), 0 until its first use:
	 * a file used only for the admin ioctls creates no region.
	 */
	u64 id;
	/* Who opened it: the region it is for, and how to create that. */
	struct vssd_scm_ident ident;
};

/* The caller is who opened @f (its region is the same). */
static int vssd_scm_caller_owns(struct vssd_scm_file *f)
{
	struct vssd_scm_ident id;
	int err;

	err = vssd_scm_ident_current(&id);
	if (err)
		return err == -ENOMEM ? err : -EPERM;
	return strcmp(id.name, f->ident.name) ? -EPERM : 0;
}

/*
 * A region for @f's opener that does not exist yet (pmem->sem held for
 * writing): bound names and the host's are created with their size; an
 * unbound container's only while scm_implicit allows, fewer than
 * scm_implicit_max such regions exist, and (but for root, who starts the
 * containers of a runtime) fewer than scm_implicit_per_user of the
 * caller's user.
 */
static int vssd_scm_create_for(struct vssd_scm_file *f,
			       struct vssd_scm_entry **entryp)
{
	struct vssd_scm *scm = f->scm;
	const struct vssd_scm_ident *id = &f->ident;
	u64 size = id->size ?: READ_ONCE(scm_default_size);
	u32 flags = 0;

	if (!id->bound && !id->host) {
		u32 uid = from_kuid(&init_user_ns, current_euid());

		if (!READ_ONCE(scm_implicit))
			return -ENOENT;
		if (vssd_scm_count_implicit(scm, U32_MAX) >=
		    READ_ONCE(scm_implicit_max))
			return -EDQUOT;
		/* a user who may make cgroups must not eat everyone's share */
		if (uid && vssd_scm_count_implicit(scm, uid) >=
			   READ_ONCE(scm_implicit_per_user))
			return -EDQUOT;
		flags = CSCM_REGION_IMPLICIT;
	}
	return vssd_scm_create(scm, id->name, size, id->owner, flags, entryp);
}

/*
 * Before a file's first mmap, fsync or region ioctl: the caller is who
 * opened the file, and the file is bound to its region, which is created
 * now if it does not exist.
 */
static int vssd_scm_file_ready(struct vssd_scm_file *f)
{
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_entry *e;
	int err;

	err = vssd_scm_caller_owns(f);
	if (err)
		return err;
	if (READ_ONCE(f->id))
		return 0;

	down_write(&pmem->sem);
	if (f->id)
		goto out_unlock;
	if (!pmem->virt) {
		err = -ENODEV;
		goto out_unlock;
	}
	e = vssd_scm_find(scm, f->ident.name);
	if (!e)
		err = vssd_scm_create_for(f, &e);
	if (!err)
		WRITE_ONCE(f->id, le64_to_cpu(e->id));
out_unlock:
	up_write(&pmem->sem);
	return err;
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
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_entry *e;
	u64 size;

	e = pmem->virt ? vssd_scm_find_id(scm, f->id) : NULL;
	if (!e)
		return ERR_PTR(-ENODEV);
	/* an image is a source for copies, the host's to fill, no one's map */
	if ((le32_to_cpu(e->flags) & CSCM_REGION_IMAGE) && !f->ident.host)
		return ERR_PTR(-EACCES);
	size = le64_to_cpu(e->size);
	if (off > size || len > size - off)
		return ERR_PTR(-EINVAL);
	return e;
}

/* Zap every /dev/scm mapping; faults map again what is still allowed. */
static void vssd_scm_revoke(struct vssd_scm *scm)
{
	unmap_mapping_range(scm->inode->i_mapping, 0, 0, 1);
}

static vm_fault_t vssd_scm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vssd_scm_file *f = vma->vm_file->private_data;
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
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

/* The last reference is gone: the device was removed, no file is open. */
static void vssd_scm_free(struct kref *ref)
{
	struct vssd_scm *scm = container_of(ref, struct vssd_scm, ref);

	vssd_scm_inode_put(scm);
	vssd_pmem_put(scm->pmem);
	kfree(scm);
}

static int vssd_scm_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct vssd_scm *scm = container_of(misc, struct vssd_scm, misc);
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_file *f;
	int err;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	err = vssd_scm_ident_current(&f->ident);
	if (err) {
		kfree(f);
		return err;
	}

	down_read(&pmem->sem);
	if (pmem->virt) {
		f->scm = scm;
		kref_get(&scm->ref);
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
	file->f_mapping = scm->inode->i_mapping;
	return 0;
}

static int vssd_scm_release(struct inode *inode, struct file *file)
{
	struct vssd_scm_file *f = file->private_data;

	kref_put(&f->scm->ref, vssd_scm_free);
	kfree(f);
	return 0;
}

static int vssd_scm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vssd_scm_file *f = file->private_data;
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
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

	vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &vssd_scm_vm_ops;
	return 0;
}

/* Write back and flush [off, off + len) of @f's region. */
static int vssd_scm_sync(struct vssd_scm_file *f, u64 off, u64 len)
{
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_entry *e;
	int err;

	down_read(&pmem->sem);
	e = vssd_scm_file_entry(f, off, len);
	err = IS_ERR(e) ? PTR_ERR(e) : 0;
	if (!err) {
		off += le64_to_cpu(e->offset);
		err = vssd_pmem_writeback(pmem, off, len);
	}
	if (err || !len) {
		up_read(&pmem->sem);
		return err;
	}
	return vssd_pmem_flush_release(pmem, off, len);
}

/*
 * CSCM_IOC_SYNCV: write back the CPU cache lines of every range, then one
 * device flush over the span that covers them all (the host writes back
 * only what is dirty in it, so the gaps cost next to nothing).
 */
static int vssd_scm_syncv(struct vssd_scm_file *f, void __user *uarg)
{
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
	struct cscm_range *ranges;
	struct vssd_scm_entry *e;
	struct cscm_ranges req;
	u64 lo = U64_MAX, hi = 0, base;
	u32 i;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags || !req.nr || req.nr > CSCM_SYNCV_MAX)
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
	/* never write back memory the host took: all plugged, or nothing */
	for (i = 0; i < req.nr; i++) {
		if (ranges[i].length &&
		    !vssd_pmem_range_plugged(pmem, base + ranges[i].offset,
					     ranges[i].length)) {
			err = -EIO;
			goto out;
		}
	}
	for (i = 0; i < req.nr; i++)
		arch_wb_cache_pmem(pmem->virt + base + ranges[i].offset,
				   ranges[i].length);
	kfree(ranges);
	return vssd_pmem_flush_release(pmem, base + lo, hi - lo);
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
	down_read(&f->scm->pmem->sem);
	e = vssd_scm_file_entry(f, 0, 0);
	size = IS_ERR(e) ? 0 : le64_to_cpu(e->size);
	up_read(&f->scm->pmem->sem);
	if (IS_ERR(e))
		return PTR_ERR(e);
	if (start < 0 || start >= size || end < start)
		return 0;
	return vssd_scm_sync(f, start, min_t(u64, end, size - 1) - start + 1);
}

static long vssd_scm_info(struct vssd_scm_file *f, void __user *arg)
{
	struct vssd_scm *scm = f->scm;
	struct vssd_pmem *pmem = scm->pmem;
	struct cscm_region_info info = {};
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
	down_read(&f->scm->pmem->sem);
	e = vssd_scm_file_entry(f, 0, used);
	if (IS_ERR(e))
		err = PTR_ERR(e);
	else
		WRITE_ONCE(e->used, cpu_to_le64(used));
	up_read(&f->scm->pmem->sem);
	return err;
}

/* A region's CSCM_REGION_* flags. */
static u32 vssd_scm_flags(const struct vssd_scm_entry *e)
{
	return le32_to_cpu(e->flags);
}

/*
 * Copy @src's bytes into @dst (created with @src's size when missing).
 * CSCM_COPY_IMAGE_ONLY refuses a source that is not an image;
 * CSCM_COPY_IF_MISSING keeps an existing @dst as it is.
 */
static int vssd_scm_copy(struct vssd_scm *scm, const char *src_name,
			 const char *dst_name, u32 flags)
{
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_entry *src, *dst;
	u64 size, used;
	int err;

	src = vssd_scm_find(scm, src_name);
	if (!src)
		return -ENOENT;
	if ((flags & CSCM_COPY_IMAGE_ONLY) &&
	    !(vssd_scm_flags(src) & CSCM_REGION_IMAGE))
		return -EPERM;
	size = le64_to_cpu(src->size);
	used = le64_to_cpu(src->used);
	dst = vssd_scm_find(scm, dst_name);
	if (dst == src)
		return -EINVAL;
	if (dst && (flags & CSCM_COPY_IF_MISSING))
		return 0;
	if (!dst) {
		err = vssd_scm_create(scm, dst_name, size,
				      VSSD_SCM_ADMIN_OWNER, 0, &dst);
		if (err)
			return err;
		/* creating may have moved nothing, but re-find to be sure */
		src = vssd_scm_find(scm, src_name);
	}
	if (le64_to_cpu(dst->size) < size)
		return -ENOSPC;

	vssd_scm_revoke(scm);
	err = vssd_pmem_copy(pmem, le64_to_cpu(dst->offset),
			     le64_to_cpu(src->offset), size);
	if (!err)
		err = vssd_pmem_persist(pmem, le64_to_cpu(dst->offset), size);
	if (err)
		return err;
	dst->used = cpu_to_le64(used);
	return vssd_scm_table_save(scm);
}

/* Set a region's CSCM_REGION_IMAGE flag (mappings revoked). */
static int vssd_scm_set_flags(struct vssd_scm *scm, struct vssd_scm_entry *e,
			      u32 flags)
{
	u32 old = vssd_scm_flags(e);

	if (flags & ~CSCM_REGION_IMAGE)
		return -EINVAL;
	if ((flags & CSCM_REGION_IMAGE) && vssd_scm_name_bound(e->name))
		return -EBUSY;
	vssd_scm_revoke(scm);
	e->flags = cpu_to_le32((old & ~CSCM_REGION_IMAGE) | flags);
	return vssd_scm_table_save(scm);
}

/* The fields of @req that @cmd does not use are zero. */
static bool vssd_scm_admin_args_valid(unsigned int cmd,
				      const struct cscm_admin *req)
{
	bool src = cmd == CSCM_IOC_COPY;
	bool size = cmd == CSCM_IOC_CREATE || cmd == CSCM_IOC_RESIZE ||
		    cmd == CSCM_IOC_BIND;
	bool cgroup = cmd == CSCM_IOC_COPY || cmd == CSCM_IOC_BIND;
	bool flags = cmd == CSCM_IOC_COPY || cmd == CSCM_IOC_SET_FLAGS;

	if (req->reserved || (!src && memchr_inv(req->src, 0, sizeof(req->src))) ||
	    (!size && req->size) || (!cgroup && req->cgroup) ||
	    (!flags && req->flags))
		return false;
	if (cmd == CSCM_IOC_COPY)
		return !(req->flags & ~(CSCM_COPY_IMAGE_ONLY |
					CSCM_COPY_IF_MISSING)) &&
		       vssd_scm_name_valid(req->src, sizeof(req->src)) &&
		       (req->cgroup ? !req->name[0] :
			vssd_scm_name_valid(req->name, sizeof(req->name)));
	if (cmd == CSCM_IOC_BIND)
		return req->cgroup &&
		       vssd_scm_admin_name_valid(req->name, sizeof(req->name)) &&
		       strcmp(req->name, VSSD_SCM_HOST);
	return vssd_scm_name_valid(req->name, sizeof(req->name));
}

/* The cgroup named by the user string at @uptr (a reference), not the root. */
static struct cgroup *vssd_scm_admin_cgroup(u64 uptr)
{
	struct cgroup *cgrp;
	char *path;

	path = strndup_user(u64_to_user_ptr(uptr), PATH_MAX);
	if (IS_ERR(path))
		return ERR_CAST(path);
	cgrp = cgroup_get_from_path(path);
	kfree(path);
	if (IS_ERR(cgrp))
		return cgrp;
	if (!cgroup_parent(cgrp)) {
		cgroup_put(cgrp);
		return ERR_PTR(-EINVAL);
	}
	return cgrp;
}

/* CSCM_IOC_BIND: @req->name must not be an image. */
static int vssd_scm_admin_bind(struct vssd_scm *scm,
			       const struct cscm_admin *req)
{
	struct vssd_pmem *pmem = scm->pmem;
	struct vssd_scm_entry *e;
	struct cgroup *cgrp;
	int err;

	if (req->size > pmem->size)
		return -EINVAL;
	cgrp = vssd_scm_admin_cgroup(req->cgroup);
	if (IS_ERR(cgrp))
		return PTR_ERR(cgrp);
	down_read(&pmem->sem);
	e = pmem->virt ? vssd_scm_find(scm, req->name) : NULL;
	err = !pmem->virt ? -ENODEV :
	      e && (vssd_scm_flags(e) & CSCM_REGION_IMAGE) ? -EINVAL :
	      vssd_scm_bind(cgrp, req->name, req->size);
	up_read(&pmem->sem);
	if (err)
		cgroup_put(cgrp);
	return err;
}

/* The target name of a CSCM_IOC_COPY: @req->name, or @req->cgroup's region. */
static int vssd_scm_copy_target(const struct cscm_admin *req, char *name)
{
	struct cgroup *cgrp;
	int err;

	if (!req->cgroup) {
		strscpy(name, req->name, CSCM_NAME_MAX);
		return 0;
	}
	cgrp = vssd_scm_admin_cgroup(req->cgroup);
	if (IS_ERR(cgrp))
		return PTR_ERR(cgrp);
	err = vssd_scm_ident_of_cgroup(cgrp, name);
	cgroup_put(cgrp);
	return err;
}

/* The admin commands that work on the table (pmem->sem held for writing). */
static int vssd_scm_admin_table(struct vssd_scm *scm, unsigned int cmd,
				const struct cscm_admin *req, const char *target)
{
	struct vssd_scm_entry *e = vssd_scm_find(scm, target);

	if (!e && cmd != CSCM_IOC_CREATE && cmd != CSCM_IOC_COPY)
		return -ENOENT;
	switch (cmd) {
	case CSCM_IOC_CREATE:
		return e ? -EEXIST :
		       vssd_scm_create(scm, target,
				       req->size ?: READ_ONCE(scm_default_size),
				       VSSD_SCM_ADMIN_OWNER, 0, &e);
	case CSCM_IOC_RESIZE:
		/* a shrink takes pages away, a grow may move the region */
		vssd_scm_revoke(scm);
		return vssd_scm_resize(scm, e, req->size);
	case CSCM_IOC_COPY:
		if (e && (vssd_scm_flags(e) & CSCM_REGION_IMAGE) && req->cgroup)
			return -EPERM;
		return vssd_scm_copy(scm, req->src, target, req->flags);
	case CSCM_IOC_SET_FLAGS:
		return vssd_scm_set_flags(scm, e, req->flags);
	default: /* CSCM_IOC_DELETE */
		vssd_scm_revoke(scm);
		return vssd_scm_delete(scm, e);
	}
}

static long vssd_scm_admin(struct vssd_scm *scm, unsigned int cmd,
			   void __user *arg)
{
	struct vssd_pmem *pmem = scm->pmem;
	char target[CSCM_NAME_MAX];
	struct cscm_admin req;
	int err;

	if (!vssd_scm_caller_is_admin())
		return -EPERM;
	/* a descriptor that outlived its device (checked again under sem) */
	if (!READ_ONCE(pmem->virt))
		return -ENODEV;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!vssd_scm_admin_args_valid(cmd, &req))
		return -EINVAL;
	if (cmd == CSCM_IOC_BIND)
		return vssd_scm_admin_bind(scm, &req);
	if (cmd == CSCM_IOC_UNBIND)
		return vssd_scm_unbind(req.name);
	err = cmd == CSCM_IOC_COPY ? vssd_scm_copy_target(&req, target) : 0;
	if (err)
		return err;
	if (cmd != CSCM_IOC_COPY)
		strscpy(target, req.name, sizeof(target));

	down_write(&pmem->sem);
	err = pmem->virt ? vssd_scm_admin_table(scm, cmd, &req, target) :
	      -ENODEV;
	up_write(&pmem->sem);
	return err;
}

static long vssd_scm_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct vssd_scm_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct cscm_range range;
	int err;

	switch (cmd) {
	case CSCM_IOC_CREATE:
	case CSCM_IOC_RESIZE:
	case CSCM_IOC_COPY:
	case CSCM_IOC_DELETE:
	case CSCM_IOC_SET_FLAGS:
	case CSCM_IOC_BIND:
	case CSCM_IOC_UNBIND:
		return vssd_scm_admin(f->scm, cmd, uarg);
	case CSCM_IOC_INFO:
	case CSCM_IOC_SYNC:
	case CSCM_IOC_SYNCV:
	case CSCM_IOC_SET_USED:
		break;
	default:
		return -ENOTTY;
	}

	err = vssd_scm_file_ready(f);
	if (err)
		return err;
	switch (cmd) {
	case CSCM_IOC_INFO:
		return vssd_scm_info(f, uarg);
	case CSCM_IOC_SET_USED:
		return vssd_scm_set_used(f, uarg);
	case CSCM_IOC_SYNCV:
		return vssd_scm_syncv(f, uarg);
	default: /* CSCM_IOC_SYNC */
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
 * region's line (the names of the others are none of its business), a
 * process with no region none.
 */
static int vssd_scm_regions_show(struct seq_file *m, void *v)
{
	struct vssd_scm_ident id;
	struct vssd_scm *scm;
	unsigned int i;
	bool all;

	all = !vssd_scm_ident_current(&id) && id.host;
	seq_puts(m, "name owner size used offset flags\n");
	mutex_lock(&vssd_scm_active_lock);
	scm = vssd_scm_active;
	if (scm) {
		down_read(&scm->pmem->sem);
		for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++) {
			const struct vssd_scm_entry *e =
				&scm->table.entries[i];
			u32 flags = vssd_scm_flags(e);

			if (!e->name[0] ||
			    (!all && strncmp(e->name, id.name, sizeof(e->name))))
				continue;
			seq_printf(m, "%.*s %.*s %llu %llu %llu %s\n",
				   (int)sizeof(e->name), e->name,
				   (int)sizeof(e->owner),
				   e->owner[0] ? e->owner : "-",
				   le64_to_cpu(e->size),
				   le64_to_cpu(READ_ONCE(e->used)),
				   le64_to_cpu(e->offset),
				   flags & CSCM_REGION_IMAGE ? "image" :
				   flags & CSCM_REGION_IMPLICIT ? "implicit" : "-");
		}
		up_read(&scm->pmem->sem);
	}
	mutex_unlock(&vssd_scm_active_lock);
	return 0;
}

/**
 * vssd_scm_proc_init - create /proc/scm (module init)
 *
 * Return: 0 or -ENOMEM.
 */
int vssd_scm_proc_init(void)
{
	vssd_scm_proc_dir = proc_mkdir("scm", NULL);
	if (!vssd_scm_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("regions", 0444, vssd_scm_proc_dir,
				vssd_scm_regions_show) ||
	    !proc_create_single("bindings", 0400, vssd_scm_proc_dir,
				vssd_scm_bindings_show)) {
		proc_remove(vssd_scm_proc_dir);
		return -ENOMEM;
	}
	return 0;
}

/**
 * vssd_scm_proc_exit - remove /proc/scm and every binding (module exit)
 */
void vssd_scm_proc_exit(void)
{
	proc_remove(vssd_scm_proc_dir);
	vssd_scm_proc_dir = NULL;
	vssd_scm_bindings_clear();
}

/* --- registration --- */

/* Count of regions in the table (for the probe message). */
static unsigned int vssd_scm_nr_regions(struct vssd_scm *scm)
{
	unsigned int i, n = 0;

	for (i = 0; i < VSSD_SCM_MAX_REGIONS; i++)
		n += scm->table.entries[i].name[0] != '\0';
	return n;
}

/* Register /dev/scm for @scm unless another device has it. */
static int vssd_scm_register(struct vssd_scm *scm)
{
	int err = 0;

	mutex_lock(&vssd_scm_active_lock);
	if (vssd_scm_active)
		goto out_unlock;
	scm->misc.minor = MISC_DYNAMIC_MINOR;
	scm->misc.name = "scm";
	scm->misc.fops = &vssd_scm_fops;
	/* containers open it without privileges; the cgroup decides */
	scm->misc.mode = 0666;
	err = misc_register(&scm->misc);
	if (err)
		goto out_unlock;
	scm->misc_registered = true;
	vssd_scm_active = scm;
out_unlock:
	mutex_unlock(&vssd_scm_active_lock);
	return err;
}

/* No new opens of /dev/scm for @scm. */
static void vssd_scm_unregister(struct vssd_scm *scm)
{
	mutex_lock(&vssd_scm_active_lock);
	if (scm->misc_registered) {
		misc_deregister(&scm->misc);
		scm->misc_registered = false;
		vssd_scm_active = NULL;
	}
	mutex_unlock(&vssd_scm_active_lock);
}

/* --- the pmem region's client (pmem->sem held for writing) --- */

static bool vssd_scm_client_block_used(void *client, u64 block)
{
	return vssd_scm_block_used(client, block);
}

static void vssd_scm_client_revoke(void *client)
{
	vssd_scm_revoke(client);
}

/* Save what changed in memory only (the regions' `used`), then revoke. */
static void vssd_scm_client_detach(void *client)
{
	struct vssd_scm *scm = client;

	if (vssd_scm_table_save(scm))
		dev_warn(&scm->pmem->vssd->vdev->dev,
			 "scm: cannot save region usage\n");
	vssd_scm_revoke(scm);
}

static const struct vssd_pmem_client_ops vssd_scm_client_ops = {
	.block_used	= vssd_scm_client_block_used,
	.revoke		= vssd_scm_client_revoke,
	.detach		= vssd_scm_client_detach,
};

/* /dev/scm on vssd->pmem: the table, the inode, the client, the node. */
static int vssd_scm_setup(struct vssd_device *vssd)
{
	struct vssd_scm *scm;
	int err;

	scm = kzalloc(sizeof(*scm), GFP_KERNEL);
	if (!scm)
		return -ENOMEM;
	kref_init(&scm->ref);
	vssd_pmem_get(vssd->pmem);
	scm->pmem = vssd->pmem;

	err = vssd_scm_table_load(scm);
	if (err)
		goto err_put;
	err = vssd_scm_inode_new(scm);
	if (err)
		goto err_put;
	vssd_pmem_set_client(scm->pmem, &vssd_scm_client_ops, scm);
	err = vssd_scm_register(scm);
	if (err)
		goto err_clear_client;
	vssd->scm = scm;
	return 0;

err_clear_client:
	vssd_pmem_set_client(scm->pmem, NULL, NULL);
err_put:
	kref_put(&scm->ref, vssd_scm_free);
	return err;
}

/**
 * vssd_scm_probe - set up the persistent-memory region and /dev/scm on it
 * @vssd: the device, ready, with its control queue up
 *
 * Return: 0 (also when the device has no persistent memory, or it could
 * not be used: the reason is logged and vssd->pmem stays NULL), or
 * -ENOMEM.
 */
int vssd_scm_probe(struct vssd_device *vssd)
{
	struct device *dev = &vssd->vdev->dev;
	struct vssd_pmem *pmem;
	int err;

	err = vssd_pmem_probe(vssd);
	if (err || !vssd->pmem)
		return err;
	pmem = vssd->pmem;

	err = vssd_scm_setup(vssd);
	if (err) {
		vssd_pmem_remove(vssd);
		if (err == -ENOMEM)
			return err;
		dev_warn(dev, "persistent memory not used (%d)\n", err);
		return 0;
	}
	dev_info(dev, "%s: persistent memory: %llu MiB in %u KiB blocks, %u regions\n",
		 vssd->name, pmem->size >> 20, pmem->block_size >> 10,
		 vssd_scm_nr_regions(vssd->scm));
	return 0;
}

/**
 * vssd_scm_remove - take /dev/scm and the persistent-memory region away
 * @vssd: the device, before it is reset
 *
 * No new opens; then vssd_pmem_remove() saves the table, revokes every
 * mapping (through the client's detach) and ends the kernel's mapping in
 * one write section of pmem->sem, after which faults, syncs and ioctls of
 * files still open fail (SIGBUS, ENODEV). The structures live until the
 * last file is closed.
 */
void vssd_scm_remove(struct vssd_device *vssd)
{
	struct vssd_scm *scm = vssd->scm;

	if (scm)
		vssd_scm_unregister(scm);
	vssd_pmem_remove(vssd);
	if (!scm)
		return;
	vssd->scm = NULL;
	kref_put(&scm->ref, vssd_scm_free);
}
