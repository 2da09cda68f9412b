/*
 * check_types.h - the registry of health check types.
 *
 * A check type is one file, src/check_NAME.c, which exports one descriptor,
 * struct xl_check_ops xl_check_NAME, and one line in XL_CHECK_TYPES below.
 * Everything else finds types through the registry: the configuration
 * loader takes a type's name and its keys from it (and checks a key's value
 * with the rule the key names), check.c starts, releases and explains a
 * probe through it, health.c asks it whether a type is ever probed.  So
 * adding a type touches its own file, its line here, its tests and
 * extlb.conf(5), and nothing that runs the other types.
 *
 * The list is a macro so that the enum, the descriptor table and the names
 * come from the one line each type has, and cannot disagree.  The names
 * part needs no descriptor: extlb-k8s reads it (check_rules.h) without
 * linking the checks.
 */
#ifndef EXTLB_CHECK_TYPES_H
#define EXTLB_CHECK_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/* X(ID, name): XL_CHECK_ID, descriptor xl_check_name, config name "name". */
#define XL_CHECK_TYPES(X)                                                      \
	X(TCP, tcp)                                                            \
	X(HTTP, http)                                                          \
	X(HTTPS, https)                                                        \
	X(UDP, udp)                                                            \
	X(SCRIPT, script)                                                      \
	X(NONE, none)

#define XL_CHECK_ENUM_(id, name) XL_CHECK_##id,
enum xl_check_type { XL_CHECK_TYPES(XL_CHECK_ENUM_) XL_CHECK_NTYPES };
#undef XL_CHECK_ENUM_

struct xl_check_config;
struct xl_checker;
struct xl_probe;

enum xl_check_key_kind {
	XL_KEY_STR,    /* a string, shared between copies (config_check.c) */
	XL_KEY_BOOL,   /* true or false */
	XL_KEY_STATUS, /* status codes and ranges: status[] and nstatus */
};

/*
 * A configuration key of a check type, beyond those every check has
 * (type, timing, connect_ip, connect_port).  Its value lives at off in
 * struct xl_check_config.  Two types may read the same key (http and udp
 * both read expect): it is one key then, with one field and one rule, and
 * they must describe it alike.  Any check group may set any type's keys,
 * since a check inherits them from the level above whatever its type.
 */
struct xl_check_key {
	const char *name;
	enum xl_check_key_kind kind;
	size_t off;
	/* XL_KEY_STR: NULL when the value is fine, else why not, a sentence
	 * that follows the quoted value (check_rules.h); NULL: anything */
	const char *(*rule)(const char *v);
	/* the value before any file sets it: XL_KEY_STR's text (NULL:
	 * unset), XL_KEY_BOOL's value */
	const char *def;
	bool def_on;
	/* it names a program or the user to run one as: accepted only from
	 * files that only root can write */
	bool trusted_only;
};

/*
 * One check type.  A check of a server is unchanged across a reload (its
 * health state carries over) when its type, its timing and every key's
 * value are the same: the keys listed here are what xl_check_equal()
 * compares, so a type says what its equality is by listing them.
 */
struct xl_check_ops {
	const struct xl_check_key *keys;
	size_t nkeys;
	/* its checks run programs: refused in files others than root write */
	bool runs_programs;
	/* never probed: a server with it is up (health.c) */
	bool always_up;
	/* NULL when a check of this type has what it needs, else what it
	 * lacks, a sentence after "check type "NAME" " */
	const char *(*incomplete)(const struct xl_check_config *k);

	/* Sets up its watchers, or defers a result (check_impl.h). */
	void (*start)(struct xl_probe *p);
	/* What check.c cannot free alone; idempotent.  May be NULL. */
	void (*release)(struct xl_probe *p);
	/* Per-checker state of the type, freed with the checker; may be
	 * NULL.  Types that share state (http, https) may both name it. */
	void (*fini)(struct xl_checker *ck);
	/* The text of the codes from XL_E_TYPE up that this type defers:
	 * codes[code - XL_E_TYPE] when the words are fixed, else reason(). */
	const char *const *codes;
	size_t ncodes;
	void (*reason)(const struct xl_probe *p, int code, char *buf,
		       size_t len);
};

/* The descriptor of t, or NULL when t is no type. */
const struct xl_check_ops *xl_check_ops(enum xl_check_type t);

/*
 * Every key of every type, each once, in registry order (the order
 * messages list them in): n keys at *keys.
 */
size_t xl_check_keys(const struct xl_check_key *const **keys);

/* The type's config name ("tcp"), "?" for no type. */
const char *xl_check_type_name(enum xl_check_type t);

#endif
