/*
 * op.h - one IPVS operation: what reconcile() yields, what ipvs.c encodes
 * and sync.c applies.
 *
 * It has a header of its own so that the kernel side (ipvs.h) and the
 * difference side (reconcile.h) can both speak of ops without either
 * depending on the other.
 */
#ifndef EXTLB_OP_H
#define EXTLB_OP_H

#include "model.h"

#include <stddef.h>

enum xl_op_kind {
	XL_OP_ADD_SVC,
	XL_OP_EDIT_SVC,
	XL_OP_DEL_SVC,
	XL_OP_ADD_DEST,
	XL_OP_EDIT_DEST,
	XL_OP_DEL_DEST,
};

#define XL_OP_KINDS (XL_OP_DEL_DEST + 1)

/*
 * svc and dest point into the tables the op was made from: the desired
 * table for adds and edits, the actual one for deletes.  They stay valid
 * as long as those tables do.
 */
struct xl_op {
	enum xl_op_kind kind;
	const struct xl_service *svc;
	const struct xl_dest *dest; /* NULL for service ops */
};

/* Called for each op the kernel refused; err is a positive errno. */
typedef void (*xl_op_err_fn)(const struct xl_op *op, int err, void *arg);

const char *xl_op_name(enum xl_op_kind k);
/* "add-server TCP 192.168.10.100:8000 -> 10.20.0.5:80 (nat, weight 1)" */
const char *xl_op_format(const struct xl_op *op, char *buf, size_t len);

/*
 * How every log line names a service or a server, so that one grep finds
 * the whole history of either: `"web" (TCP 192.168.10.100:8000)` and
 * `10.20.0.5:80 of "web" (TCP 192.168.10.100:8000)` (after the words
 * "virtual service" / "real server" in sentences).  Without a name (a
 * service not in the configuration) the identity alone stands.
 */
#define XL_LABEL_MAX 512
const char *xl_label_service(const char *name, const struct xl_service *svc,
			     char *buf, size_t len);
const char *xl_label_server(const char *name, const struct xl_service *svc,
			    const struct xl_dest *d, char *buf, size_t len);
/* An op's log line with its service's name (name: NULL as xl_op_format):
 * `add-server 10.20.0.5:80 of "web" (TCP 192.168.10.100:8000): nat,
 * weight 1`, `delete-service "web" (TCP 192.168.10.100:8000)` */
const char *xl_op_label(const struct xl_op *op, const char *name, char *buf,
			size_t len);

#endif
