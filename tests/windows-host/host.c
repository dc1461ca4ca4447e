/*
 * host.exe: loads the obs-rtc-golive plugin DLL the way OBS does and drives its services the
 * way OBS's frontend and rtmp-stream do, with the stub libobs beside it.
 *
 *   host.exe PLUGIN.dll SCENARIO.txt
 *
 * Environment: STUB_OBS_VERSION (e.g. 29.0.2, 30.2.3), STUB_OBS_LOCALE (default en-US),
 * STUB_OBS_DATA_DIR (the plugin's data directory), STUB_OBS_CONFIG_DIR (OBS's config dir).
 *
 * The scenario has one go-live per line, `LABEL SERVICE-ID {settings JSON}` (`#` comments),
 * or `@tools` (click the plugin's Tools menu items, as a user opening its window).
 *
 * Printed on stdout besides the stub's lines: `LOADED <services> <sources>`, `SERVICE <id>
 * <display name>` per registered service, `RESULT {json}` per go-live, `ALLOCS <n>` and
 * `DONE` at the end. Exit code 0 when the whole sequence ran, else 1 (2: bad arguments,
 * 3: a connect thread never returned).
 */
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <obs-module.h>
#include <obs-frontend-api.h>

#include "stub-api.h"

/* How long the UI thread waits for rtmp-stream's connect thread to have read the target. The
 * plugin bounds its own wait at 120 s; the test's vendors answer in well under a second. */
#define CONNECT_THREAD_TIMEOUT_MS 60000
/* rtmp-stream's connect timeout is longer; a loopback node answers at once. */
#define TCP_CONNECT_TIMEOUT_MS 3000

typedef void (*void_fn)(void);
typedef bool (*bool_fn)(void);
typedef void (*set_pointer_fn)(obs_module_t *);
typedef void (*set_locale_fn)(const char *);

static bool version_at_least(unsigned major, unsigned minor)
{
	return obs_get_version() >= ((uint32_t)major << 24 | (uint32_t)minor << 16);
}

static char *copy(const char *s)
{
	return s ? bstrdup(s) : NULL;
}

/* `s` as JSON (a string or null), bmalloc'd. */
static char *json(const char *s)
{
	return s ? stub_json_string(s) : bstrdup("null");
}

/* One go-live, as the frontend's Start Streaming and rtmp-stream's connect thread do it. */
struct golive {
	obs_service_t *service;
	bool v29_1;
	/* What the connect thread read (copies). */
	char *url, *key, *username;
	bool password_set;
};

static DWORD WINAPI connect_thread(void *param)
{
	struct golive *g = param;
	/* rtmp-stream's init_connect: server, key, username, password, in this order. */
	if (g->v29_1) {
		g->url = copy(obs_service_get_connect_info(g->service,
							   OBS_SERVICE_CONNECT_INFO_SERVER_URL));
		g->key = copy(obs_service_get_connect_info(g->service,
							   OBS_SERVICE_CONNECT_INFO_STREAM_KEY));
		g->username = copy(obs_service_get_connect_info(g->service,
								OBS_SERVICE_CONNECT_INFO_USERNAME));
		g->password_set = obs_service_get_connect_info(
					  g->service, OBS_SERVICE_CONNECT_INFO_PASSWORD) != NULL;
	} else {
		g->url = copy(obs_service_get_url(g->service));
		g->key = copy(obs_service_get_key(g->service));
		g->username = copy(obs_service_get_username(g->service));
		g->password_set = obs_service_get_password(g->service) != NULL;
	}
	return 0;
}

