//! Training images as lists of their on-units, and the held-out split by piece.
//!
//! A two-measure Bach image has about 3% of its 13,824 units on. Kept as the ascending indices
//! of its on-units, the whole corpus fits in a few tens of megabytes, and the products of data
//! with the weights become sums of weight rows (see `cpu.rs`).

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::counter_rng;

/// Binary images stored row-compressed: image `i` is `on_units[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseImages {
    /// Length of each image as a dense vector; every stored index is below it.
    pub visible_units: usize,
    /// Where each image's on-units start in `on_units`, plus the end of the last.
    offsets: Vec<usize>,
    /// Ascending on-unit indices of all images, one after the other.
    on_units: Vec<u32>,
}

impl SparseImages {
    pub fn new(visible_units: usize) -> Self {
        SparseImages {
            visible_units,
            offsets: vec![0],
            on_units: Vec::new(),
        }
    }

    /// Appends an image given by its ascending on-units.
    pub fn push(&mut self, on_units: &[u32]) {
        debug_assert!(on_units.windows(2).all(|pair| pair[0] < pair[1]));
        debug_assert!(on_units
            .last()
            .is_none_or(|&last| (last as usize) < self.visible_units));
        self.on_units.extend_from_slice(on_units);
        self.offsets.push(self.on_units.len());
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ascending on-units of image `index`.
    pub fn image(&self, index: usize) -> &[u32] {
        &self.on_units[self.offsets[index]..self.offsets[index + 1]]
    }

    /// The images in order, `batch` to a batch (the last one may be shorter), as the trainers
    /// take them.
    pub fn batches(&self, batch: usize) -> Vec<Vec<&[u32]>> {
        let indices: Vec<usize> = (0..self.len()).collect();
        indices
            .chunks(batch.max(1))
            .map(|chunk| chunk.iter().map(|&index| self.image(index)).collect())
            .collect()
    }

    /// Fraction of all cells that are on.
    pub fn density(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.on_units.len() as f64 / (self.len() * self.visible_units) as f64
    }

    /// `ln(p / (1 - p))` of each unit's frequency `p` in the images, with `p` clamped to
    /// `[1 / (2 n), 1 - 1 / (2 n)]` for `n` images so that a unit never (or always) on gets a
    /// large finite bias rather than an infinite one.
    pub fn log_odds(&self) -> ndarray::Array1<f32> {
        let mut counts = vec![0usize; self.visible_units];
        for &unit in &self.on_units {
            counts[unit as usize] += 1;
        }
        let images = self.len().max(1) as f64;
        let floor = 0.5 / images;
        counts
            .into_iter()
            .map(|count| {
                let p = (count as f64 / images).clamp(floor, 1.0 - floor);
                (p / (1.0 - p)).ln() as f32
            })
            .collect()
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> SparseImages {
        let mut out = SparseImages::new(self.visible_units);
        for &index in indices {
            out.push(self.image(index));
        }
        out
    }

    /// Random images with each unit on with probability `density`, for benchmarks and tests
    /// that need data of the corpus's sparsity but not its music.
    pub fn synthetic(visible_units: usize, images: usize, density: f32, seed: u64) -> Self {
        let seed = counter_rng::fold_seed(seed);
        let mut out = SparseImages::new(visible_units);
        let mut on_units = Vec::new();
        for image in 0..images {
            on_units.clear();
            on_units.extend((0..visible_units as u32).filter(|&unit| {
                counter_rng::uniform(seed, u32::MAX, image as u32, unit) < density
            }));
            out.push(&on_units);
        }
        out
    }
}

/// The held-out split: which images train and which only monitor.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub training: Vec<usize>,
    pub heldout: Vec<usize>,
    /// The pieces whose images are all in `heldout`, sorted.
    pub heldout_pieces: Vec<String>,
}

/// Splits images by the piece they come from, so that no transposition or window of a
/// held-out piece is trained on (they would make the held-out figures look better than they
/// are). Pieces are taken in a seeded random order until at least `fraction` of the images
/// are held out; with `fraction` 0 nothing is.
pub fn split_by_piece(piece_of_image: &[&str], fraction: f32, seed: u64) -> Split {
    let mut images_of_piece: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (image, piece) in piece_of_image.iter().enumerate() {
        images_of_piece.entry(piece).or_default().push(image);
    }
    let mut pieces: Vec<&str> = images_of_piece.keys().copied().collect();
    pieces.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(seed));

