//! Line and scatter charts as PNG, drawn with plotters, for the figures of the analyses.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

/// Pixels of every chart: small enough for a document, large enough to read.
const CHART_SIZE_PX: (u32, u32) = (800, 500);

/// One curve of a line chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Also mark every point, for curves of a few measured points.
    pub marked: bool,
}

/// A line chart's text and axes.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Space the x axis by powers of two (labelled with the values themselves), for sweeps
    /// over sizes that double.
    pub log2_x: bool,
    pub series: &'a [Series],
}

/// One group of a scatter chart: its points share a colour and a marker.
pub struct Group {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// The colour's index in plotters' palette: groups that belong together share it.
    pub colour: usize,
    /// Filled circles when true, hollow triangles when false.
    pub filled: bool,
}

/// plotters' errors carry the backend's error type; the analyses only need their message.
fn drawing_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing a chart: {error}")
}

/// The smallest and largest value, widened by a twentieth of the span on each side (and to a
/// unit span when all values are equal) so that no point sits on the frame.
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if low > high {
        return 0.0..1.0;
    }
    let pad = if high > low { (high - low) / 20.0 } else { 0.5 };
    low - pad..high + pad
}

pub fn line_chart(path: &Path, chart: &LineChart) -> anyhow::Result<()> {
    let to_x = |x: f64| if chart.log2_x { x.log2() } else { x };
    let all = || chart.series.iter().flat_map(|s| s.points.iter());
    let x_range = padded_range(all().map(|p| to_x(p.0)));
    // Headroom above the curves for the legend, so that it hides none of them.
    let y_range = padded_range(all().map(|p| p.1));
    let y_range = y_range.start..y_range.end + 0.3 * (y_range.end - y_range.start);

    let root = BitMapBackend::new(path, CHART_SIZE_PX).into_drawing_area();
    root.fill(&WHITE).map_err(drawing_error)?;
    let mut context = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, y_range)
        .map_err(drawing_error)?;
    let x_labels = |x: &f64| {
        if chart.log2_x {
            format!("{:.0}", x.exp2())
        } else {
            format!("{x}")
        }
    };
    context
        .configure_mesh()
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .x_label_formatter(&x_labels)
        .draw()
        .map_err(drawing_error)?;

    for (index, series) in chart.series.iter().enumerate() {
        let colour = Palette99::pick(index).to_rgba();
        let points: Vec<(f64, f64)> = series.points.iter().map(|&(x, y)| (to_x(x), y)).collect();
        context
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(drawing_error)?
            .label(series.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        if series.marked {
            context
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(drawing_error)?;
        }
    }
    context
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    log::info!("wrote {}", path.display());
    Ok(())
}

pub fn scatter_chart(path: &Path, title: &str, groups: &[Group]) -> anyhow::Result<()> {
    let all = || groups.iter().flat_map(|g| g.points.iter());
    let x_range = padded_range(all().map(|p| p.0));
    let y_range = padded_range(all().map(|p| p.1));
    let y_range = y_range.start..y_range.end + 0.35 * (y_range.end - y_range.start);

    let root = BitMapBackend::new(path, CHART_SIZE_PX).into_drawing_area();
    root.fill(&WHITE).map_err(drawing_error)?;
    let mut context = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(x_range, y_range)
        .map_err(drawing_error)?;
    context
        .configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(drawing_error)?;

    for group in groups {
        let colour = Palette99::pick(group.colour).to_rgba();
        let filled = group.filled;
        let marker = move |point: (f64, f64)| -> DynElement<'static, BitMapBackend, (f64, f64)> {
            if filled {
                Circle::new(point, 4, colour.filled()).into_dyn()
            } else {
                TriangleMarker::new(point, 6, colour.stroke_width(2)).into_dyn()
            }
        };
        context
            .draw_series(group.points.iter().map(|&point| marker(point)))
            .map_err(drawing_error)?
            .label(group.name.as_str())
            .legend(move |(x, y)| marker_at_pixel((x + 8, y), colour, filled));
    }
    context
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(drawing_error)?;
    root.present().map_err(drawing_error)?;
    log::info!("wrote {}", path.display());
    Ok(())
}

/// A legend's marker, the same shape as the group's points.
fn marker_at_pixel<Backend: DrawingBackend>(
    pixel: (i32, i32),
    colour: RGBAColor,
    filled: bool,
) -> DynElement<'static, Backend, (i32, i32)> {
    if filled {
        Circle::new(pixel, 4, colour.filled()).into_dyn()
    } else {
        TriangleMarker::new(pixel, 6, colour.stroke_width(2)).into_dyn()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded_and_never_empty() {
        let range = padded_range([1.0, 3.0, f64::NAN].into_iter());
        assert!((range.start - 0.9).abs() < 1e-12 && (range.end - 3.1).abs() < 1e-12);
        assert_eq!(padded_range([2.0].into_iter()), 1.5..2.5);
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
    }
}
