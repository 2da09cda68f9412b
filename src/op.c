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

/* What an add or edit sets ("rr, timeout 0", "nat, weight 1"); "" for a
 * delete. */
static const char *op_attrs(const struct xl_op *op, char *buf, size_t len)
{
	if (op->kind == XL_OP_DEL_SVC || op->kind == XL_OP_DEL_DEST)
		buf[0] = '\0';
	else if (!op->dest)
		snprintf(buf, len, "%s%s, timeout %u", op->svc->sched,
			 op->svc->flags & IP_VS_SVC_F_PERSISTENT
			     ? ", persistent"
			     : "",
			 op->svc->timeout);
	else
		snprintf(buf, len, "%s, weight %d", xl_fwd_name(op->dest->fwd),
			 op->dest->weight);
	return buf;
}

const char *xl_op_format(const struct xl_op *op, char *buf, size_t len)
{
	char s[XL_ADDRSTR_MAX + 32], d[XL_ADDRSTR_MAX + 12] = "", a[64];

	xl_service_format(op->svc, s, sizeof(s));
	if (op->dest)
		snprintf(d, sizeof(d), " -> %s",
			 xl_dest_format(op->dest, a, sizeof(a)));
	op_attrs(op, a, sizeof(a));
	snprintf(buf, len, "%s %s%s%s%s%s", xl_op_name(op->kind), s, d,
		 a[0] ? " (" : "", a, a[0] ? ")" : "");
	return buf;
}

const char *xl_label_service(const char *name, const struct xl_service *svc,
			     char *buf, size_t len)
{
	char s[XL_ADDRSTR_MAX + 32];

	xl_service_format(svc, s, sizeof(s));
	if (name)
		snprintf(buf, len, "\"%s\" (%s)", name, s);
	else
		snprintf(buf, len, "%s", s);
	return buf;
}

const char *xl_label_server(const char *name, const struct xl_service *svc,
			    const struct xl_dest *d, char *buf, size_t len)
{
	char a[XL_ADDRSTR_MAX + 8], s[XL_LABEL_MAX - XL_ADDRSTR_MAX - 16];

	snprintf(buf, len, "%s of %s", xl_dest_format(d, a, sizeof(a)),
		 xl_label_service(name, svc, s, sizeof(s)));
	return buf;
}

const char *xl_op_label(const struct xl_op *op, const char *name, char *buf,
			size_t len)
{
	char who[XL_LABEL_MAX], a[64];

	if (!name)
		return xl_op_format(op, buf, len);
	if (op->dest)
		xl_label_server(name, op->svc, op->dest, who, sizeof(who));
	else
		xl_label_service(name, op->svc, who, sizeof(who));
	op_attrs(op, a, sizeof(a));
	snprintf(buf, len, "%s %s%s%s", xl_op_name(op->kind), who,
		 a[0] ? ": " : "", a);
	return buf;
}
