//! The report's speedup plot (speedup vs P), written with the shared SVG writer
//! ([`spikepipe_backends::svg`], which also composes charts side by side).

use std::fmt::Write as _;

pub use spikepipe_backends::svg::side_by_side;
use spikepipe_backends::svg::{self, esc, nice_step};

/// One line of a plot.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Stroke colour.
    pub colour: &'static str,
    /// One value per x (None: no point).
    pub values: Vec<Option<f64>>,
    /// Dash pattern of the line (e.g. `"7,5"`), so coinciding lines stay visible.
    pub dash: Option<&'static str>,
}

/// Dash pattern of a method's line: the runners-up are dashed, so a line that coincides
/// with the one drawn over it (ilp on heuristic, pipedream on layerwise) still shows.
pub fn method_dash(method: &str) -> Option<&'static str> {
    match method {
        "heuristic" | "layerwise" => Some("8,5"),
        _ => None,
    }
}

/// Colour of a method's line.
pub fn method_colour(method: &str) -> &'static str {
    match method {
        "ilp" => "#d62728",
        "heuristic" => "#ff7f0e",
        "pipedream" => "#1f77b4",
        "layerwise" => "#2ca02c",
        "gpipe" => "#7f7f7f",
        _ => "#9467bd",
    }
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A line plot with x = processor counts on a log₂ axis, y from 0, a dashed reference
/// line at y = 1, ticks, axis labels and a legend.
pub fn line_plot(title: &str, x_label: &str, y_label: &str, xs: &[u64], series: &[Series]) -> String {
    const W: f64 = 900.0;
    const H: f64 = 600.0;
    const L: f64 = 80.0;
    const R: f64 = 190.0;
    const T: f64 = 60.0;
    const B: f64 = 70.0;
    let pw = W - L - R;
    let ph = H - T - B;
    let ymax_data = series.iter().flat_map(|s| s.values.iter().flatten().copied()).fold(1.0f64, f64::max);
    let step = nice_step(ymax_data * 1.08, 8.0);
    let ymax = (ymax_data * 1.08 / step).ceil() * step;
    let lx: Vec<f64> = xs.iter().map(|&p| (p.max(1) as f64).log2()).collect();
    let (x0, x1) = match (lx.iter().copied().reduce(f64::min), lx.iter().copied().reduce(f64::max)) {
        (Some(a), Some(b)) if b > a => (a, b),
        (Some(a), _) => (a - 1.0, a + 1.0),
        _ => (0.0, 1.0),
    };
    let pad = 0.06 * (x1 - x0);
    let xpos = |v: f64| L + pw * (v - x0 + pad) / (x1 - x0 + 2.0 * pad);
    let ypos = |v: f64| T + ph * (1.0 - v / ymax);

    let mut o = String::new();
    o.push_str(&svg::begin(W, H, 13.0));
    let _ = writeln!(
        o,
        r#"<text x="{}" y="30" text-anchor="middle" font-size="17" font-weight="bold">{}</text>"#,
        L + pw / 2.0,
        esc(title)
    );
    // Grid and y ticks.
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let y = ypos(v);
        let _ =
            writeln!(o, r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/>"##, L + pw);
        let _ = writeln!(
            o,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            L - 8.0,
            y + 4.5,
            fmt_tick(v)
        );
        v += step;
    }
    // Reference line y = 1.
    let _ = writeln!(
        o,
        r##"<line x1="{L}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#555555" stroke-dasharray="6,4"/>"##,
        L + pw,
        y = ypos(1.0)
    );
    // x ticks.
    for (&p, &l) in xs.iter().zip(&lx) {
        let x = xpos(l);
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#000000"/>"##,
            T + ph,
            T + ph + 6.0
        );
        let _ = writeln!(o, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{p}</text>"#, T + ph + 22.0);
    }
    svg::axes(&mut o, [L, T, pw, ph], H, x_label, y_label);
    // Lines and markers, in order: a dashed runner-up drawn over the line it equals
    // leaves that line visible between its dashes.
    for s in series {
        let pts: Vec<(f64, f64)> =
            s.values.iter().zip(&lx).filter_map(|(v, &l)| v.map(|v| (xpos(l), ypos(v)))).collect();
        let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = writeln!(
            o,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2.5"{} points="{}"><title>{}</title></polyline>"#,
            s.colour,
            s.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default(),
            path.join(" "),
            esc(&s.name)
        );
        for ((x, y), v) in pts.iter().zip(s.values.iter().flatten()) {
            let _ = writeln!(
                o,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{}"><title>{}: {v:.3}</title></circle>"#,
                s.colour,
                esc(&s.name)
            );
        }
    }
    // Legend.
    let lx0 = L + pw + 20.0;
    for (i, s) in series.iter().enumerate() {
        let y = T + 10.0 + 24.0 * i as f64;
        let _ = writeln!(
            o,
            r#"<line class="legend" x1="{lx0}" y1="{y}" x2="{}" y2="{y}" stroke="{}" stroke-width="2.5"{}/><circle cx="{}" cy="{y}" r="4.5" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            lx0 + 28.0,
            s.colour,
            s.dash.map(|d| format!(r#" stroke-dasharray="{d}""#)).unwrap_or_default(),
            lx0 + 14.0,
            s.colour,
            lx0 + 36.0,
            y + 4.5,
            esc(&s.name)
        );
    }
    o.push_str(svg::END);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_and_compose() {
        let s = line_plot(
            "t",
            "P",
            "speedup",
            &[2, 4, 8],
            &[Series {
                name: "ilp".into(),
                colour: "#f00",
                values: vec![Some(1.0), Some(1.5), None],
                dash: None,
            }],
        );
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 2 + 1);
        let both = side_by_side("x", &[s.clone(), s]);
        assert_eq!(svg::size(&both), (1820.0, 640.0));
        assert_eq!(both.matches("<svg").count(), 3);
        assert_eq!(both.matches("</svg>").count(), 3);
    }
}
