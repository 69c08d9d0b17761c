//! End-to-end runs of `continuo train` on a dataset of eight tiny images.

use std::path::{Path, PathBuf};

use continuo_model::dataset::{Dataset, Provenance};
use continuo_model::piano_roll::PianoRoll;

use super::*;
use crate::cpu::tests::tiny_geometry;

/// A folder of its own for one test, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let folder =
            std::env::temp_dir().join(format!("continuo-train-{test}-{}", std::process::id()));
        std::fs::remove_dir_all(&folder).ok();
        std::fs::create_dir_all(&folder).expect("scratch folder");
        Scratch(folder)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Two images from each of four pieces; `variant` changes the notes, and so the SHA-256.
fn write_dataset(path: &Path, variant: usize) {
    let geometry = tiny_geometry();
    let mut dataset = Dataset::new(geometry);
    for image in 0..8 {
        let mut roll = PianoRoll::new(geometry.grid, geometry.steps());
        roll.set(image % 4, (image + variant) % 2, true);
        roll.set((image + 1 + variant) % 4, 1, true);
        let provenance = Provenance {
            file: format!("piece{}.mid", image / 2),
            first_bar: 1,
            transposition: 0,
        };
        dataset.push(&roll, provenance);
    }
    dataset.write(path).expect("write the dataset");
}

/// One epoch of a four-hidden-unit model on `tiny.ds`, written to `m.st`.
fn tiny_args(scratch: &Scratch) -> TrainArgs {
    TrainArgs {
        data: scratch.path("tiny.ds"),
        hidden: 4,
        epochs: 1,
        batch: 2,
        lr: 0.05,
        momentum: 0.5,
        weight_decay: 0.0,
        k: 1,
        persistent: false,
        seed: 1,
        holdout: 0.25,
        out: scratch.path("m.st"),
        metrics: None,
        resume: false,
        half: false,
        device: Device::Cpu,
        name: "tiny".into(),
        visible_bias: VisibleBias::Data,
        monitor_images: 8,
    }
}

/// A scratch folder holding `tiny.ds` and a model trained on it for one epoch.
fn trained_for_one_epoch(test: &str) -> Scratch {
    let scratch = Scratch::new(test);
    write_dataset(&scratch.path("tiny.ds"), 0);
    let mut args = tiny_args(&scratch);
    args.metrics = Some(scratch.path("m.csv"));
    run(args).expect("the first epoch");
    scratch
}

fn resume_args(scratch: &Scratch, epochs: usize) -> TrainArgs {
    TrainArgs {
        epochs,
        resume: true,
        metrics: Some(scratch.path("m.csv")),
        ..tiny_args(scratch)
    }
}

fn contents(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths
        .iter()
        .map(|path| std::fs::read(path).expect("read a run's file"))
        .collect()
}

#[test]
fn a_diverging_epoch_leaves_the_last_checkpoint_intact() {
    let scratch = trained_for_one_epoch("diverge");
    let out = scratch.path("m.st");
    let files = [
        out.clone(),
        checkpoint::state_path(&out),
        scratch.path("m.csv"),
    ];
    let before = contents(&files);

    let args = resume_args(&scratch, 2);
    let data = read_training_data(&args.data).expect("read the dataset");
    let mut session = Session::prepare(&args, data).expect("resume");
    // A NaN momentum turns every weight into NaN at the first batch of epoch 2.
    session.trainer.velocity.w.fill(f32::NAN);
    let error = session.train(&args).expect_err("diverges").to_string();

    assert!(
        error.contains("diverged") && error.contains("epoch 2"),
        "{error}"
    );
    assert!(error.contains("still hold epoch 1"), "{error}");
    assert!(
        contents(&files) == before,
        "a file of epoch 1 was overwritten"
    );
    let (_, card) = weights::load(&out).expect("the epoch-1 model still loads");
    assert_eq!(card.epochs, 1);
}

