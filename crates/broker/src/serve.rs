//! `rtc-golive-broker serve`: the HTTP(S) server until it is told to stop: SIGTERM or Ctrl-C on
//! Unix; Ctrl-C, Ctrl-Break, its console closing or Windows shutting down on Windows.

use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::http::router;
use crate::redis_link::{persistence, Persistence};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long requests in flight may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `config` until the process is told to stop.
pub async fn serve(config: BrokerConfig) -> Result<(), String> {
    let listen = config.listen;
    let tls = config.tls.clone();
    let redis = config.redis_url.is_some();
    let providers: Vec<&str> = [
        config.zego.as_ref().map(|_| "zego"),
        config.aliyun.as_ref().map(|_| "aliyun"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(url) = &config.redis_url {
        check_persistence(url, config.allow_volatile_redis).await?;
    }
    let broker = Broker::start(config)?;
    let app = router(broker.clone());
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        log::info!("stopping: finishing the requests in flight");
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    log::info!(
        "listening on {}://{listen} (providers: {}; limiter: {})",
        if tls.is_some() { "https" } else { "http" },
        providers.join(", "),
        if redis {
            "shared through Redis"
        } else {
            "local"
        }
    );
    let served = run(app, listen, tls, handle).await;
    // The vendors' HTTP client is reqwest's blocking one, which owns a runtime of its own and
    // panics when dropped on one of tokio's threads: the broker's last reference goes on a
    // thread made for blocking work.
    let _ = tokio::task::spawn_blocking(move || drop(broker)).await;
    served
}

/// Refuses a Redis that keeps nothing on disk (unless the operator accepts it): its restart
/// would forget every session while their CDN forwards stay at the vendor.
async fn check_persistence(url: &str, allow_volatile: bool) -> Result<(), String> {
    const ACCEPT: &str = "set allow_volatile_redis = true to start anyway";
    match persistence(url).await {
        Persistence::Persistent(how) => {
            log::info!("Redis persists: {how}");
            Ok(())
        }
        Persistence::Volatile if allow_volatile => {
            log::warn!(
                "Redis keeps nothing on disk (allow_volatile_redis): a Redis restart forgets \
                 every session, and their CDN forwards stay at the vendor"
            );
            Ok(())
        }
        Persistence::Volatile => Err(format!(
            "Redis keeps nothing on disk (appendonly no, save \"\"): a Redis restart would \
             forget every session and leave their CDN forwards at the vendor. Turn on its \
             append-only file (appendonly yes) or RDB snapshots, or {ACCEPT}"
        )),
        Persistence::Unknown(why) if allow_volatile => {
            log::warn!("cannot tell whether Redis persists ({why}); allow_volatile_redis is set");
            Ok(())
        }
        // Redis away at start: the broker serves from its state file meanwhile.
        Persistence::Unknown(why) if why.contains("did not answer") || why.contains("reached") => {
            log::warn!("cannot tell whether Redis persists now ({why}): starting without it");
            Ok(())
        }
        Persistence::Unknown(why) => Err(format!(
            "cannot tell whether Redis persists ({why}; CONFIG GET may be disabled). If it \
             keeps its data on disk, {ACCEPT}"
        )),
    }
}

/// Serves `app` on `listen` (over TLS with `tls`'s certificate and key) until `handle` shuts
/// it down.
async fn run(
    app: Router,
    listen: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    handle: axum_server::Handle,
) -> Result<(), String> {
    let served = match tls {
        Some((cert, key)) => {
            // The process-wide rustls provider: ring, as everywhere in the workspace.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    format!(
                        "cannot load tls_cert {} / tls_key {}: {e}",
                        cert.display(),
                        key.display()
                    )
                })?;
            axum_server::bind_rustls(listen, tls)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }
        None => {
            axum_server::bind(listen)
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await
        }
    };
    served.map_err(|e| format!("cannot serve on {listen}: {e}"))
}

/// SIGTERM (systemd, an orchestrator) or Ctrl-C.
#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM can be handled");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// The console events Windows sends a console program: Ctrl-C, Ctrl-Break (what service
/// wrappers send to stop it), the console window closing, and the system shutting down.
#[cfg(windows)]
async fn shutdown_signal() {
    use tokio::signal::windows::{ctrl_break, ctrl_close, ctrl_shutdown};
    let mut brk = ctrl_break().expect("Ctrl-Break can be handled");
    let mut close = ctrl_close().expect("console close can be handled");
    let mut shutdown = ctrl_shutdown().expect("system shutdown can be handled");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = brk.recv() => {}
        _ = close.recv() => {}
        _ = shutdown.recv() => {}
    }
}
