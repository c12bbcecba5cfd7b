//! Database knowledge: the tables, columns, keys, indexes, foreign keys and partitions a migration
//! runs against, from `--schema` (`ir::schema` loads it) and carried forward through the draft.
//!
//! Built from typed ops only ([`Catalog::apply`]): `CREATE TABLE` (incl. `PARTITION BY` /
//! `PARTITION OF`), `CREATE`/`DROP INDEX`, `ALTER TABLE` `ADD`/`DROP`/`RENAME COLUMN`,
//! `ALTER COLUMN TYPE`/`SET`/`DROP NOT NULL`, `ADD PRIMARY KEY`/`UNIQUE`/`FOREIGN KEY`,
//! `ATTACH`/`DETACH PARTITION`, `RENAME TO`, `DROP TABLE`. Anything else is ignored: the
//! catalogue answers "unknown" rather than guess. `ir::timeline` keeps its state before every op.
//!
//! An unqualified name resolves through the draft's `search_path` to a table known with its
//! schema; else a name resolves to the table with the same key, else to the only table of that
//! name in any schema (a dump's `app.orders` for a draft's `orders`).

use super::action::{Action, ColumnChange, PartitionBound};
use super::name::{key_of, make_object_name, quote_ident, Name};
use super::op::{ConstraintKind, Op, OpKind, PartitionKey, TableDef};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Slots of tables; a dropped table leaves `None`, so positions stay valid.
    slots: Vec<Option<Arc<Table>>>,
    /// Slots by base name.
    by_base: HashMap<String, Vec<usize>>,
    /// Slots by key (a superset: a renamed or dropped table's slot stays under its old key, and
    /// lookups filter). A lookup by key scanned every table of the same base name, and a draft
    /// over thousands of schemas of the same tables (a schema per tenant) made that quadratic.
    by_key: HashMap<Arc<str>, Vec<usize>>,
    /// Slots of the tables that have an index of this key (index names are looked up on `DROP
    /// INDEX` and `USING INDEX`, which do not name the table).
    index_slots: HashMap<String, Vec<usize>>,
    /// Changes now come from the draft (not `--schema`): columns added are marked as the draft's.
    in_draft: bool,
    /// The schemas an unqualified name is looked for in first, in order: the draft's
    /// `search_path` where the op runs (empty when unknown).
    search_path: Vec<String>,
    /// Per slot: every column an index or foreign key of the table has named. A superset (it
    /// never shrinks), so it holds for every version of the table and needs no versioning:
    /// renaming or dropping any other column skips the scan of the table's lists, which grow with
    /// a long draft. `add_index` and `foreign_key` add their columns, a rename its new name.
    key_columns: Vec<HashSet<String>>,
    /// Slots of the tables whose foreign keys, `PARTITION OF` or `INHERITS` have named a table of
    /// this base name, in any version (a superset: lookups filter). Dropping or renaming a table, and asking
    /// what references it or what its partitions are, then visits those tables alone: a scan of
    /// every table made a draft of many foreign keys and `DROP TABLE`s quadratic (BENCHMARKS.md).
    pointing_at: HashMap<String, Vec<usize>>,
    /// Slots of the tables that have been the `DEFAULT` partition of a table of this base name,
    /// in any version (a superset: lookups filter). A new bound asks for its parent's default
    /// partition, and a walk of every partition for it made a draft of thousands of partitions of
    /// one parent quadratic (BENCHMARKS.md, the thirty-second pass).
    defaults_of: HashMap<String, Vec<usize>>,
    /// The names constraints other than keys, and relations other than tables and indexes (views,
    /// sequences, types…), have held in any schema ([`super::other_names`]). Not followed through
    /// drops or renames: a name here only makes an unnamed key's name unsure.
    other_names: HashSet<String>,
    /// The names an index the catalogue does not know was renamed to, where its old name was
    /// the one PostgreSQL gives an unnamed exclusion constraint's (or one such renamed): the
    /// index keeps what it is under its new name ([`Catalog::exclusion_index`]).
    renamed_exclusions: HashSet<String>,
    /// `--schema` declares a constraint or constraint trigger `INITIALLY DEFERRED` (the draft's
    /// own are `Stmt::defers_checks`): see `transactions::regions`.
    pub defers_checks: bool,
    /// The domains the schema gives a constraint to ([`super::domains`]): a column added with
    /// one of them rewrites its table.
    pub constrained_domains: HashSet<String>,
    /// The row types the schema makes ([`super::row_types`]): its tables', views', composite
    /// types, and domains over them.
    pub row_types: HashSet<String>,
    /// The functions and procedures the schema creates, with what their code does: a call of one
    /// in the draft takes it (`code_locks::Functions`).
    pub functions: super::code_locks::Functions,
    /// The operator names the schema makes ([`super::user_operators`]).
    pub operators: HashSet<String>,
}

/// Whether another relation holds a name in a table's schema ([`Catalog::holder_elsewhere`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    /// A relation of that name whose schema is the table's.
    Certain,
    /// A relation of that name, one of the two names written without its schema.
    Unsure,
}

/// A table's columns, indexes or foreign keys: a persistent vector (`imbl`), so the timeline's
/// copy of a table before an op that changes it shares all but a few chunks with it, and costs the
/// same however many elements the table has; each element is shared (`Arc`) as well.
pub type List<T> = imbl::Vector<Arc<T>>;

/// A table's indexes ([`List`]), and how many of them have a name of each hash (of its key):
/// whether a table has an index of a given name is asked for every unique constraint and primary
/// key, and a scan of a table with thousands of indexes made a draft of many constraints on it
/// quadratic. Hashes, not names: the timeline copies a node of the map whenever a table gains an
/// index, and numbers copy without touching a reference count. Every change goes through the
/// methods, which keep the two in step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexes {
    list: List<Index>,
    named: imbl::OrdMap<u64, Named>,
    /// Per family of names PostgreSQL numbers (`t_c_key`, `t_c_key1`, …; [`family`]): every
    /// choice below this is the name of one of the table's indexes, so the search for a free one
    /// starts there (from the first, a thousand unnamed keys on one column took two seconds, two
    /// thousand thirteen). Forgotten when an index goes or is renamed: its name may be free again.
    held_below: imbl::OrdMap<u64, u32>,
}

/// How many of a table's indexes have a name of one hash, and which name they have when it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Named {
    count: u32,
    /// [`check_hash`] of their name; [`AMBIGUOUS`] once two names met under one hash (a lookup
    /// then reads the list). A lookup that read the list each time made the search for a free
    /// name, which asks for every name taken, quadratic in the table's indexes. (32 bits: it only
    /// tells apart names whose first hashes already met; every index of a big draft has one.)
    check: u32,
}

/// [`Named::check`] of a hash two different names share.
const AMBIGUOUS: u32 = 0;

fn key_hash(key: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key)
}

/// The hash of a family of names PostgreSQL numbers: of all its parts (a long table name cut
/// to 63 bytes may make two families' first choices the same).
fn family([name1, name2, label]: [&str; 3]) -> u64 {
    key_hash(&format!("{name1}\0{name2}\0{label}"))
}

/// A second hash of a name, independent of [`key_hash`] (SipHash), never [`AMBIGUOUS`]: two names
/// that meet under both are not met in practice.
fn check_hash(key: &str) -> u32 {
    use std::hash::BuildHasher;
    let hash = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(key);
    (hash as u32).max(1)
}

