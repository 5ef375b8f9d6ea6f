//! Minimal file globbing for `--models` / `--hardware`: `{a,b}` alternatives anywhere,
//! `*` and `?` wildcards in the last path component only (enough for `models/*.yaml`).

use std::path::{Path, PathBuf};

/// Expands `{a,b,…}` groups (not nested) into every alternative, left to right.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (pattern.find('{'), pattern.find('}')) else {
        return vec![pattern.to_string()];
    };
    if close < open {
        return vec![pattern.to_string()];
    }
    let (head, rest) = pattern.split_at(open);
    let inner = &rest[1..close - open];
    let tail = &rest[close - open + 1..];
    inner.split(',').flat_map(|alt| expand_braces(&format!("{head}{alt}{tail}"))).collect()
}

/// Whether `name` matches `pattern` (`*`: any run of characters, `?`: one character).
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// The files a pattern names, sorted and without duplicates. A pattern without
/// wildcards names itself (whether or not it exists; loading reports a missing file).
pub fn glob(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in expand_braces(pattern) {
        if !has_wildcard(&p) {
            out.push(PathBuf::from(p));
            continue;
        }
        let path = Path::new(&p);
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if has_wildcard(&dir.to_string_lossy()) {
            return Err(format!("{pattern}: wildcards are only supported in the file name"));
        }
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("{pattern}: cannot list {}: {e}", dir.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|e| e.file_name().to_str().is_some_and(|n| matches(&file, n)))
            .map(|e| {
                if path.parent().is_some_and(|d| !d.as_os_str().is_empty()) {
                    dir.join(e.file_name())
                } else {
                    PathBuf::from(e.file_name())
                }
            })
            .collect();
        found.sort();
        out.extend(found);
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{expand_braces, matches};

    #[test]
    fn braces_and_wildcards() {
        assert_eq!(expand_braces("m/{a,b}.yaml"), vec!["m/a.yaml", "m/b.yaml"]);
        assert_eq!(expand_braces("{x,y}{1,2}"), vec!["x1", "x2", "y1", "y2"]);
        assert!(matches("*.yaml", "mlp-digits.yaml"));
        assert!(matches("mlp-*.yaml", "mlp-fmnist.yaml"));
        assert!(!matches("mlp-*.yaml", "cnn-fmnist.yaml"));
        assert!(matches("sa??-ws.yaml", "sa32-ws.yaml"));
        assert!(!matches("*.yaml", "a.yml"));
        assert!(matches("*", ""));
    }
}
