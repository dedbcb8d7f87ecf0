//! PNG plots with plotters' bitmap backend: a CKA [`Heatmap`] with cluster boundaries, a
//! [`Dendrogram`] of the layer clustering, and training [`Curves`].
//!
//! Text is drawn with an embedded ASCII subset of DejaVu Sans (`assets/`, Bitstream Vera
//! licence) through plotters' `ab_glyph` feature, so no system font is needed; the bitmap is
//! encoded with the `png` crate (plotters' own encoder would pull in `image`).

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use ssl_distill_targets::Merge;

use crate::error::ProbeError;

mod curve;

pub use curve::{CURVE_SIZE, Curves, Series, curves_png};

/// Size of a heatmap PNG (width, height).
pub const HEATMAP_SIZE: (u32, u32) = (760, 720);
/// Size of a dendrogram PNG (width, height).
pub const DENDROGRAM_SIZE: (u32, u32) = (760, 480);

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-ascii.ttf");
const FAMILY: &str = "sans-serif";

/// Registers the embedded font once; false if it is unusable (never, for the shipped file).
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
}

/// Colours of groups 0, 1, ... (matplotlib's tab10), then repeated.
const GROUP_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const UNGROUPED: RGBColor = RGBColor(210, 210, 210);

fn group_colour(g: usize) -> RGBColor {
    GROUP_COLOURS[g % GROUP_COLOURS.len()]
}

/// Viridis at `v` in `[0, 1]` (9 stops, linear in between).
fn viridis(v: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn text_style(size: u32, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FAMILY, size)
        .into_font()
        .color(&colour)
        .pos(Pos::new(h, v))
}

/// Draws with `draw` into an RGB buffer of `size` and writes it as a PNG to `path`
/// atomically.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), ProbeError> {
    let fail = |message: String| ProbeError::Plot {
        path: path.into(),
        message,
    };
    if !font_ready() {
        return Err(fail("the embedded font cannot be read".into()));
    }
    let mut rgb = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| fail(e.to_string()))?;
        writer.finish().map_err(|e| fail(e.to_string()))?;
    }
    ssl_distill_models::write_atomic(path, &bytes)?;
    Ok(())
}

/// A matrix of values in `[0, 1]` to draw as a heatmap.
#[derive(Debug, Clone, Copy)]
pub struct Heatmap<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// `rows × cols` values (CKA), clamped to `[0, 1]`.
    pub values: &'a [Vec<f64>],
    /// Row labels (hidden-state indices).
    pub rows: &'a [usize],
    /// Column labels.
    pub cols: &'a [usize],
    /// Name of the row axis.
    pub row_axis: &'a str,
    /// Name of the column axis.
    pub col_axis: &'a str,
    /// Clusters of a square matrix (hidden-state indices), drawn as coloured strips along
    /// both axes, white lines between neighbouring layers of different groups and outlines
    /// around the diagonal blocks of consecutive layers of one group.
    pub groups: Option<&'a [Vec<usize>]>,
}

/// Group index of every label (`None`: not clustered).
fn group_of(labels: &[usize], groups: &[Vec<usize>]) -> Vec<Option<usize>> {
    labels
        .iter()
        .map(|l| groups.iter().position(|g| g.contains(l)))
        .collect()
}

/// Where the cells of a heatmap are: top-left corner `(x0, y0)`, bottom-right `(x1, y1)`,
/// square cells of `cell` pixels.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    cell: i32,
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_heatmap(h: &Heatmap<'_>, root: &Area<'_>) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (n, m) = (h.rows.len(), h.cols.len());
    let (x0, y0) = (90i32, 70i32);
    let cell = (560 / m.max(n).max(1)) as i32;
    let (x1, y1) = (x0 + cell * m as i32, y0 + cell * n as i32);
    let grid = Grid {
        x0,
        y0,
        x1,
        y1,
        cell,
    };
    root.draw(&Text::new(
        h.title.to_string(),
        (HEATMAP_SIZE.0 as i32 / 2, 24),
        text_style(20, BLACK, HPos::Center, VPos::Center),
    ))
    .map_err(e)?;
    draw_cells(h, root, grid)?;
    draw_axis_labels(h, root, grid)?;
    if let Some(groups) = h.groups {
        draw_groups(h.rows, groups, root, grid)?;
    }
    draw_colour_bar(root, grid)
}

