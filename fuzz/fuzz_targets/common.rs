//! What the targets share: every error they meet is also rendered the way OBS shows it.

use rtc_golive_core::messages::{LocaleFile, Message, Translate};
use std::sync::OnceLock;

/// Renders `message` with the en-US texts, checking that en-US has every key it uses (a
/// missing one would show the bare key in OBS's dialog).
pub fn render(message: &Message) -> String {
    static LOCALE: OnceLock<LocaleFile> = OnceLock::new();
    let locale =
        LOCALE.get_or_init(|| LocaleFile::parse(include_str!("../../data/locale/en-US.ini")));
    for key in message.keys() {
        assert!(locale.lookup(key).is_some(), "en-US has no text for {key}");
    }
    message.render(locale)
}
