//! Charts for the pages, drawn on the server as SVG with `plotters`:
//! axes with ticks and gridlines, a legend, and each point's value on
//! hover (an SVG `<title>`). Nothing is loaded from another host, and the
//! SVG scales to the page's width (its labels are sized for a phone).

use plotters::prelude::*;

/// The chart's own coordinate size; the page scales it to its width.
const W: u32 = 560;
const H: u32 = 320;
const FONT: u32 = 18;

/// Series colours (readable on white, told apart by people with the
/// common colour-vision deficiencies).
pub const COLORS: [RGBColor; 5] = [
    RGBColor(0xc2, 0x41, 0x0c),
    RGBColor(0x1d, 0x4e, 0xd8),
    RGBColor(0x15, 0x80, 0x3d),
    RGBColor(0x7e, 0x22, 0xce),
    RGBColor(0xa1, 0x62, 0x07),
];

/// One named line: `(time in ms since the epoch, value)`.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// Something that happened during a run, marked on its charts: a dashed
/// line at `at_ms` (since the window opened), or a shaded span when it
/// lasted until `until_ms`, numbered by its place in the list given (from
/// 1). Its label shows on hover.
#[derive(Debug, Clone)]
pub struct Mark {
    pub at_ms: i64,
    pub until_ms: Option<i64>,
    pub label: String,
}

/// How the x axis reads.
#[derive(Debug, Clone, Copy)]
enum XAxis {
    /// Wall-clock times (ms since the epoch), with the date when the chart
    /// spans more than a day.
    Clock { days: bool },
    /// Seconds into a run (ms since its window opened).
    Elapsed,
}

impl XAxis {
    fn label(self, t: i64) -> String {
        match self {
            XAxis::Clock { days } => {
                let ts =
                    jiff::Timestamp::from_millisecond(t).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                ts.strftime(if days { "%m-%d %H:%M" } else { "%H:%M" })
                    .to_string()
            }
            XAxis::Elapsed => format!("{} s", short_number((t as f64 / 100.0).round() / 10.0)),
        }
    }
}

/// A chart of one run's window: x is seconds into the run, and the run's
/// events are marked. Empty when there is nothing to draw.
pub fn window_series(
    id: &str,
    label: &str,
    y_name: &str,
    series: &[Series],
    marks: &[Mark],
) -> String {
    let xs: Vec<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| p.1.is_finite()).map(|p| p.0))
        .collect();
    let (Some(&first), Some(&last)) = (xs.iter().min(), xs.iter().max()) else {
        return String::new();
    };
    let t0 = first.min(0);
    let t1 = marks
        .iter()
        .map(|m| m.until_ms.unwrap_or(m.at_ms))
        .fold(last, i64::max)
        .max(t0 + 1000);
    let pad = (t1 - t0) / 50;
    chart(
        id,
        label,
        y_name,
        series,
        marks,
        (t0, t1 + pad),
        XAxis::Elapsed,
    )
}

/// A time series chart: one line per series, a dot per point with its
/// value on hover. `id` names the `<svg>` element; `label` is its
/// accessible name. Empty when there is nothing to draw.
pub fn time_series(id: &str, label: &str, y_name: &str, series: &[Series]) -> String {
    let all: Vec<(i64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(_, v)| v.is_finite())
        .collect();
    if all.is_empty() {
        return String::new();
    }
    let (mut t0, mut t1) = all
        .iter()
        .fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    // A lone point (or one instant) sits in the middle of an hour.
    if t1 - t0 < 60_000 {
        t0 -= 30 * 60_000;
        t1 += 30 * 60_000;
    }
    let pad = (t1 - t0) / 20;
    let days = (t1 - t0) > 20 * 3_600_000;
    chart(
        id,
        label,
        y_name,
        series,
        &[],
        (t0 - pad, t1 + pad),
        XAxis::Clock { days },
    )
}

fn chart(
    id: &str,
    label: &str,
    y_name: &str,
    series: &[Series],
    marks: &[Mark],
    (t0, t1): (i64, i64),
    axis: XAxis,
) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut svg = String::new();
    let mut hover = Vec::new();
    let frame = Frame {
        x: (t0, t1),
        top,
        axis,
    };
    if let Err(e) = draw(&mut svg, &mut hover, &frame, y_name, series, marks) {
        tracing::error!(error = %e, "chart not drawn");
        return String::new();
    }
    finish(svg, id, label, &hover)
}

struct Frame {
    x: (i64, i64),
    top: f64,
    axis: XAxis,
}

/// The colour of marked events: a dark grey, apart from every series colour.
const MARK: RGBColor = RGBColor(0x37, 0x41, 0x51);

