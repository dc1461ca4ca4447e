/*
 * obs.dll for the Windows smoke test: a small libobs, enough for obs-rtc-golive to load, keep
 * its settings and have its services driven the way OBS drives them.
 *
 * Compiled against libobs's own headers, so every function here has libobs's signature. What
 * each one does follows libobs (the file it comes from is named), in the plugin's Windows
 * reality: UTF-8 paths, an LLP64 ABI. Anything the plugin imports without using in the test's
 * flow is a plausible minimal stub that logs and returns null or zero, never garbage.
 *
 * Output on stdout, one whole line each: `LOG <level> <text>` for blog, `LAST_ERROR "<text>"`
 * for obs_output_set_last_error, `STUB <text>` for what the stub itself notes.
 */
#define WIN32_LEAN_AND_MEAN
#define STUB_BUILDING_OBS
#include <windows.h>

#include <sys/stat.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <obs-module.h>
#include <callback/calldata.h>
#include <callback/proc.h>
#include <callback/signal.h>
#include <graphics/graphics.h>
#include <media-io/audio-io.h>
#include <util/bmem.h>
#include <util/text-lookup.h>

#include "stub-api.h"

/* ------------------------------------------------------------------------------------------ */
/* Text helpers                                                                                */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap * 2 : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->p = brealloc(b->p, cap);
	b->cap = cap;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

static void sb_vprintf(struct sbuf *b, const char *format, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	int n = vsnprintf(NULL, 0, format, copy);
	va_end(copy);
	if (n < 0)
		return;
	sb_reserve(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, format, args);
	b->len += (size_t)n;
}

static void sb_printf(struct sbuf *b, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	sb_vprintf(b, format, args);
	va_end(args);
}

/* Gives the text to the caller (an empty string when nothing was written). */
static char *sb_take(struct sbuf *b)
{
	if (!b->p)
		sb_reserve(b, 0), b->p[0] = 0;
	char *p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

static char *dup_str(const char *s)
{
	return s ? bstrdup(s) : NULL;
}

/* UTF-8 <-> UTF-16, as libobs's os_utf8_to_wcs / os_wcs_to_utf8 on Windows. */
static wchar_t *utf8_to_wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	if (n <= 0)
		return NULL;
	wchar_t *w = bmalloc((size_t)n * sizeof(wchar_t));
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

static char *wide_to_utf8(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return NULL;
	char *s = bmalloc((size_t)n);
	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

/* An environment variable in UTF-8 (the test passes non-ASCII paths), or NULL. */
static char *env_utf8(const char *name)
{
	wchar_t *wname = utf8_to_wide(name);
	DWORD n = GetEnvironmentVariableW(wname, NULL, 0);
	char *value = NULL;
	if (n) {
		wchar_t *w = bmalloc((size_t)n * sizeof(wchar_t));
		if (GetEnvironmentVariableW(wname, w, n) < n)
			value = wide_to_utf8(w);
		bfree(w);
	}
	bfree(wname);
	return value;
}

/* A whole file as UTF-8 text (BOM skipped), as os_fopen + os_fread_utf8; NULL when unreadable. */
static char *read_text_file(const char *path)
{
	wchar_t *wpath = utf8_to_wide(path);
	FILE *f = wpath ? _wfopen(wpath, L"rb") : NULL;
	bfree(wpath);
	if (!f)
		return NULL;
	struct sbuf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_putn(&b, chunk, n);
	fclose(f);
	char *text = sb_take(&b);
	if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
	    (unsigned char)text[2] == 0xBF)
		memmove(text, text + 3, strlen(text + 3) + 1);
	return text;
}

static void json_quote(struct sbuf *b, const char *s)
{
	sb_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"':
			sb_puts(b, "\\\"");
			break;
		case '\\':
			sb_puts(b, "\\\\");
			break;
		case '\n':
			sb_puts(b, "\\n");
			break;
		case '\r':
			sb_puts(b, "\\r");
			break;
		case '\t':
			sb_puts(b, "\\t");
			break;
		default:
			if (c < 0x20)
				sb_printf(b, "\\u%04x", c);
			else
				sb_putc(b, (char)c);
		}
	}
	sb_putc(b, '"');
}

