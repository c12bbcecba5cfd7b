//! Django (`manage.py migrate`): `<app>/migrations/NNNN_name.py`, each a `Migration` class with
//! `dependencies` on the previous one and `operations`; SQL goes in `migrations.RunSQL`. A
//! migration runs in a transaction (`atomic = True`) unless the class says `atomic = False`, and
//! then each statement of the `sql` list runs on its own in autocommit. A new migration must
//! depend on the app's current leaf, or Django reports a conflict.
//!
//! `pgsafe rewrite DRAFT --runner django -o <app>/migrations` adds one migration per step after
//! the leaf, the first carrying the draft's down section as `reverse_sql`.

use super::python::{comments, modules, string};
use super::{Layout, Placement, PlanView};

pub fn lay_out(plan: &PlanView<'_>, at: &Placement) -> Result<Layout, String> {
    let app = at
        .root
        .canonicalize()
        .ok()
        .and_then(|p| p.parent()?.file_name()?.to_str().map(String::from))
        .unwrap_or_else(|| "app".into());
    // The leaf: the highest-numbered migration (Django names them NNNN_…).
    let leaf = modules(at)
        .into_iter()
        .map(|(n, _)| n.trim_end_matches(".py").to_string())
        .filter(|n| n.split('_').next().is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit())))
        .max();
    let mut number = leaf.as_deref().and_then(|l| l.split('_').next()?.parse::<u32>().ok()).unwrap_or(0);
    let mut previous = leaf;
    let mut out = Layout::default();
    for (i, step) in plan.steps.iter().enumerate() {
        number += 1;
        let name = format!("{number:04}_{}", step.slug.chars().take(40).collect::<String>());
        let sql: Vec<String> = if step.autocommit {
            // Each statement alone: outside a transaction Django runs the list one by one.
            step.one_by_one()
        } else {
            vec![step.wrapped_body("Django")?]
        };
        let reverse = match (i, plan.down) {
            (0, Some(down)) => format!("[{}]", string(down)),
            _ => "migrations.RunSQL.noop".into(),
        };
        let dependencies = previous.as_ref().map_or(String::new(), |p| format!("(\"{app}\", \"{p}\")"));
        let text = format!(
            "{}from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n{}    dependencies = [{dependencies}]\n\n    operations = [\n        migrations.RunSQL(\n            sql=[{}],\n            reverse_sql={reverse},\n        ),\n    ]\n",
            comments(&step.header),
            if step.autocommit { "    atomic = False\n" } else { "" },
            sql.iter().map(|s| string(s)).collect::<Vec<_>>().join(", "),
        );
        out.add_step(format!("{name}.py"), text);
        previous = Some(name);
    }
    Ok(out)
}
