//! The documentation only points at things a reader of the repository can open: every relative
//! link in README.md and docs/ (and the other READMEs) resolves to a file inside the repository,
//! every `#anchor` to a heading of its page, and every page named in the text (`DESIGN.md`) exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown page a newcomer reads.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("python/README.md")];
    for dir in ["docs", "crates/loadgen", "examples", "examples/grafana"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The Markdown links of `text` as (target, line number), outside code blocks.
fn links(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut in_code = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else {
                break;
            };
            found.push((after[..end].to_string(), n + 1));
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchors of a page's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut k = 1;
        while seen.contains(&unique) {
            unique = format!("{slug}-{k}");
            k += 1;
        }
        seen.insert(unique);
    }
    seen
}

/// Whether `path` (made absolute) lies inside the repository.
fn inside(path: &Path) -> bool {
    let (Ok(path), Ok(root)) = (path.canonicalize(), root().canonicalize()) else {
        return false;
    };
    path.starts_with(root)
}

#[test]
fn every_relative_link_resolves_inside_the_repository() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read a page");
        let dir = page.parent().expect("a page has a folder");
        for (target, line) in links(&text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let path = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            let where_ = format!("{}:{line}: {target}", page.display());
            if !path.exists() || !inside(&path) {
                broken.push(format!("{where_}: no such file in the repository"));
                continue;
            }
            if let Some(anchor) = anchor {
                if path.extension().is_some_and(|e| e == "md") {
                    let target_text = std::fs::read_to_string(&path).expect("read a page");
                    if !anchors(&target_text).contains(anchor) {
                        broken.push(format!("{where_}: no heading with this anchor"));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Every `*.md` file name anywhere in the repository (outside build output).
fn markdown_names(dir: &Path, names: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            markdown_names(&path, names);
        } else if name.ends_with(".md") {
            names.insert(name);
        }
    }
}

#[test]
fn every_page_named_in_the_docs_is_in_the_repository() {
    let mut names = BTreeSet::new();
    markdown_names(&root(), &mut names);
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read a page");
        for (n, line) in text.lines().enumerate() {
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c))) {
                let word = word.trim_matches('.');
                if word.len() > 3 && word.ends_with(".md") && !names.contains(word) {
                    missing.push(format!("{}:{}: {word}", page.display(), n + 1));
                }
            }
            // Issues live outside the repository: a page cites what it can show instead.
            let lower = line.to_lowercase();
            if let Some(at) = lower.find("(issue ") {
                if lower[at + 7..].starts_with(|c: char| c.is_ascii_digit()) {
                    missing.push(format!("{}:{}: cites an issue", page.display(), n + 1));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "pages named but not in the repository:\n{}",
        missing.join("\n")
    );
}
