use continuo_tests::{
    bundle, clap_host::ContinuoClap, music, notes::*, scenario::*, session::BlockSizes,
};
#[test]
fn dump() {
    let b = bundle::ensure_built();
    let call = music::first_measure(&bundle::bach_corpus().join("bwv772-invention01.mid"));
    let setup = Setup {
        sample_rate_hz: 48000.0,
        blocks: BlockSizes::Fixed(64),
        tempo_bpm: 120.0,
        host_clock: HostClock::Rolling,
        answer_measures: 2,
        wait_for_composer: true,
    };
    let s = CallAndAnswer::new(setup, &call);
    let mut p = ContinuoClap::load(&b);
    p.set(&[("Length", "2"), ("Seed", "1234")]);
    let r = p.play(&s.script);
    for e in on_channel(&r.events, 0) {
        println!(
            "{} {} {} {}",
            e.sample as f64 / 1000.0,
            if e.on { "on " } else { "off" },
            e.pitch,
            e.velocity
        );
    }
    println!(
        "waits {:?} blocks {} last {:?} length {} ready {:?}",
        r.waits,
        r.blocks.len(),
        r.blocks.last(),
        s.script.length_samples,
        s.script.ready_by
    );
    p.settle();
    let st = p.save_state();
    println!(
        "state {} bytes: {:?}",
        st.len(),
        String::from_utf8_lossy(&st[..st.len().min(300)])
    );
}