char *stub_json_string(const char *text)
{
	struct sbuf b = {0};
	json_quote(&b, text ? text : "");
	return sb_take(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* Output lines and the log (util/base.c)                                                      */

static SRWLOCK print_lock = SRWLOCK_INIT;

static void print_line(const char *text, size_t len)
{
	HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
	DWORD written;
	AcquireSRWLockExclusive(&print_lock);
	while (len > 0) {
		if (!WriteFile(out, text, (DWORD)len, &written, NULL) || written == 0)
			break;
		text += written;
		len -= written;
	}
	WriteFile(out, "\n", 1, &written, NULL);
	ReleaseSRWLockExclusive(&print_lock);
}

void stub_print(const char *format, ...)
{
	struct sbuf b = {0};
	va_list args;
	va_start(args, format);
	sb_vprintf(&b, format, args);
	va_end(args);
	print_line(b.p ? b.p : "", b.len);
	bfree(b.p);
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_ERROR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Each line of the message becomes one `LOG <level> <line>`, so no part of a message escapes
 * the test's reading of the log. */
void blogva(int log_level, const char *format, va_list args)
{
	struct sbuf text = {0};
	sb_vprintf(&text, format, args);
	const char *p = text.p ? text.p : "";
	for (;;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct sbuf line = {0};
		sb_printf(&line, "LOG %s ", level_name(log_level));
		sb_putn(&line, p, n);
		print_line(line.p, line.len);
		bfree(line.p);
		if (!end)
			break;
		p = end + 1;
	}
	bfree(text.p);
}

void blog(int log_level, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	blogva(log_level, format, args);
	va_end(args);
}

static void stub_note(const char *format, ...)
{
	struct sbuf b = {0};
	sb_puts(&b, "STUB ");
	va_list args;
	va_start(args, format);
	sb_vprintf(&b, format, args);
	va_end(args);
	print_line(b.p, b.len);
	bfree(b.p);
}

/* A libobs function the plugin imports but the test's flow never reaches. */
#define UNUSED_CALL() stub_note("unexpected call: %s (not emulated)", __func__)

/* ------------------------------------------------------------------------------------------ */
/* Memory (util/bmem.c)                                                                        */

static volatile long num_allocs;

void *bmalloc(size_t size)
{
	if (!size) {
		blog(LOG_ERROR, "bmalloc: Allocating 0 bytes is broken behavior, please fix your "
				"code! This will crash in future versions of OBS.");
		size = 1;
	}
	void *ptr = malloc(size);
	if (!ptr) {
		stub_note("bmalloc: out of memory (%llu bytes)", (unsigned long long)size);
		abort();
	}
	InterlockedIncrement(&num_allocs);
	return ptr;
}

void *brealloc(void *ptr, size_t size)
{
	if (!ptr)
		InterlockedIncrement(&num_allocs);
	if (!size) {
		blog(LOG_ERROR, "brealloc: Allocating 0 bytes is broken behavior, please fix your "
				"code! This will crash in future versions of OBS.");
		size = 1;
	}
	ptr = realloc(ptr, size);
	if (!ptr) {
		stub_note("brealloc: out of memory (%llu bytes)", (unsigned long long)size);
		abort();
	}
	return ptr;
}

void bfree(void *ptr)
{
	if (ptr) {
		InterlockedDecrement(&num_allocs);
		free(ptr);
	}
}

long bnum_allocs(void)
{
	return num_allocs;
}

void *bmemdup(const void *ptr, size_t size)
{
	void *out = bmalloc(size);
	if (size)
		memcpy(out, ptr, size);
	return out;
}

long stub_allocations(void)
{
	return num_allocs;
}

/* ------------------------------------------------------------------------------------------ */
/* Version (obs.c)                                                                             */

static uint32_t parse_version(const char *text)
{
	unsigned major = 0, minor = 0, patch = 0;
	if (!text || sscanf(text, "%u.%u.%u", &major, &minor, &patch) < 2)
		return 0;
	return (major << 24) | (minor << 16) | patch;
}

static char version_text[32];

uint32_t obs_get_version(void)
{
	static volatile LONG cached = -1;
	if (cached == -1) {
		char *env = env_utf8("STUB_OBS_VERSION");
		uint32_t version = parse_version(env);
		if (!version) {
			stub_note("STUB_OBS_VERSION is %s: emulating 30.2.3", env ? "invalid" : "unset");
			version = parse_version("30.2.3");
		}
		snprintf(version_text, sizeof(version_text), "%u.%u.%u", version >> 24,
			 (version >> 16) & 0xff, version & 0xffff);
		bfree(env);
		InterlockedExchange(&cached, (LONG)version);
	}
	return (uint32_t)cached;
}

const char *obs_get_version_string(void)
{
	obs_get_version();
	return version_text;
}

/* Registration rules that changed with the version (obs-service.c, obs-source.c). */
static bool at_least(unsigned major, unsigned minor)
{
	return obs_get_version() >= ((major << 24) | (minor << 16));
}

/* What `sizeof(struct obs_service_info)` is in the running libobs: 29.0 ends its struct at
 * get_supported_video_codecs; 29.1 added get_protocol .. can_try_to_connect. */
static size_t service_info_size(void)
{
	return at_least(29, 1) ? sizeof(struct obs_service_info)
			       : offsetof(struct obs_service_info, get_protocol);
}

/* libobs 29.0.2's struct obs_source_info is 400 bytes on x86_64 (measured on its headers);
 * these headers' struct is the newest one. */
static size_t source_info_size(void)
{
	return at_least(30, 0) ? sizeof(struct obs_source_info) : 400;
}

/* ------------------------------------------------------------------------------------------ */
/* Settings: obs_data_t (obs-data.c). User values and defaults are kept apart; JSON carries   */
/* the user values only.                                                                      */

struct data_value {
	enum obs_data_number_type numtype;
	long long i;
	double d;
	bool b;
	char *s;
	obs_data_t *obj;
	obs_data_array_t *arr;
};

struct obs_data_item {
	char *name;
	enum obs_data_type type;
	bool has_user, has_default;
	struct data_value user, def;
	struct obs_data_item *next;
};

struct obs_data {
	volatile long refs;
	struct obs_data_item *first;
	char *json;
};

struct obs_data_array {
	volatile long refs;
	obs_data_t **objects;
	size_t num, cap;
};

static void value_free(struct data_value *v)
{
	bfree(v->s);
	if (v->obj)
		obs_data_release(v->obj);
	if (v->arr)
		obs_data_array_release(v->arr);
	memset(v, 0, sizeof(*v));
}

obs_data_t *obs_data_create(void)
{
	obs_data_t *data = bzalloc(sizeof(obs_data_t));
	data->refs = 1;
	return data;
}

void obs_data_addref(obs_data_t *data)
{
	if (data)
		InterlockedIncrement(&data->refs);
}

static void item_destroy(struct obs_data_item *item)
{
	value_free(&item->user);
	value_free(&item->def);
	bfree(item->name);
	bfree(item);
}

void obs_data_release(obs_data_t *data)
{
	if (!data || InterlockedDecrement(&data->refs) != 0)
		return;
	struct obs_data_item *item = data->first;
	while (item) {
		struct obs_data_item *next = item->next;
		item_destroy(item);
		item = next;
	}
	bfree(data->json);
	bfree(data);
}

obs_data_array_t *obs_data_array_create(void)
{
	obs_data_array_t *array = bzalloc(sizeof(obs_data_array_t));
	array->refs = 1;
	return array;
}

void obs_data_array_addref(obs_data_array_t *array)
{
	if (array)
		InterlockedIncrement(&array->refs);
}

void obs_data_array_release(obs_data_array_t *array)
{
	if (!array || InterlockedDecrement(&array->refs) != 0)
		return;
	for (size_t i = 0; i < array->num; i++)
		obs_data_release(array->objects[i]);
	bfree(array->objects);
	bfree(array);
}

size_t obs_data_array_count(obs_data_array_t *array)
{
	return array ? array->num : 0;
}

obs_data_t *obs_data_array_item(obs_data_array_t *array, size_t idx)
{
	if (!array || idx >= array->num)
		return NULL;
	obs_data_addref(array->objects[idx]);
	return array->objects[idx];
}

size_t obs_data_array_push_back(obs_data_array_t *array, obs_data_t *obj)
{
	if (!array || !obj)
		return 0;
	if (array->num == array->cap) {
		array->cap = array->cap ? array->cap * 2 : 4;
		array->objects = brealloc(array->objects, array->cap * sizeof(obs_data_t *));
	}
	obs_data_addref(obj);
	array->objects[array->num] = obj;
	return array->num++;
}

static struct obs_data_item *find_item(obs_data_t *data, const char *name)
{
	if (!data || !name)
		return NULL;
	for (struct obs_data_item *item = data->first; item; item = item->next)
		if (strcmp(item->name, name) == 0)
			return item;
	return NULL;
}

static struct obs_data_item *add_item(obs_data_t *data, const char *name, enum obs_data_type type)
{
	struct obs_data_item *item = bzalloc(sizeof(struct obs_data_item));
	item->name = bstrdup(name);
	item->type = type;
	struct obs_data_item **tail = &data->first;
	while (*tail)
		tail = &(*tail)->next;
	*tail = item;
	return item;
}

/* Takes over `value`. A user value of another type replaces the item's type (and its
 * default); a default of another type than the item's is ignored, as in libobs. */
static void set_value(obs_data_t *data, const char *name, enum obs_data_type type,
		      struct data_value value, bool is_default)
{
	if (!data || !name) {
		value_free(&value);
		return;
	}
	struct obs_data_item *item = find_item(data, name);
	if (item && item->type != type) {
		if (is_default) {
			value_free(&value);
			return;
		}
		value_free(&item->user);
		value_free(&item->def);
		item->has_user = item->has_default = false;
		item->type = type;
	}
	if (!item)
		item = add_item(data, name, type);
	struct data_value *slot = is_default ? &item->def : &item->user;
	value_free(slot);
	*slot = value;
	if (is_default)
		item->has_default = true;
	else
		item->has_user = true;
}

static struct data_value string_value(const char *val)
{
	struct data_value v = {0};
	v.s = bstrdup(val ? val : "");
	return v;
}

static struct data_value int_value(long long val)
{
	struct data_value v = {0};
	v.numtype = OBS_DATA_NUM_INT;
	v.i = val;
	return v;
}

static struct data_value double_value(double val)
{
	struct data_value v = {0};
	v.numtype = OBS_DATA_NUM_DOUBLE;
	v.d = val;
	return v;
}

static struct data_value bool_value(bool val)
{
	struct data_value v = {0};
	v.b = val;
	return v;
}

static struct data_value obj_value(obs_data_t *obj)
{
	struct data_value v = {0};
	obs_data_addref(obj);
	v.obj = obj;
	return v;
}

static struct data_value array_value(obs_data_array_t *array)
{
	struct data_value v = {0};
	obs_data_array_addref(array);
	v.arr = array;
	return v;
}

void obs_data_set_string(obs_data_t *data, const char *name, const char *val)
{
	set_value(data, name, OBS_DATA_STRING, string_value(val), false);
}

void obs_data_set_int(obs_data_t *data, const char *name, long long val)
{
	set_value(data, name, OBS_DATA_NUMBER, int_value(val), false);
}

void obs_data_set_double(obs_data_t *data, const char *name, double val)
{
	set_value(data, name, OBS_DATA_NUMBER, double_value(val), false);
}

void obs_data_set_bool(obs_data_t *data, const char *name, bool val)
{
	set_value(data, name, OBS_DATA_BOOLEAN, bool_value(val), false);
}

void obs_data_set_obj(obs_data_t *data, const char *name, obs_data_t *obj)
{
	if (obj)
		set_value(data, name, OBS_DATA_OBJECT, obj_value(obj), false);
}

void obs_data_set_array(obs_data_t *data, const char *name, obs_data_array_t *array)
{
	if (array)
		set_value(data, name, OBS_DATA_ARRAY, array_value(array), false);
}

void obs_data_set_default_string(obs_data_t *data, const char *name, const char *val)
{
	set_value(data, name, OBS_DATA_STRING, string_value(val), true);
}

void obs_data_set_default_int(obs_data_t *data, const char *name, long long val)
{
	set_value(data, name, OBS_DATA_NUMBER, int_value(val), true);
}

void obs_data_set_default_double(obs_data_t *data, const char *name, double val)
{
	set_value(data, name, OBS_DATA_NUMBER, double_value(val), true);
}

void obs_data_set_default_bool(obs_data_t *data, const char *name, bool val)
{
	set_value(data, name, OBS_DATA_BOOLEAN, bool_value(val), true);
}

void obs_data_set_default_obj(obs_data_t *data, const char *name, obs_data_t *obj)
{
	if (obj)
		set_value(data, name, OBS_DATA_OBJECT, obj_value(obj), true);
}

/* The value a getter reads: the user's, else the default. */
static const struct data_value *item_value(const struct obs_data_item *item)
{
	if (!item)
		return NULL;
	if (item->has_user)
		return &item->user;
	if (item->has_default)
		return &item->def;
	return NULL;
}

enum obs_data_type obs_data_item_gettype(obs_data_item_t *item)
{
	return item ? item->type : OBS_DATA_NULL;
}

enum obs_data_number_type obs_data_item_numtype(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	return item && item->type == OBS_DATA_NUMBER && v ? v->numtype : OBS_DATA_NUM_INVALID;
}

const char *obs_data_item_get_string(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	return item && item->type == OBS_DATA_STRING && v && v->s ? v->s : "";
}

long long obs_data_item_get_int(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	if (!item || item->type != OBS_DATA_NUMBER || !v)
		return 0;
	return v->numtype == OBS_DATA_NUM_INT ? v->i : (long long)v->d;
}

double obs_data_item_get_double(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	if (!item || item->type != OBS_DATA_NUMBER || !v)
		return 0.0;
	return v->numtype == OBS_DATA_NUM_INT ? (double)v->i : v->d;
}

bool obs_data_item_get_bool(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	return item && item->type == OBS_DATA_BOOLEAN && v && v->b;
}

obs_data_t *obs_data_item_get_obj(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	if (!item || item->type != OBS_DATA_OBJECT || !v || !v->obj)
		return NULL;
	obs_data_addref(v->obj);
	return v->obj;
}

obs_data_array_t *obs_data_item_get_array(obs_data_item_t *item)
{
	const struct data_value *v = item_value(item);
	if (!item || item->type != OBS_DATA_ARRAY || !v || !v->arr)
		return NULL;
	obs_data_array_addref(v->arr);
	return v->arr;
}

const char *obs_data_get_string(obs_data_t *data, const char *name)
{
	return obs_data_item_get_string(find_item(data, name));
}

long long obs_data_get_int(obs_data_t *data, const char *name)
{
	return obs_data_item_get_int(find_item(data, name));
}

double obs_data_get_double(obs_data_t *data, const char *name)
{
	return obs_data_item_get_double(find_item(data, name));
}

bool obs_data_get_bool(obs_data_t *data, const char *name)
{
	return obs_data_item_get_bool(find_item(data, name));
}

obs_data_t *obs_data_get_obj(obs_data_t *data, const char *name)
{
	return obs_data_item_get_obj(find_item(data, name));
}

obs_data_array_t *obs_data_get_array(obs_data_t *data, const char *name)
{
	return obs_data_item_get_array(find_item(data, name));
}

static struct data_value copy_value(const struct data_value *v)
{
	struct data_value c = *v;
	c.s = dup_str(v->s);
	obs_data_addref(c.obj);
	obs_data_array_addref(c.arr);
	return c;
}

/* libobs copies every item's value; objects and arrays by reference. */
void obs_data_apply(obs_data_t *target, obs_data_t *apply_data)
{
	if (!target || !apply_data || target == apply_data)
		return;
	for (struct obs_data_item *item = apply_data->first; item; item = item->next)
		if (item->has_user)
			set_value(target, item->name, item->type, copy_value(&item->user), false);
}

/* Unsets every user value; the defaults stay. */
void obs_data_clear(obs_data_t *data)
{
	if (!data)
		return;
	for (struct obs_data_item *item = data->first; item; item = item->next) {
		value_free(&item->user);
		item->has_user = false;
	}
}

/* JSON text: the user values only, in insertion order, compact (jansson's output). */
static void data_to_json(struct sbuf *b, obs_data_t *data);

static void value_to_json(struct sbuf *b, enum obs_data_type type, const struct data_value *v)
{
	switch (type) {
	case OBS_DATA_STRING:
		json_quote(b, v->s ? v->s : "");
		break;
	case OBS_DATA_NUMBER:
		if (v->numtype == OBS_DATA_NUM_INT) {
			sb_printf(b, "%lld", v->i);
		} else {
			char text[64];
			snprintf(text, sizeof(text), "%.17g", v->d);
			sb_puts(b, text);
			if (!strpbrk(text, ".eE"))
				sb_puts(b, ".0");
		}
		break;
	case OBS_DATA_BOOLEAN:
		sb_puts(b, v->b ? "true" : "false");
		break;
	case OBS_DATA_OBJECT:
		data_to_json(b, v->obj);
		break;
	case OBS_DATA_ARRAY:
		sb_putc(b, '[');
		for (size_t i = 0; v->arr && i < v->arr->num; i++) {
			if (i)
				sb_putc(b, ',');
			data_to_json(b, v->arr->objects[i]);
		}
		sb_putc(b, ']');
		break;
	default:
		sb_puts(b, "null");
	}
}

static void data_to_json(struct sbuf *b, obs_data_t *data)
{
	bool first = true;
	sb_putc(b, '{');
	for (struct obs_data_item *item = data ? data->first : NULL; item; item = item->next) {
		if (!item->has_user)
			continue;
		if (item->type == OBS_DATA_NUMBER && item->user.numtype == OBS_DATA_NUM_DOUBLE &&
		    (item->user.d != item->user.d || item->user.d - item->user.d != 0))
			continue; /* jansson refuses NaN and infinities */
		if (!first)
			sb_putc(b, ',');
		first = false;
		json_quote(b, item->name);
		sb_putc(b, ':');
		value_to_json(b, item->type, &item->user);
	}
	sb_putc(b, '}');
}

const char *obs_data_get_json(obs_data_t *data)
{
	if (!data)
		return NULL;
	struct sbuf b = {0};
	data_to_json(&b, data);
	bfree(data->json);
	data->json = sb_take(&b);
	return data->json;
}

/* A JSON parser with jansson's rules as libobs uses them (JSON_REJECT_DUPLICATES; the top
 * level is an object or an array; arrays keep only their objects; null is skipped). */
struct json_parser {
	const char *p;
	const char *error;
};

static void json_ws(struct json_parser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
		jp->p++;
}

static bool json_fail(struct json_parser *jp, const char *error)
{
	if (!jp->error)
		jp->error = error;
	return false;
}

static void put_utf8(struct sbuf *b, unsigned long cp)
{
	char out[4];
	size_t n;
	if (cp < 0x80) {
		out[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6)), out[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12)), out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		out[0] = (char)(0xF0 | (cp >> 18)), out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), out[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sb_putn(b, out, n);
}

static bool json_hex4(struct json_parser *jp, unsigned long *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = *jp->p++;
		*out <<= 4;
		if (c >= '0' && c <= '9')
			*out |= (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*out |= (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*out |= (unsigned long)(c - 'A' + 10);
		else
			return json_fail(jp, "invalid \\u escape");
	}
	return true;
}

/* The string at jp->p (its opening quote), bmalloc'd, or NULL. */
static char *json_string(struct json_parser *jp)
{
	struct sbuf b = {0};
	jp->p++;
	for (;;) {
		unsigned char c = (unsigned char)*jp->p++;
		if (c == '"')
			return sb_take(&b);
		if (c == 0 || c < 0x20) {
			json_fail(jp, c ? "control character in a string" : "unterminated string");
			break;
		}
		if (c != '\\') {
			sb_putc(&b, (char)c);
			continue;
		}
		char e = *jp->p++;
		unsigned long cp, low;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			sb_putc(&b, e);
			break;
		case 'b':
			sb_putc(&b, '\b');
			break;
		case 'f':
			sb_putc(&b, '\f');
			break;
		case 'n':
			sb_putc(&b, '\n');
			break;
		case 'r':
			sb_putc(&b, '\r');
			break;
		case 't':
			sb_putc(&b, '\t');
			break;
		case 'u':
			if (!json_hex4(jp, &cp))
				goto fail;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (jp->p[0] != '\\' || jp->p[1] != 'u') {
					json_fail(jp, "lone surrogate");
					goto fail;
				}
				jp->p += 2;
				if (!json_hex4(jp, &low))
					goto fail;
				if (low < 0xDC00 || low > 0xDFFF) {
					json_fail(jp, "invalid surrogate pair");
					goto fail;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				json_fail(jp, "lone surrogate");
				goto fail;
			}
			if (cp == 0) {
				json_fail(jp, "\\u0000 is not allowed");
				goto fail;
			}
			put_utf8(&b, cp);
			break;
		default:
			json_fail(jp, "invalid escape");
			goto fail;
		}
	}
fail:
	bfree(b.p);
	return NULL;
}

static bool json_object_into(struct json_parser *jp, obs_data_t *data, int depth);

/* The array at jp->p: its objects become obs_data objects, anything else is skipped. */
static obs_data_array_t *json_array(struct json_parser *jp, int depth)
{
	obs_data_array_t *array = obs_data_array_create();
	jp->p++;
	json_ws(jp);
	if (*jp->p == ']') {
		jp->p++;
		return array;
	}
	for (;;) {
		json_ws(jp);
		if (*jp->p == '{') {
			obs_data_t *obj = obs_data_create();
			bool ok = json_object_into(jp, obj, depth + 1);
			if (ok)
				obs_data_array_push_back(array, obj);
			obs_data_release(obj);
			if (!ok)
				break;
		} else {
			/* Parsed for validity, then dropped. */
			struct json_parser sub = *jp;
			bool ok = false;
			if (*sub.p == '[') {
				obs_data_array_t *inner = json_array(&sub, depth + 1);
				ok = inner != NULL;
				obs_data_array_release(inner);
			} else if (*sub.p == '"') {
				char *s = json_string(&sub);
				ok = s != NULL;
				bfree(s);
			} else {
				const char *start = sub.p;
				while (*sub.p && !strchr(",]} \t\r\n", *sub.p))
					sub.p++;
				ok = sub.p > start;
			}
			jp->p = sub.p;
			if (!ok) {
				json_fail(jp, sub.error ? sub.error : "invalid array element");
				break;
			}
		}
		json_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == ']') {
			jp->p++;
			return array;
		}
		json_fail(jp, "expected ',' or ']'");
		break;
	}
	obs_data_array_release(array);
	return NULL;
}

static bool json_member(struct json_parser *jp, obs_data_t *data, const char *key, int depth)
{
	json_ws(jp);
	char c = *jp->p;
	if (c == '"') {
		char *s = json_string(jp);
		if (!s)
			return false;
		obs_data_set_string(data, key, s);
		bfree(s);
		return true;
	}
	if (c == '{') {
		obs_data_t *obj = obs_data_create();
		bool ok = json_object_into(jp, obj, depth + 1);
		if (ok)
			obs_data_set_obj(data, key, obj);
		obs_data_release(obj);
		return ok;
	}
	if (c == '[') {
		obs_data_array_t *array = json_array(jp, depth + 1);
		if (!array)
			return false;
		obs_data_set_array(data, key, array);
		obs_data_array_release(array);
		return true;
	}
	if (strncmp(jp->p, "true", 4) == 0) {
		jp->p += 4;
		obs_data_set_bool(data, key, true);
		return true;
	}
	if (strncmp(jp->p, "false", 5) == 0) {
		jp->p += 5;
		obs_data_set_bool(data, key, false);
		return true;
	}
	if (strncmp(jp->p, "null", 4) == 0) {
		jp->p += 4;
		return true;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		const char *start = jp->p;
		bool real = false;
		while (*jp->p && strchr("+-0123456789.eE", *jp->p)) {
			if (strchr(".eE", *jp->p))
				real = true;
			jp->p++;
		}
		char *end;
		errno = 0;
		if (real) {
			double d = strtod(start, &end);
			if (end != jp->p)
				return json_fail(jp, "invalid number");
			obs_data_set_double(data, key, d);
		} else {
			long long i = strtoll(start, &end, 10);
			if (end != jp->p || errno == ERANGE)
				return json_fail(jp, "invalid or too big integer");
			obs_data_set_int(data, key, i);
		}
		return true;
	}
	return json_fail(jp, "invalid value");
}

static bool json_object_into(struct json_parser *jp, obs_data_t *data, int depth)
{
	if (depth > 64)
		return json_fail(jp, "maximum parsing depth reached");
	jp->p++;
	json_ws(jp);
	if (*jp->p == '}') {
		jp->p++;
		return true;
	}
	for (;;) {
		json_ws(jp);
		if (*jp->p != '"')
			return json_fail(jp, "string or '}' expected");
		char *key = json_string(jp);
		if (!key)
			return false;
		if (find_item(data, key)) {
			bfree(key);
			return json_fail(jp, "duplicate object key");
		}
		json_ws(jp);
		if (*jp->p != ':') {
			bfree(key);
			return json_fail(jp, "':' expected");
		}
		jp->p++;
		bool ok = json_member(jp, data, key, depth);
		bfree(key);
		if (!ok)
			return false;
		json_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == '}') {
			jp->p++;
			return true;
		}
		return json_fail(jp, "',' or '}' expected");
	}
}