/* Whether a TCP connection to the RTMP URL's host and port opens (rtmp-stream's first step). */
static bool tcp_connects(const char *url)
{
	const char *rest = NULL;
	const char *port = "1935";
	if (!url)
		return false;
	if (strncmp(url, "rtmp://", 7) == 0)
		rest = url + 7;
	else if (strncmp(url, "rtmps://", 8) == 0)
		rest = url + 8, port = "443";
	if (!rest)
		return false;
	char host[256] = "", port_text[16] = "";
	size_t n = strcspn(rest, "/");
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, rest, n);
	host[n] = 0;
	char *colon = NULL;
	if (host[0] == '[') {
		char *close = strchr(host, ']');
		if (!close)
			return false;
		*close = 0;
		memmove(host, host + 1, strlen(host + 1) + 1);
		if (close[1] == ':')
			colon = close + 1;
	} else {
		colon = strrchr(host, ':');
	}
	if (colon) {
		*colon = 0;
		snprintf(port_text, sizeof(port_text), "%s", colon + 1);
		port = port_text;
	}
	struct addrinfo hints = {0}, *addrs = NULL;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &addrs) != 0)
		return false;
	bool connected = false;
	for (struct addrinfo *a = addrs; a && !connected; a = a->ai_next) {
		SOCKET s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
		if (s == INVALID_SOCKET)
			continue;
		u_long nonblocking = 1;
		ioctlsocket(s, FIONBIO, &nonblocking);
		if (connect(s, a->ai_addr, (int)a->ai_addrlen) == 0) {
			connected = true;
		} else if (WSAGetLastError() == WSAEWOULDBLOCK) {
			fd_set writable, failed;
			FD_ZERO(&writable);
			FD_ZERO(&failed);
			FD_SET(s, &writable);
			FD_SET(s, &failed);
			struct timeval timeout = {TCP_CONNECT_TIMEOUT_MS / 1000, 0};
			connected = select(0, NULL, &writable, &failed, &timeout) > 0 &&
				    FD_ISSET(s, &writable);
		}
		closesocket(s);
	}
	freeaddrinfo(addrs);
	return connected;
}

static void signal_output(obs_output_t *output, const char *signal, long long code)
{
	calldata_t cd = {0};
	calldata_set_ptr(&cd, "output", output);
	if (strcmp(signal, "stop") == 0)
		calldata_set_int(&cd, "code", code);
	signal_handler_signal(obs_output_get_signal_handler(output), signal, &cd);
	calldata_free(&cd);
}

