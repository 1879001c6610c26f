//! Which sim profile an end-to-end suite runs against. Users run against production, which has
//! none of the sim's extensions (docs/sim.md, "Profiles"), so `make test` runs the sign-in,
//! quick-ask and inbound-call suites twice: once as they are (`default`) and once with
//! `KALLYAI_TEST_PROFILE=production`. A test asks here what to expect where the two differ.

use kallyai_sim::{Profile, Seed, SimConfig};

/// The profile chosen by `KALLYAI_TEST_PROFILE` (`default` when unset).
pub fn current() -> Profile {
    match std::env::var("KALLYAI_TEST_PROFILE").as_deref() {
        Err(_) | Ok("") | Ok("default") => Profile::Default,
        Ok("production") => Profile::Production,
        Ok(other) => panic!("KALLYAI_TEST_PROFILE must be default or production, not {other:?}"),
    }
}

pub fn is_production() -> bool {
    current() == Profile::Production
}

/// The sim for this run: `seed` on the chosen profile.
pub fn sim_config(seed: Seed) -> SimConfig {
    SimConfig { seed, profile: current(), ..SimConfig::default() }
}

/// The suffix that keeps one profile's test output apart from the other's.
pub fn output_suffix() -> &'static str {
    match current() {
        Profile::Default => "",
        Profile::Production => "-production",
    }
}

/// Guards a test of a sim extension (named `extension_…`, which the production run skips): run
/// against the production profile by mistake, it fails loudly instead of passing vacuously.
pub fn require_extensions(what: &str) {
    assert!(!is_production(), "this test checks {what}, which the production profile does not offer");
}