obs_data_t *obs_data_create_from_json(const char *json_string)
{
	struct json_parser jp = {json_string ? json_string : "", NULL};
	obs_data_t *data = obs_data_create();
	json_ws(&jp);
	bool ok;
	if (*jp.p == '{') {
		ok = json_object_into(&jp, data, 0);
	} else if (*jp.p == '[') {
		obs_data_array_t *array = json_array(&jp, 0);
		ok = array != NULL;
		obs_data_array_release(array);
	} else {
		ok = json_fail(&jp, "'[' or '{' expected");
	}
	if (ok) {
		json_ws(&jp);
		if (*jp.p)
			ok = json_fail(&jp, "end of file expected");
	}
	if (!ok) {
		blog(LOG_ERROR,
		     "obs-data.c: [obs_data_create_from_json] Failed reading json string (1): %s",
		     jp.error ? jp.error : "invalid JSON");
		obs_data_release(data);
		return NULL;
	}
	return data;
}

/* ------------------------------------------------------------------------------------------ */
/* calldata (callback/calldata.c): the same stack layout as libobs, so the header's inline   */
/* calldata_set_ptr / calldata_free / ... work on it.                                          */
/*   [size_t name_size][name + NUL][size_t data_size][data] ... [size_t 0]                     */

static uint8_t *cd_find(const calldata_t *data, const char *name)
{
	if (!data->stack)
		return NULL;
	uint8_t *p = data->stack;
	for (;;) {
		size_t name_size;
		memcpy(&name_size, p, sizeof(size_t));
		if (!name_size)
			return NULL;
		if (strcmp((const char *)p + sizeof(size_t), name) == 0)
			return p;
		p += sizeof(size_t) + name_size;
		size_t data_size;
		memcpy(&data_size, p, sizeof(size_t));
		p += sizeof(size_t) + data_size;
	}
}

static size_t cd_item_size(const uint8_t *p)
{
	size_t name_size, data_size;
	memcpy(&name_size, p, sizeof(size_t));
	memcpy(&data_size, p + sizeof(size_t) + name_size, sizeof(size_t));
	return 2 * sizeof(size_t) + name_size + data_size;
}

static bool cd_reserve(calldata_t *data, size_t needed)
{
	if (needed <= data->capacity)
		return true;
	if (data->fixed) {
		blog(LOG_ERROR, "Tried to go above fixed calldata stack size!");
		return false;
	}
	size_t capacity = data->capacity ? data->capacity * 2 : 128;
	while (capacity < needed)
		capacity *= 2;
	data->stack = brealloc(data->stack, capacity);
	data->capacity = capacity;
	return true;
}

void calldata_set_data(calldata_t *data, const char *name, const void *in, size_t new_size)
{
	if (!data || !name || !*name)
		return;
	size_t name_size = strlen(name) + 1;
	if (!data->stack) {
		if (!cd_reserve(data, sizeof(size_t)))
			return;
		memset(data->stack, 0, sizeof(size_t));
		data->size = sizeof(size_t);
	}
	uint8_t *item = cd_find(data, name);
	if (item) {
		/* Removed, then appended again with the new size. */
		size_t old = cd_item_size(item);
		memmove(item, item + old, data->size - (size_t)(item - data->stack) - old);
		data->size -= old;
	}
	size_t item_size = 2 * sizeof(size_t) + name_size + new_size;
	if (!cd_reserve(data, data->size + item_size))
		return;
	uint8_t *p = data->stack + data->size - sizeof(size_t);
	memcpy(p, &name_size, sizeof(size_t));
	memcpy(p + sizeof(size_t), name, name_size);
	p += sizeof(size_t) + name_size;
	memcpy(p, &new_size, sizeof(size_t));
	if (new_size)
		memcpy(p + sizeof(size_t), in, new_size);
	p += sizeof(size_t) + new_size;
	memset(p, 0, sizeof(size_t));
	data->size += item_size;
}

bool calldata_get_data(const calldata_t *data, const char *name, void *out, size_t size)
{
	if (!data || !name || !*name)
		return false;
	uint8_t *item = cd_find(data, name);
	if (!item)
		return false;
	size_t name_size, data_size;
	memcpy(&name_size, item, sizeof(size_t));
	uint8_t *p = item + sizeof(size_t) + name_size;
	memcpy(&data_size, p, sizeof(size_t));
	if (data_size != size)
		return false;
	memcpy(out, p + sizeof(size_t), size);
	return true;
}

