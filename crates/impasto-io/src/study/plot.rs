//! The report's picture as SVG: each method's score with its 95 % interval (a forest plot),
//! and for pairs the matrix of observed win rates. Every name is escaped.

use std::fmt::Write;

/// One row of the forest plot.
#[derive(Clone, Debug)]
pub struct Row {
    /// The method.
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// What the plot shows.
#[derive(Clone, Debug)]
pub struct Plot {
    /// The title above it.
    pub title: String,
    /// The scores' axis, e.g. "Bradley–Terry log-strength".
    pub axis: String,
    /// Methods, best first.
    pub rows: Vec<Row>,
    /// A reference line (0 for log-strengths), if any.
    pub reference: Option<f64>,
    /// The axis' fixed range (1–5 for opinion scores), else the data's.
    pub range: Option<(f64, f64)>,
    /// Row i's win rate over column j (methods in `rows` order), for pairs.
    pub win_rates: Option<Vec<Vec<Option<f64>>>>,
}

const ROW: f64 = 30.0;
const LABEL: f64 = 180.0;
const CHART: f64 = 360.0;
const CELL: f64 = 44.0;

/// The SVG document of `p`.
pub fn svg(p: &Plot) -> String {
    let n = p.rows.len();
    let top = 60.0;
    let forest_h = top + ROW * n as f64 + 50.0;
    let matrix_w = p.win_rates.as_ref().map_or(0.0, |_| 60.0 + CELL * n as f64);
    let matrix_h = p
        .win_rates
        .as_ref()
        .map_or(0.0, |_| top + 90.0 + CELL * n as f64);
    let (w, h) = (LABEL + CHART + 40.0 + matrix_w, forest_h.max(matrix_h));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="13"><rect width="100%" height="100%" fill="white"/><text x="12" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&p.title)
    );
    forest(&mut s, p, top);
    if let Some(rates) = &p.win_rates {
        matrix(&mut s, &p.rows, rates, LABEL + CHART + 40.0, top);
    }
    s.push_str("</svg>\n");
    s
}

/// The scores with their intervals, one row per method.
fn forest(s: &mut String, p: &Plot, top: f64) {
    let (lo, hi) = p.range.unwrap_or_else(|| {
        let lo = p.rows.iter().map(|r| r.low).fold(f64::INFINITY, f64::min);
        let hi = p
            .rows
            .iter()
            .map(|r| r.high)
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match p.reference {
            Some(r) => (lo.min(r), hi.max(r)),
            None => (lo, hi),
        };
        let pad = ((hi - lo) * 0.08).max(0.1);
        (lo - pad, hi + pad)
    });
    let x = |v: f64| LABEL + (v - lo) / (hi - lo) * CHART;
    let bottom = top + ROW * p.rows.len() as f64;
    let _ = write!(
        s,
        r##"<line x1="{LABEL}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#333"/>"##,
        LABEL + CHART
    );
    for t in ticks(lo, hi) {
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{top}" x2="{0}" y2="{1}" stroke="#e4e4e4"/><text x="{0}" y="{2}" text-anchor="middle" fill="#333">{3}</text>"##,
            x(t),
            bottom + 4.0,
            bottom + 18.0,
            short(t)
        );
    }
    if let Some(r) = p.reference {
        let _ = write!(
            s,
            r##"<line x1="{0}" y1="{top}" x2="{0}" y2="{bottom}" stroke="#888" stroke-dasharray="4 3"/>"##,
            x(r)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#333">{}</text>"##,
        LABEL + CHART / 2.0,
        bottom + 38.0,
        escape(&p.axis)
    );
    for (i, r) in p.rows.iter().enumerate() {
        let y = top + ROW * (i as f64 + 0.5);
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#1f5fa8" stroke-width="2.5"/><circle cx="{}" cy="{y}" r="5" fill="#1f5fa8"/>"##,
            LABEL - 10.0,
            y + 4.5,
            escape(&clip(&r.name, 24)),
            x(r.low),
            x(r.high),
            x(r.estimate)
        );
    }
}

/// The win-rate matrix: row over column, shaded from red (0 %) through white to blue (100 %).
fn matrix(s: &mut String, rows: &[Row], rates: &[Vec<Option<f64>>], left: f64, top: f64) {
    let ox = left + 60.0;
    let oy = top + 80.0;
    let _ = write!(
        s,
        r##"<text x="{left}" y="{}" font-weight="bold">Win rate, row over column</text>"##,
        top - 12.0
    );
    for (j, r) in rows.iter().enumerate() {
        let cx = ox + CELL * (j as f64 + 0.5);
        let _ = write!(
            s,
            r##"<text transform="translate({cx},{}) rotate(-45)" font-size="11">{}</text>"##,
            oy - 6.0,
            escape(&clip(&r.name, 12))
        );
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>"##,
            ox - 6.0,
            oy + CELL * (j as f64 + 0.5) + 4.0,
            escape(&clip(&r.name, 8))
        );
    }
    for (i, row) in rates.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let (x, y) = (ox + CELL * j as f64, oy + CELL * i as f64);
            let (fill, text) = match v {
                Some(v) => (shade(*v), format!("{:.0}%", v * 100.0)),
                None => ("#f2f2f2".to_string(), if i == j { "" } else { "–" }.into()),
            };
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" stroke="white"/><text x="{}" y="{}" text-anchor="middle" font-size="11">{text}</text>"##,
                x + CELL / 2.0,
                y + CELL / 2.0 + 4.0
            );
        }
    }
}

/// Red below one half, blue above, white at one half.
fn shade(v: f64) -> String {
    let t = ((v - 0.5) * 2.0).clamp(-1.0, 1.0);
    let (r, g, b) = if t < 0.0 {
        (255.0, 255.0 + 120.0 * t, 255.0 + 120.0 * t)
    } else {
        (255.0 - 150.0 * t, 255.0 - 90.0 * t, 255.0)
    };
    format!("#{:02x}{:02x}{:02x}", r as u8, g as u8, b as u8)
}

/// Round tick values across `lo..hi`, about five.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 && out.len() < 20 {
        out.push(t);
        t += step;
    }
    out
}

/// A tick label without needless digits.
fn short(v: f64) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// Text safe inside SVG (XML) text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(name: &str) -> Plot {
        Plot {
            title: "Study".into(),
            axis: "log-strength".into(),
            rows: vec![
                Row {
                    name: name.into(),
                    estimate: 0.5,
                    low: 0.2,
                    high: 0.9,
                },
                Row {
                    name: "b".into(),
                    estimate: -0.5,
                    low: -0.8,
                    high: -0.1,
                },
            ],
            reference: Some(0.0),
            range: None,
            win_rates: Some(vec![vec![None, Some(0.8)], vec![Some(0.2), None]]),
        }
    }

    #[test]
    fn names_are_escaped_and_the_document_is_well_formed_enough() {
        let s = svg(&plot("<script>alert(1)</script>&"));
        assert!(!s.contains("<script>"), "{s}");
        assert!(s.contains("&lt;script&gt;"));
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(s.contains(">80%<") && s.contains(">20%<"));
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(-1.0, 1.0), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(ticks(1.0, 5.0), [1.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