static int run_golive(const char *label, const char *id, const char *settings_json)
{
	const struct obs_service_info *info = stub_service_info(id);
	struct golive g = {0};
	g.v29_1 = version_at_least(29, 1);
	bool created = false, initialized = false, connected = false, timed_out = false;
	int can_try = -1;
	char *ui_url = NULL, *protocol = NULL, *last_error = NULL;
	const char *failure = NULL;
	obs_output_t *output = NULL;

	if (!info) {
		failure = "service type not registered";
		goto report;
	}
	/* The settings as OBS keeps them: the type's defaults (obs_service_defaults) under the
	 * user's values. */
	obs_data_t *settings = obs_data_create();
	if (info->get_defaults)
		info->get_defaults(settings);
	obs_data_t *user = obs_data_create_from_json(settings_json);
	if (!user) {
		obs_data_release(settings);
		failure = "scenario settings are not JSON";
		goto report;
	}
	obs_data_apply(settings, user);
	obs_data_release(user);
	/* info->create(settings, service), inside libobs's obs_service_create. */
	g.service = obs_service_create(id, label, settings, NULL);
	obs_data_release(settings);
	created = g.service != NULL && stub_service_data(g.service) != NULL;
	if (!created) {
		failure = "create returned null";
		goto report;
	}

	/* Start Streaming. 29.1+: the frontend picks the output type from the protocol
	 * (GetStreamOutputType) and asks can_try_to_connect first. */
	if (g.v29_1)
		protocol = copy(obs_service_get_protocol(g.service));
	output = obs_output_create("rtmp_output", "simple_stream", NULL, NULL);
	obs_output_set_service(output, g.service);
	if (g.v29_1)
		can_try = obs_service_can_try_to_connect(g.service);
	/* obs_output_start -> obs_service_initialize, on the UI thread. */
	initialized = obs_service_initialize(g.service, output);
	if (initialized) {
		/* The UI thread's own read of the target (29.0's Start button, 29.1's missing-key
		 * check): never a wait for the vendor. */
		ui_url = copy(g.v29_1 ? obs_service_get_connect_info(
						g.service, OBS_SERVICE_CONNECT_INFO_SERVER_URL)
				      : obs_service_get_url(g.service));
		/* rtmp-stream's connect thread; the UI thread keeps running UI tasks meanwhile. */
		HANDLE thread = CreateThread(NULL, 0, connect_thread, &g, 0, NULL);
		ULONGLONG deadline = GetTickCount64() + CONNECT_THREAD_TIMEOUT_MS;
		while (WaitForSingleObject(thread, 0) == WAIT_TIMEOUT) {
			if (GetTickCount64() > deadline) {
				timed_out = true;
				break;
			}
			stub_run_ui_tasks(20);
		}
		if (timed_out) {
			failure = "the connect thread did not return";
			goto report;
		}
		CloseHandle(thread);
		connected = tcp_connects(g.url);
		if (connected) {
			/* obs_output_begin_data_capture: the service is activated (live), then Stop
			 * Streaming: "stopping", the capture ends, "stop" with OBS_OUTPUT_SUCCESS. */
			stub_output_start(output, g.service);
			stub_run_ui_tasks(50);
			signal_output(output, "stopping", 0);
			stub_output_end(output, g.service);
			signal_output(output, "stop", OBS_OUTPUT_SUCCESS);
		} else {
			signal_output(output, "stop", OBS_OUTPUT_CONNECT_FAILED);
		}
		stub_run_ui_tasks(20);
	}
	last_error = copy(obs_output_get_last_error(output));

report:;
	char *f[10] = {json(label),    json(id),  json(ui_url),   json(g.url),      json(g.key),
		       json(g.username), json(protocol), json(last_error), json(failure), NULL};
	stub_print("RESULT {\"label\":%s,\"id\":%s,\"version\":\"%s\",\"create\":%s,"
		   "\"can_try_to_connect\":%s,\"initialize\":%s,\"ui_url\":%s,\"url\":%s,"
		   "\"key\":%s,\"username\":%s,\"password_set\":%s,\"protocol\":%s,"
		   "\"connected\":%s,\"last_error\":%s,\"failure\":%s}",
		   f[0], f[1], obs_get_version_string(), created ? "true" : "false",
		   can_try < 0 ? "null" : can_try ? "true" : "false",
		   initialized ? "true" : "false", f[2], f[3], f[4], f[5],
		   g.password_set ? "true" : "false", f[6], connected ? "true" : "false", f[7], f[8]);
	for (int i = 0; f[i]; i++)
		bfree(f[i]);
	if (timed_out)
		return 3; /* the plugin still runs on that thread: nothing can be freed */
	bfree(ui_url);
	bfree(protocol);
	bfree(last_error);
	bfree(g.url);
	bfree(g.key);
	bfree(g.username);
	/* The frontend replaces the service (the plugin's destroy disconnects from the live
	 * output), then the output goes. */
	obs_service_release(g.service);
	obs_output_release(output);
	stub_run_ui_tasks(0);
	return failure ? 1 : 0;
}

/* The scenario's lines, run in order. */
static int run_scenario(const wchar_t *path)
{
	FILE *f = _wfopen(path, L"rb");
	if (!f) {
		stub_print("HOST cannot open the scenario file");
		return 2;
	}
	static char line[64 * 1024];
	int status = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		if (strcmp(p, "@tools") == 0) {
			size_t n = stub_frontend_tools_items();
			for (size_t i = 0; i < n; i++)
				stub_frontend_click_tools_item(i);
			stub_run_ui_tasks(50);
			stub_print("TOOLS %zu clicked", n);
			continue;
		}
		char *label = p;
		char *id = strchr(label, ' ');
		char *settings = id ? strchr(id + 1, ' ') : NULL;
		if (!settings) {
			stub_print("HOST bad scenario line: %s", line);
			status = 1;
			continue;
		}
		*id++ = 0;
		*settings++ = 0;
		int rc = run_golive(label, id, settings);
		if (rc == 3) {
			fclose(f);
			return 3;
		}
	}
	fclose(f);
	return status;
}