bool calldata_get_string(const calldata_t *data, const char *name, const char **str)
{
	if (!data || !name || !*name)
		return false;
	uint8_t *item = cd_find(data, name);
	if (!item)
		return false;
	size_t name_size, data_size;
	memcpy(&name_size, item, sizeof(size_t));
	uint8_t *p = item + sizeof(size_t) + name_size;
	memcpy(&data_size, p, sizeof(size_t));
	*str = data_size ? (const char *)p + sizeof(size_t) : NULL;
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Signals (callback/signal.c): callbacks run with the signal's (recursive) lock held; a     */
/* callback disconnected while signalling is removed afterwards.                               */

struct signal_entry {
	char *signal;
	signal_callback_t callback;
	void *data;
	bool removed;
};

struct signal_handler {
	CRITICAL_SECTION lock;
	char **declared;
	size_t num_declared;
	struct signal_entry *entries;
	size_t num, cap;
	int signalling;
};

signal_handler_t *signal_handler_create(void)
{
	signal_handler_t *handler = bzalloc(sizeof(signal_handler_t));
	InitializeCriticalSection(&handler->lock);
	return handler;
}

void signal_handler_destroy(signal_handler_t *handler)
{
	if (!handler)
		return;
	for (size_t i = 0; i < handler->num; i++)
		bfree(handler->entries[i].signal);
	for (size_t i = 0; i < handler->num_declared; i++)
		bfree(handler->declared[i]);
	bfree(handler->entries);
	bfree(handler->declared);
	DeleteCriticalSection(&handler->lock);
	bfree(handler);
}

/* "void stop(ptr output, int code)" declares "stop". */
bool signal_handler_add(signal_handler_t *handler, const char *signal_decl)
{
	if (!handler || !signal_decl)
		return false;
	const char *name = strchr(signal_decl, ' ');
	const char *paren = strchr(signal_decl, '(');
	if (!name || !paren || paren < name)
		return false;
	name++;
	EnterCriticalSection(&handler->lock);
	handler->declared =
		brealloc(handler->declared, (handler->num_declared + 1) * sizeof(char *));
	handler->declared[handler->num_declared++] = bstrdup_n(name, (size_t)(paren - name));
	LeaveCriticalSection(&handler->lock);
	return true;
}

static bool signal_declared(signal_handler_t *handler, const char *signal)
{
	for (size_t i = 0; i < handler->num_declared; i++)
		if (strcmp(handler->declared[i], signal) == 0)
			return true;
	return false;
}

static struct signal_entry *signal_find(signal_handler_t *handler, const char *signal,
					signal_callback_t callback, void *data)
{
	for (size_t i = 0; i < handler->num; i++) {
		struct signal_entry *e = &handler->entries[i];
		if (!e->removed && e->callback == callback && e->data == data &&
		    strcmp(e->signal, signal) == 0)
			return e;
	}
	return NULL;
}

void signal_handler_connect(signal_handler_t *handler, const char *signal,
			    signal_callback_t callback, void *data)
{
	if (!handler || !signal || !callback)
		return;
	EnterCriticalSection(&handler->lock);
	if (!signal_declared(handler, signal)) {
		LeaveCriticalSection(&handler->lock);
		blog(LOG_WARNING, "signal_handler_connect: signal '%s' not found", signal);
		return;
	}
	if (!signal_find(handler, signal, callback, data)) {
		if (handler->num == handler->cap) {
			handler->cap = handler->cap ? handler->cap * 2 : 8;
			handler->entries =
				brealloc(handler->entries, handler->cap * sizeof(struct signal_entry));
		}
		struct signal_entry *e = &handler->entries[handler->num++];
		e->signal = bstrdup(signal);
		e->callback = callback;
		e->data = data;
		e->removed = false;
	}
	LeaveCriticalSection(&handler->lock);
}

static void signal_compact(signal_handler_t *handler)
{
	size_t kept = 0;
	for (size_t i = 0; i < handler->num; i++) {
		if (handler->entries[i].removed)
			bfree(handler->entries[i].signal);
		else
			handler->entries[kept++] = handler->entries[i];
	}
	handler->num = kept;
}

void signal_handler_disconnect(signal_handler_t *handler, const char *signal,
			       signal_callback_t callback, void *data)
{
	if (!handler || !signal || !callback)
		return;
	EnterCriticalSection(&handler->lock);
	struct signal_entry *e = signal_find(handler, signal, callback, data);
	if (e) {
		e->removed = true;
		if (!handler->signalling)
			signal_compact(handler);
	}
	LeaveCriticalSection(&handler->lock);
}

void signal_handler_signal(signal_handler_t *handler, const char *signal, calldata_t *params)
{
	if (!handler || !signal)
		return;
	EnterCriticalSection(&handler->lock);
	handler->signalling++;
	/* Entries connected during the signal are not called (libobs iterates a snapshot). */
	size_t num = handler->num;
	for (size_t i = 0; i < num; i++) {
		struct signal_entry e = handler->entries[i];
		if (!e.removed && strcmp(e.signal, signal) == 0)
			e.callback(e.data, params);
	}
	if (--handler->signalling == 0)
		signal_compact(handler);
	LeaveCriticalSection(&handler->lock);
}

static const char *output_signals[] = {
	"void destroy(ptr output)",      "void remove(ptr output)",
	"void rename(ptr output, string new_name, string prev_name)",
	"void start(ptr output)",        "void stop(ptr output, int code)",
	"void pause(ptr output)",        "void unpause(ptr output)",
	"void starting(ptr output)",     "void stopping(ptr output)",
	"void activate(ptr output)",     "void deactivate(ptr output)",
	"void reconnect(ptr output)",    "void reconnect_success(ptr output)",
	NULL,
};

static const char *source_signals[] = {
	"void destroy(ptr source)",
	"void remove(ptr source)",
	"void update(ptr source)",
	"void save(ptr source)",
	"void load(ptr source)",
	"void activate(ptr source)",
	"void deactivate(ptr source)",
	"void show(ptr source)",
	"void hide(ptr source)",
	"void mute(ptr source, bool muted)",
	"void rename(ptr source, string new_name, string prev_name)",
	"void volume(ptr source, in out float volume)",
	"void update_properties(ptr source)",
	"void update_flags(ptr source, int flags)",
	"void audio_sync(ptr source, int out int offset)",
	"void audio_mixers(ptr source, in out int mixers)",
	"void audio_activate(ptr source)",
	"void audio_deactivate(ptr source)",
	"void filter_add(ptr source, ptr filter)",
	"void filter_remove(ptr source, ptr filter)",
	"void reorder_filters(ptr source)",
	"void transition_start(ptr source)",
	"void transition_video_stop(ptr source)",
	"void transition_stop(ptr source)",
	"void media_play(ptr source)",
	"void media_pause(ptr source)",
	"void media_restart(ptr source)",
	"void media_stopped(ptr source)",
	"void media_next(ptr source)",
	"void media_previous(ptr source)",
	"void media_started(ptr source)",
	"void media_ended(ptr source)",
	NULL,
};

static signal_handler_t *signals_with(const char **decls)
{
	signal_handler_t *handler = signal_handler_create();
	for (size_t i = 0; decls[i]; i++)
		signal_handler_add(handler, decls[i]);
	return handler;
}

/* ------------------------------------------------------------------------------------------ */
/* Procedures (callback/proc.c): the global handler has no procedures (obs-websocket is not   */
/* loaded).                                                                                    */

struct proc_handler {
	int unused;
};

static struct proc_handler global_procs;

proc_handler_t *obs_get_proc_handler(void)
{
	return &global_procs;
}

bool proc_handler_call(proc_handler_t *handler, const char *name, calldata_t *params)
{
	(void)params;
	if (handler == &global_procs)
		stub_note("proc_handler_call(%s): no such procedure (obs-websocket is not loaded)",
			  name ? name : "(null)");
	return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Tasks (obs.c obs_queue_task + the frontend's ui_task_handler). A UI task queued from the   */
/* UI thread runs at once (Qt::AutoConnection / DirectConnection there); from another thread */
/* it waits in the queue the UI thread runs, and `wait` blocks until it ran. Other task types */
/* run on a worker thread standing in for libobs's graphics/audio/destroy threads.            */

struct task {
	obs_task_t fn;
	void *param;
	HANDLE done;
	struct task *next;
};

struct task_queue {
	SRWLOCK lock;
	CONDITION_VARIABLE changed;
	struct task *head, *tail;
};

static struct task_queue ui_queue = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, NULL, NULL};
static struct task_queue worker_queue = {SRWLOCK_INIT, CONDITION_VARIABLE_INIT, NULL, NULL};
static volatile DWORD ui_thread_id;
static volatile DWORD worker_thread_id;
static INIT_ONCE worker_once = INIT_ONCE_STATIC_INIT;

static void queue_push(struct task_queue *q, struct task *t)
{
	AcquireSRWLockExclusive(&q->lock);
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	ReleaseSRWLockExclusive(&q->lock);
	WakeAllConditionVariable(&q->changed);
}

/* The next task, waiting up to timeout_ms for one (NULL when none came). */
static struct task *queue_pop(struct task_queue *q, DWORD timeout_ms)
{
	AcquireSRWLockExclusive(&q->lock);
	ULONGLONG deadline = GetTickCount64() + timeout_ms;
	while (!q->head) {
		ULONGLONG now = GetTickCount64();
		if (timeout_ms != INFINITE && now >= deadline)
			break;
		DWORD wait = timeout_ms == INFINITE ? INFINITE : (DWORD)(deadline - now);
		SleepConditionVariableSRW(&q->changed, &q->lock, wait, 0);
	}
	struct task *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	ReleaseSRWLockExclusive(&q->lock);
	return t;
}

static void task_run(struct task *t)
{
	t->fn(t->param);
	if (t->done)
		SetEvent(t->done); /* the waiter frees it */
	else
		bfree(t);
}

static DWORD WINAPI worker_main(void *unused)
{
	(void)unused;
	for (;;) {
		struct task *t = queue_pop(&worker_queue, INFINITE);
		if (t)
			task_run(t);
	}
	return 0;
}

static BOOL CALLBACK worker_start(PINIT_ONCE once, void *param, void **context)
{
	(void)once, (void)param, (void)context;
	DWORD id;
	HANDLE thread = CreateThread(NULL, 0, worker_main, NULL, 0, &id);
	if (!thread)
		return FALSE;
	worker_thread_id = id;
	CloseHandle(thread);
	return TRUE;
}

static void queue_and_maybe_wait(struct task_queue *q, obs_task_t task, void *param, bool wait)
{
	struct task *t = bzalloc(sizeof(struct task));
	t->fn = task;
	t->param = param;
	if (wait)
		t->done = CreateEventW(NULL, TRUE, FALSE, NULL);
	queue_push(q, t);
	if (wait) {
		WaitForSingleObject(t->done, INFINITE);
		CloseHandle(t->done);
		bfree(t);
	}
}

void obs_queue_task(enum obs_task_type type, obs_task_t task, void *param, bool wait)
{
	if (!task)
		return;
	if (type == OBS_TASK_UI) {
		if (!ui_thread_id) {
			blog(LOG_ERROR, "UI task could not be queued, there's no UI task handler!");
			return;
		}
		if (GetCurrentThreadId() == ui_thread_id) {
			task(param);
			return;
		}
		queue_and_maybe_wait(&ui_queue, task, param, wait);
		return;
	}
	InitOnceExecuteOnce(&worker_once, worker_start, NULL, NULL);
	if (GetCurrentThreadId() == worker_thread_id) {
		task(param);
		return;
	}
	queue_and_maybe_wait(&worker_queue, task, param, wait);
}

void stub_set_ui_thread(void)
{
	ui_thread_id = GetCurrentThreadId();
}

bool stub_on_ui_thread(void)
{
	return ui_thread_id && GetCurrentThreadId() == ui_thread_id;
}

int stub_run_ui_tasks(unsigned timeout_ms)
{
	int ran = 0;
	struct task *t = queue_pop(&ui_queue, timeout_ms);
	while (t) {
		task_run(t);
		ran++;
		t = queue_pop(&ui_queue, 0);
	}
	return ran;
}

/* ------------------------------------------------------------------------------------------ */
/* Text lookup (util/text-lookup.c): `Key="Value"` lines, `#` comments, \n \t \r \" escapes, */
/* keys case-insensitive, a later file's value replacing an earlier one.                       */

struct text_leaf {
	char *key, *value;
};

struct text_lookup {
	struct text_leaf *leaves;
	size_t num, cap;
};

static char *convert_value(const char *s, size_t n)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && strchr("ntr\"", s[i + 1])) {
			char e = s[++i];
			sb_putc(&b, e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : '"');
		} else {
			sb_putc(&b, s[i]);
		}
	}
	return sb_take(&b);
}

