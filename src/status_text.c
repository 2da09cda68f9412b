/*
 * status_text.c - the status reply as a table a person reads.
 *
 * The columns an operator knows from `ipvsadm -Ln` (service, scheduler,
 * then each real server with its forwarding, weight and connections),
 * followed by what ipvsadm cannot say: the server's health, its
 * maintenance flag and, for a server that is not up, why.  It reads only
 * the parsed reply, so extlbctl prints with it what the daemon sent, and
 * the daemon's SIGUSR1 dump logs the same lines.
 */
#include "status.h"

#include <json-c/json.h>
#include <string.h>

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *k, const char *dflt)
{
	json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : dflt;
}

static bool has(json_object *o, const char *k)
{
	return get(o, k) != NULL;
}

static int64_t num(json_object *o, const char *k)
{
	return json_object_get_int64(get(o, k));
}

static size_t alen(json_object *a)
{
	return json_object_is_type(a, json_type_array)
		   ? json_object_array_length(a)
		   : 0;
}

static const char *fwd_word(const char *f)
{
	static const char *const w[][2] = {
	    {"nat", "Masq"},	{"dr", "Route"},      {"tun", "Tunnel"},
	    {"local", "Local"}, {"bypass", "Bypass"},
	};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strcmp(f, w[i][0]))
			return w[i][1];
	return f;
}

void xl_status_print_head(FILE *f, json_object *reply)
{
	json_object *s = get(reply, "summary");

	fprintf(f, "extlbd: %s, generation %lld, read %s; status at %s\n",
		str(reply, "config", "?"), (long long)num(reply, "generation"),
		str(reply, "read_at", "?"), str(reply, "time", "?"));
	fprintf(f,
		"%lld virtual services, %lld real servers: %lld up, %lld "
		"down, %lld unknown; %lld in maintenance, %lld draining; "
		"quorum lost %lld, unknown %lld\n",
		(long long)num(s, "services"), (long long)num(s, "servers"),
		(long long)num(s, "up"), (long long)num(s, "down"),
		(long long)num(s, "unknown"), (long long)num(s, "maintenance"),
		(long long)num(s, "draining"), (long long)num(s, "quorum_lost"),
		(long long)num(s, "quorum_unknown"));
}

void xl_status_print_titles(FILE *f)
{
	fprintf(f, "Prot LocalAddress:Port Scheduler  Name  Quorum  Conns  "
		   "CPS InPPS OutPPS\n"
		   "  -> RemoteAddress:Port           Forward Weight Eff    "
		   "ActiveConn InActConn Health    Last check\n");
}

static void print_vs_line(FILE *f, json_object *svc)
{
	json_object *st = get(svc, "stats");
	char id[96];

	if (has(svc, "fwmark"))
		snprintf(id, sizeof(id), "FWM  %lld%s",
			 (long long)num(svc, "fwmark"),
			 !strcmp(str(svc, "family", ""), "inet6") ? " IPv6"
								  : "");
	else if (!strcmp(str(svc, "family", ""), "inet6"))
		snprintf(id, sizeof(id), "%-4.4s [%s]:%lld",
			 str(svc, "protocol", "?"), str(svc, "vip", "?"),
			 (long long)num(svc, "port"));
	else
		snprintf(id, sizeof(id), "%-4.4s %s:%lld",
			 str(svc, "protocol", "?"), str(svc, "vip", "?"),
			 (long long)num(svc, "port"));
	for (char *p = id; *p && *p != ' '; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	fprintf(f, "%s %s", id, str(svc, "scheduler", "?"));
	if (has(svc, "persistence"))
		fprintf(f, " persistent %lld",
			(long long)num(svc, "persistence"));
	fprintf(f, "  \"%s\"  quorum %s", str(svc, "name", "?"),
		str(svc, "quorum", "?"));
	if (!json_object_get_boolean(get(svc, "in_kernel")))
		fprintf(f, "  not in the kernel%s%s\n",
			has(svc, "kernel_error") ? ": " : "",
			str(svc, "kernel_error", ""));
	else
		fprintf(f, "  %lld  %lld %lld %lld\n",
			(long long)num(st, "conns"), (long long)num(st, "cps"),
			(long long)num(st, "inpps"),
			(long long)num(st, "outpps"));
}

/* The columns a server shares with sorry and draining servers. */
static void print_dest(FILE *f, json_object *s, const char *weight)
{
	char eff[16] = "-", act[24] = "-", inact[24] = "-";

	if (json_object_get_boolean(get(s, "in_kernel"))) {
		snprintf(eff, sizeof(eff), "%lld",
			 (long long)num(s, "effective_weight"));
		snprintf(act, sizeof(act), "%lld", (long long)num(s, "active"));
		snprintf(inact, sizeof(inact), "%lld",
			 (long long)num(s, "inactive"));
	}
	fprintf(f, "  -> %-29s %-7s %-6s %-6s %-10s %-9s ",
		str(s, "server", "?"), fwd_word(str(s, "forwarding", "?")),
		weight, eff, act, inact);
}

static void print_check(FILE *f, json_object *s)
{
	json_object *c = get(s, "check");
	const char *reason = str(c, "reason", "");
	bool ok = !strcmp(str(c, "result", ""), "success");
	int64_t run =
	    ok ? num(s, "consecutive_ok") : num(s, "consecutive_fail");

	if (!strcmp(str(c, "type", ""), "none")) {
		fputs("no check (check type \"none\")", f);
		return;
	}
	if (!has(c, "result")) {
		fprintf(f, "%s",
			json_object_get_boolean(get(c, "running"))
			    ? "first check running"
			    : "not checked yet");
		return;
	}
	fprintf(f, "%s, %.1fs ago (%s), %lld %s in a row",
		ok	  ? "ok"
		: *reason ? reason
			  : str(c, "result", "?"),
		json_object_get_double(get(c, "ago")), str(c, "at", "?"),
		(long long)run,
		ok ? (run == 1 ? "success" : "successes")
		   : (run == 1 ? "failure" : "failures"));
}

void xl_status_print_service(FILE *f, json_object *svc)
{
	json_object *list = get(svc, "servers"), *s;
	char w[16];

	print_vs_line(f, svc);
	for (size_t i = 0; i < alen(list); i++) {
		s = json_object_array_get_idx(list, i);
		snprintf(w, sizeof(w), "%lld", (long long)num(s, "weight"));
		print_dest(f, s, w);
		fprintf(f, "%-9s ", str(s, "health", "?"));
		if (json_object_get_boolean(get(s, "maintenance")))
			fputs("MAINTENANCE (disabled); ", f);
		print_check(f, s);
		fputc('\n', f);
	}
	list = get(svc, "draining");
	for (size_t i = 0; i < alen(list); i++) {
		s = json_object_array_get_idx(list, i);
		print_dest(f, s, "-");
		fprintf(f, "%-9s removed from the configuration, until %s\n",
			"draining", str(s, "deadline", "?"));
	}
	if ((s = get(svc, "sorry"))) {
		snprintf(w, sizeof(w), "%lld", (long long)num(s, "weight"));
		print_dest(f, s, w);
		fprintf(f, "%-9s %s\n", "sorry",
			json_object_get_boolean(get(s, "in_kernel"))
			    ? "serving: quorum lost"
			    : "standby");
	}
}

void xl_status_print(FILE *f, json_object *reply)
{
	json_object *list = get(reply, "services");

	xl_status_print_head(f, reply);
	xl_status_print_titles(f);
	for (size_t i = 0; i < alen(list); i++)
		xl_status_print_service(f, json_object_array_get_idx(list, i));
}
