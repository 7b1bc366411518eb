// Generates Tauri's context (config, icons, the start-up page) at compile time.
fn main() {
    tauri_build::build()
}