static void lookup_set(lookup_t *lookup, char *key, char *value)
{
	for (size_t i = 0; i < lookup->num; i++) {
		if (_stricmp(lookup->leaves[i].key, key) == 0) {
			bfree(key);
			bfree(lookup->leaves[i].value);
			lookup->leaves[i].value = value;
			return;
		}
	}
	if (lookup->num == lookup->cap) {
		lookup->cap = lookup->cap ? lookup->cap * 2 : 64;
		lookup->leaves = brealloc(lookup->leaves, lookup->cap * sizeof(struct text_leaf));
	}
	lookup->leaves[lookup->num].key = key;
	lookup->leaves[lookup->num].value = value;
	lookup->num++;
}

static void lookup_parse(lookup_t *lookup, char *text)
{
	for (char *r = text; *r; r++)
		if (*r == '\r')
			*r = ' ';
	char *line = text;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		char *eq = strchr(line, '=');
		if (*line && *line != '#' && eq) {
			char *key_end = eq;
			while (key_end > line && (key_end[-1] == ' ' || key_end[-1] == '\t'))
				key_end--;
			char *v = eq + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n;
			if (*v == '"') {
				v++;
				bool escaped = false;
				for (n = 0; v[n]; n++) {
					if (escaped)
						escaped = false;
					else if (v[n] == '\\')
						escaped = true;
					else if (v[n] == '"')
						break;
				}
			} else {
				n = strcspn(v, "#");
				while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
					n--;
			}
			if (key_end > line && n > 0)
				lookup_set(lookup, bstrdup_n(line, (size_t)(key_end - line)),
					   convert_value(v, n));
		}
		line = next;
	}
}

bool text_lookup_add(lookup_t *lookup, const char *path)
{
	if (!lookup || !path)
		return false;
	char *text = read_text_file(path);
	if (!text)
		return false;
	lookup_parse(lookup, text);
	bfree(text);
	return true;
}

lookup_t *text_lookup_create(const char *path)
{
	lookup_t *lookup = bzalloc(sizeof(lookup_t));
	if (!text_lookup_add(lookup, path)) {
		bfree(lookup);
		return NULL;
	}
	return lookup;
}

void text_lookup_destroy(lookup_t *lookup)
{
	if (!lookup)
		return;
	for (size_t i = 0; i < lookup->num; i++) {
		bfree(lookup->leaves[i].key);
		bfree(lookup->leaves[i].value);
	}
	bfree(lookup->leaves);
	bfree(lookup);
}

