/*
 * op.c - the names of IPVS ops and the sentence each is logged as.
 */
#include "op.h"
#include "util.h"

#include <linux/ip_vs.h>
#include <stdio.h>

const char *xl_op_name(enum xl_op_kind k)
{
	static const char *const names[] = {
	    [XL_OP_ADD_SVC] = "add-service",
	    [XL_OP_EDIT_SVC] = "edit-service",
	    [XL_OP_DEL_SVC] = "delete-service",
	    [XL_OP_ADD_DEST] = "add-server",
	    [XL_OP_EDIT_DEST] = "edit-server",
	    [XL_OP_DEL_DEST] = "delete-server",
	};

	return (unsigned)k < XL_ARRAY_SIZE(names) ? names[k] : "?";
}

const char *xl_op_format(const struct xl_op *op, char *buf, size_t len)
{
	char s[XL_ADDRSTR_MAX + 32], d[XL_ADDRSTR_MAX + 8];

	xl_service_format(op->svc, s, sizeof(s));
	if (!op->dest) {
		if (op->kind == XL_OP_DEL_SVC)
			snprintf(buf, len, "%s %s", xl_op_name(op->kind), s);
		else
			snprintf(buf, len, "%s %s (%s%s, timeout %u)",
				 xl_op_name(op->kind), s, op->svc->sched,
				 op->svc->flags & IP_VS_SVC_F_PERSISTENT
				     ? ", persistent"
				     : "",
				 op->svc->timeout);
		return buf;
	}
	xl_dest_format(op->dest, d, sizeof(d));
	if (op->kind == XL_OP_DEL_DEST)
		snprintf(buf, len, "%s %s -> %s", xl_op_name(op->kind), s, d);
	else
		snprintf(buf, len, "%s %s -> %s (%s, weight %d)",
			 xl_op_name(op->kind), s, d, xl_fwd_name(op->dest->fwd),
			 op->dest->weight);
	return buf;
}