/// One coloured cell per value (with the value written in when cells are large enough).
fn draw_cells(h: &Heatmap<'_>, root: &Area<'_>, grid: Grid) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let Grid { x0, y0, cell, .. } = grid;
    for (i, row) in h.values.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let (cx, cy) = (x0 + cell * j as i32, y0 + cell * i as i32);
            let colour = viridis(v);
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + cell, cy + cell)],
                colour.filled(),
            ))
            .map_err(e)?;
            if cell >= 34 {
                let light = 0.299 * f64::from(colour.0)
                    + 0.587 * f64::from(colour.1)
                    + 0.114 * f64::from(colour.2)
                    > 140.0;
                let ink = if light { BLACK } else { WHITE };
                root.draw(&Text::new(
                    format!("{v:.2}"),
                    (cx + cell / 2, cy + cell / 2),
                    text_style(11, ink, HPos::Center, VPos::Center),
                ))
                .map_err(e)?;
            }
        }
    }
    Ok(())
}

/// Row and column labels and the axis names.
fn draw_axis_labels(h: &Heatmap<'_>, root: &Area<'_>, grid: Grid) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let Grid {
        x0,
        y0,
        x1,
        y1,
        cell,
    } = grid;
    let label_size = if cell >= 20 { 13 } else { 10 };
    let step = if cell >= 12 {
        1
    } else {
        (12 / cell.max(1)) as usize + 1
    };
    for (i, r) in h.rows.iter().enumerate().step_by(step) {
        root.draw(&Text::new(
            r.to_string(),
            (x0 - 20, y0 + cell * i as i32 + cell / 2),
            text_style(label_size, BLACK, HPos::Right, VPos::Center),
        ))
        .map_err(e)?;
    }
    for (j, c) in h.cols.iter().enumerate().step_by(step) {
        root.draw(&Text::new(
            c.to_string(),
            (x0 + cell * j as i32 + cell / 2, y1 + 10),
            text_style(label_size, BLACK, HPos::Center, VPos::Top),
        ))
        .map_err(e)?;
    }
    root.draw(&Text::new(
        h.col_axis.to_string(),
        ((x0 + x1) / 2, y1 + 34),
        text_style(15, BLACK, HPos::Center, VPos::Top),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        format!("rows: {}", h.row_axis),
        (10, y0 - 24),
        text_style(13, BLACK, HPos::Left, VPos::Center),
    ))
    .map_err(e)?;
    Ok(())
}

/// Cluster strips beside the rows and above the columns, white lines between groups and
/// outlines around the diagonal blocks of each group.
fn draw_groups(
    rows: &[usize],
    groups: &[Vec<usize>],
    root: &Area<'_>,
    grid: Grid,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let Grid {
        x0,
        y0,
        x1,
        y1,
        cell,
    } = grid;
    let n = rows.len();
    let of = group_of(rows, groups);
    for (i, g) in of.iter().enumerate() {
        let colour = g.map_or(UNGROUPED, group_colour);
        let a = cell * i as i32;
        root.draw(&Rectangle::new(
            [(x0 - 14, y0 + a), (x0 - 4, y0 + a + cell)],
            colour.filled(),
        ))
        .map_err(e)?;
        root.draw(&Rectangle::new(
            [(x0 + a, y0 - 14), (x0 + a + cell, y0 - 4)],
            colour.filled(),
        ))
        .map_err(e)?;
    }
    // White lines between neighbours of different groups.
    for i in 1..n {
        if of[i] != of[i - 1] {
            let p = cell * i as i32;
            let line = WHITE.stroke_width(2);
            root.draw(&PathElement::new(vec![(x0 + p, y0), (x0 + p, y1)], line))
                .map_err(e)?;
            root.draw(&PathElement::new(vec![(x0, y0 + p), (x1, y0 + p)], line))
                .map_err(e)?;
        }
    }
    // Outlines around diagonal blocks of consecutive members of one group.
    let mut start = 0;
    for i in 1..=n {
        if i == n || of[i] != of[start] {
            if let Some(g) = of[start] {
                let (a, b) = (cell * start as i32, cell * i as i32);
                root.draw(&Rectangle::new(
                    [(x0 + a, y0 + a), (x0 + b, y0 + b)],
                    group_colour(g).stroke_width(3),
                ))
                .map_err(e)?;
            }
            start = i;
        }
    }
    root.draw(&Text::new(
        "strips and outlines: clusters".to_string(),
        (x1, y0 - 24),
        text_style(13, BLACK, HPos::Right, VPos::Center),
    ))
    .map_err(e)?;
    Ok(())
}