bool text_lookup_getstr(lookup_t *lookup, const char *lookup_val, const char **out)
{
	if (!lookup || !lookup_val)
		return false;
	for (size_t i = 0; i < lookup->num; i++) {
		if (_stricmp(lookup->leaves[i].key, lookup_val) == 0) {
			*out = lookup->leaves[i].value;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Modules (obs-module.c)                                                                      */

struct obs_module {
	char *mod_name;
	char *file;
	char *data_path;
};

obs_module_t *stub_module_create(const char *name, const char *file)
{
	obs_module_t *module = bzalloc(sizeof(obs_module_t));
	module->mod_name = bstrdup(name);
	module->file = bstrdup(file ? file : name);
	module->data_path = env_utf8("STUB_OBS_DATA_DIR");
	if (!module->data_path)
		stub_note("STUB_OBS_DATA_DIR is unset: the module has no data directory");
	return module;
}

void stub_module_destroy(obs_module_t *module)
{
	if (!module)
		return;
	bfree(module->mod_name);
	bfree(module->file);
	bfree(module->data_path);
	bfree(module);
}

static bool file_exists(const char *path)
{
	wchar_t *w = utf8_to_wide(path);
	DWORD attributes = w ? GetFileAttributesW(w) : INVALID_FILE_ATTRIBUTES;
	bfree(w);
	return attributes != INVALID_FILE_ATTRIBUTES;
}

char *obs_find_module_file(obs_module_t *module, const char *file)
{
	if (!file)
		file = "";
	if (!module || !module->data_path)
		return NULL;
	struct sbuf b = {0};
	sb_puts(&b, module->data_path);
	if (b.len && b.p[b.len - 1] != '/' && b.p[b.len - 1] != '\\')
		sb_putc(&b, '/');
	sb_puts(&b, file);
	if (file_exists(b.p))
		return sb_take(&b);
	bfree(b.p);
	return NULL;
}

/* OBS's module config path: obs->module_config_path ("<config>/plugin_config", what the
 * frontend passes on Windows: %APPDATA%\obs-studio/plugin_config) + "/<module>/<file>". */
char *obs_module_get_config_path(obs_module_t *module, const char *file)
{
	if (!module)
		return NULL;
	char *base = env_utf8("STUB_OBS_CONFIG_DIR");
	if (!base) {
		stub_note("STUB_OBS_CONFIG_DIR is unset: no module config path");
		return NULL;
	}
	struct sbuf b = {0};
	sb_puts(&b, base);
	bfree(base);
	if (b.len && b.p[b.len - 1] != '/' && b.p[b.len - 1] != '\\')
		sb_putc(&b, '/');
	sb_printf(&b, "plugin_config/%s/%s", module->mod_name, file ? file : "");
	return sb_take(&b);
}

lookup_t *obs_module_load_locale(obs_module_t *module, const char *default_locale,
				 const char *locale)
{
	if (!module || !default_locale || !locale) {
		blog(LOG_WARNING, "obs_module_load_locale: Invalid parameters");
		return NULL;
	}
	lookup_t *lookup = NULL;
	struct sbuf name = {0};
	sb_printf(&name, "locale/%s.ini", default_locale);
	char *file = obs_find_module_file(module, name.p);
	if (file)
		lookup = text_lookup_create(file);
	bfree(file);
	bfree(name.p);
	if (!lookup) {
		blog(LOG_WARNING, "Failed to load '%s' text for module: '%s'", default_locale,
		     module->file);
		return NULL;
	}
	if (_stricmp(locale, default_locale) == 0)
		return lookup;
	name = (struct sbuf){0};
	sb_printf(&name, "/locale/%s.ini", locale);
	file = obs_find_module_file(module, name.p);
	if (!text_lookup_add(lookup, file))
		blog(LOG_WARNING, "Failed to load '%s' text for module: '%s'", locale,
		     module->file);
	bfree(file);
	bfree(name.p);
	return lookup;
}

/* ------------------------------------------------------------------------------------------ */
/* Weak references (obs-internal.h): refs counts the strong references less one, weak_refs   */
/* the weak ones less one (the object holds one until it is destroyed). Every weak type has  */
/* this layout, so an output's weak reference is read as an obs_weak_object_t too.           */

struct obs_weak_ref {
	volatile long refs;
	volatile long weak_refs;
};

struct obs_weak_object {
	struct obs_weak_ref ref;
	void *object;
};

struct obs_weak_output {
	struct obs_weak_ref ref;
	struct obs_output *output;
};

struct obs_weak_service {
	struct obs_weak_ref ref;
	struct obs_service *service;
};

struct obs_weak_source {
	struct obs_weak_ref ref;
	struct obs_source *source;
};

static bool ref_get(struct obs_weak_ref *ref)
{
	for (;;) {
		long owners = ref->refs;
		if (owners < 0)
			return false;
		if (InterlockedCompareExchange(&ref->refs, owners + 1, owners) == owners)
			return true;
	}
}

/* True when the last strong reference went. */
static bool ref_release(struct obs_weak_ref *ref)
{
	return InterlockedDecrement(&ref->refs) == -1;
}

static void weak_addref(struct obs_weak_ref *ref)
{
	InterlockedIncrement(&ref->weak_refs);
}

/* True when the last weak reference went (the control block may be freed). */
static bool weak_release(struct obs_weak_ref *ref)
{
	return InterlockedDecrement(&ref->weak_refs) == -1;
}

bool obs_weak_object_expired(obs_weak_object_t *weak)
{
	return weak ? weak->ref.refs < 0 : true;
}

/* ------------------------------------------------------------------------------------------ */
/* Services (obs-service.c)                                                                    */

#define SERVICE_MAGIC 0x53525643u
#define OUTPUT_MAGIC 0x4f555450u
#define SOURCE_MAGIC 0x53524345u

struct obs_output {
	uint32_t magic;
	struct obs_weak_output *control;
	char *id, *name, *last_error;
	obs_data_t *settings;
	signal_handler_t *signals;
	obs_service_t *service;
	volatile long active;
	volatile long reconnecting;
};

static struct obs_service_info *service_types;
static size_t num_service_types;

struct obs_service {
	uint32_t magic;
	struct obs_weak_service *control;
	const struct obs_service_info *info;
	char *name;
	obs_data_t *settings;
	void *data;
	struct obs_output *output;
	bool active;
};

static const struct obs_service_info *find_service(const char *id)
{
	for (size_t i = 0; id && i < num_service_types; i++)
		if (strcmp(service_types[i].id, id) == 0)
			return &service_types[i];
	return NULL;
}

static bool service_valid(const obs_service_t *service, const char *f)
{
	if (service && service->magic == SERVICE_MAGIC)
		return true;
	blog(LOG_DEBUG, "%s: %s", f, service ? "not a service" : "Null 'service' parameter");
	return false;
}

/* REGISTER_OBS_DEF and the required-value checks of obs_register_service_s. */
void obs_register_service_s(const struct obs_service_info *info, size_t size)
{
	size_t known = service_info_size();
	const char *missing = NULL;
	if (!size) {
		blog(LOG_ERROR, "Tried to register obs_service_info outside of obs_module_load");
		return;
	}
	if (!info || !info->id) {
		blog(LOG_ERROR, "Tried to register obs_service_info without an id");
		return;
	}
	if (find_service(info->id)) {
		blog(LOG_WARNING, "Service id '%s' already exists!  Duplicate library?", info->id);
		goto error;
	}
#define REQUIRED(field)                                                                \
	if (!missing && (offsetof(struct obs_service_info, field) + sizeof(info->field) > \
				 size ||                                                \
			 !info->field))                                                 \
		missing = #field;
	REQUIRED(get_name);
	REQUIRED(create);
	REQUIRED(destroy);
	if (at_least(29, 1))
		REQUIRED(get_protocol);
#undef REQUIRED
	if (missing) {
		blog(LOG_ERROR,
		     "Required value '%s' for '%s' not found.  obs_register_service failed.",
		     missing, info->id);
		goto error;
	}
	if (size > known) {
		blog(LOG_ERROR,
		     "Tried to register obs_service_info with size %llu which is more than "
		     "libobs currently supports (%llu)",
		     (unsigned long long)size, (unsigned long long)known);
		goto error;
	}
	struct obs_service_info copy;
	memset(&copy, 0, sizeof(copy));
	memcpy(&copy, info, size);
	service_types = brealloc(service_types,
				 (num_service_types + 1) * sizeof(struct obs_service_info));
	service_types[num_service_types++] = copy;
	stub_note("registered service %s (%llu bytes)", info->id, (unsigned long long)size);
	return;
error:
	if (info->type_data && info->free_type_data &&
	    offsetof(struct obs_service_info, free_type_data) + sizeof(void *) <= size)
		info->free_type_data(info->type_data);
}

bool obs_enum_service_types(size_t idx, const char **id)
{
	if (idx >= num_service_types)
		return false;
	*id = service_types[idx].id;
	return true;
}

const struct obs_service_info *stub_service_info(const char *id)
{
	return find_service(id);
}

void *stub_service_data(obs_service_t *service)
{
	return service_valid(service, "stub_service_data") ? service->data : NULL;
}

const char *obs_service_get_display_name(const char *id)
{
	const struct obs_service_info *info = find_service(id);
	return info ? info->get_name(info->type_data) : NULL;
}

obs_service_t *obs_service_create(const char *id, const char *name, obs_data_t *settings,
				  obs_data_t *hotkey_data)
{
	(void)hotkey_data;
	const struct obs_service_info *info = find_service(id);
	if (!info) {
		blog(LOG_ERROR, "Service '%s' not found", id ? id : "(null)");
		return NULL;
	}
	obs_service_t *service = bzalloc(sizeof(obs_service_t));
	service->magic = SERVICE_MAGIC;
	service->info = info;
	service->name = bstrdup(name ? name : "");
	if (settings)
		obs_data_addref(settings);
	service->settings = settings ? settings : obs_data_create();
	service->control = bzalloc(sizeof(struct obs_weak_service));
	service->control->service = service;
	service->data = info->create(service->settings, service);
	if (!service->data)
		blog(LOG_ERROR, "Failed to create service '%s'!", service->name);
	return service;
}

static void service_destroy(obs_service_t *service)
{
	if (service->data)
		service->info->destroy(service->data);
	if (service->output)
		service->output->service = NULL;
	obs_data_release(service->settings);
	bfree(service->name);
	service->magic = 0;
	bfree(service);
}

obs_service_t *obs_service_get_ref(obs_service_t *service)
{
	if (!service)
		return NULL;
	return ref_get(&service->control->ref) ? service : NULL;
}

void obs_service_release(obs_service_t *service)
{
	if (!service)
		return;
	struct obs_weak_service *control = service->control;
	if (ref_release(&control->ref)) {
		service_destroy(service);
		if (weak_release(&control->ref))
			bfree(control);
	}
}

const char *obs_service_get_id(const obs_service_t *service)
{
	return service_valid(service, "obs_service_get_id") ? service->info->id : NULL;
}

const char *obs_service_get_name(const obs_service_t *service)
{
	return service_valid(service, "obs_service_get_name") ? service->name : NULL;
}

obs_data_t *obs_service_get_settings(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_settings"))
		return NULL;
	obs_data_addref(service->settings);
	return service->settings;
}

void obs_service_update(obs_service_t *service, obs_data_t *settings)
{
	if (!service_valid(service, "obs_service_update"))
		return;
	obs_data_apply(service->settings, settings);
	if (service->info->update)
		service->info->update(service->data, service->settings);
}

bool obs_service_initialize(obs_service_t *service, obs_output_t *output)
{
	if (!service_valid(service, "obs_service_initialize") || !output)
		return false;
	if (service->info->initialize)
		return service->info->initialize(service->data, output);
	return true;
}

bool obs_service_can_try_to_connect(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_can_connect"))
		return false;
	if (!service->info->can_try_to_connect)
		return true;
	return service->info->can_try_to_connect(service->data);
}

const char *obs_service_get_url(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_url") || !service->info->get_url)
		return NULL;
	return service->info->get_url(service->data);
}

const char *obs_service_get_key(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_key") || !service->info->get_key)
		return NULL;
	return service->info->get_key(service->data);
}

const char *obs_service_get_username(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_username") || !service->info->get_username)
		return NULL;
	return service->info->get_username(service->data);
}

const char *obs_service_get_password(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_password") || !service->info->get_password)
		return NULL;
	return service->info->get_password(service->data);
}

const char *obs_service_get_protocol(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_protocol"))
		return NULL;
	if (!service->info->get_protocol) {
		stub_note("obs_service_get_protocol: libobs %s has none", obs_get_version_string());
		return NULL;
	}
	return service->info->get_protocol(service->data);
}

const char *obs_service_get_connect_info(const obs_service_t *service, uint32_t type)
{
	if (!service_valid(service, "obs_service_get_info") || !service->info->get_connect_info)
		return NULL;
	return service->info->get_connect_info(service->data, type);
}

const char *obs_service_get_preferred_output_type(const obs_service_t *service)
{
	if (!service_valid(service, "obs_service_get_preferred_output_type") ||
	    !service->info->get_output_type)
		return NULL;
	return service->info->get_output_type(service->data);
}

/* obs_service_activate / obs_service_deactivate are libobs internals (obs-internal.h). */
static void service_activate(obs_service_t *service)
{
	if (!service_valid(service, "obs_service_activate") || service->active)
		return;
	if (service->info->activate)
		service->info->activate(service->data, service->settings);
	service->active = true;
}

static void service_deactivate(obs_service_t *service)
{
	if (!service_valid(service, "obs_service_deactivate") || !service->active)
		return;
	if (service->info->deactivate)
		service->info->deactivate(service->data);
	service->active = false;
}

/* ------------------------------------------------------------------------------------------ */
/* Outputs (obs-output.c)                                                                      */

void obs_register_output_s(const struct obs_output_info *info, size_t size)
{
	(void)size;
	UNUSED_CALL();
	if (info && info->type_data && info->free_type_data)
		info->free_type_data(info->type_data);
}

static bool output_valid(const obs_output_t *output, const char *f)
{
	if (output && output->magic == OUTPUT_MAGIC)
		return true;
	blog(LOG_DEBUG, "%s: %s", f, output ? "not an output" : "Null 'output' parameter");
	return false;
}

/* No output type is registered in the stub: like libobs for an unknown id, the output is
 * still made (logged), with its signals, settings and references. */
obs_output_t *obs_output_create(const char *id, const char *name, obs_data_t *settings,
				obs_data_t *hotkey_data)
{
	(void)hotkey_data;
	obs_output_t *output = bzalloc(sizeof(obs_output_t));
	output->magic = OUTPUT_MAGIC;
	output->id = bstrdup(id ? id : "");
	output->name = bstrdup(name ? name : "");
	if (settings)
		obs_data_addref(settings);
	output->settings = settings ? settings : obs_data_create();
	output->signals = signals_with(output_signals);
	output->control = bzalloc(sizeof(struct obs_weak_output));
	output->control->output = output;
	stub_note("output '%s' (%s) created", output->name, output->id);
	return output;
}

static void output_destroy(obs_output_t *output)
{
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "output", output);
	signal_handler_signal(output->signals, "destroy", &cd);
	calldata_free(&cd);
	stub_note("output '%s' destroyed", output->name);
	signal_handler_destroy(output->signals);
	obs_data_release(output->settings);
	if (output->service)
		output->service->output = NULL;
	bfree(output->id);
	bfree(output->name);
	bfree(output->last_error);
	output->magic = 0;
	bfree(output);
}

obs_output_t *obs_output_get_ref(obs_output_t *output)
{
	if (!output)
		return NULL;
	return ref_get(&output->control->ref) ? output : NULL;
}

void obs_output_release(obs_output_t *output)
{
	if (!output)
		return;
	struct obs_weak_output *control = output->control;
	if (ref_release(&control->ref)) {
		output_destroy(output);
		if (weak_release(&control->ref))
			bfree(control);
	}
}

obs_weak_output_t *obs_output_get_weak_output(obs_output_t *output)
{
	if (!output)
		return NULL;
	weak_addref(&output->control->ref);
	return output->control;
}

void obs_weak_output_addref(obs_weak_output_t *weak)
{
	if (weak)
		weak_addref(&weak->ref);
}

void obs_weak_output_release(obs_weak_output_t *weak)
{
	if (weak && weak_release(&weak->ref))
		bfree(weak);
}

obs_output_t *obs_weak_output_get_output(obs_weak_output_t *weak)
{
	if (!weak)
		return NULL;
	return ref_get(&weak->ref) ? weak->output : NULL;
}

signal_handler_t *obs_output_get_signal_handler(const obs_output_t *output)
{
	return output_valid(output, "obs_output_get_signal_handler") ? output->signals : NULL;
}

bool obs_output_active(const obs_output_t *output)
{
	return output_valid(output, "obs_output_active") && output->active;
}

bool obs_output_reconnecting(const obs_output_t *output)
{
	return output_valid(output, "obs_output_reconnecting") && output->reconnecting;
}

void obs_output_set_last_error(obs_output_t *output, const char *message)
{
	if (!output_valid(output, "obs_output_set_last_error"))
		return;
	bfree(output->last_error);
	output->last_error = message ? bstrdup(message) : NULL;
	char *quoted = stub_json_string(message);
	stub_print("LAST_ERROR %s", quoted);
	bfree(quoted);
}

const char *obs_output_get_last_error(obs_output_t *output)
{
	return output_valid(output, "obs_output_get_last_error") ? output->last_error : NULL;
}

/* As libobs: no reference is taken; output and service only point at each other. */
void obs_output_set_service(obs_output_t *output, obs_service_t *service)
{
	if (!output_valid(output, "obs_output_set_service") ||
	    !service_valid(service, "obs_output_set_service"))
		return;
	if (output->active || service->active)
		return;
	if (service->output)
		service->output->service = NULL;
	output->service = service;
	service->output = output;
}

void stub_output_start(obs_output_t *output, obs_service_t *service)
{
	if (!output_valid(output, "stub_output_start"))
		return;
	output->active = 1;
	if (service)
		service_activate(service);
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "output", output);
	signal_handler_signal(output->signals, "activate", &cd);
	signal_handler_signal(output->signals, "start", &cd);
	calldata_free(&cd);
}

void stub_output_end(obs_output_t *output, obs_service_t *service)
{
	if (!output_valid(output, "stub_output_end"))
		return;
	output->active = 0;
	if (service)
		service_deactivate(service);
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "output", output);
	signal_handler_signal(output->signals, "deactivate", &cd);
	calldata_free(&cd);
}

/* ------------------------------------------------------------------------------------------ */
/* Sources (obs-source.c): private sources of registered types, with settings, references    */
/* and signals; nothing renders.                                                               */

static struct obs_source_info *source_types;
static size_t num_source_types;

struct obs_source {
	uint32_t magic;
	struct obs_weak_source *control;
	const struct obs_source_info *info;
	char *name;
	obs_data_t *settings;
	signal_handler_t *signals;
	void *data;
	bool enabled;
};

static const struct obs_source_info *find_source(const char *id)
{
	for (size_t i = 0; id && i < num_source_types; i++)
		if (strcmp(source_types[i].id, id) == 0)
			return &source_types[i];
	return NULL;
}

static bool source_valid(const obs_source_t *source, const char *f)
{
	if (source && source->magic == SOURCE_MAGIC)
		return true;
	blog(LOG_DEBUG, "%s: %s", f, source ? "not a source" : "Null 'source' parameter");
	return false;
}

