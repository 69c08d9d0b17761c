//! The model a command works with: a weight file given with `--model`, or the built-in Bach
//! model. Errors name the file and what is wrong with it.

use std::path::Path;

use continuo_model::bundled::default_model;
use continuo_model::weights;
use continuo_model::Rbm;

/// A model and the name tables and messages call it by.
pub struct NamedModel {
    pub rbm: Rbm,
    /// The weight file and its card's name, or the bundled model's name.
    pub name: String,
    /// The pieces the model's training held out, from its card: music it has not seen.
    pub heldout_pieces: Vec<String>,
    /// Epochs of training, from its card, for legends that tell models of one size apart.
    pub epochs: usize,
}

/// The model of `--model`, or the built-in default.
pub fn load_model(path: Option<&Path>) -> anyhow::Result<NamedModel> {
    let ((rbm, card), name) = match path {
        Some(path) => (weights::load(path)?, format!("{}", path.display())),
        None => (default_model()?, "the built-in model".to_string()),
    };
    let heldout_pieces = card
        .corpus
        .as_ref()
        .map(|corpus| corpus.heldout_pieces.clone())
        .unwrap_or_default();
    Ok(NamedModel {
        name: format!(
            "{name} ({}, P = {}, {} epochs)",
            card.name,
            rbm.hidden_units(),
            card.epochs
        ),
        rbm,
        heldout_pieces,
        epochs: card.epochs,
    })
}