/// The viridis colour bar right of the cells, with ticks at 0, 0.5 and 1.
fn draw_colour_bar(root: &Area<'_>, grid: Grid) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let Grid { y0, x1, y1, .. } = grid;
    let (bx, bw) = (x1 + 30, 20);
    let height = y1 - y0;
    for k in 0..height {
        let v = 1.0 - f64::from(k) / f64::from(height.max(1));
        root.draw(&Rectangle::new(
            [(bx, y0 + k), (bx + bw, y0 + k + 1)],
            viridis(v).filled(),
        ))
        .map_err(e)?;
    }
    root.draw(&Rectangle::new(
        [(bx, y0), (bx + bw, y1)],
        BLACK.stroke_width(1),
    ))
    .map_err(e)?;
    for (v, y) in [(1.0, y0), (0.5, (y0 + y1) / 2), (0.0, y1)] {
        root.draw(&Text::new(
            format!("{v:.1}"),
            (bx + bw + 6, y),
            text_style(13, BLACK, HPos::Left, VPos::Center),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Writes `heatmap` as a [`HEATMAP_SIZE`] PNG to `path` (atomically).
///
/// # Errors
/// [`ProbeError::Plot`], [`ProbeError::Write`], naming the file.
pub fn heatmap_png(heatmap: &Heatmap<'_>, path: &Path) -> Result<(), ProbeError> {
    render(path, HEATMAP_SIZE, |root| draw_heatmap(heatmap, root))
}

/// A merge tree to draw as a dendrogram.
#[derive(Debug, Clone, Copy)]
pub struct Dendrogram<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// The leaves' labels (hidden-state indices), in the merge tree's leaf numbering.
    pub leaves: &'a [usize],
    /// The merges (kodama numbering: leaf `i < n`, cluster `n + s` made at step `s`).
    pub merges: &'a [Merge],
    /// The groups of the chosen cut (hidden-state indices): leaf labels and the branches
    /// inside one group are drawn in its colour.
    pub groups: &'a [Vec<usize>],
}

/// Leaf order of a merge tree (depth first from the root), so branches never cross.
fn leaf_order(n: usize, merges: &[Merge]) -> Vec<usize> {
    if merges.is_empty() {
        return (0..n).collect();
    }
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![n + merges.len() - 1];
    while let Some(node) = stack.pop() {
        if node < n {
            order.push(node);
        } else {
            let m = &merges[node - n];
            stack.push(m.b);
            stack.push(m.a);
        }
    }
    order
}

fn draw_dendrogram(
    d: &Dendrogram<'_>,
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let n = d.leaves.len();
    let (x0, x1, y0, y1) = (80i32, 730i32, 60i32, 390i32);
    root.draw(&Text::new(
        d.title.to_string(),
        (DENDROGRAM_SIZE.0 as i32 / 2, 24),
        text_style(20, BLACK, HPos::Center, VPos::Center),
    ))
    .map_err(e)?;
    let top = d
        .merges
        .iter()
        .map(|m| m.dissimilarity)
        .fold(0.0f64, f64::max)
        .max(1e-6)
        * 1.08;
    let ypix = |v: f64| y1 - ((v / top) * f64::from(y1 - y0)).round() as i32;
    // Axis with 5 ticks.
    root.draw(&PathElement::new(
        vec![(x0, y0), (x0, y1)],
        BLACK.stroke_width(1),
    ))
    .map_err(e)?;
    for k in 0..=4 {
        let v = top * f64::from(k) / 4.0;
        let y = ypix(v);
        root.draw(&PathElement::new(
            vec![(x0 - 5, y), (x0, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            format!("{v:.3}"),
            (x0 - 8, y),
            text_style(12, BLACK, HPos::Right, VPos::Center),
        ))
        .map_err(e)?;
    }
    root.draw(&Text::new(
        "1 - CKA".to_string(),
        (10, y0 - 22),
        text_style(13, BLACK, HPos::Left, VPos::Center),
    ))
    .map_err(e)?;

    let order = leaf_order(n, d.merges);
    let span = f64::from(x1 - x0 - 40);
    let mut x = vec![0f64; n + d.merges.len()];
    let mut y = vec![0f64; n + d.merges.len()];
    let mut group: Vec<Option<usize>> = vec![None; n + d.merges.len()];
    let leaf_group = group_of(d.leaves, d.groups);
    for (pos, &leaf) in order.iter().enumerate() {
        x[leaf] = f64::from(x0 + 20) + span * (pos as f64 + 0.5) / n.max(1) as f64;
        group[leaf] = leaf_group[leaf];
        let colour = leaf_group[leaf].map_or(BLACK, group_colour);
        root.draw(&Text::new(
            d.leaves[leaf].to_string(),
            (x[leaf].round() as i32, y1 + 8),
            text_style(13, colour, HPos::Center, VPos::Top),
        ))
        .map_err(e)?;
    }
    for (s, m) in d.merges.iter().enumerate() {
        let node = n + s;
        x[node] = (x[m.a] + x[m.b]) / 2.0;
        y[node] = m.dissimilarity;
        group[node] = if group[m.a] == group[m.b] {
            group[m.a]
        } else {
            None
        };
        let colour = group[node].map_or(BLACK, group_colour);
        let px = |v: f64| v.round() as i32;
        let path = vec![
            (px(x[m.a]), ypix(y[m.a])),
            (px(x[m.a]), ypix(y[node])),
            (px(x[m.b]), ypix(y[node])),
            (px(x[m.b]), ypix(y[m.b])),
        ];
        root.draw(&PathElement::new(path, colour.stroke_width(2)))
            .map_err(e)?;
    }
    // The cut giving the groups: between the last merge applied and the next one.
    let k = d.groups.len().max(1);
    let applied = n.saturating_sub(k);
    let heights: Vec<f64> = d.merges.iter().map(|m| m.dissimilarity).collect();
    let cut = match (
        applied.checked_sub(1).map(|i| heights[i]),
        heights.get(applied),
    ) {
        (Some(lo), Some(&hi)) => (lo + hi) / 2.0,
        (None, Some(&hi)) => hi / 2.0,
        (Some(lo), None) => lo + (top - lo) / 2.0,
        (None, None) => top / 2.0,
    };
    let cy = ypix(cut);
    let mut cx = x0;
    while cx < x1 {
        root.draw(&PathElement::new(
            vec![(cx, cy), ((cx + 8).min(x1), cy)],
            RGBColor(200, 0, 0).stroke_width(1),
        ))
        .map_err(e)?;
        cx += 14;
    }
    root.draw(&Text::new(
        format!("leaves: hidden states; dashed: cut into {k} groups (leaf colours)"),
        (DENDROGRAM_SIZE.0 as i32 / 2, y1 + 40),
        text_style(13, BLACK, HPos::Center, VPos::Top),
    ))
    .map_err(e)?;
    Ok(())
}

/// Writes `dendrogram` as a [`DENDROGRAM_SIZE`] PNG to `path` (atomically).
///
/// # Errors
/// [`ProbeError::Plot`], [`ProbeError::Write`], naming the file.
pub fn dendrogram_png(dendrogram: &Dendrogram<'_>, path: &Path) -> Result<(), ProbeError> {
    render(path, DENDROGRAM_SIZE, |root| {
        draw_dendrogram(dendrogram, root)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_order_follows_the_tree() {
        // ((0, 2), 1): merge 0+2 -> 3, then 3+1 -> 4.
        let merges = vec![
            Merge {
                a: 0,
                b: 2,
                dissimilarity: 0.1,
                size: 2,
            },
            Merge {
                a: 3,
                b: 1,
                dissimilarity: 0.5,
                size: 3,
            },
        ];
        assert_eq!(leaf_order(3, &merges), vec![0, 2, 1]);
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
    }
}
