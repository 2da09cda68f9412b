/*
 * ipvs.h - the kernel's IPVS tables over generic netlink (libnl-genl-3).
 *
 * One socket for the life of the process, the "IPVS" family resolved once.
 * Writes are pipelined: many requests per sendmsg(), the kernel's replies
 * (an error for each request that fails, an acknowledgement for the last
 * of a batch) are matched to requests by sequence number, so one failing
 * op is reported against its object while the others still apply.
 */
#ifndef EXTLB_IPVS_H
#define EXTLB_IPVS_H

#include "model.h"
#include "kernel.h"
#include "op.h"

#include <stddef.h>

struct nl_msg;
struct nlattr;
struct xl_ipvs;
struct xl_kset_timeout_ops;

/* NULL on failure, with a sentence in err. */
struct xl_ipvs *xl_ipvs_open(char *err, size_t errlen);
void xl_ipvs_close(struct xl_ipvs *h);
int xl_ipvs_family(const struct xl_ipvs *h);

/* Every service and its destinations, sorted.  0 or -errno. */
int xl_ipvs_dump(struct xl_ipvs *h, struct xl_table *out);

/* The destinations of one service (key: svc's identity), with their
 * connection counters, into out->dests (out is a copy of svc); with
 * stats, their packet and byte counters into *stats, one per destination
 * in out->dests' order (the caller frees it). */
int xl_ipvs_dump_service(struct xl_ipvs *h, const struct xl_service *svc,
			 struct xl_service *out, struct xl_ipvs_stats **stats);

/* One service as the kernel holds it now, its attributes and its
 * destinations (key: svc's identity), stats as for xl_ipvs_dump_service;
 * -ESRCH when it has none such. */
int xl_ipvs_get_service(struct xl_ipvs *h, const struct xl_service *key,
			struct xl_service *out, struct xl_ipvs_stats **stats);

/*
 * Applies ops in order, in batches.  Returns the number of ops that
 * failed (each reported to fn), or -errno when the socket itself failed
 * (then the state of unacknowledged ops is unknown: dump again).
 */
long xl_ipvs_apply(struct xl_ipvs *h, const struct xl_op *ops, size_t n,
		   xl_op_err_fn fn, void *arg);

/* What an errno means for this op: "unknown scheduler", "no such service" */
const char *xl_ipvs_strerror(const struct xl_op *op, int err);

/* The IPVS timeouts (IPVS_CMD_GET_CONFIG / IPVS_CMD_SET_CONFIG), seconds
 * in the order of kset.h's enum xl_kset_timeout (tcp, tcp_fin, udp); set
 * leaves a timeout of 0 as it is.  0 or -errno. */
int xl_ipvs_get_timeouts(struct xl_ipvs *h, uint32_t v[3]);
int xl_ipvs_set_timeouts(struct xl_ipvs *h, const uint32_t v[3]);
/* ... as kset.c takes them (arg: an xl_ipvs) */
extern const struct xl_kset_timeout_ops xl_ipvs_timeout_ops;

/* The calls above as the sync engine takes them (kernel: an xl_ipvs). */
extern const struct xl_kernel_ops xl_ipvs_kernel_ops;

/* Message encoding and decoding, exposed for the unit tests. */
/* The requests of ops[0..n) one after another in buf, numbered from seq;
 * only the last asks for an acknowledgement.  Their length, 0 if more
 * than cap. */
size_t xl_ipvs_encode_batch(int family, const struct xl_op *ops, size_t n,
			    uint32_t seq, uint32_t port, unsigned char *buf,
			    size_t cap);
struct nl_msg *xl_ipvs_msg_op(int family, const struct xl_op *op);
struct nl_msg *xl_ipvs_msg_dump_services(int family);
struct nl_msg *xl_ipvs_msg_dump_dests(int family, const struct xl_service *s);
struct nl_msg *xl_ipvs_msg_get_service(int family, const struct xl_service *s);
struct nl_msg *xl_ipvs_msg_get_config(int family);
struct nl_msg *xl_ipvs_msg_set_config(int family, const uint32_t v[3]);
/* nested IPVS_CMD_ATTR_SERVICE / IPVS_CMD_ATTR_DEST; 0 or -EINVAL */
int xl_ipvs_parse_service(struct nlattr *nest, struct xl_service *out);
int xl_ipvs_parse_dest(struct nlattr *nest, uint16_t svc_af,
		       struct xl_dest *out, struct xl_ipvs_stats *stats);

#endif