static void *proc(HMODULE plugin, const char *name, bool required)
{
	void *f = (void *)GetProcAddress(plugin, name);
	if (!f && required)
		stub_print("HOST the plugin does not export %s", name);
	return f;
}

int wmain(int argc, wchar_t **argv)
{
	if (argc != 3) {
		stub_print("HOST usage: host.exe PLUGIN.dll SCENARIO.txt");
		return 2;
	}
	WSADATA wsa;
	WSAStartup(MAKEWORD(2, 2), &wsa);
	stub_set_ui_thread();

	HMODULE plugin = LoadLibraryW(argv[1]);
	if (!plugin) {
		stub_print("HOST LoadLibraryW failed: error %lu", GetLastError());
		return 1;
	}
	/* libobs's load_module_exports: these three are required. */
	set_pointer_fn set_pointer = proc(plugin, "obs_module_set_pointer", true);
	void *ver = proc(plugin, "obs_module_ver", true);
	set_locale_fn set_locale = proc(plugin, "obs_module_set_locale", false);
	bool_fn load = proc(plugin, "obs_module_load", true);
	void_fn post_load = proc(plugin, "obs_module_post_load", false);
	void_fn unload = proc(plugin, "obs_module_unload", false);
	void_fn free_locale = proc(plugin, "obs_module_free_locale", false);
	if (!set_pointer || !ver || !load)
		return 1;

	/* obs_open_module, obs_init_module, then obs_post_load_modules. */
	wchar_t full[MAX_PATH];
	GetModuleFileNameW(plugin, full, MAX_PATH);
	char path[MAX_PATH * 4];
	WideCharToMultiByte(CP_UTF8, 0, full, -1, path, sizeof(path), NULL, NULL);
	obs_module_t *module = stub_module_create("obs-rtc-golive", path);
	set_pointer(module);
	const char *locale = getenv("STUB_OBS_LOCALE");
	if (set_locale)
		set_locale(locale && *locale ? locale : "en-US");
	if (!load()) {
		stub_print("HOST obs_module_load failed");
		return 1;
	}
	size_t services = 0, sources = 0;
	const char *id;
	while (obs_enum_service_types(services, &id)) {
		char *name = json(obs_service_get_display_name(id));
		stub_print("SERVICE %s %s", id, name);
		bfree(name);
		services++;
	}
	while (obs_enum_source_types(sources, &id))
		sources++;
	stub_print("LOADED %zu %zu", services, sources);
	if (post_load)
		post_load();
	stub_run_ui_tasks(0);

	int status = run_scenario(argv[2]);
	if (status == 3) {
		fflush(stdout);
		ExitProcess(3);
	}

	/* Quitting OBS: the frontend's scripting shutdown and exit, its service let go, then
	 * obs_shutdown frees the types, then the module (libobs's free_module: free_locale, then
	 * unload). */
	stub_frontend_event(OBS_FRONTEND_EVENT_SCRIPTING_SHUTDOWN);
	stub_frontend_event(OBS_FRONTEND_EVENT_EXIT);
	stub_run_ui_tasks(0);
	stub_frontend_shutdown();
	stub_free_types();
	if (free_locale)
		free_locale();
	if (unload)
		unload();
	stub_run_ui_tasks(0);
	/* libobs never unloads a module's code; doing it here shows nothing of the plugin's
	 * still runs. */
	FreeLibrary(plugin);
	stub_module_destroy(module);
	stub_print("ALLOCS %ld", stub_allocations());
	stub_print("DONE");
	WSACleanup();
	return status;
}