    let wanted = (fraction as f64 * piece_of_image.len() as f64).ceil() as usize;
    let mut heldout_pieces = Vec::new();
    let mut heldout_count = 0;
    for piece in pieces {
        if heldout_count >= wanted {
            break;
        }
        heldout_count += images_of_piece[piece].len();
        heldout_pieces.push(piece.to_string());
    }
    heldout_pieces.sort();

    let mut split = Split {
        training: Vec::new(),
        heldout: Vec::new(),
        heldout_pieces,
    };
    for (image, piece) in piece_of_image.iter().enumerate() {
        if split.heldout_pieces.iter().any(|held| held == piece) {
            split.heldout.push(image);
        } else {
            split.training.push(image);
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_come_back_as_pushed() {
        let mut images = SparseImages::new(10);
        images.push(&[1, 4, 9]);
        images.push(&[]);
        images.push(&[0]);
        assert_eq!(images.len(), 3);
        assert_eq!(images.image(0), &[1, 4, 9]);
        assert_eq!(images.image(1), &[] as &[u32]);
        assert_eq!(images.image(2), &[0]);
        // 4 on-cells in 3 images of 10 units.
        assert!((images.density() - 4.0 / 30.0).abs() < 1e-12);
        assert_eq!(images.subset(&[2, 0]).image(1), &[1, 4, 9]);

        let empty: &[u32] = &[];
        assert_eq!(
            images.batches(2),
            vec![vec![&[1u32, 4, 9][..], empty], vec![&[0u32][..]]]
        );
    }

    #[test]
    fn log_odds_of_unit_frequencies() {
        let mut images = SparseImages::new(3);
        images.push(&[0, 1]);
        images.push(&[0]);
        images.push(&[0]);
        images.push(&[]);
        let odds = images.log_odds();
        // Unit 0 on in 3 of 4: ln 3. Unit 1 in 1 of 4: ln(1/3). Unit 2 never: clamped to
        // 1/8, ln(1/7).
        assert!((odds[0] - 3f32.ln()).abs() < 1e-6);
        assert!((odds[1] + 3f32.ln()).abs() < 1e-6);
        assert!((odds[2] + 7f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn synthetic_images_have_the_asked_density() {
        let images = SparseImages::synthetic(1000, 200, 0.03, 5);
        assert!(
            (images.density() - 0.03).abs() < 0.003,
            "{}",
            images.density()
        );
    }

    #[test]
    fn split_keeps_each_piece_on_one_side() {
        // Piece a has 4 images, b 3, c 2, d 1: 10 images.
        let pieces = ["a", "a", "b", "c", "a", "b", "d", "c", "a", "b"];
        for seed in 0..20 {
            let split = split_by_piece(&pieces, 0.25, seed);
            assert_eq!(split.training.len() + split.heldout.len(), 10);
            // At least 3 of 10 images (25%, rounded up) are held out.
            assert!(split.heldout.len() >= 3);
            for &image in &split.heldout {
                assert!(split.heldout_pieces.contains(&pieces[image].to_string()));
            }
            for &image in &split.training {
                assert!(!split.heldout_pieces.contains(&pieces[image].to_string()));
            }
        }
        let none = split_by_piece(&pieces, 0.0, 1);
        assert!(none.heldout.is_empty());
        assert_eq!(none.training.len(), 10);
    }
}
