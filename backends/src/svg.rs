//! The SVG writer every chart shares (the simulator's Gantt chart, the report's plots):
//! the document frame, text escaping, tick steps and labels, side-by-side composition,
//! and a line chart on linear axes ([`xy_plot`], the report's accuracy-vs-time plots). Charts
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

/// A tick label for `v` on an axis whose ticks are `step` apart: as many decimals as
/// the step needs (0.25 → 2, 5 → 0), no more.
pub fn tick_label(v: f64, step: f64) -> String {
    let mut decimals = 0usize;
    while decimals < 9 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0) {
            break;
        }
        decimals += 1;
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string() // no "-0"
    } else {
        s
    }
}

/// One line of an [`xy_plot`]: points in data coordinates, drawn in order.
#[derive(Debug, Clone, PartialEq)]
pub struct XySeries {
    /// Legend label.
    pub name: String,
    /// Stroke colour.
    pub colour: &'static str,
    /// Dash pattern (e.g. `"8,5"`), so a line drawn over an equal one leaves it visible.
    pub dash: Option<&'static str>,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// A point to mark with a dot (e.g. where the line first reaches a target).
    pub mark: Option<(f64, f64)>,
}

/// A horizontal reference line of an [`xy_plot`], dashed, named in the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct HLine {
    /// y in data coordinates.
    pub y: f64,
    /// Legend label.
    pub label: String,
    /// Stroke colour.
    pub colour: &'static str,
}

/// What an [`xy_plot`] shows.
#[derive(Debug, Clone, PartialEq)]
pub struct XyPlot<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// x axis label.
    pub x_label: &'a str,
    /// y axis label.
    pub y_label: &'a str,
    /// y axis range (default: 0 to the largest y, rounded up to a tick).
    pub y_range: Option<(f64, f64)>,
    /// The lines, drawn in order (one `<polyline class="series">` each).
    pub series: &'a [XySeries],
    /// Dashed horizontal lines across the plot.
    pub hlines: &'a [HLine],
    /// A heading over the legend (what its labels say).
    pub legend_title: Option<&'a str>,
}

/// A line chart on linear axes, x from 0: grid, ticks on both axes, axis labels, one
/// polyline per series, dashed horizontal reference lines, and a legend to the right of
/// the plot area (so it never covers a line).
pub fn xy_plot(p: &XyPlot) -> String {
    const PW: f64 = 600.0;
    const H: f64 = 600.0;
    const L: f64 = 80.0;
    const T: f64 = 60.0;
    const B: f64 = 70.0;
    // The legend's width from its longest label (about 0.6 em per character at 13 px).
    let labels = p
        .series
        .iter()
        .map(|s| s.name.chars().count())
        .chain(p.hlines.iter().map(|h| h.label.chars().count()));
    let longest =
        labels.map(|n| 36.0 + 7.8 * n as f64).chain(p.legend_title.map(|t| 7.8 * t.chars().count() as f64));
    let r = (20.0 + longest.fold(0.0, f64::max) + 20.0).max(120.0).ceil();
    let (w, pw, ph) = (L + PW + r, PW, H - T - B);
    let xs = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
    let xmax_data = xs.fold(0.0f64, f64::max);
    let xmax_data = if xmax_data > 0.0 { xmax_data } else { 1.0 };
    let xstep = nice_step(xmax_data, 8.0);
    let xmax = (xmax_data / xstep).ceil() * xstep;
    let (y0, y1) = p.y_range.unwrap_or_else(|| {
        let ys = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1));
        let top = ys.chain(p.hlines.iter().map(|h| h.y)).fold(0.0f64, f64::max);
        let top = if top > 0.0 { top } else { 1.0 };
        let step = nice_step(top, 8.0);
        (0.0, (top / step).ceil() * step)
    });
    let ystep = nice_step(y1 - y0, 10.0);
    let xpos = |v: f64| L + pw * v / xmax;
    let ypos = |v: f64| T + ph * (1.0 - (v - y0) / (y1 - y0));

    let mut o = begin(w, H, 13.0);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="30" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
        L + pw / 2.0,
        esc(p.title)
    );
    // Grid, y ticks.
    let mut i = 0;
    loop {
        let v = y0 + i as f64 * ystep;
        if v > y1 + 1e-9 * ystep {
            break;
        }
        let y = ypos(v);
        let _ =
            writeln!(o, r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/>"##, L + pw);
        let _ = writeln!(
            o,
            r#"<text class="ytick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            L - 8.0,
            y + 4.5,
            tick_label(v, ystep)
        );
        i += 1;
    }
    // x ticks.
    let mut i = 0;
    loop {
        let v = i as f64 * xstep;
        if v > xmax + 1e-9 * xstep {
            break;
        }
        let x = xpos(v);
        if i > 0 {
            let _ = writeln!(
                o,
                r##"<line x1="{x:.1}" y1="{T}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/>"##,
                T + ph
            );
        }
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#000000"/>"##,
            T + ph,
            T + ph + 6.0
        );
        let _ = writeln!(
            o,
            r#"<text class="xtick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            T + ph + 22.0,
            tick_label(v, xstep)
        );
        i += 1;
    }
    axes(&mut o, [L, T, pw, ph], H, p.x_label, p.y_label);
    // Reference lines under the data.
    for h in p.hlines {
        let _ = writeln!(
            o,
            r#"<line class="hline" x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="1.5" stroke-dasharray="6,4"/>"#,
            L + pw,
            h.colour,
            y = ypos(h.y)
        );
    }
    for s in p.series {
        let pts: Vec<String> =
            s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", xpos(x), ypos(y))).collect();
        let _ = writeln!(
            o,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2"{} points="{}"><title>{}</title></polyline>"#,
            s.colour,
            s.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default(),
            pts.join(" "),
            esc(&s.name)
        );
        if let Some((x, y)) = s.mark {
            let _ = writeln!(
                o,
                r##"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}" stroke="#ffffff" stroke-width="1.5"><title>{}</title></circle>"##,
                xpos(x),
                ypos(y),
                s.colour,
                esc(&s.name)
            );
        }
    }
    // Legend: series, then reference lines.
    let lx = L + pw + 20.0;
    let mut y = T + 10.0;
    if let Some(t) = p.legend_title {
        let _ = writeln!(o, r#"<text x="{lx}" y="{}" font-weight="bold">{}</text>"#, y + 4.5, esc(t));
        y += 24.0;
    }
    for s in p.series {
        let _ = writeln!(
            o,
            r#"<line class="legend" x1="{lx}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2.5"{}/><text x="{}" y="{}">{}</text>"#,
            lx + 28.0,
            s.colour,
            s.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default(),
            lx + 36.0,
            y + 4.5,
            esc(&s.name)
        );
        y += 22.0;
    }
    for h in p.hlines {
        let _ = writeln!(
            o,
            r#"<line class="legend" x1="{lx}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="1.5" stroke-dasharray="6,4"/><text x="{}" y="{}">{}</text>"#,
            lx + 28.0,
            h.colour,
            lx + 36.0,
            y + 4.5,
            esc(&h.label)
        );
        y += 22.0;
    }
    o.push_str(END);
    o
}