impl Indexes {
    pub fn iter(&self) -> imbl::vector::Iter<'_, Arc<Index>, imbl::shared_ptr::DefaultSharedPtr> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Is there an index whose name's key is exactly `key`? (The list is read only when one has
    /// a name of that hash.)
    pub fn has_key(&self, key: &str) -> bool {
        match self.named.get(&key_hash(key)) {
            None => false,
            Some(Named { check: AMBIGUOUS, .. }) => {
                self.list.iter().any(|ix| ix.name.as_ref().is_some_and(|n| *n.key == *key))
            }
            Some(Named { check, .. }) => *check == check_hash(key),
        }
    }

    /// The first choice of the family `parts` that may be free ([`Indexes::held_below`]).
    fn free_from(&self, parts: [&str; 3]) -> usize {
        self.held_below.get(&family(parts)).map_or(0, |&n| n as usize)
    }

    /// Move the mark of the family `parts` past the choices the table now holds.
    fn mark_held(&mut self, parts: [&str; 3]) {
        let mut n = self.free_from(parts);
        while self.has_key(&key_of(&quote_ident(&super::name::nth_choice(parts, n)))) {
            n += 1;
        }
        self.held_below.insert(family(parts), n as u32);
    }

    /// May an index have the base name `base`? `false` proves none has.
    fn may_have(&self, base: &str) -> bool {
        self.named.contains_key(&key_hash(base))
    }

    /// The indexes of base name `base` with their positions, from the oldest or (`newest_first`)
    /// the newest. The scan ends at the last index of that name (the counts say how many there
    /// are): a table of thousands of indexes that loses them one by one, in the order they were
    /// made, is not read to its end each time.
    fn named<'s>(&'s self, base: &'s str, newest_first: bool) -> impl Iterator<Item = (usize, &'s Index)> + 's {
        let named = self.named.get(&key_hash(base)).map_or(0, |n| n.count as usize);
        let all = self.list.iter().map(AsRef::as_ref).enumerate();
        let all: Box<dyn Iterator<Item = (usize, &Index)>> =
            if newest_first { Box::new(all.rev()) } else { Box::new(all) };
        all.filter(move |(_, ix)| ix.name.as_ref().is_some_and(|n| n.base() == base)).take(named)
    }

    /// Remove the indexes at `positions` (in order), each where it is: see [`Indexes::retain`].
    fn remove(&mut self, positions: &[usize]) {
        for &at in positions.iter().rev() {
            let gone = self.list.remove(at);
            self.count(&gone, -1);
        }
    }

    /// Index names are counted by the hash of their base name, which is their key: SQL never
    /// qualifies an index's or constraint's name with a schema. A name that goes frees a choice.
    fn count(&mut self, index: &Index, by: i32) {
        let Some(name) = &index.name else { return };
        let (hash, check) = (key_hash(name.base()), check_hash(name.base()));
        let named = match self.named.get(&hash) {
            Some(n) => Named {
                count: n.count.saturating_add_signed(by),
                check: if n.check == check { check } else { AMBIGUOUS },
            },
            None => Named { count: by.max(0) as u32, check },
        };
        if by < 0 && !self.held_below.is_empty() {
            self.held_below = imbl::OrdMap::new();
        }
        if named.count == 0 {
            self.named.remove(&hash);
        } else {
            self.named.insert(hash, named);
        }
    }

    fn push_back(&mut self, index: Arc<Index>) {
        self.count(&index, 1);
        self.list.push_back(index);
    }

    /// Keep the indexes `keep` selects. Each other is removed where it is: the list keeps sharing
    /// all but a path of its tree with the version before (a rebuilt list would share nothing,
    /// and the timeline keeps every version: a draft that drops index after index of a table with
    /// thousands of them took gigabytes).
    fn retain(&mut self, keep: impl Fn(&Index) -> bool) {
        let gone = self.positions(|ix| !keep(ix));
        self.remove(&gone);
    }

    /// Change the index at `at` (its chunk alone is copied).
    fn update(&mut self, at: usize, change: impl FnOnce(&mut Index)) {
        let Some(ix) = self.list.get_mut(at) else { return };
        let old = Arc::clone(ix);
        change(Arc::make_mut(ix));
        let new = Arc::clone(ix);
        if old.name != new.name {
            self.count(&old, -1);
            self.count(&new, 1);
        }
    }

    /// Positions of the indexes `pick` selects (see [`positions`]).
    fn positions(&self, pick: impl Fn(&Index) -> bool) -> Vec<usize> {
        positions(&self.list, pick)
    }
}

/// A table's triggers ([`List`]: folded name, fires on `UPDATE`), and their names' hashes: a
/// `CREATE TRIGGER` replaces one of its name, which a table of thousands of triggers must not scan
/// them all to find absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triggers {
    list: List<(String, bool)>,
    named: imbl::OrdSet<u64>,
}

impl Triggers {
    /// Drop the trigger `name`, if the table has it (removed where it is: see [`Indexes::retain`]).
    fn remove(&mut self, name: &str) {
        if !self.named.contains(&key_hash(name)) {
            return;
        }
        if let Some(at) = self.list.iter().position(|tr| tr.0 == name) {
            self.list.remove(at);
        }
        if !self.list.iter().any(|tr| key_hash(&tr.0) == key_hash(name)) {
            self.named.remove(&key_hash(name));
        }
    }

    fn push(&mut self, name: &str, on_update: bool) {
        self.named.insert(key_hash(name));
        self.list.push_back(Arc::new((name.to_string(), on_update)));
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: Name,
    /// Columns, indexes and foreign keys are shared (`Arc`) between the versions of a table: the
    /// timeline keeps the table as it was before every op, and an op that changes a table copies
    /// it, so a copy must cost a pointer per element, not the elements' strings.
    /// By folded name: found without a scan, and, like the lists, shared between versions but
    /// for the path to the changed entry. (No code needs their order.) Keys are shared strings:
    /// the path copy clones a node's keys, and a table of thousands of columns has nodes of 64.
    pub columns: imbl::OrdMap<Arc<str>, Arc<Column>>,
    /// `false` when pgsafe could not read the column list (`CREATE TABLE … AS`, `LIKE`, a statement
    /// sqlparser could not parse, a table only the draft's `ALTER`s mention): a missing column
    /// then means "unknown", not "absent".
    pub columns_known: bool,
    /// Column keys of the primary key.
    pub primary_key: Vec<String>,
    /// `PARTITION BY …` for a partitioned table (the key may be unknown: `text` empty, no columns,
    /// when only the draft's `PARTITION OF`/`ATTACH`/`DETACH` show it is partitioned).
    pub partition_key: Option<PartitionKey>,
    /// The partitioned table this one is a partition of.
    pub partition_of: Option<Name>,
    /// This table is the `DEFAULT` partition of `partition_of`.
    pub default_partition: bool,
    /// The tables it inherits from (`INHERITS`, `ALTER TABLE … INHERIT`): an `ADD COLUMN` on one of
    /// them reaches it ([`Catalog::heir_with_column`]). A thin list: most tables have none.
    pub inherits: thin_vec::ThinVec<Name>,
    pub indexes: Indexes,
    /// Foreign keys of this table.
    pub foreign_keys: List<ForeignKey>,
    /// Its triggers: folded name, and whether it fires on `UPDATE`. A persistent list, like the
    /// others (a table of thousands of triggers is not copied whole with each version), boxed:
    /// most tables have none, and the timeline keeps a version of a table for every op on it.
    triggers: Option<Box<Triggers>>,
}

impl Table {
    fn new(name: Name, columns_known: bool) -> Table {
        Table {
            name,
            columns: imbl::OrdMap::new(),
            columns_known,
            primary_key: Vec::new(),
            partition_key: None,
            partition_of: None,
            default_partition: false,
            inherits: thin_vec::ThinVec::new(),
            indexes: Indexes::default(),
            foreign_keys: List::new(),
            triggers: None,
        }
    }

    /// Does an `UPDATE` of this table fire a trigger pgsafe knows of?
    pub fn has_update_trigger(&self) -> bool {
        self.update_triggers().next().is_some()
    }

    /// The names of its triggers that fire on `UPDATE`, in the order they were made.
    pub fn update_triggers(&self) -> impl Iterator<Item = &str> {
        self.triggers.iter().flat_map(|t| t.list.iter()).filter(|tr| tr.1).map(|tr| tr.0.as_str())
    }

    pub fn is_partitioned(&self) -> bool {
        self.partition_key.is_some()
    }

    /// Column `key` (folded).
    pub fn column(&self, key: &str) -> Option<&Column> {
        self.columns.get(key).map(AsRef::as_ref)
    }

    fn column_mut(&mut self, key: &str) -> Option<&mut Column> {
        self.columns.get_mut(key).map(Arc::make_mut)
    }

    /// Add `column`, or replace the one of that name.
    fn put_column(&mut self, column: Column) {
        self.columns.insert(column.name.as_str().into(), Arc::new(column));
    }