#[test]
fn resuming_continues_with_and_without_a_state_file() {
    let scratch = trained_for_one_epoch("resume");
    let out = scratch.path("m.st");
    run(resume_args(&scratch, 2)).expect("resume from the state");
    assert_eq!(weights::load(&out).expect("epoch 2").1.epochs, 2);

    std::fs::remove_file(checkpoint::state_path(&out)).expect("remove the state");
    run(resume_args(&scratch, 3)).expect("resume from the weights alone");
    assert_eq!(weights::load(&out).expect("epoch 3").1.epochs, 3);
}

#[test]
fn resuming_without_a_state_refuses_another_dataset() {
    let scratch = trained_for_one_epoch("other-data");
    let out = scratch.path("m.st");
    std::fs::remove_file(checkpoint::state_path(&out)).expect("remove the state");
    write_dataset(&scratch.path("other.ds"), 1);
    let args = TrainArgs {
        data: scratch.path("other.ds"),
        ..resume_args(&scratch, 2)
    };
    let error = run(args).expect_err("another dataset").to_string();
    assert!(error.contains("another dataset"), "{error}");
    assert_eq!(weights::load(&out).expect("unchanged").1.epochs, 1);
}

#[test]
fn resuming_refuses_changed_settings_and_lists_them() {
    let scratch = trained_for_one_epoch("settings");
    let args = TrainArgs {
        holdout: 0.0,
        lr: 0.1,
        ..resume_args(&scratch, 2)
    };
    let error = run(args).expect_err("changed settings").to_string();
    assert!(error.contains("--holdout 0 (the run used 0.25)"), "{error}");
    assert!(error.contains("--lr 0.1 (the run used 0.05)"), "{error}");
    assert!(!error.contains("--batch"), "{error}");
    let out = scratch.path("m.st");
    assert_eq!(weights::load(&out).expect("unchanged").1.epochs, 1);
}

#[test]
fn resuming_refuses_a_state_the_card_contradicts() {
    let scratch = trained_for_one_epoch("position");
    let state = checkpoint::state_path(&scratch.path("m.st"));
    let mut trainer = CpuTrainer::new(
        Rbm::xavier(tiny_geometry(), 4, 1),
        crate::cpu::tests::settings(1),
    );
    let good = checkpoint::load(&state, &mut trainer).expect("the state of epoch 1");
    let absurd = [
        RunPosition {
            epochs: 1_000_000_000_000_000,
            ..good.clone()
        },
        RunPosition {
            training_seconds: -5.0,
            ..good.clone()
        },
    ];
    for position in absurd {
        checkpoint::save(&state, &trainer, &position).expect("rewrite the state");
        let error = format!("{:#}", run(resume_args(&scratch, 2)).expect_err("refused"));
        assert!(error.contains("m.st.state does not belong to"), "{error}");
    }
}

#[test]
fn resuming_without_a_weight_file_names_it() {
    let scratch = Scratch::new("no-weights");
    write_dataset(&scratch.path("tiny.ds"), 0);
    let error = run(resume_args(&scratch, 1)).expect_err("nothing to resume");
    let error = error.to_string();
    assert!(error.contains("m.st does not exist"), "{error}");
    assert!(error.contains("--resume needs the weight file"), "{error}");
}

#[test]
fn a_missing_output_folder_is_refused_before_training() {
    let scratch = Scratch::new("no-folder");
    write_dataset(&scratch.path("tiny.ds"), 0);
    let args = TrainArgs {
        out: scratch.path("missing/m.st"),
        metrics: Some(scratch.path("m.csv")),
        ..tiny_args(&scratch)
    };
    let error = run(args).expect_err("no folder").to_string();
    assert!(error.contains("missing does not exist"), "{error}");
    assert!(!scratch.path("m.csv").exists(), "training started");

    let args = TrainArgs {
        out: scratch.0.clone(),
        ..tiny_args(&scratch)
    };
    let error = run(args).expect_err("a folder as --out").to_string();
    assert!(error.contains("is a folder"), "{error}");
}

