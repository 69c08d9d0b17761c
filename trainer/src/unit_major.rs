//! A batch of sparse images regrouped by visible unit: for each unit that is on anywhere in the
//! batch, the images it is on in.
//!
//! Why: summing weight rows image by image reads each row once per image that has its unit on
//! (about 40,000 rows of 2 KB for a batch of 100 Bach images, mostly from main memory). Unit
//! by unit, each weight row is read once per batch and added into the images' sums, which stay
//! in cache; the gradient's scatter into rows of `W` gains the same way.

/// The transposed on-units of a batch: unit `units[k]` is on in images
/// `images[starts[k]..starts[k + 1]]`, units ascending, images ascending per unit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitMajor {
    pub units: Vec<u32>,
    starts: Vec<usize>,
    images: Vec<u32>,
}

impl UnitMajor {
    /// Regroups images given by their ascending on-units (a counting sort by unit).
    pub fn new(images: &[&[u32]], visible_units: usize) -> Self {
        let mut counts = vec![0u32; visible_units];
        for image in images {
            for &unit in *image {
                counts[unit as usize] += 1;
            }
        }

        let mut units = Vec::new();
        let mut starts = vec![0];
        let mut slot_of_unit = vec![0usize; visible_units];
        for (unit, &count) in counts.iter().enumerate() {
            if count > 0 {
                slot_of_unit[unit] = starts[starts.len() - 1];
                units.push(unit as u32);
                starts.push(starts[starts.len() - 1] + count as usize);
            }
        }

        let mut images_of_units = vec![0u32; starts[starts.len() - 1]];
        for (image_index, image) in images.iter().enumerate() {
            for &unit in *image {
                let slot = &mut slot_of_unit[unit as usize];
                images_of_units[*slot] = image_index as u32;
                *slot += 1;
            }
        }
        UnitMajor {
            units,
            starts,
            images: images_of_units,
        }
    }

    /// The images unit `units[k]` is on in.
    pub fn images_of(&self, k: usize) -> &[u32] {
        &self.images[self.starts[k]..self.starts[k + 1]]
    }

    /// The positions `k` whose units lie in `range`, for splitting the work by visible units.
    pub fn positions_in(&self, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let first = self
            .units
            .partition_point(|&unit| (unit as usize) < range.start);
        let end = self
            .units
            .partition_point(|&unit| (unit as usize) < range.end);
        first..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regroups_images_by_unit() {
        // Image 0 has units {1, 4}, image 1 {}, image 2 {0, 4}: unit 0 is on in image 2,
        // unit 1 in image 0, unit 4 in images 0 and 2.
        let batch: [&[u32]; 3] = [&[1, 4], &[], &[0, 4]];
        let by_unit = UnitMajor::new(&batch, 6);
        assert_eq!(by_unit.units, vec![0, 1, 4]);
        assert_eq!(by_unit.images_of(0), &[2]);
        assert_eq!(by_unit.images_of(1), &[0]);
        assert_eq!(by_unit.images_of(2), &[0, 2]);
        assert_eq!(by_unit.positions_in(1..5), 1..3);
        assert_eq!(by_unit.positions_in(2..4), 2..2);
    }
}