    /// Is there a complete (not partial) index whose leading columns are exactly `keys`?
    pub fn has_index_on(&self, keys: &[String]) -> bool {
        self.indexes.iter().any(|ix| ix.serves(keys))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The folded name (unquoted names lower-cased).
    pub name: String,
    /// The type as written, lower-cased (`character varying(50)`, `timestamp with time zone`).
    pub type_text: String,
    pub nullable: bool,
    /// The draft added it: no running code uses it yet, and it holds no values but its default.
    pub added_in_draft: bool,
    /// Its `COLLATE` clause's collation, as written (`None`: the type's default).
    pub collation: Option<Box<str>>,
}

impl Column {
    pub fn sql_type(&self) -> SqlType {
        SqlType::parse(&self.type_text)
    }
}

/// How pgsafe knows what it says about an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The draft or `--schema` shows it.
    Known,
    /// Its name is the one PostgreSQL gives such an object.
    ByName,
    /// The draft renamed it from such a name.
    RenamedFromSuchAName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: Option<Name>,
    pub table: Name,
    /// Column keys in index order; `None` for an expression.
    pub columns: Vec<Option<String>>,
    pub unique: bool,
    /// Has a `WHERE` clause: it does not serve every lookup on its columns.
    pub partial: bool,
    /// The index of an exclusion constraint (columns not recorded): PostgreSQL never rebuilds it
    /// concurrently.
    pub exclusion: bool,
}

impl Index {
    /// Is this a complete (not partial) index whose leading columns are exactly `keys` (folded
    /// column names), in any order? It then serves lookups on them.
    pub fn serves(&self, keys: &[String]) -> bool {
        if keys.is_empty() || self.partial || self.columns.len() < keys.len() {
            return false;
        }
        let mut want = keys.to_vec();
        want.sort();
        let mut lead: Vec<String> = self.columns[..keys.len()].iter().flatten().cloned().collect();
        lead.sort();
        lead == want
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: Option<String>,
    /// The referencing table.
    pub table: Name,
    /// Column keys on the referencing table.
    pub columns: Vec<String>,
    pub references: Name,
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Catalog) -> bool {
        self.tables().eq(other.tables())
    }
}

impl Eq for Catalog {}

impl Catalog {
    // ---- lookups -------------------------------------------------------------------------------

    /// Every table, in the order they were recorded.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.slots.iter().flatten().map(AsRef::as_ref)
    }

    /// The table `name`: the one with the same key, else the only one of that name.
    pub fn table(&self, name: &Name) -> Option<&Table> {
        self.slot(name).and_then(|s| self.slots[s].as_deref())
    }

    /// [`Catalog::table`], shared (a snapshot that later changes do not touch).
    pub fn table_arc(&self, name: &Name) -> Option<Arc<Table>> {
        self.table_in_slot(name).map(|(_, t)| t)
    }

    /// The table `name` resolves to, with its slot (stable for the catalogue's life).
    pub fn table_in_slot(&self, name: &Name) -> Option<(usize, Arc<Table>)> {
        self.slot(name).and_then(|s| Some((s, self.slots[s].clone()?)))
    }

    /// The table that has index `index`, with its slot (found through the index names' buckets).
    pub fn index_table(&self, index: &Name) -> Option<(usize, Arc<Table>)> {
        let has = |t: &Table| {
            t.indexes.named(index.base(), true).any(|(_, ix)| ix.name.as_ref().is_some_and(|n| n.same(index)))
        };
        let slots = self.index_slots.get(index.base()).map_or(&[][..], |s| s);
        slots.iter().find_map(|&s| Some((s, self.slots[s].clone().filter(|t| has(t))?)))
    }

    /// Could an index or foreign key of the table in `slot`, in any of its versions, name column
    /// `key`? `false` proves none does, so a pass asking skips the scan of the table's lists.
    pub fn may_key(&self, slot: usize, key: &str) -> bool {
        self.key_columns.get(slot).is_none_or(|k| k.contains(key))
    }

    /// Is `index` an exclusion constraint's? Known where the catalogue has an index of that name;
    /// else guessed from the name PostgreSQL gives an unnamed one's (the database may hold one
    /// pgsafe never saw, and rebuilding it `CONCURRENTLY` fails).
    pub fn exclusion_index(&self, index: &Name) -> Option<Evidence> {
        let same = |ix: &Index| ix.name.as_ref().is_some_and(|n| n.same(index));
        let slots = self.index_slots.get(index.base()).map_or(&[][..], |s| s);
        let known = slots.iter().find_map(|&s| {
            let t = self.slots[s].as_deref()?;
            t.indexes.named(index.base(), true).find(|(_, ix)| same(ix)).map(|(_, ix)| ix.exclusion)
        });
        match known {
            Some(exclusion) => exclusion.then_some(Evidence::Known),
            None if super::name::named_like_an_exclusion(index) => Some(Evidence::ByName),
            None => self.renamed_exclusions.contains(index.base()).then_some(Evidence::RenamedFromSuchAName),
        }
    }

    /// Does a relation other than `table` and its own indexes, or a constraint other than a key,
    /// hold the name `candidate` (as PostgreSQL chose it, case kept) in `table`'s schema?
    /// PostgreSQL names an unnamed key `<table>_pkey` only where no relation of the schema has
    /// that name: after a table swap the old table keeps its index's name, and the new table's key
    /// is `<table>_pkey1`.
    pub fn holder_elsewhere(&self, table: &Name, candidate: &str) -> Holder {
        let key = key_of(&quote_ident(candidate));
        let own = self.slot(table);
        let schema = |n: &Name| n.key[..n.key.len() - n.base().len()].to_string();
        let ours = schema(table);
        let mut holder = Holder::Nobody;
        let mut consider = |other: &Table| {
            let theirs = schema(&other.name);
            if theirs == ours {
                holder = Holder::Certain;
            } else if (theirs.is_empty() || ours.is_empty()) && holder == Holder::Nobody {
                // One name qualified, the other not: the same schema under most search paths.
                holder = Holder::Unsure;
            }
        };
        let tables = self.by_base.get(&key).map_or(&[][..], |s| s);
        for &s in tables {
            if let Some(t) = self.slots[s].as_deref().filter(|t| t.name.base() == key && Some(s) != own) {
                consider(t);
            }
        }
        let with_index = self.index_slots.get(&key).map_or(&[][..], |s| s);
        for &s in with_index {
            if let Some(t) = self.slots[s].as_deref().filter(|t| Some(s) != own && t.indexes.has_key(&key)) {
                consider(t);
            }
        }
        // A constraint of any table (its own included) or a view, sequence or type may hold it.
        if holder == Holder::Nobody && self.other_names.contains(&key) {
            holder = Holder::Unsure;
        }
        holder
    }

    /// The name PostgreSQL gives an unnamed key of `table` made of `parts`: the first choice no
    /// index of the table and no relation of its schema the catalogue knows of holds.
    fn key_name(&self, table: &Name, parts: &[String; 3]) -> String {
        let parts = [parts[0].as_str(), parts[1].as_str(), parts[2].as_str()];
        let own = self.table(table);
        (own.map_or(0, |t| t.indexes.free_from(parts))..)
            .map(|n| super::name::nth_choice(parts, n))
            .find(|c| {
                let key = key_of(&quote_ident(c));
                !own.is_some_and(|t| t.indexes.has_key(&key)) && self.holder_elsewhere(table, c) != Holder::Certain
            })
            .map(|c| quote_ident(&c))
            .unwrap_or_default()
    }

    fn slot(&self, name: &Name) -> Option<usize> {
        let qualified = name.key.len() > name.base().len();
        if !qualified {
            if let Some(s) = self.slot_in_path(name.base()) {
                return Some(s);
            }
        }
        let has_key = |s: &&usize| self.slots[**s].as_ref().is_some_and(|t| t.name.key == name.key);
        if let Some(&s) = self.by_key.get(&*name.key).and_then(|b| b.iter().rev().find(has_key)) {
            return Some(s);
        }
        // Else the one table the name may mean: for a qualified name, one of that base written
        // without a schema (whose key is the base); for an unqualified one, of any schema.
        let candidates =
            if qualified { self.by_key.get(name.base()) } else { self.by_base.get(name.base()) }.map_or(&[][..], |b| b);
        let mut same = candidates.iter().filter(|&&s| self.slots[s].as_ref().is_some_and(|t| t.name.same(name)));
        match (same.next(), same.next()) {
            (Some(&s), None) => Some(s),
            _ => None,
        }
    }