fn draw(
    svg: &mut String,
    hover: &mut Vec<(i32, i32, String, RGBColor)>,
    frame: &Frame,
    y_name: &str,
    series: &[Series],
    marks: &[Mark],
) -> Result<(), String> {
    let (t0, t1) = frame.x;
    let (top, axis) = (frame.top, frame.axis);
    let root = SVGBackend::with_string(svg, (W, H)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(t0..t1, 0f64..top)
        .map_err(|e| e.to_string())?;
    let when = |t: &i64| axis.label(*t);
    chart
        .configure_mesh()
        .x_labels(match axis {
            XAxis::Clock { .. } => 4,
            XAxis::Elapsed => 6,
        })
        .y_labels(5)
        .x_label_formatter(&when)
        .y_label_formatter(&|v| short_number(*v))
        .y_desc(y_name)
        .label_style(
            ("sans-serif", FONT)
                .into_font()
                .color(&RGBColor(0x5b, 0x65, 0x75)),
        )
        .axis_desc_style(
            ("sans-serif", FONT)
                .into_font()
                .color(&RGBColor(0x5b, 0x65, 0x75)),
        )
        .light_line_style(RGBColor(0xee, 0xf1, 0xf5))
        .bold_line_style(RGBColor(0xdd, 0xe2, 0xea))
        .axis_style(RGBColor(0xb8, 0xc0, 0xcc))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, m) in marks.iter().enumerate() {
        let top_of = |x: i64| (x, top);
        match m.until_ms {
            Some(until) => {
                chart
                    .draw_series([Rectangle::new(
                        [(m.at_ms, 0.0), (until.max(m.at_ms + 1), top)],
                        MARK.mix(0.12).filled(),
                    )])
                    .map_err(|e| e.to_string())?;
            }
            None => {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(m.at_ms, 0.0), top_of(m.at_ms)],
                        6,
                        4,
                        MARK.stroke_width(1),
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        let (x, y) = chart.backend_coord(&top_of(m.at_ms));
        hover.push((
            x + 4,
            y + FONT as i32 / 2,
            format!("{}. {} at {}", i + 1, m.label, when(&m.at_ms)),
            MARK,
        ));
    }
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(i64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(|e| e.to_string())?;
        for p in &points {
            let (x, y) = chart.backend_coord(p);
            hover.push((
                x,
                y,
                format!("{}: {} at {}", s.name, short_number(p.1), when(&p.0)),
                color,
            ));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", FONT))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0xdd, 0xe2, 0xea))
        .draw()
        .map_err(|e| e.to_string())?;
    // The marks' numbers last, so the legend never hides one.
    for (i, m) in marks.iter().enumerate() {
        chart
            .draw_series([Text::new(
                (i + 1).to_string(),
                (m.at_ms, top),
                ("sans-serif", FONT).into_font().color(&MARK),
            )])
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// The page-facing `<svg>`: scales with the page, names itself, and gets
/// a larger invisible hover target with a `<title>` on every point.
fn finish(svg: String, id: &str, label: &str, hover: &[(i32, i32, String, RGBColor)]) -> String {
    let Some(open_end) = svg.find('>') else {
        return String::new();
    };
    let mut out = format!(
        r#"<svg id="{}" viewBox="0 0 {W} {H}" width="100%" style="max-width:40rem;height:auto" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(id),
        escape(label)
    );
    out.push_str(&svg[open_end + 1..]);
    let targets: String = hover
        .iter()
        .map(|(x, y, text, _)| {
            format!(
                r#"<circle class="point" cx="{x}" cy="{y}" r="9" fill="transparent"><title>{}</title></circle>"#,
                escape(text)
            )
        })
        .collect();
    match out.rfind("</svg>") {
        Some(end) => out.insert_str(end, &targets),
        None => return String::new(),
    }
    out
}

/// 48000 → "48k", 1234.5 → "1234.5", 0.25 → "0.25".
pub fn short_number(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{}k", (v / 100.0).round() / 10.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{}", (v * 100.0).round() / 100.0)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_axes_a_legend_lines_and_hover_values() {
        let svg = time_series(
            "score-chart",
            "Score over time",
            "score",
            &[
                Series {
                    name: "ada".into(),
                    points: vec![(1_700_000_000_000, 480.0), (1_700_000_600_000, 520.5)],
                },
                Series {
                    name: "<bob>".into(),
                    points: vec![(1_700_000_300_000, 300.0)],
                },
            ],
        );
        assert!(
            svg.starts_with(r#"<svg id="score-chart" viewBox="#),
            "{svg}"
        );
        // The series' lines (the axes and ticks are thinner polylines).
        assert_eq!(svg.matches(r#"stroke-width="2""#).count(), 2, "{svg}");
        assert!(svg.contains("<title>ada: 520.5 at "), "{svg}");
        assert!(svg.contains("&lt;bob&gt;"), "names are escaped");
        assert!(!svg.contains("<bob>"));
        // Ticks: several labels on each axis, and the axis name.
        assert!(svg.matches("<text").count() >= 8, "{svg}");
        assert!(svg.contains("\nscore\n"), "{svg}");
    }

    #[test]
    fn a_run_chart_reads_in_seconds_and_marks_its_events() {
        let svg = window_series(
            "rates-chart",
            "Requests per second",
            "req/s",
            &[Series {
                name: "completed".into(),
                points: (0..=20).map(|i| (i * 10_000, 100.0)).collect(),
            }],
            &[
                Mark {
                    at_ms: 40_000,
                    until_ms: None,
                    label: "chaos: frozen for 3 s".into(),
                },
                Mark {
                    at_ms: 90_000,
                    until_ms: Some(95_000),
                    label: "url-anvil did not answer".into(),
                },
            ],
        );
        assert!(
            svg.contains("<title>1. chaos: frozen for 3 s at 40 s</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>2. url-anvil did not answer at 90 s</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>completed: 100 at 200 s</title>"),
            "{svg}"
        );
        // One dashed line (many short dashes in the marks' colour), one
        // shaded span, and both numbers.
        assert!(
            svg.matches(r##"<polyline fill="none" opacity="1" stroke="#374151""##)
                .count()
                > 10,
            "{svg}"
        );
        assert_eq!(
            svg.matches(r##"opacity="0.12" fill="#374151""##).count(),
            1,
            "{svg}"
        );
        assert_eq!(svg.matches(r##"fill="#374151">"##).count(), 2, "{svg}");
        assert!(
            svg.contains("\n50 s\n") || svg.contains(">50 s<"),
            "ticks in seconds: {svg}"
        );
    }

    #[test]
    fn nothing_to_draw_is_no_chart() {
        assert_eq!(time_series("c", "c", "y", &[]), "");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(48_000.0), "48k");
        assert_eq!(short_number(640.0), "640");
        assert_eq!(short_number(0.25), "0.25");
    }
}
