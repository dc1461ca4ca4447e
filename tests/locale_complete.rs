//! Every locale key the code uses exists in every shipped language, and nothing is left over.

use rtc_golive_core::messages::{LocaleFile, Translate};
use std::collections::BTreeSet;
use std::path::Path;

const LANGUAGES: &[&str] = &["en-US", "zh-CN"];

fn keys_used_in(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            keys_used_in(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            for piece in text.split('"').skip(1).step_by(2) {
                let is_key = [
                    "Error.",
                    "Warn.",
                    "Zego.",
                    "Aliyun.",
                    "Common.",
                    "Ui.",
                    "Platform.",
                    "Pull.",
                ]
                .iter()
                .any(|p| piece.starts_with(p))
                    && piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
                if is_key {
                    out.insert(piece.to_string());
                }
            }
        }
    }
}

fn locale(lang: &str) -> LocaleFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/locale/{lang}.ini"));
    LocaleFile::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")))
}

#[test]
fn every_used_key_is_translated_in_every_language() {
    let mut used = BTreeSet::new();
    // The plugin (src/) and the core (crates/core/src/) name the texts.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["src", "crates/core/src"] {
        keys_used_in(&root.join(dir), &mut used);
    }
    assert!(
        used.len() > 50,
        "the key scan found too few keys: {}",
        used.len()
    );
    for lang in LANGUAGES {
        let file = locale(lang);
        let missing: Vec<_> = used.iter().filter(|k| file.lookup(k).is_none()).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        let unused: Vec<_> = file.keys().filter(|k| !used.contains(*k)).collect();
        assert!(
            unused.is_empty(),
            "{lang} has keys no code uses: {unused:?}"
        );
    }
}

#[test]
fn translations_keep_the_same_placeholders() {
    let en = locale("en-US");
    let zh = locale("zh-CN");
    for key in en.keys() {
        let holes = |text: String| -> BTreeSet<char> {
            text.split('%')
                .skip(1)
                .filter_map(|s| s.chars().next().filter(char::is_ascii_digit))
                .collect()
        };
        let zh_text = zh.lookup(key).unwrap_or_default();
        assert_eq!(
            holes(en.lookup(key).unwrap()),
            holes(zh_text),
            "placeholders differ for {key}"
        );
    }
}
