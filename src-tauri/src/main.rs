//! `oxbow-desktop`: Oxbow as a desktop app (Tauri 2).
//!
//! It starts the embedded stack in this process (`oxbow_studio::Stack`, exactly what `oxbow serve`
//! runs, configured by the same flags and `OXBOW_*` variables), then opens a window on the studio
//! UI served by that stack. The API token is handed to the page directly by an initialization
//! script (`window.__OXBOW_TOKEN__`), so it never appears in a URL. What only a desktop app adds:
//! a native menu (new connection, open data folder, about), the window's size and place and the
//! last cluster remembered across runs, and one instance at a time (a second launch focuses the
//! first window).
//!
//! Deliberately not here: studio behaviour. The window shows the same UI over the same HTTP and
//! WebSocket API as a browser does; the shell calls the command layer only to reopen the cluster
//! chosen last time.

// A release build on Windows must not open a console next to the window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod menu;

use clap::Parser;
use oxbow_studio::{Stack, StackArgs};
use std::process::ExitCode;
use std::sync::Mutex;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};

/// The stack must stop within this bound at exit (the same contract as `oxbow serve`).
const SHUTDOWN_TIMEOUT_MS_MAX: u64 = 4_500;
/// The one window's label (also the key under which its size and place are remembered).
const MAIN_WINDOW: &str = "main";
/// The smallest window the UI is designed for, and the size of a first run.
const WINDOW_SIZE_MIN: (f64, f64) = (960.0, 640.0);
const WINDOW_SIZE_FIRST_RUN: (f64, f64) = (1280.0, 800.0);
/// The desktop window needs no fixed studio address, so it takes any free port unless told.
const STUDIO_PORT_DEFAULT: u16 = 0;

#[derive(Parser, Debug)]
#[command(
    name = "oxbow-desktop",
    version,
    about = "Oxbow: the embedded Kafka-compatible stack and its studio in a window"
)]
struct DesktopArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// The running stack; taken out once, at exit, to stop it cleanly.
struct RunningStack(Mutex<Option<Stack>>);

fn main() -> ExitCode {
    init_tracing();
    let args = DesktopArgs::parse();
    let app = tauri::Builder::default()
        // First plugin on purpose: a second instance must exit before anything else starts (it
        // would fail on the data dir lock and the Kafka port anyway); the first window comes up.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| focus_main_window(app)))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            setup(app.handle(), &args);
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("oxbow-desktop: error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            stop_stack(app);
        }
    });
    ExitCode::SUCCESS
}

/// Starts the stack and opens the window on it; when the stack cannot start, the window shows why
/// (a desktop app has no terminal to print to).
fn setup(app: &AppHandle, args: &DesktopArgs) {
    let started = args
        .stack
        .to_config(STUDIO_PORT_DEFAULT)
        .and_then(|config| tauri::async_runtime::block_on(Stack::start(config)));
    // Signals close the app cleanly whether or not the stack came up (the error window too).
    stop_on_signals(app.clone());
    let window = match started {
        Ok(stack) => {
            reopen_last_cluster(&stack);
            let window = open_studio_window(app, &stack);
            menu::install(app, &stack);
            app.manage(RunningStack(Mutex::new(Some(stack))));
            window
        }
        Err(error) => {
            tracing::error!(%error, "the embedded stack could not start");
            open_error_window(app, &error.to_string())
        }
    };
    if let Err(error) = window {
        // Without a window there is nothing to show; stop (and so stop the stack) rather than
        // run invisibly.
        eprintln!("oxbow-desktop: error: opening the window: {error}");
        app.exit(1);
    }
}

/// The cluster the user had open last time, if its profile still exists. A failure (the
/// cluster is unreachable, …) leaves the built-in profile open; the UI can switch later.
fn reopen_last_cluster(stack: &Stack) {
    let commands = stack.commands();
    let Some(name) = commands.profile_chosen_last_run() else {
        return;
    };
    if name == commands.profiles().active {
        return;
    }
    match commands.set_active_profile(&name) {
        Ok(_) => tracing::info!(profile = %name, "reopened the cluster chosen last time"),
        Err(error) => {
            tracing::warn!(profile = %name, %error, "could not reopen the cluster chosen last time")
        }
    }
}

fn open_studio_window(app: &AppHandle, stack: &Stack) -> tauri::Result<tauri::WebviewWindow> {
    let studio = stack.studio();
    let origin = format!("http://127.0.0.1:{}", studio.local_addr().port());
    let url: tauri::Url = format!("{origin}/").parse().expect("a loopback URL with a port is valid");
    // A JSON string literal is a valid JavaScript string literal: the token cannot break out.
    let token = serde_json::to_string(studio.token()).expect("a string serialises");
    let init = format!("window.__OXBOW_TOKEN__ = {token};");
    let title = match stack.kafka_addr() {
        Some(addr) => format!("Oxbow — embedded cluster at {addr}"),
        None => "Oxbow".to_string(),
    };
    let allowed_origin = url.origin();
    WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(url))
        .title(title)
        .inner_size(WINDOW_SIZE_FIRST_RUN.0, WINDOW_SIZE_FIRST_RUN.1)
        .min_inner_size(WINDOW_SIZE_MIN.0, WINDOW_SIZE_MIN.1)
        .initialization_script(&init)
        // The window holds the API token: it may only ever show the studio. Other links open in
        // the user's browser instead.
        .on_navigation({
            let app = app.clone();
            move |target| {
                if target.origin() == allowed_origin {
                    return true;
                }
                if matches!(target.scheme(), "http" | "https") {
                    use tauri_plugin_opener::OpenerExt;
                    if let Err(error) = app.opener().open_url(target.as_str(), None::<&str>) {
                        tracing::warn!(%error, url = %target, "could not open the link in the browser");
                    }
                }
                false
            }
        })
        .build()
}

fn open_error_window(app: &AppHandle, reason: &str) -> tauri::Result<tauri::WebviewWindow> {
    let reason = serde_json::to_string(reason).expect("a string serialises");
    WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
        .title("Oxbow could not start")
        .inner_size(720.0, 420.0)
        .initialization_script(format!("window.__OXBOW_START_ERROR__ = {reason};"))
        .build()
}

pub(crate) fn focus_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// SIGINT/SIGTERM (a terminal's Ctrl-C, a session ending, a test driver) stop the app the same way
/// closing the window does, so the logs are closed with checkpoints.
fn stop_on_signals(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            tracing::warn!("could not install signal handlers; a signal will stop the app without a clean shutdown");
            return;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("signal received; closing");
        app.exit(0);
    });
}

fn stop_stack(app: &AppHandle) {
    let Some(state) = app.try_state::<RunningStack>() else {
        return;
    };
    let stack = state.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(stack) = stack {
        tracing::info!("stopping the embedded stack");
        if let Err(error) = tauri::async_runtime::block_on(stack.shutdown(SHUTDOWN_TIMEOUT_MS_MAX)) {
            tracing::error!(%error, "the embedded stack did not stop cleanly");
        }
    }
}

/// Logs go to stderr, as `oxbow serve`'s do; `RUST_LOG` filters them.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}
