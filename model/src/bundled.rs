//! The default Bach model, compiled into the binary so that the plugin works without files.
//!
//! `bundle/continuo-bach.safetensors` holds the weights (f16) and their model card;
//! `bundle/README.md` says how it was trained and which licences apply to it.

use crate::rbm::Rbm;
use crate::weights::{self, ModelCard};
use crate::ModelError;

/// The bytes of the bundled weight file.
const DEFAULT_MODEL_BYTES: &[u8] = include_bytes!("../../bundle/continuo-bach.safetensors");

/// Decodes the bundled Bach model (about a tenth of a second: the f16 weights are widened to
/// f32 and checked).
pub fn default_model() -> Result<(Rbm, ModelCard), ModelError> {
    weights::from_bytes(DEFAULT_MODEL_BYTES)
        .map_err(|error| error.in_file("bundle/continuo-bach.safetensors (built in)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;

    #[test]
    fn the_default_model_loads_with_the_papers_geometry() {
        let (rbm, card) = default_model().expect("the bundled model loads");
        assert_eq!(rbm.geometry, Geometry::PAPER);
        assert_eq!(rbm.visible_units(), 13_824);
        assert_eq!(rbm.hidden_units(), card.hidden_units);
        assert_eq!(card.name, "continuo-bach");
        assert!(card.epochs > 0);
        let corpus = card.corpus.expect("the card records its corpus");
        assert!(corpus.images > 10_000);
        // Trained on binary data about 3% on: every visible bias is negative.
        assert!(rbm.b.iter().all(|&b| b < 0.0));
    }
}
