/*
 * ipvs_impl.h - what ipvs.c (the socket, requests, dumps, pipelined
 * writes) and ipvs_msg.c (the messages' bytes, no socket) share.  The
 * encoders and parsers themselves are in ipvs.h, for the unit tests.
 */
#ifndef EXTLB_IPVS_IMPL_H
#define EXTLB_IPVS_IMPL_H

struct nlattr;

/* Room for one request: a batch's buffer holds XL_BATCH of them. */
#define XL_MSG_SIZE 512

/* The timeouts of a GET_CONFIG reply's attributes into arg (uint32_t
 * [XL_KT_N], kset.h's order); one left out is left as it was.  0. */
int ipvs_timeouts_item(struct nlattr **tb, void *arg);

#endif
