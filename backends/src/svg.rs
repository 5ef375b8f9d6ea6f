//! The SVG writer every chart shares (the simulator's Gantt chart, the report's plots):
//! the document frame, text escaping, tick steps and side-by-side composition. Charts
//! are self-contained (no scripts, no external fonts), so they can be embedded anywhere.

use std::fmt::Write as _;

/// Font stack of every chart.
pub const FONTS: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

/// Escapes text for SVG content and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The opening of a `width × height` document with a white background.
pub fn begin(width: f64, height: f64, font_size: f64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{FONTS}" font-size="{font_size}">"#
    );
    let _ = writeln!(o, r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##);
    o
}

/// The end of a document.
pub const END: &str = "</svg>\n";

/// A step of 1, 2, 2.5 or 5 × 10^k giving at most about `target` ticks over `span`.
pub fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target.max(1.0)).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Width and height attributes of an SVG's root element.
pub fn size(svg: &str) -> (f64, f64) {
    let head = svg.split('>').next().unwrap_or_default();
    let attr = |name: &str| {
        let key = format!(" {name}=\"");
        head.find(&key)
            .and_then(|i| head[i + key.len()..].split('"').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (attr("width"), attr("height"))
}

/// Places SVG documents side by side under a title, as nested `<svg>` elements.
pub fn side_by_side(title: &str, parts: &[String]) -> String {
    const GAP: f64 = 20.0;
    const TITLE_H: f64 = 40.0;
    let sizes: Vec<(f64, f64)> = parts.iter().map(|p| size(p)).collect();
    let width: f64 = sizes.iter().map(|s| s.0).sum::<f64>() + GAP * (parts.len().saturating_sub(1)) as f64;
    let height = TITLE_H + sizes.iter().map(|s| s.1).fold(0.0, f64::max);
    let mut o = begin(width, height, 12.0);
    let _ = writeln!(o, r#"<text x="20" y="28" font-size="20" font-weight="bold">{}</text>"#, esc(title));
    let mut x = 0.0;
    for (p, (w, h)) in parts.iter().zip(&sizes) {
        let body = p.trim_start();
        let body = body.strip_prefix("<svg").unwrap_or(body);
        let _ = write!(o, r#"<svg x="{x}" y="{TITLE_H}" width="{w}" height="{h}""#);
        // Keep the inner document's own attributes (viewBox, fonts); drop its width/height/xmlns.
        let (attrs, rest) = body.split_once('>').unwrap_or((body, ""));
        let kept: String = split_attrs(attrs)
            .into_iter()
            .filter(|a| !(a.starts_with("width=") || a.starts_with("height=") || a.starts_with("xmlns=")))
            .map(|a| format!(" {a}"))
            .collect();
        o.push_str(&kept);
        o.push('>');
        o.push_str(rest.trim_end());
        o.push('\n');
        x += w + GAP;
    }
    o.push_str(END);
    o
}

/// Splits `a="x" b="y z"` into `a="x"`, `b="y z"`.
fn split_attrs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_steps_and_composition() {
        let doc = begin(100.0, 50.0, 12.0) + END;
        assert_eq!(size(&doc), (100.0, 50.0));
        let both = side_by_side("a & b", &[doc.clone(), doc]);
        assert_eq!(size(&both), (220.0, 90.0));
        assert_eq!(both.matches("<svg").count(), 3);
        assert_eq!(both.matches("</svg>").count(), 3);
        assert!(both.contains("a &amp; b"));
        assert_eq!(nice_step(39_000.0, 10.0), 5000.0);
        assert_eq!(nice_step(70_000.0, 10.0), 10_000.0);
        assert_eq!(nice_step(21.0, 10.0), 2.5);
    }
}