    /// The table `base` (an unqualified name) means as PostgreSQL resolves it: in the first
    /// schema of the search path that has one, known with its schema (`billing.orders` under
    /// `SET search_path = billing`, not `public.orders`).
    fn slot_in_path(&self, base: &str) -> Option<usize> {
        let candidates = self.by_base.get(base)?;
        let in_schema = |s: usize, schema: &str| {
            self.slots[s].as_ref().is_some_and(|t| {
                t.name.key.strip_suffix(base).and_then(|k| k.strip_suffix('.')) == Some(schema) && t.name.base() == base
            })
        };
        for schema in &self.search_path {
            // Most names have one table: no key to build.
            let found = match candidates.as_slice() {
                &[s] => in_schema(s, schema).then_some(s),
                _ => {
                    let key = format!("{schema}.{base}");
                    self.by_key.get(key.as_str()).and_then(|b| b.iter().rev().copied().find(|&s| in_schema(s, schema)))
                }
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Column `col` (as SQL writes it: `status`, `"userId"`) of `table`.
    pub fn column(&self, table: &Name, col: &str) -> Option<&Column> {
        self.table(table)?.column(&key_of(col))
    }

    /// `Some(true)` when the column accepts NULL, `None` when pgsafe does not know the column.
    pub fn is_nullable(&self, table: &Name, col: &str) -> Option<bool> {
        self.column(table, col).map(|c| c.nullable)
    }

    pub fn is_partitioned(&self, table: &Name) -> bool {
        self.table(table).is_some_and(Table::is_partitioned)
    }

    /// The partitions of `table` that pgsafe knows, in the order they were recorded.
    pub fn partitions(&self, table: &Name) -> Vec<&Table> {
        let Some(parent) = self.table(table) else { return Vec::new() };
        let child = |t: &&Table| t.partition_of.as_ref().is_some_and(|p| p.same(&parent.name));
        self.slots_pointing_at(&[&parent.name])
            .into_iter()
            .filter_map(|s| self.slots[s].as_deref())
            .filter(child)
            .collect()
    }

    /// The first table that inherits from `table` (`INHERITS`, at any depth; not a partition) and
    /// has the column `key` (folded) already, or whose columns pgsafe does not know: `ADD COLUMN`
    /// on `table` merges the column there, leaving its default and its rows as they are. With
    /// whether pgsafe knows it has the column (else it may).
    pub fn heir_with_column(&self, table: &Name, key: &str) -> Option<(Name, bool)> {
        let start = self.table(table)?;
        let mut seen: HashSet<usize> = HashSet::default();
        let mut parents = vec![start.name.clone()];
        while let Some(parent) = parents.pop() {
            for s in self.slots_pointing_at(&[&parent]) {
                let Some(heir) = self.slots[s].as_deref() else { continue };
                if !heir.inherits.iter().any(|p| p.same(&parent)) || !seen.insert(s) {
                    continue;
                }
                if heir.column(key).is_some() || !heir.columns_known {
                    return Some((heir.name.clone(), heir.column(key).is_some()));
                }
                parents.push(heir.name.clone());
            }
        }
        None
    }

    /// The live slots, in order, of the tables whose foreign keys or parent may name one of `tables`.
    fn slots_pointing_at(&self, tables: &[&Name]) -> Vec<usize> {
        let mut slots: Vec<usize> = tables
            .iter()
            .filter_map(|t| self.pointing_at.get(t.base()))
            .flatten()
            .copied()
            .filter(|&s| self.slots[s].is_some())
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Table `slot` now names a table of base name `base` (a foreign key, a parent).
    fn points_at(&mut self, base: &str, slot: usize) {
        let slots = self.pointing_at.entry(base.to_string()).or_default();
        if slots.last() != Some(&slot) {
            slots.push(slot);
        }
    }

    /// The first recorded of `table`'s partitions that is its `DEFAULT` one (there is one at most
    /// where the draft runs).
    pub fn default_partition(&self, table: &Name) -> Option<&Table> {
        let parent = self.table(table)?;
        let of_parent =
            |t: &&Table| t.default_partition && t.partition_of.as_ref().is_some_and(|p| p.same(&parent.name));
        let slots = self.defaults_of.get(parent.name.base())?.iter().copied();
        let found = slots.filter_map(|s| Some((s, self.slots[s].as_deref()?))).filter(|(_, t)| of_parent(t));
        found.min_by_key(|&(s, _)| s).map(|(_, t)| t)
    }

    /// Slot `slot` is now the default partition of a table of base name `base`.
    fn is_default_of(&mut self, base: &str, slot: usize) {
        let slots = self.defaults_of.entry(base.to_string()).or_default();
        if slots.last() != Some(&slot) {
            slots.push(slot);
        }
    }

    /// Is there a complete (not partial) index whose leading columns are exactly `cols`, in any
    /// order (as SQL writes them)? That index serves lookups on `cols`.
    pub fn has_index_on(&self, table: &Name, cols: &[String]) -> bool {
        let keys: Vec<String> = cols.iter().map(|c| key_of(c)).collect();
        self.table(table).is_some_and(|t| t.has_index_on(&keys))
    }

    pub fn indexes_on(&self, table: &Name) -> Vec<&Index> {
        self.table(table).map(|t| t.indexes.iter().map(AsRef::as_ref).collect()).unwrap_or_default()
    }

    /// Every index of every table.
    pub fn indexes(&self) -> impl Iterator<Item = &Index> {
        self.tables().flat_map(|t| t.indexes.iter().map(AsRef::as_ref))
    }

    /// Every foreign key of every table.
    pub fn foreign_keys(&self) -> impl Iterator<Item = &ForeignKey> {
        self.tables().flat_map(|t| t.foreign_keys.iter().map(AsRef::as_ref))
    }

    /// Foreign keys of other tables (or this one) that reference one of `tables`, in the order
    /// [`Catalog::foreign_keys`] gives them.
    pub fn foreign_keys_to(&self, tables: &[&Name]) -> Vec<&ForeignKey> {
        let refers = |fk: &&ForeignKey| tables.iter().any(|t| fk.references.same(t));
        let slots = self.slots_pointing_at(tables).into_iter().filter_map(|s| self.slots[s].as_deref());
        slots.flat_map(|t| t.foreign_keys.iter().map(AsRef::as_ref)).filter(refers).collect()
    }

    // ---- changes -------------------------------------------------------------------------------

    /// From now on, changes are the draft's (see [`Column::added_in_draft`]).
    pub fn begin_draft(&mut self) {
        self.in_draft = true;
    }

    /// Did a constraint or a relation the catalogue does not follow ever take the name `key`?
    pub fn holds_other_name(&self, key: &str) -> bool {
        self.other_names.contains(key)
    }

    /// A constraint or a relation the catalogue does not follow took the name `key`.
    pub fn declare(&mut self, key: &str) {
        if !self.other_names.contains(key) {
            self.other_names.insert(key.to_string());
        }
    }

    /// Unqualified names now resolve through `path` first (the draft's `search_path`).
    pub fn resolve_through(&mut self, path: &[String]) {
        if self.search_path != path {
            self.search_path = path.to_vec();
        }
    }

    /// Apply one typed op (statements of a down section are never applied: the caller skips them).
    pub fn apply(&mut self, op: &Op) {
        match &op.kind {
            OpKind::CreateTable { table, def } => self.create_table(table, def),
            OpKind::CreateIndex { name, table, unique, columns, partial, .. } => {
                let index = Index {
                    name: name.clone(),
                    table: table.clone(),
                    columns: columns.clone(),
                    unique: *unique,
                    partial: *partial,
                    exclusion: false,
                };
                self.add_index(table, index);
            }
            OpKind::DropIndex { names, .. } => {
                for n in names {
                    self.drop_index(n);
                }
            }
            OpKind::AddColumn {
                table,
                column,
                type_text,
                collation,
                if_not_exists,
                not_null,
                primary_key,
                unique,
                reference,
                ..
            } => {
                let added_in_draft = self.in_draft;
                let t = self.known_table(table);
                if *if_not_exists && t.column(column).is_some() {
                    return;
                }
                let nullable = not_null.is_none() && !primary_key;
                let collation = collation.clone();
                let c =
                    Column { name: column.clone(), type_text: type_text.clone(), nullable, added_in_draft, collation };
                t.put_column(c);
                let col = vec![Some(column.clone())];
                if *primary_key {
                    self.primary_key(table, None, col.clone(), false);
                }
                if let Some(u) = unique {
                    self.unique(table, u.constraint_name.clone(), col, &[], false);
                }
                if let Some(r) = reference {
                    self.foreign_key(table, r.constraint_name.clone(), vec![column.clone()], r.references.clone());
                }
            }
            OpKind::AddConstraint { table, name, kind, .. } => match kind {
                ConstraintKind::ForeignKey { references, columns, .. } => self.foreign_key(
                    table,
                    name.clone(),
                    columns.iter().map(|c| key_of(c)).collect(),
                    references.clone(),
                ),
                ConstraintKind::PrimaryKey(key) | ConstraintKind::Unique(key) => {
                    let primary = matches!(kind, ConstraintKind::PrimaryKey(_));
                    match &key.using_index {
                        Some(index) => self.adopt_index(table, name.as_deref(), index, primary),
                        None if primary => {
                            self.primary_key(table, name.clone(), key.columns.clone(), key.without_overlaps)
                        }
                        None => {
                            self.unique(table, name.clone(), key.columns.clone(), &key.include, key.without_overlaps)
                        }
                    }
                }
                ConstraintKind::Exclude { elements } => self.exclusion(table, name.clone(), elements.as_deref()),
                _ => {}
            },
            OpKind::RenameIndex { index, to } => self.rename_index(index, to),
            OpKind::SetNotNull { table, column } => {
                if let Some(c) = self.table_mut(table).and_then(|t| t.column_mut(column)) {
                    c.nullable = false;
                }
            }
            OpKind::AlterTable { table, action, .. } => self.alter(table, action),
            OpKind::Trigger { table, name, drop, on_update } => {
                let t = self.known_table(table);
                // Removed where it is, to share the rest of the list with the version before.
                let triggers = t.triggers.get_or_insert_with(Default::default);
                triggers.remove(name);
                if !drop {
                    triggers.push(name, *on_update);
                }
            }
            OpKind::DropTable { tables, .. } => {
                for t in tables {
                    self.drop_table(t);
                }
            }
            _ => {}
        }
    }

    fn table_mut(&mut self, name: &Name) -> Option<&mut Table> {
        let s = self.slot(name)?;
        self.slots[s].as_mut().map(Arc::make_mut)
    }

    fn push_table(&mut self, t: Table) -> usize {
        self.by_base.entry(t.name.base().to_string()).or_default().push(self.slots.len());
        self.by_key.entry(t.name.key.clone()).or_default().push(self.slots.len());
        self.slots.push(Some(Arc::new(t)));
        self.key_columns.push(HashSet::default());
        self.slots.len() - 1
    }

    /// `table`, recorded with unknown columns if pgsafe has not seen it (a draft that alters a
    /// table the `--schema` does not describe).
    fn known_table(&mut self, table: &Name) -> &mut Table {
        let s = self.known_slot(table);
        Arc::make_mut(self.slots[s].as_mut().expect("a live slot"))
    }

    fn known_slot(&mut self, table: &Name) -> usize {
        match self.slot(table) {
            Some(s) => s,
            None => self.push_table(Table::new(table.clone(), false)),
        }
    }

    /// Record that the draft shows `table` is partitioned (it has partitions, or is attached to or
    /// detached from), even where `--schema` does not say so.
    pub fn mark_partitioned(&mut self, table: &Name) {
        let t = self.known_table(table);
        if t.partition_key.is_none() {
            t.partition_key = Some(PartitionKey { text: String::new(), columns: Vec::new() });
        }
    }

    fn create_table(&mut self, table: &Name, def: &TableDef) {
        if def.if_not_exists && self.slot(table).is_some() {
            return;
        }
        // It replaces a table of its name (one the draft dropped, or a stale schema file's), but a
        // qualified name only one of that very key: a table written without a schema is another
        // schema's (PostgreSQL would refuse the CREATE otherwise), and `CREATE TABLE app.events`
        // dropped the partitioned `events` the draft showed, whose index was then made concurrent.
        let qualified = table.key.len() > table.base().len();
        let same_key = |s: &usize| self.slots[*s].as_ref().is_some_and(|t| t.name.key == table.key);
        if !qualified || self.by_key.get(&*table.key).is_some_and(|b| b.iter().any(same_key)) {
            self.drop_table(table);
        }
        let mut t = Table::new(table.clone(), def.columns_known);
        if let Some(parent) = &def.partition_of {
            if let Some(p) = self.table(parent) {
                t.columns = p.columns.clone();
                t.columns_known = p.columns_known;
            }
            t.default_partition = def.default_partition;
            t.partition_of = Some(parent.clone());
            self.mark_partitioned(parent);
        }
        let parent_base = def.partition_of.as_ref().map(|p| p.base().to_string());
        for parent in &def.inherits {
            // A parent whose columns pgsafe does not know may give it any column.
            match self.table(parent) {
                Some(p) => {
                    t.columns.extend(p.columns.clone());
                    t.columns_known &= p.columns_known;
                }
                None => t.columns_known = false,
            }
            t.inherits.push(parent.clone());
        }
        t.partition_key = def.partition_by.clone();
        for c in &def.columns {
            let column = Column {
                name: c.name.clone(),
                type_text: c.type_text.clone(),
                nullable: !c.not_null,
                added_in_draft: self.in_draft,
                collation: c.collation.clone(),
            };
            t.put_column(column);
        }
        let s = self.push_table(t);
        for parent in &def.inherits {
            self.points_at(parent.base(), s);
        }
        if let Some(base) = parent_base {
            self.points_at(&base, s);
            if def.default_partition {
                self.is_default_of(&base, s);
            }
        }
        if let Some((name, columns)) = &def.primary_key {
            self.primary_key(table, name.clone(), columns.clone(), def.primary_key_without_overlaps);
        }
        for u in &def.unique {
            self.unique(table, u.name.clone(), u.columns.clone(), &u.include, u.without_overlaps);
        }
        for fk in &def.foreign_keys {
            self.foreign_key(table, fk.name.clone(), fk.columns.clone(), fk.references.clone());
        }
        for (name, elements) in &def.exclusions {
            self.exclusion(table, name.clone(), elements.as_deref());
        }
    }

    fn add_index(&mut self, table: &Name, index: Index) {
        if let Some(n) = &index.name {
            self.drop_index(n);
        }
        let s = self.known_slot(table);
        if let Some(n) = &index.name {
            self.index_slots.entry(n.base().to_string()).or_default().push(s);
        }
        self.key_columns[s].extend(index.columns.iter().flatten().cloned());
        if let Some(t) = self.slots[s].as_mut() {
            Arc::make_mut(t).indexes.push_back(Arc::new(index));
        }
    }

    /// `ALTER INDEX index RENAME TO to`: the index of that name, on whichever table has it.
    fn rename_index(&mut self, index: &Name, to: &Name) {
        match self.index_table(index).map(|(s, _)| s) {
            Some(s) => self.rename_index_in(s, index.base(), to),
            // An index only the database knows: an exclusion constraint's by its name stays one.
            None if self.exclusion_index(index).is_some() => {
                self.renamed_exclusions.insert(to.base().to_string());
            }
            None => {}
        }
    }

    /// Rename the index of the table in slot `s` whose name's key is `from` (an index's name is
    /// never qualified: its key is its base), if it has one.
    fn rename_index_in(&mut self, s: usize, from: &str, to: &Name) {
        let Some(t) = self.slots[s].as_mut() else { return };
        let same = |ix: &Index| ix.name.as_ref().is_some_and(|n| n.base() == from);
        let Some(at) = t.indexes.named(from, true).find(|(_, ix)| same(ix)).map(|(at, _)| at) else { return };
        Arc::make_mut(t).indexes.update(at, |ix| ix.name = Some(to.clone()));
        self.index_slots.entry(to.base().to_string()).or_default().push(s);
    }

    fn drop_index(&mut self, name: &Name) {
        let Some(slots) = self.index_slots.get(name.base()).cloned() else { return };
        for s in slots {
            if let Some(t) = self.slots[s].as_mut() {
                // Found before the table is copied: most tables in the bucket lose no index.
                let same = |ix: &Index| ix.name.as_ref().is_some_and(|x| x.same(name));
                let gone: Vec<usize> =
                    t.indexes.named(name.base(), false).filter(|(_, ix)| same(ix)).map(|(at, _)| at).collect();
                if !gone.is_empty() {
                    Arc::make_mut(t).indexes.remove(&gone);
                }
            }
        }
        // Keep the list to the tables that still have an index of that name: every index build
        // asks it, and a draft that recreates a table and its index many times must not grow it.
        let (slots, base) = (&self.slots, name.base());
        if let Some(bucket) = self.index_slots.get_mut(base) {
            let has = |s: &usize| slots[*s].as_ref().is_some_and(|t| t.indexes.may_have(base));
            bucket.retain(has);
            bucket.sort_unstable();
            bucket.dedup();
        }
    }

    /// A primary key (`without_overlaps`: PostgreSQL 18's temporal one): its columns NOT NULL, its
    /// index.
    fn primary_key(
        &mut self,
        table: &Name,
        name: Option<String>,
        columns: Vec<Option<String>>,
        without_overlaps: bool,
    ) {
        let t = self.known_table(table);
        t.primary_key = columns.iter().flatten().cloned().collect();
        for c in columns.iter().flatten() {
            if let Some(col) = t.column_mut(c) {
                col.nullable = false;
            }
        }
        self.add_key_index(table, name, columns, &[], [true, without_overlaps]);
    }

    /// A unique constraint's index (its `INCLUDE` columns name it too, where unnamed).
    fn unique(
        &mut self,
        table: &Name,
        name: Option<String>,
        columns: Vec<Option<String>>,
        include: &[String],
        without_overlaps: bool,
    ) {
        self.add_key_index(table, name, columns, include, [false, without_overlaps]);
    }

    /// A key's index, named as PostgreSQL names an unnamed one: `<table>_pkey` or
    /// `<table>_<columns>_key`, or `…1`, `…2` where the table or its schema holds that name. A
    /// `WITHOUT OVERLAPS` key's (PostgreSQL 18) is a unique GiST index that PostgreSQL counts an
    /// exclusion constraint's (`indisexclusion`): `REINDEX … CONCURRENTLY` refuses it (measured on
    /// 18.4, `tests/postgresql_18.rs`), named as an ordinary key's.
    fn add_key_index(
        &mut self,
        table: &Name,
        name: Option<String>,
        columns: Vec<Option<String>>,
        include: &[String],
        [primary, without_overlaps]: [bool; 2],
    ) {
        let parts = super::name::key_parts(table, primary, &columns, include);
        let unnamed = name.is_none();
        let name = name.unwrap_or_else(|| self.key_name(table, &parts));
        let name = Some(Name::new(&name));
        let index =
            Index { name, table: table.clone(), columns, unique: true, partial: false, exclusion: without_overlaps };
        self.add_index(table, index);
        if unnamed {
            if let Some(t) = self.table_mut(table) {
                t.indexes.mark_held([parts[0].as_str(), parts[1].as_str(), parts[2].as_str()]);
            }
        }
    }

    /// An exclusion constraint's index, named as PostgreSQL names an unnamed one
    /// (`<table>_<elements>_excl`, numbered past the names taken): not recorded when unnamed and
    /// its elements' names are not known (`REINDEX` then judges an index by its name alone).
    fn exclusion(&mut self, table: &Name, name: Option<String>, elements: Option<&[String]>) {
        let name = match (name, elements) {
            (Some(n), _) => n,
            (None, Some(elements)) => self.key_name(table, &super::name::exclusion_parts(table, elements)),
            (None, None) => return,
        };
        let index = Index {
            name: Some(Name::new(&name)),
            table: table.clone(),
            columns: Vec::new(),
            unique: false,
            partial: true,
            exclusion: true,
        };
        self.add_index(table, index);
    }

    /// `ADD CONSTRAINT name PRIMARY KEY|UNIQUE USING INDEX index`: the index takes the name.
    fn adopt_index(&mut self, table: &Name, name: Option<&str>, index: &Name, primary: bool) {
        let Some(t) = self.table_mut(table) else { return };
        let same = |ix: &Index| ix.name.as_ref().is_some_and(|n| n.same(index));
        let Some(at) = t.indexes.named(index.base(), true).find(|(_, ix)| same(ix)).map(|(at, _)| at) else {
            return;
        };
        if let Some(n) = name {
            t.indexes.update(at, |ix| ix.name = Some(Name::new(n)));
        }
        let columns = t.indexes.list.get(at).map(|ix| ix.columns.clone()).unwrap_or_default();
        if primary {
            t.primary_key = columns.iter().flatten().cloned().collect();
            for c in columns.iter().flatten() {
                if let Some(col) = t.column_mut(c) {
                    col.nullable = false;
                }
            }
        }
        if let (Some(n), Some(s)) = (name, self.slot(table)) {
            self.index_slots.entry(Name::new(n).base().to_string()).or_default().push(s);
        }
    }

    /// A foreign key, named as PostgreSQL would when unnamed (`<table>_<columns>_fkey`).
    fn foreign_key(&mut self, table: &Name, name: Option<String>, columns: Vec<String>, references: Name) {
        let name =
            name.unwrap_or_else(|| quote_ident(&make_object_name(&table.base_unquoted(), &columns.join("_"), "fkey")));
        let s = self.known_slot(table);
        self.key_columns[s].extend(columns.iter().cloned());
        self.points_at(references.base(), s);
        let fk = ForeignKey { name: Some(name), table: table.clone(), columns, references };
        Arc::make_mut(self.slots[s].as_mut().expect("a live slot")).foreign_keys.push_back(Arc::new(fk));
    }

    fn alter(&mut self, table: &Name, action: &Action) {
        match action {
            Action::RenameColumn { from, to } => {
                let Some(s) = self.slot(table) else { return };
                let Some(t) = self.slots[s].as_mut().map(Arc::make_mut) else { return };
                let (from, to) = (&*from.key, &*to.key);
                if let Some(mut c) = t.columns.remove(from) {
                    to.clone_into(&mut Arc::make_mut(&mut c).name);
                    t.columns.insert(to.into(), c);
                }
                for c in t.primary_key.iter_mut().filter(|c| *c == from) {
                    to.clone_into(c);
                }
                if !self.key_columns[s].contains(from) {
                    return;
                }
                self.key_columns[s].insert(to.to_string());
                for ix in t.indexes.positions(|ix| ix.columns.iter().flatten().any(|c| c == from)) {
                    t.indexes.update(ix, |ix| {
                        for c in ix.columns.iter_mut().flatten().filter(|c| *c == from) {
                            to.clone_into(c);
                        }
                    });
                }
                for fk in positions(&t.foreign_keys, |fk| fk.columns.iter().any(|c| c == from)) {
                    for c in Arc::make_mut(&mut t.foreign_keys[fk]).columns.iter_mut().filter(|c| *c == from) {
                        to.clone_into(c);
                    }
                }
            }
            Action::RenameTable { to } => self.rename_table(table, to),
            Action::DropColumn { column, .. } => {
                let Some(s) = self.slot(table) else { return };
                let Some(t) = self.slots[s].as_mut().map(Arc::make_mut) else { return };
                let key = &*column.key;
                t.columns.remove(key);
                t.primary_key.retain(|c| c != key);
                if !self.key_columns[s].contains(key) {
                    return;
                }
                // PostgreSQL drops the indexes and constraints that use the column.
                let uses = |ix: &Index| ix.columns.iter().flatten().any(|c| c == key);
                t.indexes.retain(|ix| !uses(ix));
                let uses = |fk: &ForeignKey| fk.columns.iter().any(|c| c == key);
                if t.foreign_keys.iter().any(|fk| uses(fk)) {
                    t.foreign_keys.retain(|fk| !uses(fk));
                }
            }
            Action::AlterColumn { column, change } => {
                let Some(c) = self.table_mut(table).and_then(|t| t.column_mut(&column.key)) else { return };
                match change {
                    // Without `COLLATE` the column takes the new type's default collation.
                    ColumnChange::Type { type_text, collate, .. } => {
                        c.type_text = type_text.to_lowercase();
                        c.collation = collate.as_deref().map(Into::into);
                    }
                    ColumnChange::SetNotNull => c.nullable = false,
                    ColumnChange::DropNotNull => c.nullable = true,
                    ColumnChange::Statistics
                    | ColumnChange::Options
                    | ColumnChange::Expression
                    | ColumnChange::Other => {}
                }
            }
            Action::AttachPartition { partition, parsed, .. } => {
                let parent = self.table(table).map_or_else(|| table.clone(), |t| t.name.clone());
                self.mark_partitioned(&parent);
                if let Some(s) = self.slot(partition) {
                    self.points_at(parent.base(), s);
                    let default = *parsed == PartitionBound::Default;
                    if default {
                        self.is_default_of(parent.base(), s);
                    }
                    let p = Arc::make_mut(self.slots[s].as_mut().expect("a live slot"));
                    p.partition_of = Some(parent);
                    p.default_partition = default;
                }
            }
            Action::DetachPartition { partition, .. } => {
                self.mark_partitioned(table);
                if let Some(p) = self.table_mut(partition) {
                    p.partition_of = None;
                    p.default_partition = false;
                }
            }
            Action::DropConstraint { name, .. } => {
                let Some(t) = self.table_mut(table) else { return };
                let is = |n: &Option<Name>| n.as_ref().is_some_and(|n| *n.key == **name);
                if t.indexes.has_key(name) && t.indexes.iter().any(|ix| ix.unique && is(&ix.name)) {
                    let pk = t.indexes.iter().find(|ix| is(&ix.name)).map(|ix| ix.columns.clone());
                    if pk.is_some_and(|cols| cols.iter().flatten().eq(t.primary_key.iter())) {
                        t.primary_key.clear();
                    }
                    t.indexes.retain(|ix| !is(&ix.name));
                }
                let named = |fk: &ForeignKey| fk.name.as_ref().is_some_and(|n| key_of(n) == *name);
                if t.foreign_keys.iter().any(|fk| named(fk)) {
                    t.foreign_keys.retain(|fk| !named(fk));
                }
            }
            Action::SetSchema { schema } => {
                let Some(t) = self.table(table) else { return };
                let to = Name::new(&format!("{}.{}", schema.text, t.name.base_text()));
                self.rename_table(table, &to);
            }
            // A key's index is renamed with its constraint; a foreign key is only a constraint.
            Action::RenameConstraint { from, to } => {
                let Some(s) = self.slot(table) else { return };
                self.rename_index_in(s, from, to);
                let Some(t) = self.slots[s].as_mut().map(Arc::make_mut) else { return };
                for fk in positions(&t.foreign_keys, |fk| fk.name.as_deref().is_some_and(|n| key_of(n) == *from)) {
                    Arc::make_mut(&mut t.foreign_keys[fk]).name = Some(to.text.to_string());
                }
            }
            Action::Inherit { parent } => {
                let Some(s) = self.slot(table) else { return };
                let (columns, known) = match self.table(parent) {
                    Some(p) => (Some(p.columns.clone()), p.columns_known),
                    None => (None, false),
                };
                self.points_at(parent.base(), s);
                let t = Arc::make_mut(self.slots[s].as_mut().expect("a live slot"));
                // PostgreSQL refuses unless the table has the parent's columns already.
                if let Some(columns) = columns {
                    for (k, c) in columns {
                        t.columns.entry(k).or_insert(c);
                    }
                }
                t.columns_known &= known;
                t.inherits.push(parent.clone());
            }
            Action::NoInherit { parent } => {
                if let Some(t) = self.table_mut(table) {
                    t.inherits.retain(|p| !p.same(parent));
                }
            }
            // Not followed (PostgreSQL 18's forms): the column stays as the catalogue knows it, which
            // at worst keeps a later rule's recipe where it was not needed.
            Action::AddNotNull { .. } | Action::AddVirtualColumn { .. } => {}
            Action::Rewrite { .. } | Action::AlterConstraint | Action::NotUnderstood | Action::Other => {}
        }
    }

    fn rename_table(&mut self, table: &Name, to: &Name) {
        let Some(s) = self.slot(table) else { return };
        let old = self.slots[s].as_ref().expect("a live slot").name.clone();
        let new = match old.text.rsplit_once('.') {
            Some((schema, _)) if !to.text.contains('.') => Name::new(&format!("{schema}.{}", to.text)),
            _ => to.clone(),
        };
        {
            let t = Arc::make_mut(self.slots[s].as_mut().expect("a live slot"));
            t.name = new.clone();
            for at in 0..t.indexes.list.len() {
                t.indexes.update(at, |ix| ix.table = new.clone());
            }
            for fk in &mut t.foreign_keys {
                Arc::make_mut(fk).table = new.clone();
            }
        }
        if let Some(bucket) = self.by_base.get_mut(old.base()) {
            bucket.retain(|&x| x != s);
        }
        self.by_base.entry(new.base().to_string()).or_default().push(s);
        if let Some(bucket) = self.by_key.get_mut(&*old.key) {
            bucket.retain(|&x| x != s);
        }
        self.by_key.entry(new.key.clone()).or_default().push(s);
        for r in self.slots_pointing_at(&[&old]) {
            let slot = self.slots[r].as_mut().expect("a live slot");
            let refers = slot.foreign_keys.iter().any(|fk| fk.references.same(&old))
                || slot.partition_of.as_ref().is_some_and(|p| p.same(&old))
                || slot.inherits.iter().any(|p| p.same(&old));
            if refers {
                let t = Arc::make_mut(slot);
                for fk in positions(&t.foreign_keys, |fk| fk.references.same(&old)) {
                    Arc::make_mut(&mut t.foreign_keys[fk]).references = new.clone();
                }
                if t.partition_of.as_ref().is_some_and(|p| p.same(&old)) {
                    t.partition_of = Some(new.clone());
                }
                for p in t.inherits.iter_mut().filter(|p| p.same(&old)) {
                    *p = new.clone();
                }
                let default = t.default_partition;
                self.points_at(new.base(), r);
                if default {
                    self.is_default_of(new.base(), r);
                }
            }
        }
    }

    fn drop_table(&mut self, name: &Name) {
        let Some(s) = self.slot(name) else { return };
        let Some(t) = self.slots[s].take() else { return };
        if let Some(bucket) = self.by_base.get_mut(t.name.base()) {
            bucket.retain(|&x| x != s);
        }
        if let Some(bucket) = self.by_key.get_mut(&*t.name.key) {
            bucket.retain(|&x| x != s);
        }
        // Its partitions go with it; foreign keys that reference it go too.
        let pointing = self.slots_pointing_at(&[&t.name]);
        let partitions: Vec<Name> = pointing
            .iter()
            .filter_map(|&s| self.slots[s].as_deref())
            .filter(|p| p.partition_of.as_ref().is_some_and(|n| n.same(&t.name)))
            .map(|p| p.name.clone())
            .collect();
        for r in pointing {
            let slot = self.slots[r].as_mut().expect("a live slot");
            if slot.foreign_keys.iter().any(|fk| fk.references.same(&t.name)) {
                Arc::make_mut(slot).foreign_keys.retain(|fk| !fk.references.same(&t.name));
            }
            if slot.inherits.iter().any(|p| p.same(&t.name)) {
                Arc::make_mut(slot).inherits.retain(|p| !p.same(&t.name));
            }
        }
        for p in partitions {
            self.drop_table(&p);
        }
    }
}

/// A column type, normalised for comparing: `character varying(50)` and `varchar(50)` are both
/// `varchar` with modifiers `[50]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlType {
    /// The canonical base name (`varchar`, `int8`, `timestamptz`, `citext`, …).
    pub base: String,
    /// Type modifiers: `[50]` for `varchar(50)`, `[10, 2]` for `numeric(10,2)`; empty when none.
    pub mods: Vec<i64>,
    /// Array dimensions.
    pub array: usize,
}

/// PostgreSQL's built-in base types, by their canonical names (see [`SqlType::parse`]).
const BUILT_IN: &[&str] = &[
    "int2",
    "int4",
    "int8",
    "numeric",
    "float4",
    "float8",
    "bool",
    "text",
    "varchar",
    "bpchar",
    "bytea",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "json",
    "jsonb",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "money",
    "xml",
    "bit",
    "varbit",
    "tsvector",
    "tsquery",
    "oid",
    "name",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

impl SqlType {
    /// Is it a built-in type? A domain (or any type pgsafe does not know) may bring a default
    /// of its own or refuse NULL, which a recipe that adds the column bare would meet.
    pub fn is_built_in(&self) -> bool {
        let base = self.base.strip_prefix("pg_catalog.").unwrap_or(&self.base);
        BUILT_IN.contains(&base)
    }

    pub fn parse(text: &str) -> SqlType {
        let mut t = text.trim().to_lowercase();
        let mut array = 0;
        loop {
            let trimmed = t.trim_end();
            if let Some(open) = trimmed.strip_suffix(']').and_then(|s| s.rfind('[')) {
                t = trimmed[..open].to_string();
                array += 1;
            } else if let Some(s) = trimmed.strip_suffix(" array") {
                t = s.to_string();
                array += 1;
            } else {
                break;
            }
        }
        let mut mods = Vec::new();
        if let (Some(open), Some(close)) = (t.find('('), t.find(')')) {
            if open < close {
                mods = t[open + 1..close].split(',').filter_map(|m| m.trim().parse().ok()).collect();
                t = format!("{} {}", &t[..open], &t[close + 1..]);
            }
        }
        let words: Vec<&str> = t.split_whitespace().collect();
        let mut name = words.join(" ").replace(" .", ".").replace(". ", ".").replace('"', "");
        if let Some(rest) = name.strip_prefix("pg_catalog.") {
            name = rest.to_string();
        }
        let base = match name.as_str() {
            "character varying" | "varchar" | "char varying" => "varchar",
            "character" | "char" | "bpchar" => {
                if mods.is_empty() && name != "bpchar" {
                    mods = vec![1];
                }
                "bpchar"
            }
            "int" | "integer" | "int4" | "serial" | "serial4" => "int4",
            "smallint" | "int2" | "smallserial" | "serial2" => "int2",
            "bigint" | "int8" | "bigserial" | "serial8" => "int8",
            "decimal" | "numeric" => {
                if mods.len() == 1 {
                    mods.push(0);
                }
                "numeric"
            }
            "real" | "float4" => "float4",
            "double precision" | "float8" => "float8",
            "float" => {
                let p = mods.first().copied().unwrap_or(53);
                mods.clear();
                if p <= 24 {
                    "float4"
                } else {
                    "float8"
                }
            }
            "boolean" | "bool" => "bool",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "timestamptz" | "timestamp with time zone" => "timestamptz",
            "time" | "time without time zone" => "time",
            "timetz" | "time with time zone" => "timetz",
            "bit varying" | "varbit" => "varbit",
            "bit" => {
                if mods.is_empty() {
                    mods = vec![1];
                }
                "bit"
            }
            n if n == "citext" || n.ends_with(".citext") => "citext",
            n => n,
        };
        SqlType { base: base.to_string(), mods, array }
    }
}

/// Positions of the elements of `list` that `pick` selects, found before any is changed: changing
/// an element of a persistent list copies its chunk, so only the chunks that change are copied.
fn positions<T>(list: &List<T>, pick: impl Fn(&T) -> bool) -> Vec<usize> {
    list.iter().enumerate().filter(|(_, x)| pick(x)).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the lookup lists must hold for lookups, drops and renames to visit every table they
    /// concern: each live table under its own base name (`by_base`) and key (`by_key`), the base name of each of its
    /// named indexes (`index_slots`), and of every table its foreign keys and `PARTITION OF` name
    /// (`pointing_at`), and a default partition under its parent's (`defaults_of`). (They may hold
    /// more: the lookups filter.) And each table's count of its
    /// indexes by name is the count of its list.
    fn lists_are_complete(c: &Catalog) -> bool {
        c.slots.iter().enumerate().all(|(s, t)| {
            let Some(t) = t else { return true };
            let mut named: imbl::OrdMap<u64, u32> = imbl::OrdMap::new();
            for n in t.indexes.iter().filter_map(|ix| ix.name.as_ref()) {
                *named.entry(key_hash(n.base())).or_insert(0) += 1;
            }
            // A name's second hash, where kept, is every name's under that hash.
            let checked = t.indexes.iter().filter_map(|ix| ix.name.as_ref()).all(|n| {
                t.indexes
                    .named
                    .get(&key_hash(n.base()))
                    .is_some_and(|m| m.check == AMBIGUOUS || m.check == check_hash(n.base()))
            });
            let counts: imbl::OrdMap<u64, u32> = t.indexes.named.iter().map(|(h, m)| (*h, m.count)).collect();
            let under = |map: &HashMap<String, Vec<usize>>, n: &Name| map.get(n.base()).is_some_and(|v| v.contains(&s));
            let noted = |n: &Name| under(&c.pointing_at, n);
            named == counts
                && checked
                && under(&c.by_base, &t.name)
                && c.by_key.get(&t.name.key).is_some_and(|v| v.contains(&s))
                && t.indexes.iter().filter_map(|ix| ix.name.as_ref()).all(|n| under(&c.index_slots, n))
                && t.foreign_keys.iter().all(|fk| noted(&fk.references))
                && t.partition_of.as_ref().is_none_or(noted)
                && t.partition_of.as_ref().filter(|_| t.default_partition).is_none_or(|p| under(&c.defaults_of, p))
        })
    }

    #[test]
    fn a_free_name_is_found_again_after_a_drop() {
        // The search for an unnamed key's name starts past the names the table holds, and starts
        // over once one goes: PostgreSQL takes the first free choice again.
        let mut c = Catalog::from_sql(
            "CREATE TABLE t (c int);\nALTER TABLE t ADD UNIQUE (c);\nALTER TABLE t ADD UNIQUE (c);\n\
             ALTER TABLE t ADD UNIQUE (c);\nALTER TABLE t DROP CONSTRAINT t_c_key1;\nALTER TABLE t ADD UNIQUE (c);\n\
             ALTER TABLE t ADD UNIQUE (c);\n",
        );
        let t = c.table_mut(&Name::new("t")).unwrap();
        let names: Vec<String> =
            t.indexes.iter().filter_map(|ix| ix.name.as_ref()).map(|n| n.key.to_string()).collect();
        assert_eq!(names, ["t_c_key", "t_c_key2", "t_c_key1", "t_c_key3"]);
        assert!(t.indexes.has_key("t_c_key3") && !t.indexes.has_key("t_c_key4"));
    }

    /// [`Catalog::slot`] as it was before `by_key`: a scan of every table of the same base name.
    fn slot_by_scan(c: &Catalog, name: &Name) -> Option<usize> {
        let bucket = c.by_base.get(name.base())?;
        let live = |s: &&usize| c.slots[**s].is_some();
        if let Some(&s) = bucket.iter().rev().filter(live).find(|&&s| c.slots[s].as_ref().unwrap().name.key == name.key)
        {
            return Some(s);
        }
        let mut same = bucket.iter().filter(live).filter(|&&s| c.slots[s].as_ref().unwrap().name.same(name));
        match (same.next(), same.next()) {
            (Some(&s), None) => Some(s),
            _ => None,
        }
    }

    fn statement() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name = || prop::sample::select(vec!["a", "b", "c", "s.a", "s.b", "\"A\""]);
        prop_oneof![
            name().prop_map(|t| format!("CREATE TABLE {t} (id int PRIMARY KEY, x int);")),
            (name(), name()).prop_map(|(t, p)| format!("CREATE TABLE {t} PARTITION OF {p} DEFAULT;")),
            (name(), name()).prop_map(|(t, p)| format!("CREATE TABLE {t} PARTITION OF {p} FOR VALUES IN (1);")),
            (name(), name()).prop_map(|(t, r)| format!("ALTER TABLE {t} ADD FOREIGN KEY (x) REFERENCES {r} (id);")),
            (name(), name()).prop_map(|(t, r)| format!("CREATE TABLE {t} (x int REFERENCES {r} (id));")),
            (name(), prop::sample::select(vec!["a", "b", "c", "d"]))
                .prop_map(|(t, n)| format!("ALTER TABLE {t} RENAME TO {n};")),
            name().prop_map(|t| format!("DROP TABLE {t} CASCADE;")),
            (name(), name()).prop_map(|(p, t)| format!("ALTER TABLE {p} ATTACH PARTITION {t} DEFAULT;")),
            (name(), name()).prop_map(|(p, t)| format!("ALTER TABLE {p} ATTACH PARTITION {t} FOR VALUES IN (2);")),
            (name(), name()).prop_map(|(p, t)| format!("ALTER TABLE {p} DETACH PARTITION {t};")),
            (prop::sample::select(vec!["i", "j", "s.i", "t.i"]), name())
                .prop_map(|(i, t)| format!("CREATE INDEX {i} ON {t} (id);")),
            prop::sample::select(vec!["i", "j", "s.i", "t.i"]).prop_map(|i| format!("DROP INDEX {i};")),
            // Keys and constraints name indexes too; columns dropped or renamed drop or change them.
            (
                name(),
                prop::sample::select(vec!["i", "j", "k"]),
                prop::sample::select(vec!["UNIQUE (x)", "PRIMARY KEY (x)"])
            )
                .prop_map(|(t, c, key)| format!("ALTER TABLE {t} ADD CONSTRAINT {c} {key};")),
            (name(), prop::sample::select(vec!["i", "j", "k"]))
                .prop_map(|(t, c)| format!("ALTER TABLE {t} DROP CONSTRAINT {c};")),
            (name(), prop::sample::select(vec!["i", "j", "k"]), prop::sample::select(vec!["i", "j"]))
                .prop_map(|(t, c, i)| format!("ALTER TABLE {t} ADD CONSTRAINT {c} UNIQUE USING INDEX {i};")),
            name().prop_map(|t| format!("ALTER TABLE {t} DROP COLUMN x;")),
            name().prop_map(|t| format!("ALTER TABLE {t} RENAME COLUMN id TO x;")),
        ]
    }

    proptest::proptest! {
        /// After any sequence of creates, indexes, foreign keys, partitions, renames and drops, the
        /// lookup lists are complete, and the lookups through them give what a scan of every table
        /// gives.
        #[test]
        fn lookups_through_the_index_match_a_scan(stmts in proptest::collection::vec(statement(), 0..40)) {
            let c = Catalog::from_sql(&stmts.join("\n"));
            proptest::prop_assert!(lists_are_complete(&c), "{c:#?}");
            for n in ["a", "b", "c", "d", "s.a", "s.b", "\"A\"", "t.a"].map(Name::new) {
                proptest::prop_assert_eq!(c.slot(&n), slot_by_scan(&c, &n), "{}", n.text);
                let scan: Vec<&ForeignKey> = c.foreign_keys().filter(|fk| fk.references.same(&n)).collect();
                proptest::prop_assert_eq!(c.foreign_keys_to(&[&n]), scan);
                let parts: Vec<&Table> = match c.table(&n) {
                    Some(p) => c.tables().filter(|t| t.partition_of.as_ref().is_some_and(|q| q.same(&p.name))).collect(),
                    None => Vec::new(),
                };
                let default = parts.iter().copied().find(|t| t.default_partition);
                proptest::prop_assert_eq!(c.partitions(&n), parts);
                proptest::prop_assert_eq!(c.default_partition(&n), default);
            }
        }
    }
}