void obs_register_source_s(const struct obs_source_info *info, size_t size)
{
	size_t known = source_info_size();
	const char *missing = NULL;
	if (!info || !info->id) {
		blog(LOG_ERROR, "Tried to register obs_source_info without an id");
		return;
	}
	if (find_source(info->id)) {
		blog(LOG_WARNING, "Source '%s' already exists!  Duplicate library?", info->id);
		goto error;
	}
#define REQUIRED(field)                                                               \
	if (!missing && (offsetof(struct obs_source_info, field) + sizeof(info->field) > \
				 size ||                                               \
			 !info->field))                                                \
		missing = #field;
	REQUIRED(get_name);
	REQUIRED(create);
	REQUIRED(destroy);
	if ((info->output_flags & OBS_SOURCE_VIDEO) && !(info->output_flags & OBS_SOURCE_ASYNC)) {
		REQUIRED(get_width);
		REQUIRED(get_height);
		REQUIRED(video_render);
	}
#undef REQUIRED
	if (missing) {
		blog(LOG_ERROR,
		     "Required value '%s' for '%s' not found.  obs_register_source failed.",
		     missing, info->id);
		goto error;
	}
	if (size > known) {
		blog(LOG_ERROR,
		     "Tried to register obs_source_info with size %llu which is more than libobs "
		     "currently supports (%llu)",
		     (unsigned long long)size, (unsigned long long)known);
		goto error;
	}
	struct obs_source_info copy;
	memset(&copy, 0, sizeof(copy));
	memcpy(&copy, info, size);
	source_types =
		brealloc(source_types, (num_source_types + 1) * sizeof(struct obs_source_info));
	source_types[num_source_types++] = copy;
	stub_note("registered source %s (%llu bytes)", info->id, (unsigned long long)size);
	return;
error:
	if (info->type_data && info->free_type_data &&
	    offsetof(struct obs_source_info, free_type_data) + sizeof(void *) <= size)
		info->free_type_data(info->type_data);
}

void stub_free_types(void)
{
	for (size_t i = 0; i < num_service_types; i++)
		if (service_types[i].type_data && service_types[i].free_type_data)
			service_types[i].free_type_data(service_types[i].type_data);
	for (size_t i = 0; i < num_source_types; i++)
		if (source_types[i].type_data && source_types[i].free_type_data)
			source_types[i].free_type_data(source_types[i].type_data);
	bfree(service_types);
	bfree(source_types);
	service_types = NULL;
	source_types = NULL;
	num_service_types = num_source_types = 0;
}

bool obs_enum_source_types(size_t idx, const char **id)
{
	if (idx >= num_source_types)
		return false;
	*id = source_types[idx].id;
	return true;
}

obs_source_t *obs_source_create_private(const char *id, const char *name, obs_data_t *settings)
{
	const struct obs_source_info *info = find_source(id);
	if (!info) {
		blog(LOG_ERROR, "Source ID '%s' not found", id ? id : "(null)");
		return NULL;
	}
	obs_source_t *source = bzalloc(sizeof(obs_source_t));
	source->magic = SOURCE_MAGIC;
	source->info = info;
	source->name = bstrdup(name ? name : "");
	source->enabled = true;
	source->signals = signals_with(source_signals);
	source->control = bzalloc(sizeof(struct obs_weak_source));
	source->control->source = source;
	/* obs_source_init_context: the type's defaults under the given values. */
	source->settings = obs_data_create();
	if (info->get_defaults)
		info->get_defaults(source->settings);
	if (settings)
		obs_data_apply(source->settings, settings);
	source->data = info->create(source->settings, source);
	if (!source->data)
		blog(LOG_ERROR, "Failed to create source '%s'!", source->name);
	stub_note("private source '%s' (%s) created", source->name, info->id);
	return source;
}

static void source_destroy(obs_source_t *source)
{
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "source", source);
	signal_handler_signal(source->signals, "destroy", &cd);
	calldata_free(&cd);
	if (source->data)
		source->info->destroy(source->data);
	stub_note("source '%s' destroyed", source->name);
	signal_handler_destroy(source->signals);
	obs_data_release(source->settings);
	bfree(source->name);
	source->magic = 0;
	bfree(source);
}

obs_source_t *obs_source_get_ref(obs_source_t *source)
{
	if (!source)
		return NULL;
	return ref_get(&source->control->ref) ? source : NULL;
}

void obs_source_release(obs_source_t *source)
{
	if (!source)
		return;
	struct obs_weak_source *control = source->control;
	if (ref_release(&control->ref)) {
		source_destroy(source);
		if (weak_release(&control->ref))
			bfree(control);
	}
}

obs_weak_source_t *obs_source_get_weak_source(obs_source_t *source)
{
	if (!source)
		return NULL;
	weak_addref(&source->control->ref);
	return source->control;
}

void obs_weak_source_release(obs_weak_source_t *weak)
{
	if (weak && weak_release(&weak->ref))
		bfree(weak);
}

obs_source_t *obs_weak_source_get_source(obs_weak_source_t *weak)
{
	if (!weak)
		return NULL;
	return ref_get(&weak->ref) ? weak->source : NULL;
}

obs_data_t *obs_source_get_settings(const obs_source_t *source)
{
	if (!source_valid(source, "obs_source_get_settings"))
		return NULL;
	obs_data_addref(source->settings);
	return source->settings;
}

const char *obs_source_get_name(const obs_source_t *source)
{
	return source_valid(source, "obs_source_get_name") ? source->name : NULL;
}

const char *obs_source_get_id(const obs_source_t *source)
{
	return source_valid(source, "obs_source_get_id") ? source->info->id : NULL;
}

void obs_source_set_name(obs_source_t *source, const char *name)
{
	if (!source_valid(source, "obs_source_set_name") || !name)
		return;
	bfree(source->name);
	source->name = bstrdup(name);
}

signal_handler_t *obs_source_get_signal_handler(const obs_source_t *source)
{
	return source_valid(source, "obs_source_get_signal_handler") ? source->signals : NULL;
}

void obs_source_update(obs_source_t *source, obs_data_t *settings)
{
	if (!source_valid(source, "obs_source_update"))
		return;
	if (settings)
		obs_data_apply(source->settings, settings);
	if (source->info->update)
		source->info->update(source->data, source->settings);
}

/* The properties window asks for these (obs_source_properties); the frontend stub shows them. */
obs_properties_t *obs_source_properties(const obs_source_t *source)
{
	if (!source_valid(source, "obs_source_properties") || !source->info->get_properties)
		return NULL;
	return source->info->get_properties(source->data);
}

/* libobs queues a rebuild of an open properties window; the stub's window is never open. */
void obs_source_update_properties(obs_source_t *source)
{
	if (!source_valid(source, "obs_source_update_properties"))
		return;
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "source", source);
	signal_handler_signal(source->signals, "update_properties", &cd);
	calldata_free(&cd);
}

bool obs_source_enabled(const obs_source_t *source)
{
	return source_valid(source, "obs_source_enabled") && source->enabled;
}

void obs_source_set_enabled(obs_source_t *source, bool enabled)
{
	if (source_valid(source, "obs_source_set_enabled"))
		source->enabled = enabled;
}

/* Nothing is shown or played in the stub. */
bool obs_source_active(const obs_source_t *source)
{
	(void)source;
	return false;
}

bool obs_source_showing(const obs_source_t *source)
{
	(void)source;
	return false;
}

uint32_t obs_source_get_width(obs_source_t *source)
{
	return source_valid(source, "obs_source_get_width") && source->info->get_width
		       ? source->info->get_width(source->data)
		       : 0;
}

uint32_t obs_source_get_height(obs_source_t *source)
{
	return source_valid(source, "obs_source_get_height") && source->info->get_height
		       ? source->info->get_height(source->data)
		       : 0;
}

uint32_t obs_source_get_base_width(obs_source_t *source)
{
	return obs_source_get_width(source);
}

uint32_t obs_source_get_base_height(obs_source_t *source)
{
	return obs_source_get_height(source);
}

void obs_source_video_render(obs_source_t *source)
{
	(void)source;
	UNUSED_CALL();
}

void obs_source_skip_video_filter(obs_source_t *filter)
{
	(void)filter;
	UNUSED_CALL();
}

void obs_source_draw(gs_texture_t *image, int x, int y, uint32_t cx, uint32_t cy, bool flip)
{
	(void)image, (void)x, (void)y, (void)cx, (void)cy, (void)flip;
	UNUSED_CALL();
}

void obs_source_output_audio(obs_source_t *source, const struct obs_source_audio *audio)
{
	(void)source, (void)audio;
	UNUSED_CALL();
}

void obs_source_add_audio_capture_callback(obs_source_t *source,
					   obs_source_audio_capture_t callback, void *param)
{
	(void)source, (void)callback, (void)param;
	UNUSED_CALL();
}

void obs_source_remove_audio_capture_callback(obs_source_t *source,
					      obs_source_audio_capture_t callback, void *param)
{
	(void)source, (void)callback, (void)param;
	UNUSED_CALL();
}

static void media_call(obs_source_t *source, void (*f)(void *), const char *name)
{
	if (!source_valid(source, name))
		return;
	if (f)
		f(source->data);
}

void obs_source_media_play_pause(obs_source_t *source, bool pause)
{
	if (source_valid(source, "obs_source_media_play_pause") &&
	    source->info->media_play_pause)
		source->info->media_play_pause(source->data, pause);
}

void obs_source_media_restart(obs_source_t *source)
{
	if (source_valid(source, "obs_source_media_restart"))
		media_call(source, source->info->media_restart, "obs_source_media_restart");
}

void obs_source_media_stop(obs_source_t *source)
{
	if (source_valid(source, "obs_source_media_stop"))
		media_call(source, source->info->media_stop, "obs_source_media_stop");
}

void obs_source_media_next(obs_source_t *source)
{
	if (source_valid(source, "obs_source_media_next"))
		media_call(source, source->info->media_next, "obs_source_media_next");
}

void obs_source_media_previous(obs_source_t *source)
{
	if (source_valid(source, "obs_source_media_previous"))
		media_call(source, source->info->media_previous, "obs_source_media_previous");
}

int64_t obs_source_media_get_duration(obs_source_t *source)
{
	return source_valid(source, "obs_source_media_get_duration") &&
			       source->info->media_get_duration
		       ? source->info->media_get_duration(source->data)
		       : 0;
}

int64_t obs_source_media_get_time(obs_source_t *source)
{
	return source_valid(source, "obs_source_media_get_time") && source->info->media_get_time
		       ? source->info->media_get_time(source->data)
		       : 0;
}

void obs_source_media_set_time(obs_source_t *source, int64_t ms)
{
	if (source_valid(source, "obs_source_media_set_time") && source->info->media_set_time)
		source->info->media_set_time(source->data, ms);
}

enum obs_media_state obs_source_media_get_state(obs_source_t *source)
{
	return source_valid(source, "obs_source_media_get_state") && source->info->media_get_state
		       ? source->info->media_get_state(source->data)
		       : OBS_MEDIA_STATE_NONE;
}

static void media_signal(obs_source_t *source, const char *signal)
{
	if (!source_valid(source, signal))
		return;
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "source", source);
	signal_handler_signal(source->signals, signal, &cd);
	calldata_free(&cd);
}

void obs_source_media_started(obs_source_t *source)
{
	media_signal(source, "media_started");
}

void obs_source_media_ended(obs_source_t *source)
{
	media_signal(source, "media_ended");
}

/* ------------------------------------------------------------------------------------------ */
/* Properties (obs-properties.c): kept as libobs keeps them, for the plugin to build and the */
/* frontend stub to list.                                                                     */

