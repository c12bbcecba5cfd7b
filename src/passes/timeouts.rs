//! `timeouts`: every transactional step that takes a lock blocking reads or writes on a table with
//! traffic gets `SET LOCAL lock_timeout` and `statement_timeout`, unless the draft already set a
//! `lock_timeout` for it.
//!
//! Why: a statement waiting for its lock (behind a long transaction) makes every later query on the
//! table queue behind it. `lock_timeout` bounds that wait: the step fails fast and can be retried,
//! instead of taking the application down. Steps that legitimately run long without blocking traffic
//! (concurrent builds, `VALIDATE`) get no short timeout: the planner gives them `statement_timeout = 0`.

use super::{Ctx, Mode, Rewritten};
use crate::ir::op::OpKind;

pub const RULE: &str = "timeouts";

pub fn run(ctx: &Ctx<'_, '_>, out: &mut Rewritten) {
    let m = ctx.m;
    let mut session_timeout = false;
    let mut local_timeout = false;
    for (i, s) in m.stmts.iter().enumerate() {
        for op in &s.ops {
            match &op.kind {
                OpKind::Set { name, local, value } if name == "lock_timeout" => {
                    let on = !is_zero(value);
                    if *local {
                        local_timeout = on;
                    } else {
                        session_timeout = on;
                        local_timeout = false;
                    }
                }
                OpKind::Begin | OpKind::Commit { .. } => local_timeout = false,
                _ => {}
            }
        }
        if s.section != crate::ir::migration::Section::Up || !ctx.applies(RULE, i) {
            continue;
        }
        if out.units[i].mode == Mode::Autocommit && session_timeout && is_concurrent(s) {
            // The planner runs concurrent steps with lock_timeout = 0.
            out.units[i].rules.push(RULE);
            out.change(
                RULE,
                s.body.start,
                "run this concurrent statement with lock_timeout = 0: it waits for every older transaction, and a \
                 timeout would leave an INVALID index behind"
                    .into(),
            );
            continue;
        }
        if out.units[i].mode != Mode::Transaction {
            continue;
        }
        let blocking = s
            .ops
            .iter()
            .filter_map(|op| op.strongest_lock_on_existing(|t| m.created_before(t, i)))
            .filter(|l| l.mode.blocks_writes())
            .rev()
            .max_by_key(|l| l.mode)
            .cloned();
        let Some(lock) = blocking else { continue };
        let unit = &mut out.units[i];
        unit.blocking_lock = Some(lock.clone());
        if session_timeout || local_timeout || !ctx.applies(RULE, i) {
            continue;
        }
        unit.needs_timeouts = true;
        unit.rules.push(RULE);
        out.change(
            RULE,
            s.body.start,
            format!(
                "run under lock_timeout = '{}': this takes {} on {}, and while it waits for that lock every {} on the table queues behind it",
                ctx.config.lock_timeout,
                lock.mode,
                lock.table.text,
                if lock.mode.blocks_reads() { "read and write" } else { "write" }
            ),
        );
    }
}

fn is_concurrent(s: &crate::ir::migration::Stmt) -> bool {
    s.ops.iter().any(|o| {
        matches!(
            o.kind,
            OpKind::CreateIndex { concurrently: true, .. }
                | OpKind::DropIndex { concurrently: true, .. }
                | OpKind::Reindex { concurrently: true, .. }
        )
    })
}

/// `0`, `'0'`, `'0s'`, `DEFAULT`: no timeout.
fn is_zero(value: &str) -> bool {
    let v = value.trim().trim_matches('\'').trim().to_lowercase();
    v.is_empty()
        || v == "default"
        || v.trim_start_matches('0').trim_start_matches(['m', 's']).is_empty() && v.starts_with('0')
}
