//! Traffic between plan steps: a plan commits in steps what the draft does at once, and the
//! application keeps writing between them. A meaning fixture's `-- traffic: STATEMENT` lines (one
//! statement a line, run in order, each in autocommit on a session of its own) are what it writes.
//!
//! After the plain comparison holds, for each gap k between steps (after step k of n, k < n) the
//! plan runs again on a freshly restored database B with the traffic played once in that gap
//! (without the safety probe: the plain run probed every step). The draft runs with the traffic
//! played once *after* it (database A as the plain run left it, plus the traffic) and once
//! *before* it (A restored again). A gap passes when no ordering of the draft succeeds, or when the
//! plan with traffic succeeds, every traffic statement succeeds or fails as it does in one ordering
//! whose draft succeeds, and schema and rows equal that ordering's. So a plan that exposes a state
//! the draft never shows fails: a duplicate let in between a key's drop and its replacement's build
//! (the build fails), rows inserted between a fill and the default that follows it (the `VALIDATE`
//! fails), or an application insert that a half-done step rejects.
//!
//! The orderings are the draft's whole: traffic is never played between the draft's own
//! statements, so a draft that is not one transaction needs traffic that means the same wherever
//! it lands in it. Traffic writes explicit values, never a sequence's: rows inserted at another
//! moment would draw other serial ids (a sequence is not compared, but the rows that took its
//! values are), which is no difference of meaning.

use std::path::{Path, PathBuf};

use super::harness::{db_message, Draft, Pg, Setup, Slot, State, Verdict};

/// One run of the draft or the plan with the traffic played once.
struct Played {
    /// Where the traffic went, as the reports say it.
    when: String,
    /// Why the draft (or a step of the plan) failed.
    failed: Option<String>,
    /// Each traffic statement's error, `None` where it succeeded.
    traffic: Vec<Option<String>>,
    state: Option<State>,
}

/// The traffic statements run one by one, each in autocommit, on a session of their own on `db`.
fn play(pg: &Pg, db: &str, slot: usize, traffic: &[String]) -> Vec<Option<String>> {
    let mut c = pg.connect(db, &format!("sem-traffic{slot}"));
    // Nothing holds a lock between steps: a statement that waits is a bug of the fixture.
    c.batch_execute("SET statement_timeout = '10s'").expect("a traffic session");
    traffic.iter().map(|t| c.batch_execute(t).err().map(|e| db_message(&e))).collect()
}

/// Play `draft`'s traffic in every gap of the plan `steps` and judge (see the module doc).
pub fn check(
    pg: &Pg,
    slot: &Slot,
    setup: &Setup,
    draft: &Draft,
    draft_file: &Path,
    steps: &[PathBuf],
    v: &mut Verdict,
) {
    if steps.len() < 2 {
        return;
    }
    let app = format!("sem-draft{}", slot.n);
    // The draft, then the traffic: on A as the plain run left it.
    let traffic = play(pg, &slot.draft.name, slot.n, &draft.traffic);
    let after = Played {
        when: "the traffic after the draft".into(),
        failed: None,
        traffic,
        state: Some(State::read(pg, &slot.draft, draft)),
    };
    // The traffic, then the draft: on A restored.
    let before = match pg.reset(&slot.draft, setup) {
        Ok(()) => {
            let traffic = play(pg, &slot.draft.name, slot.n, &draft.traffic);
            let run = pg.psql_file(&slot.draft.name, draft_file, &app, draft.limit);
            Played {
                when: "the traffic before the draft".into(),
                failed: (!run.ok).then(|| run.error()),
                traffic,
                state: run.ok.then(|| State::read(pg, &slot.draft, draft)),
            }
        }
        Err(e) => return v.problems.push(format!("traffic: could not reset {}: {e}", slot.draft.name)),
    };
    let orderings: Vec<&Played> = [&before, &after].into_iter().filter(|o| o.failed.is_none()).collect();
    let step_app = format!("sem-step{}", slot.n);
    for k in 1..steps.len() {
        if let Err(e) = pg.reset(&slot.plan, setup) {
            return v.problems.push(format!("traffic: could not reset {}: {e}", slot.plan.name));
        }
        v.traffic_gaps += 1;
        let name = |i: usize| steps[i].file_name().unwrap().to_string_lossy().into_owned();
        let mut plan =
            Played { when: format!("after step {}", name(k - 1)), failed: None, traffic: Vec::new(), state: None };
        for (i, step) in steps.iter().enumerate() {
            if i == k {
                plan.traffic = play(pg, &slot.plan.name, slot.n, &draft.traffic);
            }
            let run = pg.psql_file(&slot.plan.name, step, &step_app, draft.limit);
            if !run.ok {
                plan.failed = Some(format!("{}: {}", name(i), run.error()));
                break;
            }
        }
        if plan.failed.is_none() {
            plan.state = Some(State::read(pg, &slot.plan, draft));
        }
        if let Some(problem) = judge(draft, &orderings, &plan) {
            v.problems.push(problem);
        }
    }
}

/// `None` when the plan with traffic in one gap means what one successful ordering of the draft
/// means; else what differs from each.
fn judge(draft: &Draft, orderings: &[&Played], plan: &Played) -> Option<String> {
    if orderings.is_empty() {
        return None;
    }
    let mut why = Vec::new();
    for o in orderings {
        let mut d = Vec::new();
        if let Some(f) = &plan.failed {
            d.push(format!("the plan fails ({f})"));
        }
        for (i, (a, b)) in o.traffic.iter().zip(&plan.traffic).enumerate() {
            match (a, b) {
                (None, Some(e)) => d.push(format!("traffic {:?} fails ({e})", draft.traffic[i])),
                (Some(_), None) => d.push(format!("traffic {:?} succeeds where the draft's fails", draft.traffic[i])),
                _ => {}
            }
        }
        if let (Some(a), Some(b)) = (&o.state, &plan.state) {
            d.extend(a.differences(b, "draft", "plan"));
        }
        if d.is_empty() {
            return None;
        }
        why.push(format!("against {}: {}", o.when, d.join("\n  ")));
    }
    Some(format!("with traffic {}, the plan means what no ordering of the draft means:\n{}", plan.when, why.join("\n")))
}