struct list_item {
	char *name;
	char *value;
};

struct obs_property {
	char *name, *desc, *long_desc;
	enum obs_property_type type;
	bool visible, enabled;
	obs_property_modified_t modified;
	obs_property_clicked_t clicked;
	enum obs_text_type text_type;
	enum obs_text_info_type info_type;
	obs_properties_t *group;
	struct list_item *items;
	size_t num_items;
	struct obs_property *next;
};

struct obs_properties {
	struct obs_property *first;
	obs_properties_t *parent;
};

obs_properties_t *obs_properties_create(void)
{
	return bzalloc(sizeof(obs_properties_t));
}

static void property_destroy(obs_property_t *p)
{
	bfree(p->name);
	bfree(p->desc);
	bfree(p->long_desc);
	for (size_t i = 0; i < p->num_items; i++) {
		bfree(p->items[i].name);
		bfree(p->items[i].value);
	}
	bfree(p->items);
	if (p->group)
		obs_properties_destroy(p->group);
	bfree(p);
}

void obs_properties_destroy(obs_properties_t *props)
{
	if (!props)
		return;
	obs_property_t *p = props->first;
	while (p) {
		obs_property_t *next = p->next;
		property_destroy(p);
		p = next;
	}
	bfree(props);
}

obs_property_t *obs_properties_get(obs_properties_t *props, const char *name)
{
	if (!props || !name)
		return NULL;
	for (obs_property_t *p = props->first; p; p = p->next) {
		if (strcmp(p->name, name) == 0)
			return p;
		if (p->group) {
			obs_property_t *found = obs_properties_get(p->group, name);
			if (found)
				return found;
		}
	}
	return NULL;
}

static obs_property_t *property_add(obs_properties_t *props, const char *name, const char *desc,
				    enum obs_property_type type)
{
	if (!props || !name)
		return NULL;
	obs_properties_t *top = props;
	while (top->parent)
		top = top->parent;
	if (obs_properties_get(top, name)) {
		blog(LOG_WARNING, "Property '%s' exists", name);
		return NULL;
	}
	obs_property_t *p = bzalloc(sizeof(obs_property_t));
	p->name = bstrdup(name);
	p->desc = dup_str(desc);
	p->type = type;
	p->visible = p->enabled = true;
	obs_property_t **tail = &props->first;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	return p;
}

obs_property_t *obs_properties_add_bool(obs_properties_t *props, const char *name,
					const char *description)
{
	return property_add(props, name, description, OBS_PROPERTY_BOOL);
}

obs_property_t *obs_properties_add_int(obs_properties_t *props, const char *name,
				       const char *description, int min, int max, int step)
{
	(void)min, (void)max, (void)step;
	return property_add(props, name, description, OBS_PROPERTY_INT);
}

obs_property_t *obs_properties_add_text(obs_properties_t *props, const char *name,
					const char *description, enum obs_text_type type)
{
	obs_property_t *p = property_add(props, name, description, OBS_PROPERTY_TEXT);
	if (p)
		p->text_type = type;
	return p;
}

obs_property_t *obs_properties_add_path(obs_properties_t *props, const char *name,
					const char *description, enum obs_path_type type,
					const char *filter, const char *default_path)
{
	(void)type, (void)filter, (void)default_path;
	return property_add(props, name, description, OBS_PROPERTY_PATH);
}

obs_property_t *obs_properties_add_list(obs_properties_t *props, const char *name,
					const char *description, enum obs_combo_type type,
					enum obs_combo_format format)
{
	(void)type, (void)format;
	return property_add(props, name, description, OBS_PROPERTY_LIST);
}

obs_property_t *obs_properties_add_color(obs_properties_t *props, const char *name,
					 const char *description)
{
	return property_add(props, name, description, OBS_PROPERTY_COLOR);
}

obs_property_t *obs_properties_add_button(obs_properties_t *props, const char *name,
					  const char *text, obs_property_clicked_t callback)
{
	obs_property_t *p = property_add(props, name, text, OBS_PROPERTY_BUTTON);
	if (p)
		p->clicked = callback;
	return p;
}

obs_property_t *obs_properties_add_font(obs_properties_t *props, const char *name,
					const char *description)
{
	return property_add(props, name, description, OBS_PROPERTY_FONT);
}

obs_property_t *obs_properties_add_editable_list(obs_properties_t *props, const char *name,
						 const char *description,
						 enum obs_editable_list_type type,
						 const char *filter, const char *default_path)
{
	(void)type, (void)filter, (void)default_path;
	return property_add(props, name, description, OBS_PROPERTY_EDITABLE_LIST);
}

obs_property_t *obs_properties_add_group(obs_properties_t *props, const char *name,
					 const char *description, enum obs_group_type type,
					 obs_properties_t *group)
{
	(void)type;
	if (!group || group->parent || group == props)
		return NULL;
	obs_property_t *p = property_add(props, name, description, OBS_PROPERTY_GROUP);
	if (p) {
		p->group = group;
		group->parent = props;
	}
	return p;
}

static size_t list_insert(obs_property_t *p, size_t idx, const char *name, const char *value)
{
	if (!p || p->type != OBS_PROPERTY_LIST)
		return 0;
	if (idx > p->num_items)
		idx = p->num_items;
	p->items = brealloc(p->items, (p->num_items + 1) * sizeof(struct list_item));
	memmove(p->items + idx + 1, p->items + idx, (p->num_items - idx) * sizeof(struct list_item));
	p->items[idx].name = dup_str(name ? name : "");
	p->items[idx].value = dup_str(value ? value : "");
	p->num_items++;
	return idx;
}

static char *number_text(const char *format, ...)
{
	struct sbuf b = {0};
	va_list args;
	va_start(args, format);
	sb_vprintf(&b, format, args);
	va_end(args);
	return sb_take(&b);
}

size_t obs_property_list_add_string(obs_property_t *p, const char *name, const char *val)
{
	return list_insert(p, p ? p->num_items : 0, name, val);
}

size_t obs_property_list_add_int(obs_property_t *p, const char *name, long long val)
{
	char *text = number_text("%lld", val);
	size_t idx = list_insert(p, p ? p->num_items : 0, name, text);
	bfree(text);
	return idx;
}

size_t obs_property_list_add_float(obs_property_t *p, const char *name, double val)
{
	char *text = number_text("%g", val);
	size_t idx = list_insert(p, p ? p->num_items : 0, name, text);
	bfree(text);
	return idx;
}

void obs_property_list_insert_string(obs_property_t *p, size_t idx, const char *name,
				     const char *val)
{
	list_insert(p, idx, name, val);
}

void obs_property_list_insert_int(obs_property_t *p, size_t idx, const char *name, long long val)
{
	char *text = number_text("%lld", val);
	list_insert(p, idx, name, text);
	bfree(text);
}

void obs_property_list_insert_float(obs_property_t *p, size_t idx, const char *name, double val)
{
	char *text = number_text("%g", val);
	list_insert(p, idx, name, text);
	bfree(text);
}

void obs_property_set_description(obs_property_t *p, const char *description)
{
	if (!p)
		return;
	bfree(p->desc);
	p->desc = dup_str(description);
}

void obs_property_set_long_description(obs_property_t *p, const char *long_description)
{
	if (!p)
		return;
	bfree(p->long_desc);
	p->long_desc = dup_str(long_description);
}

void obs_property_set_enabled(obs_property_t *p, bool enabled)
{
	if (p)
		p->enabled = enabled;
}

void obs_property_set_visible(obs_property_t *p, bool visible)
{
	if (p)
		p->visible = visible;
}

void obs_property_set_modified_callback(obs_property_t *p, obs_property_modified_t modified)
{
	if (p)
		p->modified = modified;
}

void obs_property_text_set_info_type(obs_property_t *p, enum obs_text_info_type type)
{
	if (p && p->type == OBS_PROPERTY_TEXT)
		p->info_type = type;
}

obs_property_t *obs_properties_first(obs_properties_t *props)
{
	return props ? props->first : NULL;
}

bool obs_property_next(obs_property_t **p)
{
	if (!p || !*p)
		return false;
	*p = (*p)->next;
	return *p != NULL;
}

const char *obs_property_name(obs_property_t *p)
{
	return p ? p->name : NULL;
}

const char *obs_property_description(obs_property_t *p)
{
	return p ? p->desc : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Graphics, audio, hotkeys: there is no graphics or audio subsystem in the stub. The plugin  */
/* reaches these only from a pull source rendering or playing, which the test never creates. */

void obs_enter_graphics(void)
{
	UNUSED_CALL();
}

void obs_leave_graphics(void)
{
	UNUSED_CALL();
}

gs_effect_t *gs_effect_create(const char *effect_string, const char *filename,
			      char **error_string)
{
	(void)effect_string, (void)filename;
	UNUSED_CALL();
	if (error_string)
		*error_string = bstrdup("no graphics subsystem in the stub libobs");
	return NULL;
}

void gs_effect_destroy(gs_effect_t *effect)
{
	(void)effect;
}

void gs_effect_get_param_info(const gs_eparam_t *param, struct gs_effect_param_info *info)
{
	(void)param;
	UNUSED_CALL();
	if (info)
		memset(info, 0, sizeof(*info));
}

void gs_effect_set_next_sampler(gs_eparam_t *param, gs_samplerstate_t *sampler)
{
	(void)param, (void)sampler;
	UNUSED_CALL();
}

void gs_effect_set_vec2(gs_eparam_t *param, const struct vec2 *val)
{
	(void)param, (void)val;
	UNUSED_CALL();
}

gs_samplerstate_t *gs_samplerstate_create(const struct gs_sampler_info *info)
{
	(void)info;
	UNUSED_CALL();
	return NULL;
}

void gs_samplerstate_destroy(gs_samplerstate_t *samplerstate)
{
	(void)samplerstate;
}

gs_texture_t *gs_texture_create(uint32_t width, uint32_t height,
				enum gs_color_format color_format, uint32_t levels,
				const uint8_t **data, uint32_t flags)
{
	(void)width, (void)height, (void)color_format, (void)levels, (void)data, (void)flags;
	UNUSED_CALL();
	return NULL;
}

void gs_texture_destroy(gs_texture_t *tex)
{
	(void)tex;
}

uint32_t gs_texture_get_height(const gs_texture_t *tex)
{
	(void)tex;
	return 0;
}

bool gs_texture_map(gs_texture_t *tex, uint8_t **ptr, uint32_t *linesize)
{
	(void)tex;
	UNUSED_CALL();
	if (ptr)
		*ptr = NULL;
	if (linesize)
		*linesize = 0;
	return false;
}

void gs_texture_set_image(gs_texture_t *tex, const uint8_t *data, uint32_t linesize, bool invert)
{
	(void)tex, (void)data, (void)linesize, (void)invert;
	UNUSED_CALL();
}

void gs_texture_unmap(gs_texture_t *tex)
{
	(void)tex;
}

bool obs_get_audio_info(struct obs_audio_info *oai)
{
	if (!oai)
		return false;
	memset(oai, 0, sizeof(*oai));
	return false; /* no audio subsystem, as before obs_reset_audio */
}

size_t audio_output_get_channels(const audio_t *audio)
{
	(void)audio;
	return 0;
}

uint32_t audio_output_get_sample_rate(const audio_t *audio)
{
	(void)audio;
	return 0;
}

obs_hotkey_id obs_hotkey_get_id(const obs_hotkey_t *key)
{
	(void)key;
	UNUSED_CALL();
	return OBS_INVALID_HOTKEY_ID;
}