#[test]
fn outputs_that_overwrite_the_dataset_or_each_other_are_refused() {
    let scratch = Scratch::new("same-file");
    let data = scratch.path("tiny.ds");
    write_dataset(&data, 0);
    let dataset = std::fs::read(&data).expect("read the dataset");
    // Another spelling of the dataset's path.
    let folder_name = scratch.0.file_name().expect("a folder name");
    let respelled = scratch.path("..").join(folder_name).join("tiny.ds");

    let cases = [
        (data.clone(), None, "--out"),
        (scratch.path("m.st"), Some(respelled), "--metrics"),
        (
            scratch.path("m.st"),
            Some(scratch.path("m.st")),
            "--metrics and --out",
        ),
    ];
    for (out, metrics, flag) in cases {
        let args = TrainArgs {
            out,
            metrics,
            ..tiny_args(&scratch)
        };
        let error = run(args).expect_err("the same file").to_string();
        assert!(error.starts_with(flag), "{error}");
        assert!(std::fs::read(&data).expect("the dataset") == dataset);
    }
    assert!(!scratch.path("m.st").exists());
}

#[test]
fn zero_epochs_is_refused() {
    let scratch = Scratch::new("zero-epochs");
    write_dataset(&scratch.path("tiny.ds"), 0);
    let args = TrainArgs {
        epochs: 0,
        ..tiny_args(&scratch)
    };
    let error = run(args).expect_err("nothing to train").to_string();
    assert!(error.contains("--epochs 0"), "{error}");
    assert!(!scratch.path("m.st").exists());
}

#[test]
fn zero_counts_are_refused_by_name() {
    let scratch = Scratch::new("zero-counts");
    let args = TrainArgs {
        k: 0,
        ..tiny_args(&scratch)
    };
    let error = args.validate().expect_err("k = 0").to_string();
    assert_eq!(error, "--batch, --hidden and --k must be at least 1");
}

#[test]
fn learning_settings_out_of_range_are_refused() {
    let scratch = Scratch::new("learning-settings");
    let refused = [
        ("--lr", -1.0, 0.5, 0.0),
        ("--lr", 0.0, 0.5, 0.0),
        ("--lr", f32::NAN, 0.5, 0.0),
        ("--momentum", 0.05, 1.0, 0.0),
        ("--momentum", 0.05, -0.1, 0.0),
        ("--momentum", 0.05, f32::NAN, 0.0),
        ("--weight-decay", 0.05, 0.5, -1.0),
        ("--weight-decay", 0.05, 0.5, f32::INFINITY),
    ];
    for (flag, lr, momentum, weight_decay) in refused {
        let args = TrainArgs {
            lr,
            momentum,
            weight_decay,
            ..tiny_args(&scratch)
        };
        let error = args.validate().expect_err(flag).to_string();
        assert!(error.starts_with(flag), "{error}");
    }
    let fine = TrainArgs {
        momentum: 0.0,
        ..tiny_args(&scratch)
    };
    fine.validate()
        .expect("momentum 0 is plain gradient descent");
}

#[test]
fn a_model_too_large_to_hold_is_refused_before_allocating() {
    // The paper's images: 13,824 visible units; 2^30 weights allow 77,672 hidden units.
    assert!(check_model_size(13_824, 77_672).is_ok());
    let error = check_model_size(13_824, 77_673).expect_err("one unit too many");
    assert!(
        error.to_string().contains("at most 77672 hidden units"),
        "{error}"
    );
    assert!(
        check_model_size(13_824, usize::MAX).is_err(),
        "the product overflows"
    );

    let scratch = Scratch::new("huge-hidden");
    write_dataset(&scratch.path("tiny.ds"), 0);
    let args = TrainArgs {
        hidden: 99_999_999_999,
        ..tiny_args(&scratch)
    };
    let error = run(args).expect_err("too large").to_string();
    assert!(error.starts_with("--hidden 99999999999"), "{error}");
}
