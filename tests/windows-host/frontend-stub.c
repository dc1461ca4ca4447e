/*
 * obs-frontend-api.dll for the Windows smoke test: what OBS's frontend does for a plugin,
 * recorded and printed (`STUB frontend: ...`), with the state a plugin can read back (the
 * streaming service, whether streaming is active). Every function runs on the UI thread, as
 * the frontend API requires.
 */
#define WIN32_LEAN_AND_MEAN
#define STUB_BUILDING_FRONTEND
#include <windows.h>

#include <sys/stat.h>
#include <string.h>

#include <obs-frontend-api.h>

#include "stub-api.h"

struct tools_item {
	char *name;
	obs_frontend_cb callback;
	void *data;
};

struct event_callback {
	obs_frontend_event_cb callback;
	void *data;
};

static struct tools_item *tools_items;
static size_t num_tools_items;
static struct event_callback *event_callbacks;
static size_t num_event_callbacks;
static obs_service_t *streaming_service;
static bool streaming;

/* A frontend call off the UI thread is a plugin bug on every OS (Qt objects touched off
 * their thread): noted, for the test to fail on. */
static void check_ui_thread(const char *f)
{
	if (!stub_on_ui_thread())
		stub_print("STUB frontend: %s called off the UI thread", f);
}

void obs_frontend_add_tools_menu_item(const char *name, obs_frontend_cb callback,
				      void *private_data)
{
	check_ui_thread(__func__);
	tools_items = brealloc(tools_items, (num_tools_items + 1) * sizeof(struct tools_item));
	tools_items[num_tools_items].name = bstrdup(name ? name : "");
	tools_items[num_tools_items].callback = callback;
	tools_items[num_tools_items].data = private_data;
	num_tools_items++;
	stub_print("STUB frontend: Tools menu item \"%s\"", name ? name : "");
}

void obs_frontend_add_event_callback(obs_frontend_event_cb callback, void *private_data)
{
	check_ui_thread(__func__);
	for (size_t i = 0; i < num_event_callbacks; i++)
		if (event_callbacks[i].callback == callback && event_callbacks[i].data == private_data)
			return;
	event_callbacks = brealloc(event_callbacks,
				   (num_event_callbacks + 1) * sizeof(struct event_callback));
	event_callbacks[num_event_callbacks].callback = callback;
	event_callbacks[num_event_callbacks].data = private_data;
	num_event_callbacks++;
}

void obs_frontend_remove_event_callback(obs_frontend_event_cb callback, void *private_data)
{
	for (size_t i = 0; i < num_event_callbacks; i++) {
		if (event_callbacks[i].callback == callback && event_callbacks[i].data == private_data) {
			memmove(event_callbacks + i, event_callbacks + i + 1,
				(num_event_callbacks - i - 1) * sizeof(struct event_callback));
			num_event_callbacks--;
			return;
		}
	}
}

obs_service_t *obs_frontend_get_streaming_service(void)
{
	return streaming_service;
}

void obs_frontend_set_streaming_service(obs_service_t *service)
{
	check_ui_thread(__func__);
	obs_service_t *ref = obs_service_get_ref(service);
	if (!ref)
		return;
	obs_service_release(streaming_service);
	streaming_service = ref;
	stub_print("STUB frontend: streaming service is now %s", obs_service_get_id(ref));
}

/* OBS writes service.json: {"type": ..., "settings": ...}. Only the type is printed: the
 * settings hold the user's secrets, as they do in OBS's profile. */
void obs_frontend_save_streaming_service(void)
{
	check_ui_thread(__func__);
	stub_print("STUB frontend: streaming service saved (%s)",
		   streaming_service ? obs_service_get_id(streaming_service) : "none");
}

bool obs_frontend_streaming_active(void)
{
	return streaming;
}

void obs_frontend_streaming_start(void)
{
	check_ui_thread(__func__);
	stub_print("STUB frontend: Start Streaming requested");
}

void obs_frontend_streaming_stop(void)
{
	check_ui_thread(__func__);
	stub_print("STUB frontend: Stop Streaming requested");
}

/* The properties dialog: built from the source's properties, then closed. */
void obs_frontend_open_source_properties(obs_source_t *source)
{
	check_ui_thread(__func__);
	obs_properties_t *props = obs_source_properties(source);
	size_t count = 0;
	for (obs_property_t *p = obs_properties_first(props); p; obs_property_next(&p))
		count++;
	stub_print("STUB frontend: properties window of \"%s\": %zu properties",
		   obs_source_get_name(source), count);
	obs_properties_destroy(props);
}

void stub_frontend_event(enum obs_frontend_event event)
{
	check_ui_thread(__func__);
	/* A callback may remove itself: the list is copied first. */
	size_t num = num_event_callbacks;
	struct event_callback *copy = bmemdup(event_callbacks, (num ? num : 1) * sizeof(*copy));
	for (size_t i = 0; i < num; i++)
		copy[i].callback(event, copy[i].data);
	bfree(copy);
}

size_t stub_frontend_tools_items(void)
{
	return num_tools_items;
}

void stub_frontend_click_tools_item(size_t index)
{
	check_ui_thread(__func__);
	if (index < num_tools_items && tools_items[index].callback)
		tools_items[index].callback(tools_items[index].data);
}

void stub_frontend_shutdown(void)
{
	obs_service_release(streaming_service);
	streaming_service = NULL;
	for (size_t i = 0; i < num_tools_items; i++)
		bfree(tools_items[i].name);
	bfree(tools_items);
	tools_items = NULL;
	num_tools_items = 0;
	bfree(event_callbacks);
	event_callbacks = NULL;
	num_event_callbacks = 0;
}
