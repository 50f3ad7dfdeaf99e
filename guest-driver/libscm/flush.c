// SPDX-License-Identifier: MIT
/*
 * libscm: writing cache lines back to memory.
 *
 * Copyright (c) 2026 The vssd authors.
 *
 * CPUID picks the instruction once: CLWB (writes the line back and may
 * keep it cached), else CLFLUSHOPT (evicts it), else CLFLUSH (evicts it,
 * serialised against other flushes). The weakly ordered ones need the
 * SFENCE of scm_fence() before a later store may depend on them; after
 * CLFLUSH the fence is harmless. TCG guests often lack CLWB and
 * CLFLUSHOPT, so the fallback is the common case there.
 */
#include <stdint.h>

#include "scm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static enum scm_flush_method scm_method;
static uintptr_t scm_line = 64;
static pthread_once_t scm_flush_once = PTHREAD_ONCE_INIT;
static bool scm_has[SCM_FLUSH_FENCE_ONLY + 1];

static void scm_flush_detect(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
		/* EDX bit 19: CLFSH; EBX[15:8]: line size in 8-byte units */
		scm_has[SCM_FLUSH_CLFLUSH] = edx & (1u << 19);
		if (scm_has[SCM_FLUSH_CLFLUSH] && ((ebx >> 8) & 0xff))
			scm_line = ((ebx >> 8) & 0xff) * 8;
	}
	if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
		scm_has[SCM_FLUSH_CLFLUSHOPT] = ebx & (1u << 23);
		scm_has[SCM_FLUSH_CLWB] = ebx & (1u << 24);
	}
	scm_has[SCM_FLUSH_FENCE_ONLY] = true;
	if (scm_has[SCM_FLUSH_CLWB])
		scm_method = SCM_FLUSH_CLWB;
	else if (scm_has[SCM_FLUSH_CLFLUSHOPT])
		scm_method = SCM_FLUSH_CLFLUSHOPT;
	else if (scm_has[SCM_FLUSH_CLFLUSH])
		scm_method = SCM_FLUSH_CLFLUSH;
	else
		scm_method = SCM_FLUSH_FENCE_ONLY;
}

void scm_flush_range(const void *addr, size_t len)
{
	uintptr_t p, end;

	if (!len)
		return;
	pthread_once(&scm_flush_once, scm_flush_detect);
	p = (uintptr_t)addr & ~(scm_line - 1);
	end = (uintptr_t)addr + len;
	switch (scm_method) {
	case SCM_FLUSH_CLWB:
		for (; p < end; p += scm_line)
			__asm__ volatile("clwb (%0)" : : "r"(p) : "memory");
		break;
	case SCM_FLUSH_CLFLUSHOPT:
		for (; p < end; p += scm_line)
			__asm__ volatile("clflushopt (%0)" : : "r"(p) : "memory");
		break;
	case SCM_FLUSH_CLFLUSH:
		for (; p < end; p += scm_line)
			__asm__ volatile("clflush (%0)" : : "r"(p) : "memory");
		break;
	default:
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		break;
	}
	scm_fence();
}

void scm_fence(void)
{
	__asm__ volatile("sfence" : : : "memory");
}

enum scm_flush_method scm_flush_method(void)
{
	pthread_once(&scm_flush_once, scm_flush_detect);
	return scm_method;
}

#ifdef SCM_TESTING
int scm_test_flush_method(enum scm_flush_method m)
{
	pthread_once(&scm_flush_once, scm_flush_detect);
	if (m == SCM_FLUSH_AUTO) {
		scm_flush_detect();	/* idempotent: back to CPUID's choice */
		return 0;
	}
	if (m > SCM_FLUSH_FENCE_ONLY || !scm_has[m])
		return -1;
	scm_method = m;
	return 0;
}
#endif

#else /* not x86: no user-space write-back; the host flush does it all */

void scm_flush_range(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void scm_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

enum scm_flush_method scm_flush_method(void)
{
	return SCM_FLUSH_FENCE_ONLY;
}

#ifdef SCM_TESTING
int scm_test_flush_method(enum scm_flush_method m)
{
	return m == SCM_FLUSH_AUTO || m == SCM_FLUSH_FENCE_ONLY ? 0 : -1;
}
#endif

#endif
