/*
 * json_scan.c - the extent of one JSON value and whether it keeps within
 * the bounds of k8s/client.h, found before json-c is given it: a value
 * nested too deep or with too many members is stepped over, not parsed,
 * so that no object the API server (or a proxy) sends can make json-c
 * allocate without limit.
 */
#include "k8s/client.h"

#include <stdbool.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

void k8s_json_scan_reset(struct k8s_json_scan *s)
{
	memset(s, 0, sizeof(*s));
}

const char *k8s_json_over_text(enum k8s_json_over o)
{
	switch (o) {
	case K8S_JSON_TOO_BIG:
		return "larger than " STR(K8S_MAX_OBJECT_MIB) " MiB";
	case K8S_JSON_TOO_DEEP:
		return "nested deeper than " STR(K8S_MAX_DEPTH) " levels";
	case K8S_JSON_TOO_MANY_MAPS:
		return "more than " STR(K8S_MAX_MAPS) " JSON objects";
	case K8S_JSON_TOO_MANY_NODES:
		return "more than " STR(K8S_MAX_NODES) " JSON values";
	default:
		return "within bounds";
	}
}

static void scan_over(struct k8s_json_scan *s, enum k8s_json_over o)
{
	if (s->over == K8S_JSON_OK)
		s->over = o;
}

/* A byte outside strings, in a container.  true when the value ended. */
static bool scan_structure(struct k8s_json_scan *s, char ch)
{
	switch (ch) {
	case '"':
		s->in_str = true;
		return false;
	case '{':
	case '[':
		if (ch == '{' && ++s->maps > K8S_MAX_MAPS)
			scan_over(s, K8S_JSON_TOO_MANY_MAPS);
		if (++s->depth > K8S_MAX_DEPTH)
			scan_over(s, K8S_JSON_TOO_DEEP);
		/* a container is a value too */
		/* fall through */
	case ',':
	case ':':
		if (++s->nodes > K8S_MAX_NODES)
			scan_over(s, K8S_JSON_TOO_MANY_NODES);
		return false;
	case '}':
	case ']':
		return s->depth && --s->depth == 0;
	default:
		return false;
	}
}

/*
 * The bytes of a string end at an unescaped quote; a container where its
 * depth comes back to 0; any other value (a number, true, null) at the
 * first byte that cannot be in it, which is not its own.
 */
int k8s_json_scan(struct k8s_json_scan *s, const char *p, size_t len,
		  size_t *used)
{
	bool done = false;
	size_t i = 0;

	if (!s->started && len) {
		s->started = true;
		s->container = *p == '{' || *p == '[';
		if (!s->container) {
			s->in_str = *p == '"';
			s->nodes = 1;
			i = 1;
		}
	}
	for (; i < len && !done; i++) {
		char ch = p[i];

		if (s->in_str) {
			if (s->esc) {
				s->esc = false;
			} else if (ch == '\\') {
				s->esc = true;
			} else if (ch == '"') {
				s->in_str = false;
				done = !s->container;
			}
		} else if (!s->container) {
			if (strchr(",]}: \t\r\n", ch)) {
				done = true;
				break; /* that byte is not the value's */
			}
		} else {
			done = scan_structure(s, ch);
		}
	}
	s->bytes += i;
	if (s->bytes > K8S_MAX_OBJECT)
		scan_over(s, K8S_JSON_TOO_BIG);
	*used = i;
	return done ? 1 : 0;
}