/// The two axes of a plot area `[left, top, width, height]` (pixels) in a picture `height`
/// tall, with the x label centred below and the y label turned along the left edge.
pub fn axes(o: &mut String, area: [f64; 4], height: f64, x_label: &str, y_label: &str) {
    let [l, t, pw, ph] = area;
    let _ = writeln!(o, r##"<line x1="{l}" y1="{t}" x2="{l}" y2="{:.1}" stroke="#000000"/>"##, t + ph);
    let _ = writeln!(
        o,
        r##"<line x1="{l}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#000000"/>"##,
        t + ph,
        l + pw,
        t + ph
    );
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="14">{}</text>"#,
        l + pw / 2.0,
        height - 20.0,
        esc(x_label)
    );
    let _ = writeln!(
        o,
        r#"<text x="22" y="{y}" text-anchor="middle" font-size="14" transform="rotate(-90 22 {y})">{}</text>"#,
        esc(y_label),
        y = t + ph / 2.0
    );
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

    #[test]
    fn tick_labels_have_the_step_s_decimals() {
        assert_eq!(tick_label(0.5, 0.25), "0.50");
        assert_eq!(tick_label(0.75, 0.25), "0.75");
        assert_eq!(tick_label(10.0, 5.0), "10");
        assert_eq!(tick_label(0.3000000000000001, 0.1), "0.3");
        assert_eq!(tick_label(-0.0, 0.1), "0.0");
    }

    #[test]
    fn xy_plot_draws_one_polyline_per_series_and_the_reference_line() {
        let series = [
            XySeries {
                name: "a & b".into(),
                colour: "#ff0000",
                dash: None,
                points: vec![(0.1, 0.2), (0.5, 0.8)],
                mark: Some((0.5, 0.8)),
            },
            XySeries {
                name: "c".into(),
                colour: "#0000ff",
                dash: Some("8,5"),
                points: vec![(2.0, 0.9)],
                mark: None,
            },
        ];
        let hl = [HLine { y: 0.75, label: "target".into(), colour: "#000000" }];
        let doc = xy_plot(&XyPlot {
            title: "t",
            x_label: "x",
            y_label: "y",
            y_range: Some((0.0, 1.0)),
            series: &series,
            hlines: &hl,
            legend_title: Some("lines"),
        });
        assert!(doc.starts_with("<svg") && doc.trim_end().ends_with("</svg>"));
        assert_eq!(doc.matches("<polyline").count(), 2);
        assert_eq!(doc.matches("class=\"hline\"").count(), 1);
        assert_eq!(doc.matches("class=\"legend\"").count(), 3);
        assert_eq!(doc.matches("<circle").count(), 1);
        assert!(doc.contains("a &amp; b"));
        // x from 0 to 2 in steps of 0.25; y 0 to 1 in steps of 0.1.
        assert!(doc.contains(r#"class="xtick" x="80.0" y="552.0" text-anchor="middle">0.00<"#), "{doc}");
        assert!(doc.contains(">2.00</text>") && doc.contains(">1.0</text>"), "{doc}");
        // The point (2, 0.9) is at the plot's right edge.
        assert!(doc.contains("680.0,"), "{doc}");
    }
}
