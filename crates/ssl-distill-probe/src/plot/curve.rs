//! Line plots of training curves (loss against step), several series on one chart.

use std::path::Path;

use plotters::prelude::*;

use super::{FAMILY, GROUP_COLOURS, render};
use crate::error::ProbeError;

/// Size of a curve PNG (width, height).
pub const CURVE_SIZE: (u32, u32) = (760, 440);

/// One named series of `(step, value)` points.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points, in step order.
    pub points: &'a [(f64, f64)],
}

/// Curves to draw on one chart.
#[derive(Debug, Clone, Copy)]
pub struct Curves<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Name of the x axis.
    pub x_axis: &'a str,
    /// Name of the y axis.
    pub y_axis: &'a str,
    /// The series (non-finite points are left out).
    pub series: &'a [Series<'a>],
}

/// Writes `curves` as a [`CURVE_SIZE`] PNG to `path` (atomically).
///
/// # Errors
/// [`ProbeError::Plot`] (also when no series has a finite point), [`ProbeError::Write`],
/// naming the file.
pub fn curves_png(curves: &Curves<'_>, path: &Path) -> Result<(), ProbeError> {
    let finite: Vec<Vec<(f64, f64)>> = curves
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all = finite.iter().flatten();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x_lo = x_lo.min(x);
        x_hi = x_hi.max(x);
        y_lo = y_lo.min(y);
        y_hi = y_hi.max(y);
    }
    if x_lo > x_hi {
        return Err(ProbeError::Plot {
            path: path.into(),
            message: "no finite point to plot".into(),
        });
    }
    if x_hi - x_lo < 1e-12 {
        x_hi = x_lo + 1.0;
    }
    let pad = ((y_hi - y_lo) * 0.05).max(1e-6);
    let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
    render(path, CURVE_SIZE, |root| {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let mut chart = ChartBuilder::on(root)
            .caption(curves.title, (FAMILY, 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(curves.x_axis)
            .y_desc(curves.y_axis)
            .label_style((FAMILY, 13))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        for (k, (s, points)) in curves.series.iter().zip(&finite).enumerate() {
            let colour = GROUP_COLOURS[k % GROUP_COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(e)?
                .label(s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()
            .map_err(e)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_and_refuses_an_empty_chart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let a = [(1.0, 3.0), (2.0, 2.0), (3.0, f64::NAN), (4.0, 1.5)];
        let b = [(1.0, 2.5), (4.0, 1.0)];
        let series = [
            Series {
                label: "train",
                points: &a,
            },
            Series {
                label: "dev",
                points: &b,
            },
        ];
        let curves = Curves {
            title: "loss",
            x_axis: "step",
            y_axis: "loss",
            series: &series,
        };
        curves_png(&curves, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let info = decoder.read_info().unwrap().info().clone();
        assert_eq!((info.width, info.height), CURVE_SIZE);

        let empty = [Series {
            label: "x",
            points: &[(1.0, f64::NAN)],
        }];
        let err = curves_png(
            &Curves {
                series: &empty,
                ..curves
            },
            &dir.path().join("empty.png"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("empty.png"), "{err}");
        assert!(!dir.path().join("empty.png").exists());
    }
}
