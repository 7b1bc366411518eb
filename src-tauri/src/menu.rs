//! The native menu: File (New Connection…, Open Data Folder, Quit), Edit (the clipboard items
//! text fields need on every platform) and Help (About Oxbow).

use oxbow_studio::Stack;
use std::path::PathBuf;
use tauri::menu::{AboutMetadataBuilder, MenuBuilder, MenuItemBuilder, PredefinedMenuItem, SubmenuBuilder};
use tauri::{AppHandle, Manager};

const NEW_CONNECTION: &str = "new-connection";
const OPEN_DATA_FOLDER: &str = "open-data-folder";
const QUIT: &str = "quit";

/// Where "New Connection…" takes the UI: the connection profiles page with its form open.
const NEW_CONNECTION_ROUTE: &str = "#/profiles?new=1";

/// Builds the menu and routes its events. A failure here costs the menu, not the app.
pub fn install(app: &AppHandle, stack: &Stack) {
    if let Err(error) = build(app, stack) {
        tracing::warn!(%error, "could not build the native menu");
    }
}

fn build(app: &AppHandle, stack: &Stack) -> tauri::Result<()> {
    let data_dir: Option<PathBuf> = stack.data_dir().map(PathBuf::from);
    let new_connection =
        MenuItemBuilder::with_id(NEW_CONNECTION, "New Connection…").accelerator("CmdOrCtrl+N").build(app)?;
    let open_data_folder = MenuItemBuilder::with_id(OPEN_DATA_FOLDER, "Open Data Folder")
        // An external cluster keeps its data elsewhere.
        .enabled(data_dir.is_some())
        .build(app)?;
    // Our own Quit rather than the predefined one: that has no accelerator on Linux, and this one
    // exits through the app (RunEvent::Exit), which stops the stack cleanly.
    let quit = MenuItemBuilder::with_id(QUIT, "Quit").accelerator("CmdOrCtrl+Q").build(app)?;
    let file = SubmenuBuilder::new(app, "File")
        .item(&new_connection)
        .item(&open_data_folder)
        .separator()
        .item(&quit)
        .build()?;
    let edit = SubmenuBuilder::new(app, "Edit").undo().redo().separator().cut().copy().paste().select_all().build()?;
    let mut comments = String::from("An event-streaming studio with an embedded Kafka-compatible cluster.");
    if let Some(addr) = stack.kafka_addr() {
        comments.push_str(&format!("\nKafka bootstrap server: {addr}"));
    }
    comments.push_str(&format!(
        "\nStudio in a browser: http://127.0.0.1:{}/ (token shown by `oxbow serve`)",
        stack.studio().local_addr().port()
    ));
    if let Some(dir) = &data_dir {
        comments.push_str(&format!("\nData folder: {}", dir.display()));
    }
    let about_metadata = AboutMetadataBuilder::new()
        .name(Some("Oxbow"))
        .version(Some(env!("CARGO_PKG_VERSION")))
        .comments(Some(comments))
        .license(Some(env!("CARGO_PKG_LICENSE")))
        .build();
    let about = PredefinedMenuItem::about(app, Some("About Oxbow"), Some(about_metadata))?;
    let help = SubmenuBuilder::new(app, "Help").item(&about).build()?;
    let menu = MenuBuilder::new(app).items(&[&file, &edit, &help]).build()?;
    app.set_menu(menu)?;

    app.on_menu_event(move |app, event| match event.id().as_ref() {
        NEW_CONNECTION => open_new_connection(app),
        QUIT => app.exit(0),
        OPEN_DATA_FOLDER => {
            if let Some(dir) = &data_dir {
                open_folder(app, dir);
            }
        }
        _ => {}
    });
    Ok(())
}

fn open_new_connection(app: &AppHandle) {
    crate::focus_main_window(app);
    let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) else {
        return;
    };
    let script = format!(
        "window.location.hash = {};",
        serde_json::to_string(NEW_CONNECTION_ROUTE).expect("a string serialises")
    );
    if let Err(error) = window.eval(&script) {
        tracing::warn!(%error, "could not open the connection form");
    }
}

fn open_folder(app: &AppHandle, dir: &std::path::Path) {
    use tauri_plugin_opener::OpenerExt;
    if let Err(error) = app.opener().open_path(dir.to_string_lossy(), None::<&str>) {
        tracing::warn!(%error, dir = %dir.display(), "could not open the data folder");
    }
}
