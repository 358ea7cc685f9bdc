//! Paths and JSON pointers of `$ref`s: splitting `file#pointer`, resolving a file relative to
//! the referring one, pointer tokens with their escapes (`~1`, `~0`, `%XX`), and the pointer
//! of a document path.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

/// `file#pointer` → (`file`, `pointer`); either may be empty.
pub(super) fn split(reference: &str) -> (&str, &str) {
    match reference.split_once('#') {
        Some((f, p)) => (f, p),
        None => (reference, ""),
    }
}

pub(super) fn is_remote(file: &str) -> bool {
    file.contains("://")
}

pub(super) fn relative_to(base: &Path, file: &str) -> PathBuf {
    let file = percent_decode(file);
    match base.parent() {
        Some(dir) => dir.join(file.as_ref()),
        None => PathBuf::from(file.as_ref()),
    }
}

/// `a/b/../c/./d` → `a/c/d`, without touching the file system.
pub(super) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub(super) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(d) => Cow::Owned(d),
        Err(_) => Cow::Borrowed(s),
    }
}

/// The tokens of a JSON pointer (`/components/messages/a~1b` → `components`, `messages`,
/// `a/b`).
pub(super) fn pointer_tokens(pointer: &str) -> Vec<String> {
    let pointer = percent_decode(pointer);
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The JSON pointer of a document path (`channels["a/b"].messages` → `/channels/a~1b/messages`).
pub(super) fn pointer_of(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while !rest.is_empty() {
        let (token, tail) = if let Some(r) = rest.strip_prefix("[\"") {
            // A quoted key: up to the closing `"]` (escapes are JSON's).
            let mut end = 0;
            let bytes = r.as_bytes();
            while end < bytes.len() {
                if bytes[end] == b'\\' {
                    end += 2;
                    continue;
                }
                if bytes[end] == b'"' {
                    break;
                }
                end += 1;
            }
            let raw = r.get(..end).unwrap_or(r);
            let key = serde_json::from_str::<String>(&format!("\"{raw}\""))
                .unwrap_or_else(|_| raw.to_string());
            (key, r.get(end + 2..).unwrap_or(""))
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            (r[..end].to_string(), r.get(end + 1..).unwrap_or(""))
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            let end = r.find(['.', '[']).unwrap_or(r.len());
            (r[..end].to_string(), &r[end..])
        };
        out.push('/');
        out.push_str(&token.replace('~', "~0").replace('/', "~1"));
        rest = tail;
    }
    out
}
