//! The plugin's state as a CLAP host saves and restores it with a project.

use continuo_tests::bundle;
use continuo_tests::clap_host::ContinuoClap;
use continuo_tests::music;
use continuo_tests::scenario::{CallAndAnswer, HostClock, Setup};
use continuo_tests::session::BlockSizes;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Parameters set away from their defaults before saving.
const SETTINGS: [(&str, &str); 8] = [
    ("Mode", "Follow"),
    ("Density", "Fixed"),
    ("Ones per measure", "300"),
    ("Length", "7"),
    ("Seed", "4321"),
    ("Output channel", "5"),
    ("Pass-through", "Off"),
    ("Tempo without host", "97.5"),
];

/// A fresh instance's parameter values: the defaults.
fn defaults() -> Vec<(u32, f64)> {
    ContinuoClap::load(&bundle::ensure_built()).values()
}

/// A state worth saving: parameters changed, and a phrase played (the state keeps the last
/// one).
fn played_state() -> (Vec<u8>, Vec<(u32, f64)>) {
    let bundle = bundle::ensure_built();
    let mut plugin = ContinuoClap::load(&bundle);
    plugin.set(&[("Length", "1"), ("Seed", "5")]);
    let call = music::first_measure(&bundle::bach_corpus().join("bwv772-invention01.mid"));
    let setup = Setup {
        sample_rate_hz: 48_000.0,
        blocks: BlockSizes::Fixed(1024),
        tempo_bpm: 120.0,
        host_clock: HostClock::Rolling,
        answer_measures: 1,
        wait_for_composer: true,
    };
    plugin.play(&CallAndAnswer::new(setup, &call).script);
    plugin.set(&SETTINGS);
    let values = plugin.values();
    (plugin.save_state(), values)
}

#[test]
fn saved_state_restores_into_a_fresh_instance_byte_for_byte() {
    let (saved, values) = played_state();
    assert_ne!(values, defaults(), "the settings changed nothing");

    let mut restored = ContinuoClap::load(&bundle::ensure_built());
    restored
        .load_state(&saved)
        .expect("the plugin loads its own state");
    assert_eq!(restored.values(), values);
    let resaved = restored.save_state();
    assert!(
        resaved == saved,
        "state saved again differs:\n{}\n{}",
        String::from_utf8_lossy(&saved),
        String::from_utf8_lossy(&resaved)
    );
}

/// Loads `bytes` into a fresh instance: whether the plugin accepts or refuses them, it must
/// not crash, must keep its defaults, and must still save and play.
fn garbage_leaves_the_defaults(bytes: &[u8], what: &str, defaults: &[(u32, f64)]) {
    let bundle = bundle::ensure_built();
    let mut plugin = ContinuoClap::load(&bundle);
    let _accepted_or_refused = plugin.load_state(bytes);
    assert_eq!(plugin.values(), defaults, "{what} changed the parameters");
    let resaved = plugin.save_state();
    assert!(
        !resaved.is_empty(),
        "{what}: the plugin saves nothing afterwards"
    );
}

#[test]
fn empty_truncated_and_random_state_bytes_give_the_defaults() {
    let defaults = defaults();
    let (saved, _) = played_state();

    garbage_leaves_the_defaults(&[], "an empty state", &defaults);
    for cut in [1, saved.len() / 3, saved.len() / 2, saved.len() - 1] {
        garbage_leaves_the_defaults(
            &saved[..cut],
            &format!("{cut} of {} bytes", saved.len()),
            &defaults,
        );
    }
    let mut random = Pcg64::seed_from_u64(6);
    for len in [1, 7, 64, 1000, 65_536] {
        let bytes: Vec<u8> = (0..len).map(|_| random.random()).collect();
        garbage_leaves_the_defaults(&bytes, &format!("{len} random bytes"), &defaults);
    }
}

#[test]
fn flipped_bits_in_a_saved_state_do_not_crash_the_plugin() {
    let (saved, _) = played_state();
    let mut random = Pcg64::seed_from_u64(8);
    for _ in 0..20 {
        let mut bytes = saved.clone();
        let at = random.random_range(0..bytes.len());
        bytes[at] ^= 1 << random.random_range(0..8);
        let mut plugin = ContinuoClap::load(&bundle::ensure_built());
        // A flip inside a number may still parse to another valid value: only the plugin's
        // survival and a savable state are required.
        let _ = plugin.load_state(&bytes);
        assert!(!plugin.save_state().is_empty());
    }
}
