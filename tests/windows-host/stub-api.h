/*
 * What the stub obs.dll and obs-frontend-api.dll export beyond libobs's own API: the few things
 * OBS's frontend and libobs's internals do that no public function does (being the UI thread,
 * creating a module handle, starting and stopping an output), for host.exe.
 *
 * Nothing in the plugin may use these; they are not part of OBS.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <obs.h>
#include <obs-frontend-api.h>

#ifdef STUB_BUILDING_OBS
#define STUB_OBS_API __declspec(dllexport)
#else
#define STUB_OBS_API __declspec(dllimport)
#endif

#ifdef STUB_BUILDING_FRONTEND
#define STUB_FRONTEND_API __declspec(dllexport)
#else
#define STUB_FRONTEND_API __declspec(dllimport)
#endif

/* One line on stdout, written whole (lines of several threads never mix). */
STUB_OBS_API void stub_print(const char *format, ...);
/* The same text as a JSON string, for values that may hold line breaks or quotes; the result
 * is bmalloc'd. */
STUB_OBS_API char *stub_json_string(const char *text);

/* The calling thread is OBS's UI thread from now on (the frontend's Qt thread). */
STUB_OBS_API void stub_set_ui_thread(void);
STUB_OBS_API bool stub_on_ui_thread(void);
/* On the UI thread: runs the UI tasks queued so far, waiting up to timeout_ms for the first one.
 * Returns how many ran. */
STUB_OBS_API int stub_run_ui_tasks(unsigned timeout_ms);

/* The module handle libobs makes in obs_open_module (file: the DLL's UTF-8 path). Its data
 * directory is env STUB_OBS_DATA_DIR; its config directory is
 * <env STUB_OBS_CONFIG_DIR>/plugin_config/<name>/. */
STUB_OBS_API obs_module_t *stub_module_create(const char *name, const char *file);
STUB_OBS_API void stub_module_destroy(obs_module_t *module);

/* The registered type's info, as libobs keeps it (size bytes copied into a zeroed struct). */
STUB_OBS_API const struct obs_service_info *stub_service_info(const char *id);
/* The instance the type's create returned (context.data), NULL when create failed. */
STUB_OBS_API void *stub_service_data(obs_service_t *service);

/* What libobs does inside obs_output_begin_data_capture / obs_output_end_data_capture:
 * the output becomes active and its service is activated, or the reverse. */
STUB_OBS_API void stub_output_start(obs_output_t *output, obs_service_t *service);
STUB_OBS_API void stub_output_end(obs_output_t *output, obs_service_t *service);

/* obs_shutdown's freeing of the registered types (each type's free_type_data is called). */
STUB_OBS_API void stub_free_types(void);

/* libobs's "Number of memory leaks" at shutdown: blocks bmalloc'd and not freed. */
STUB_OBS_API long stub_allocations(void);

/* libobs 29.0's readers of the target (rtmp-stream 29.0 uses them), which later headers dropped;
 * the stub exports them with 29.0's signatures. */
STUB_OBS_API const char *obs_service_get_url(const obs_service_t *service);
STUB_OBS_API const char *obs_service_get_key(const obs_service_t *service);
STUB_OBS_API const char *obs_service_get_username(const obs_service_t *service);
STUB_OBS_API const char *obs_service_get_password(const obs_service_t *service);
/* What obs_output_start does first (a libobs internal, obs-internal.h). */
STUB_OBS_API bool obs_service_initialize(obs_service_t *service, obs_output_t *output);

/* The frontend's side: OBS fires its events on the UI thread. */
STUB_FRONTEND_API void stub_frontend_event(enum obs_frontend_event event);
STUB_FRONTEND_API size_t stub_frontend_tools_items(void);
STUB_FRONTEND_API void stub_frontend_click_tools_item(size_t index);
/* The frontend lets go of its streaming service (OBS does before obs_shutdown). */
STUB_FRONTEND_API void stub_frontend_shutdown(void);
