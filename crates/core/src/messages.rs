//! User-facing texts: a locale key plus arguments, rendered through the user's language.
//!
//! The core never builds display strings itself; it returns a [`Message`], and the OBS layer
//! renders it with OBS's locale lookup (`data/locale/*.ini`). Tests render with `LocaleFile`
//! (feature `locale-file`).

#[cfg(any(test, feature = "locale-file"))]
use std::collections::HashMap;

/// The longest literal argument a message shows, in characters.
pub const MAX_TEXT_ARG: usize = 300;

/// One argument of a [`Message`]: literal text, or a locale key translated at render time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as is (a code, a RequestId, a host name).
    Text(String),
    /// Translated (a field label, a vendor's meaning or suggested action).
    Key(&'static str),
    /// Another message, rendered in place (a detail wrapped in a common frame).
    Message(Box<Message>),
}

/// A localizable text: `key` names a line of the locale files; `%1`, `%2`, ... in that line are
/// replaced by `args` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The locale key.
    pub key: &'static str,
    /// The values for `%1`, `%2`, ...
    pub args: Vec<Arg>,
}

/// Looks up a locale key in the user's language.
pub trait Translate {
    /// The text for `key`, or `None` when no locale file has it.
    fn lookup(&self, key: &str) -> Option<String>;
}

impl Message {
    /// A message with no arguments.
    pub fn new(key: &'static str) -> Self {
        Message {
            key,
            args: Vec::new(),
        }
    }

    /// Appends a literal argument, cut to [`MAX_TEXT_ARG`] characters: arguments can come from
    /// a vendor's answer, and a dialog must stay readable whatever that answer holds.
    pub fn text(mut self, value: impl Into<String>) -> Self {
        let value = value.into();
        let value = match value.char_indices().nth(MAX_TEXT_ARG) {
            Some((cut, _)) => format!("{}…", &value[..cut]),
            None => value,
        };
        self.args.push(Arg::Text(value));
        self
    }

    /// Appends an argument translated at render time.
    pub fn key_arg(mut self, key: &'static str) -> Self {
        self.args.push(Arg::Key(key));
        self
    }

    /// Appends another message, rendered in place.
    pub fn message_arg(mut self, inner: Message) -> Self {
        self.args.push(Arg::Message(Box::new(inner)));
        self
    }

    /// Every locale key this message needs: its own and its arguments', nested ones included.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys = vec![self.key];
        for arg in &self.args {
            match arg {
                Arg::Key(k) => keys.push(k),
                Arg::Message(m) => keys.extend(m.keys()),
                Arg::Text(_) => {}
            }
        }
        keys
    }

    /// The text in the user's language. A missing key falls back to the key itself, so a
    /// broken locale file still shows something traceable instead of an empty dialog.
    pub fn render(&self, tr: &dyn Translate) -> String {
        let template = tr.lookup(self.key).unwrap_or_else(|| self.key.to_string());
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| match a {
                Arg::Text(t) => t.clone(),
                Arg::Key(k) => tr.lookup(k).unwrap_or_else(|| (*k).to_string()),
                Arg::Message(m) => m.render(tr),
            })
            .collect();
        substitute(&template, &args)
    }
}

/// The untranslated form, for log lines: the key, then the arguments in parentheses (keys
/// untranslated, nested messages in the same form). The OBS log is read by support in
/// English whatever the user's language, and the keys are greppable in the locale files.
impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)?;
        for (i, arg) in self.args.iter().enumerate() {
            f.write_str(if i == 0 { "(" } else { ", " })?;
            match arg {
                Arg::Text(t) => f.write_str(t)?,
                Arg::Key(k) => f.write_str(k)?,
                Arg::Message(m) => write!(f, "{m}")?,
            }
        }
        if !self.args.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Implements [`Display`](std::fmt::Display) (the error's [`Message`] in its log form) and
/// [`std::error::Error`] for an error type with a `message(&self) -> Message` method.
#[macro_export]
macro_rules! error_via_message {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.message(), f)
            }
        }

        impl ::std::error::Error for $ty {}
    };
}

/// Replaces `%1`..`%9` in one pass, so an argument that itself contains `%2` is never expanded.
fn substitute(template: &str, args: &[String]) -> String {
    let mut out =
        String::with_capacity(template.len() + args.iter().map(String::len).sum::<usize>());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                if (1..=9).contains(&d) {
                    chars.next();
                    out.push_str(args.get(d as usize - 1).map(String::as_str).unwrap_or(""));
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// A parsed OBS locale file (`Key="Value"` lines), for rendering outside OBS (tests, the fuzz
/// targets); the plugin renders through OBS's own lookup. Behind the `locale-file` feature.
#[cfg(any(test, feature = "locale-file"))]
#[derive(Debug, Default, Clone)]
pub struct LocaleFile {
    entries: HashMap<String, String>,
}

#[cfg(any(test, feature = "locale-file"))]
impl LocaleFile {
    /// Parses the text of an OBS `.ini` locale file the way libobs's text lookup does: one
    /// `Key="Value"` per line, `\n` and `\"` escapes in values, `#`/`;` lines ignored.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|line| {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                    return None;
                }
                let (key, value) = line.split_once('=')?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                Some((key.trim().to_string(), unescape(value)))
            })
            .collect();
        LocaleFile { entries }
    }

    /// Every key in the file.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

#[cfg(any(test, feature = "locale-file"))]
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            ('\\', Some('"')) => {
                chars.next();
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(any(test, feature = "locale-file"))]
impl Translate for LocaleFile {
    fn lookup(&self, key: &str) -> Option<String> {
        self.entries.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_untranslated_form() {
        let msg = Message::new("Error.A")
            .text("42")
            .key_arg("Label.B")
            .message_arg(Message::new("Error.C").text("x"));
        assert_eq!(msg.to_string(), "Error.A(42, Label.B, Error.C(x))");
        assert_eq!(Message::new("Error.D").to_string(), "Error.D");
    }

    #[test]
    fn renders_arguments_in_place_once() {
        let locale = LocaleFile::parse("A=\"%2 before %1, 100%% sure\"\nB=\"Stream ID\"\n");
        let msg = Message::new("A").text("%2").key_arg("B");
        assert_eq!(msg.render(&locale), "Stream ID before %2, 100%% sure");
        let framed = Message::new("A").text("x").message_arg(Message::new("B"));
        assert_eq!(framed.render(&locale), "Stream ID before x, 100%% sure");
        assert_eq!(framed.keys(), vec!["A", "B"]);
    }

    #[test]
    fn long_literal_arguments_are_cut() {
        let msg = Message::new("K").text("é".repeat(1000));
        match &msg.args[0] {
            Arg::Text(t) => assert_eq!(t.chars().count(), MAX_TEXT_ARG + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_key_falls_back_to_the_key() {
        let msg = Message::new("Nope").text("x");
        assert_eq!(msg.render(&LocaleFile::default()), "Nope");
    }

    #[test]
    fn parses_obs_locale_syntax() {
        let locale = LocaleFile::parse("# comment\n\nX=\"line1\\nline2 \\\"q\\\"\"\nY=plain\n");
        assert_eq!(locale.lookup("X").as_deref(), Some("line1\nline2 \"q\""));
        assert_eq!(locale.lookup("Y").as_deref(), Some("plain"));
        assert_eq!(locale.keys().count(), 2);
    }
}
